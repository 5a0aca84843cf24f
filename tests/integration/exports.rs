//! 导出: a list view exported in the background to CSV or xlsx, as the user who asked.

use std::{io::Cursor, time::Duration};

use calamine::{Reader, Xlsx};
use kehu_tests::{Client, TestApp};

use crate::support::{add_field, zh};

/// Asks for an export of `entity` with `query` and waits until it is done; returns the
/// export's page path.
async fn export(
    app: &TestApp,
    client: &Client,
    entity: &str,
    format: &str,
    query: &str,
    view: &str,
) -> String {
    client.get("/customers").await;
    let page = client
        .post(
            "/exports",
            &[
                ("entity", entity),
                ("format", format),
                ("query", query),
                ("view", view),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let path = page.location.expect("the export's page");
    let id: i64 = path.trim_start_matches("/exports/").parse().expect("id");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = app
            .text(&format!("SELECT status FROM exports WHERE id = {id}"))
            .await;
        if status == "done" {
            return path;
        }
        assert!(status != "failed", "export {id} failed");
        assert!(
            tokio::time::Instant::now() < deadline,
            "export {id} still {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn download(client: &Client, path: &str) -> (Vec<u8>, String, String) {
    let (status, headers, bytes) = client.get_bytes(&format!("{path}/download")).await;
    assert_eq!(status, 200);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (bytes, header("content-disposition"), header("content-type"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_view_exports_to_csv_and_xlsx_with_localised_headers_and_no_formulas() {
    let app = TestApp::start().await;
    let admin = app.signup("导出公司", "管理员", "admin@export.test").await;
    let industry = add_field(&app, &admin, "company", "行业", "text", "").await;
    for (name, phone, trade) in [
        ("北京星辰科技有限公司", "010-1", "制造业"),
        ("北京晨光贸易", "=HYPERLINK(\"http://evil\")", "=1+1"),
        ("上海远航物流", "021-3", "物流"),
    ] {
        let page = admin
            .post(
                "/customers/new",
                &[("name", name), ("phone", phone), (&industry, trade)],
            )
            .await;
        assert_eq!(page.status, 303);
    }
    let query = "f1=name&o1=contains&v1=%E5%8C%97%E4%BA%AC&sort=name";
    let path = export(&app, &admin, "company", "csv", query, "").await;
    let shown = admin.get(&path).await;
    assert_eq!(shown.attrs("#export-status", "data-status"), ["done"]);
    assert!(shown.texts(".export-rows")[0].contains('2'));
    let (bytes, disposition, kind) = download(&admin, &path).await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    let text = String::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a BOM for Excel");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers[0], zh("company.name"));
    assert_eq!(
        headers.last().map(String::as_str),
        Some("行业"),
        "custom fields too"
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 2, "only the filtered view: {rows:?}");
    assert_eq!(rows[0][0], "北京星辰科技有限公司", "in the view's order");
    assert_eq!(
        rows[1][2], "'=HYPERLINK(\"http://evil\")",
        "formula neutralised"
    );
    assert_eq!(rows[1].last().map(String::as_str), Some("'=1+1"));

    let path = export(&app, &admin, "company", "xlsx", "", "").await;
    let (bytes, disposition, _) = download(&admin, &path).await;
    assert!(disposition.contains(".xlsx"), "{disposition}");
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    assert_eq!(sheet.height(), 4, "header and three companies");
    let cells: Vec<String> = sheet
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect();
    assert!(cells.contains(&"上海远航物流".to_owned()));
    assert!(cells.contains(&"'=1+1".to_owned()));
    assert!(!cells.iter().any(|c| c.starts_with('=')));
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_respect_visibility_and_only_the_requester_and_admins_see_them() {
    let app = TestApp::start().await;
    let admin = app.signup("可见公司", "管理员", "admin@vis.test").await;
    app.create_user(&admin, "小吴", "wu@vis.test", "member", None)
        .await;
    app.create_user(&admin, "小郑", "zheng@vis.test", "member", None)
        .await;
    let wu = app.login_ok("wu@vis.test").await;
    let zheng = app.login_ok("zheng@vis.test").await;
    for (who, name, visibility) in [
        (&admin, "管理员的私有客户", "private"),
        (&admin, "公开客户", "public"),
        (&wu, "小吴的客户", "private"),
    ] {
        let page = who
            .post(
                "/customers/new",
                &[("name", name), ("visibility", visibility)],
            )
            .await;
        assert_eq!(page.status, 303);
    }
    let page = wu
        .post(
            "/contacts/new",
            &[("company", "小吴的客户"), ("name", "联系人甲")],
        )
        .await;
    assert_eq!(page.status, 303);

    // A member's export holds what the member may see, even when asking for the admin view.
    let path = export(&app, &wu, "company", "csv", "", "public").await;
    let (bytes, _, _) = download(&wu, &path).await;
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.contains("小吴的客户") && text.contains("公开客户"),
        "{text}"
    );
    assert!(!text.contains("管理员的私有客户"), "{text}");
    let contacts = export(&app, &wu, "contact", "csv", "q=联系人", "").await;
    let (bytes, _, _) = download(&wu, &contacts).await;
    assert!(
        String::from_utf8(bytes)
            .expect("UTF-8")
            .contains("联系人甲")
    );

    // Another member cannot see or download it; an admin can.
    assert_eq!(zheng.get(&path).await.status, 404);
    assert_eq!(zheng.get_bytes(&format!("{path}/download")).await.0, 404);
    assert!(
        zheng
            .get("/exports")
            .await
            .body
            .contains(&zh("exports.empty"))
    );
    assert_eq!(admin.get(&path).await.status, 200);
    let (bytes, _, _) = download(&admin, &path).await;
    assert!(!bytes.is_empty());
    assert_eq!(
        admin.get("/exports").await.texts("#exports tbody tr").len(),
        2
    );
}
