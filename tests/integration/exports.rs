//! 导出: a list view exported in the background to CSV or xlsx, as the user who asked.

use std::{io::Cursor, time::Duration};

use calamine::{Reader, Xlsx};
use kehu_tests::{Client, TestApp};

use crate::support::{add_field, exec, refresh_without_js, zh, zone_off_utc_date};

/// Asks for an export of `entity` with `query` and waits until it is done; returns the
/// export's page path.
pub(crate) async fn export(
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

pub(crate) async fn download(client: &Client, path: &str) -> (Vec<u8>, String, String) {
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
    assert!(
        shown.texts(".export-rows")[0].contains("2 / 2"),
        "rows of the total: {:?}",
        shown.texts(".export-rows")
    );
    let id = path.trim_start_matches("/exports/");
    assert_eq!(
        app.text(&format!(
            "SELECT rows_total || ' ' || rows_done || ' ' || (started_at IS NOT NULL) FROM exports WHERE id = {id}"
        ))
        .await,
        "2 2 true"
    );
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
    assert_eq!(book.sheet_names(), [zh("exports.sheet_company")]);
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

#[tokio::test(flavor = "multi_thread")]
async fn a_running_export_shows_the_total_the_rate_and_the_time_left() {
    let app = TestApp::start().await;
    let admin = app
        .signup("进度公司", "管理员", "admin@progress.test")
        .await;
    let who = app
        .text("SELECT tenant_id || ' ' || id FROM users WHERE email = 'admin@progress.test'")
        .await;
    let (tenant, user) = who.split_once(' ').expect("tenant and user");
    // Half-way through: 500 of 2,000 rows in 10 seconds, so 50 rows/s and 30 s left. The
    // lease is live, so neither the worker nor the reconciler touches it.
    exec(
        &app,
        &format!(
            "INSERT INTO exports (tenant_id, id, requested_by, entity, format, status, rows_done, \
             rows_total, started_at, lease_until, attempts) VALUES ({tenant}, 900001, {user}, \
             'company', 'xlsx', 'running', 500, 2000, now() - interval '10 seconds', \
             now() + interval '1 hour', 1)"
        ),
    )
    .await;
    let page = admin.get("/exports/900001").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.attrs("#export-status", "data-status"), ["running"]);
    assert_eq!(page.texts(".export-rows"), ["已导出 500 / 2000 行"]);
    assert_eq!(page.attrs("progress.export-progress", "max"), ["2000"]);
    assert_eq!(page.attrs("progress.export-progress", "value"), ["500"]);
    let rate = page.texts(".export-rate");
    assert!(
        rate[0].contains("每秒 50 行") || rate[0].contains("每秒 49 行"),
        "{rate:?}"
    );
    let eta = page.texts(".export-eta");
    assert!(
        eta[0].starts_with("剩余约 3") && eta[0].ends_with('秒'),
        "30 s left, give or take the request's own time: {eta:?}"
    );
    // The fragment htmx polls shows the same, and the list shows rows of the total.
    assert_eq!(
        page.attrs("#export-status", "hx-trigger"),
        ["every 1s"],
        "htmx polls while it runs"
    );
    let fragment = admin.get("/exports/900001/progress").await;
    assert_eq!(fragment.texts(".export-rows"), ["已导出 500 / 2000 行"]);
    assert!(
        admin
            .get("/exports")
            .await
            .texts("#export-900001 td")
            .iter()
            .any(|t| t.contains("500 / 2000"))
    );
}

/// An xlsx sheet holds 1,048,575 data rows; more continue on further sheets, each with
/// the header row. The cap is a parameter, so five rows with a cap of two show it.
#[test]
fn xlsx_rows_beyond_a_sheet_continue_on_new_sheets_with_the_header() {
    use kehu::exports::write::{Rows, write_xlsx};
    let headers = vec!["名称".to_owned(), "电话".to_owned()];
    let mut first = Rows::new(2, 3);
    for cell in ["甲", "=1+1", "乙", "", "丙", "3"] {
        first.push(cell);
    }
    let mut second = Rows::new(2, 2);
    for cell in ["丁", "4", "戊", "5"] {
        second.push(cell);
    }
    let path = std::env::temp_dir().join(format!("kehu-sheets-{}.xlsx", uuid::Uuid::new_v4()));
    write_xlsx(
        &path,
        "客户",
        (&headers, &[]),
        [first, second].into_iter(),
        2,
    )
    .expect("written");
    let bytes = std::fs::read(&path).expect("the file");
    let _ = std::fs::remove_file(&path);
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx");
    assert_eq!(book.sheet_names(), ["客户", "客户 (2)", "客户 (3)"]);
    let mut names = vec![];
    for sheet in book.sheet_names() {
        let range = book.worksheet_range(&sheet).expect("readable");
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows[0], headers, "{sheet} repeats the header row");
        assert!(rows.len() <= 3, "{sheet}: {rows:?}");
        names.extend(rows[1..].iter().map(|r| r[0].clone()));
        if sheet == "客户" {
            assert_eq!(rows[1][1], "'=1+1", "formulas neutralised");
        }
    }
    assert_eq!(
        names,
        ["甲", "乙", "丙", "丁", "戊"],
        "every row once, in order"
    );
}

/// Without JavaScript the export's page reloads itself while the export is queued or
/// running (a meta refresh, which the CSP does not govern), and stops once it is done.
#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_an_export_page_refreshes_itself_until_the_export_is_done() {
    let app = TestApp::start().await;
    let admin = app
        .signup("刷新导出公司", "管理员", "admin@refresh-export.test")
        .await;
    let who = app
        .text("SELECT tenant_id || ' ' || id FROM users WHERE email = 'admin@refresh-export.test'")
        .await;
    let (tenant, user) = who.split_once(' ').expect("tenant and user");
    exec(
        &app,
        &format!(
            "INSERT INTO exports (tenant_id, id, requested_by, entity, format, status, rows_done, \
             rows_total, started_at, lease_until, enqueued_at, attempts) VALUES ({tenant}, 900002, \
             {user}, 'company', 'csv', 'queued', 0, NULL, NULL, now() + interval '1 hour', now(), 0)"
        ),
    )
    .await;
    for status in ["queued", "running"] {
        exec(
            &app,
            &format!("UPDATE exports SET status = '{status}' WHERE id = 900002"),
        )
        .await;
        let page = admin.get("/exports/900002").await;
        assert_eq!(page.status, 200);
        assert_eq!(
            refresh_without_js(&page),
            Some(2),
            "{status}: {}",
            page.body
        );
        let csp = page.header("content-security-policy").expect("a CSP");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
    // The fragment htmx swaps in carries no refresh (it is not a page).
    let fragment = admin.get("/exports/900002/progress").await;
    assert!(!fragment.body.contains("http-equiv"), "{}", fragment.body);
    for status in ["done", "failed"] {
        exec(
            &app,
            &format!("UPDATE exports SET status = '{status}' WHERE id = 900002"),
        )
        .await;
        let page = admin.get("/exports/900002").await;
        assert_eq!(page.attrs("#export-status", "data-status"), [status]);
        assert_eq!(refresh_without_js(&page), None, "{status}: no more reloads");
        assert!(page.attrs("#export-status", "hx-trigger").is_empty());
    }
}

/// Number and date custom fields are numbers and dates in xlsx (a spreadsheet sums and
/// sorts them) and plain text in CSV (a negative number is not taken for a formula);
/// the file is named with the date in the requester's time zone (the tenant's here).
#[tokio::test(flavor = "multi_thread")]
async fn number_and_date_fields_export_as_numbers_and_dates_named_by_the_tenants_date() {
    use calamine::Data;
    let app = TestApp::start().await;
    let admin = app
        .signup("类型导出公司", "管理员", "admin@typed-export.test")
        .await;
    let tenant = app.tenant_of("admin@typed-export.test").await;
    let (zone, today) = zone_off_utc_date();
    exec(
        &app,
        &format!("UPDATE tenants SET time_zone = '{zone}' WHERE id = {tenant}"),
    )
    .await;
    let staff = add_field(&app, &admin, "company", "人数", "number", "").await;
    let since = add_field(&app, &admin, "company", "签约日", "date", "").await;
    let page = admin
        .post(
            "/customers/new",
            &[
                ("name", "类型科技"),
                (&staff, "-12.5"),
                (&since, "2026-11-23"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = admin.post("/customers/new", &[("name", "空白科技")]).await;
    assert_eq!(page.status, 303, "{}", page.body);

    let path = export(&app, &admin, "company", "xlsx", "sort=name", "").await;
    let (bytes, disposition, _) = download(&admin, &path).await;
    assert!(
        disposition.contains(&format!("-{today}.xlsx")),
        "{today} in {zone}: {disposition}"
    );
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let header: Vec<String> = sheet
        .rows()
        .next()
        .expect("a header")
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |label: &str| {
        header
            .iter()
            .position(|h| h == label)
            .unwrap_or_else(|| panic!("{label} in {header:?}"))
    };
    let row = sheet
        .rows()
        .find(|r| r[0] == "类型科技")
        .expect("the company's row");
    assert_eq!(row[col("人数")], Data::Float(-12.5), "a number, not text");
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("Excel's day 0");
    let serial = (chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("date") - epoch).num_days();
    match &row[col("签约日")] {
        Data::DateTime(d) => assert_eq!(d.as_f64(), serial as f64, "2026-11-23"),
        other => panic!("a date, not {other:?}"),
    }
    let blank = sheet
        .rows()
        .find(|r| r[0] == "空白科技")
        .expect("the blank company's row");
    assert_eq!(blank[col("人数")], Data::Empty);
    assert_eq!(blank[col("签约日")], Data::Empty);

    let path = export(&app, &admin, "company", "csv", "sort=name", "").await;
    let (bytes, disposition, _) = download(&admin, &path).await;
    assert!(
        disposition.contains(&format!("-{today}.csv")),
        "{disposition}"
    );
    let text = String::from_utf8(bytes).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_owned)
        .collect();
    let record = reader
        .records()
        .map(|r| r.expect("row"))
        .find(|r| &r[0] == "类型科技")
        .expect("the company's row");
    let at = |label: &str| headers.iter().position(|h| h == label).expect("column");
    assert_eq!(&record[at("人数")], "-12.5", "not neutralised into '-12.5");
    assert_eq!(&record[at("签约日")], "2026-11-23");
}
