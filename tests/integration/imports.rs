//! 导入: files into companies and contacts in the background — mapping, preview,
//! duplicate policies, errors and their report, cancel, undo, hostile files.

use std::{io::Cursor, time::Duration};

use calamine::{Reader, Xlsx};
use kehu_tests::{Client, TestApp, TestOptions, client::Page};

use crate::support::{add_field, exec, refresh_without_js, zh, zone_off_utc_date};

const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Uploads `bytes` as `file_name` for `entity`; returns the response (a redirect to the
/// mapping screen when the file was accepted).
pub async fn upload(
    client: &Client,
    entity: &str,
    file_name: &str,
    content_type: &str,
    bytes: Vec<u8>,
    extra: &[(&str, &str)],
) -> Page {
    client.get("/imports").await;
    let mut fields = vec![("entity", entity)];
    fields.extend_from_slice(extra);
    client
        .upload(
            "/imports",
            &fields,
            "file",
            (file_name, content_type, bytes),
        )
        .await
}

/// The id in an `/imports/<id>` path.
pub fn id_of(path: &str) -> i64 {
    path.trim_start_matches("/imports/")
        .parse()
        .expect("an import id")
}

/// Posts the mapping screen with `mapping` (one key per column) and `extra` choices.
pub async fn start(client: &Client, path: &str, mapping: &[&str], extra: &[(&str, &str)]) -> Page {
    client.get(path).await;
    let names: Vec<String> = (0..mapping.len()).map(|c| format!("map_{c}")).collect();
    let mut fields: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(mapping.iter().copied())
        .collect();
    fields.extend_from_slice(extra);
    client.post(&format!("{path}/start"), &fields).await
}

/// Waits until the import is in one of `statuses`; returns the status.
pub async fn wait_for(app: &TestApp, id: i64, statuses: &[&str]) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = app
            .text(&format!("SELECT status FROM imports WHERE id = {id}"))
            .await;
        if statuses.contains(&status.as_str()) {
            return status;
        }
        let error = app
            .text(&format!(
                "SELECT coalesce(last_error, '') FROM imports WHERE id = {id}"
            ))
            .await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "import {id} still {status} ({error})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (rows_done, created, updated, duplicates, errors) of an import.
pub async fn counts(app: &TestApp, id: i64) -> [i64; 5] {
    let mut out = [0; 5];
    for (i, col) in [
        "rows_done",
        "created_count",
        "updated_count",
        "duplicate_count",
        "error_count",
    ]
    .iter()
    .enumerate()
    {
        out[i] = app
            .scalar(&format!("SELECT {col} FROM imports WHERE id = {id}"))
            .await;
    }
    out
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

async fn company_count(app: &TestApp, tenant_email: &str) -> i64 {
    app.scalar(&format!(
        "SELECT count(*) FROM companies WHERE tenant_id = \
         (SELECT tenant_id FROM users WHERE email = '{tenant_email}')"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gbk_csv_is_mapped_previewed_and_imported_skipping_duplicates_with_an_error_report() {
    let app = TestApp::start().await;
    let admin = app.signup("导入公司", "管理员", "admin@import.test").await;
    let industry = add_field(&app, &admin, "company", "行业", "text", "").await;
    let page = admin
        .post(
            "/customers/new",
            &[("name", "北京星辰科技有限公司"), ("phone", "010-1")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);

    let csv = "公司名称,电话,邮箱,行业,备用\n\
               北京星辰科技,010-9999,,制造业,x\n\
               上海远航物流有限公司,021-3,ops@yuanhang.cn,物流,\n\
               广州晨光贸易,020-4,not-an-email,贸易,\n\
               ,020-5,,,\n\
               上海远航物流,021-33,,物流,\n\
               深圳海风电子,0755-6,,电子,\n";
    let page = upload(&admin, "company", "客户.csv", CSV, gbk(csv), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let path = page.location.expect("the mapping screen");
    let id = id_of(&path);

    // The mapping screen suggests fields from the Chinese headers and the custom label.
    let screen = admin.get(&path).await;
    assert_eq!(screen.status, 200);
    for key in ["name", "phone", "email", industry.as_str()] {
        assert!(
            screen.body.contains(&format!("value=\"{key}\" selected")),
            "no suggestion {key}: {}",
            screen.body
        );
    }
    assert!(screen.body.contains("北京星辰科技"), "sample values shown");

    // The preview checks the first rows: one bad email, one missing name, duplicates.
    let mapping = ["name", "phone", "email", industry.as_str(), ""];
    let names: Vec<String> = (0..5).map(|c| format!("map_{c}")).collect();
    let mut fields: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(mapping.iter().copied())
        .collect();
    fields.push(("on_duplicate", "skip"));
    let preview = admin.post_htmx(&format!("{path}/preview"), &fields).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let counts_text = preview.texts("#import-preview-counts").join("");
    assert!(
        counts_text.contains(
            &zh("imports.preview_counts")
                .replace("%{rows}", "6")
                .replace("%{errors}", "2")
                .replace("%{duplicates}", "2")
        ),
        "{counts_text}"
    );
    assert!(preview.body.contains("not-an-email"));

    let page = start(&admin, &path, &mapping, &[("on_duplicate", "skip")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(wait_for(&app, id, &["done"]).await, "done");
    // 6 rows: 2 created (远航, 海风), 2 duplicates skipped (星辰 exists, 远航 repeats),
    // 2 errors (bad email, no name).
    assert_eq!(counts(&app, id).await, [6, 2, 0, 2, 2]);
    assert_eq!(company_count(&app, "admin@import.test").await, 3);
    let phone = app
        .text("SELECT phone FROM companies WHERE name = '北京星辰科技有限公司'")
        .await;
    assert_eq!(phone, "010-1", "skip leaves the existing company alone");
    let custom = app
        .text("SELECT custom::text FROM companies WHERE name = '深圳海风电子'")
        .await;
    assert!(custom.contains("电子"), "custom field imported: {custom}");
    let owner = app
        .text("SELECT u.email FROM companies c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.owner_id WHERE c.name = '深圳海风电子'")
        .await;
    assert_eq!(owner, "admin@import.test");

    // The summary lists the counts and the first imported records.
    let summary = admin.get(&path).await;
    assert!(summary.body.contains("上海远航物流有限公司"));
    assert!(summary.body.contains("深圳海风电子"));
    assert_eq!(
        summary.texts("#import-summary dd"),
        vec!["6", "2", "0", "2", "2"]
    );

    // The error report names the row, the column and the reason.
    let (status, headers, bytes) = admin.get_bytes(&format!("{path}/errors")).await;
    assert_eq!(status, 200);
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(disposition.contains("attachment"), "{disposition}");
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("xlsx");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0][0], zh("imports.report_row"));
    assert_eq!(rows[1][0], "4");
    assert_eq!(rows[1][1], "邮箱");
    assert!(rows[1][2].contains("not-an-email"));
    assert_eq!(rows[2][0], "5");
    assert_eq!(rows[2][1], "公司名称");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_update_policy_updates_duplicates_and_undo_restores_them_and_removes_what_was_created()
{
    let app = TestApp::start().await;
    let admin = app.signup("更新公司", "管理员", "admin@update.test").await;
    let page = admin
        .post(
            "/customers/new",
            &[
                ("name", "北京星辰科技有限公司"),
                ("phone", "010-1"),
                ("address", "朝阳区"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let csv = "Company,Phone,Address\n北京星辰科技,010-2,\n杭州西湖茶业,0571-1,西湖区\n";
    let page = upload(
        &admin,
        "company",
        "update.csv",
        CSV,
        csv.as_bytes().to_vec(),
        &[],
    )
    .await;
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    let page = start(
        &admin,
        &path,
        &["name", "phone", "address"],
        &[("on_duplicate", "update"), ("visibility", "public")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    wait_for(&app, id, &["done"]).await;
    assert_eq!(counts(&app, id).await, [2, 1, 1, 1, 0]);
    assert_eq!(
        app.text(
            "SELECT phone || '|' || address FROM companies WHERE name = '北京星辰科技有限公司'"
        )
        .await,
        "010-2|朝阳区",
        "update changes the mapped values and keeps what the file leaves empty"
    );
    assert_eq!(
        app.text("SELECT visibility FROM companies WHERE name = '杭州西湖茶业'")
            .await,
        "public"
    );

    // Undo asks first, then restores the updated company and removes the created one.
    let confirm = admin.get(&format!("{path}/undo")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains(&zh("imports.undo_warning")));
    let page = admin.post(&format!("{path}/undo"), &[]).await;
    assert_eq!(page.status, 303);
    wait_for(&app, id, &["undone"]).await;
    assert_eq!(
        app.text(
            "SELECT phone || '|' || address FROM companies WHERE name = '北京星辰科技有限公司'"
        )
        .await,
        "010-1|朝阳区"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM companies WHERE name = '杭州西湖茶业'")
            .await,
        0
    );
    assert_eq!(company_count(&app, "admin@update.test").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_create_policy_creates_duplicates_anyway_and_counts_them() {
    let app = TestApp::start().await;
    let admin = app.signup("新增公司", "管理员", "admin@create.test").await;
    admin
        .post("/customers/new", &[("name", "北京星辰科技有限公司")])
        .await;
    let csv = "公司名称\n北京星辰科技\n北京星辰科技\n";
    let page = upload(
        &admin,
        "company",
        "c.csv",
        CSV,
        csv.as_bytes().to_vec(),
        &[],
    )
    .await;
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    start(&admin, &path, &["name"], &[("on_duplicate", "create")]).await;
    wait_for(&app, id, &["done"]).await;
    assert_eq!(counts(&app, id).await, [2, 2, 0, 2, 0]);
    assert_eq!(company_count(&app, "admin@create.test").await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn contacts_link_to_their_company_by_name_and_unknown_companies_are_errors() {
    let app = TestApp::start().await;
    let admin = app
        .signup("联系人公司", "管理员", "admin@contacts.test")
        .await;
    admin
        .post("/customers/new", &[("name", "北京星辰科技有限公司")])
        .await;
    let csv = "\u{feff}所属公司,姓名,手机,职位\n\
               北京星辰科技,张伟,13800138000,经理\n\
               北京 星辰科技有限公司,李娜,13900139000,\n\
               不存在的公司,王芳,13700137000,\n\
               北京星辰科技,张伟,13800138001,\n";
    let page = upload(
        &admin,
        "contact",
        "联系人.csv",
        CSV,
        csv.as_bytes().to_vec(),
        &[],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    let screen = admin.get(&path).await;
    for key in ["company", "name", "mobile", "title"] {
        assert!(
            screen.body.contains(&format!("value=\"{key}\" selected")),
            "{key}"
        );
    }
    let page = start(
        &admin,
        &path,
        &["company", "name", "mobile", "title"],
        &[("on_duplicate", "skip")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    wait_for(&app, id, &["done"]).await;
    assert_eq!(counts(&app, id).await, [4, 2, 0, 1, 1]);
    assert_eq!(
        app.text(
            "SELECT string_agg(ct.name || '@' || c.name, ',' ORDER BY ct.id) FROM contacts ct \
             JOIN companies c ON c.tenant_id = ct.tenant_id AND c.id = ct.company_id"
        )
        .await,
        "张伟@北京星辰科技有限公司,李娜@北京星辰科技有限公司"
    );
    let reason = app
        .text(&format!(
            "SELECT reason FROM import_errors WHERE import_id = {id}"
        ))
        .await;
    assert!(reason.contains("不存在的公司"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_xlsx_file_imports_numbers_dates_and_custom_fields() {
    let app = TestApp::start().await;
    let admin = app.signup("表格公司", "管理员", "admin@xlsx.test").await;
    let founded = add_field(&app, &admin, "company", "成立日期", "date", "").await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["客户名称", "电话", "成立日期"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    sheet.write_string(1, 0, "成都熊猫科技").expect("cell");
    sheet.write_number(1, 1, 13800138000.0).expect("cell");
    sheet.write_string(1, 2, "2020-05-01").expect("cell");
    sheet.write_string(2, 0, "=1+1").expect("cell");
    let bytes = book.save_to_buffer().expect("xlsx");
    let page = upload(
        &admin,
        "company",
        "客户.xlsx",
        XLSX,
        bytes,
        &[("format", "xlsx")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    start(&admin, &path, &["name", "phone", founded.as_str()], &[]).await;
    wait_for(&app, id, &["done"]).await;
    assert_eq!(counts(&app, id).await[1], 2);
    assert_eq!(
        app.text("SELECT phone || '|' || (custom->>(SELECT id::text FROM custom_fields LIMIT 1)) FROM companies WHERE name = '成都熊猫科技'")
            .await,
        "13800138000|2020-05-01"
    );
    // A formula-looking text is data: stored as typed, neutralised again on export.
    assert_eq!(
        app.scalar("SELECT count(*) FROM companies WHERE name = '=1+1'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_are_refused_with_a_reason_and_the_form_keeps_the_choices() {
    let app = TestApp::start_with(TestOptions {
        import_max_bytes: 64 * 1024,
        ..TestOptions::default()
    })
    .await;
    let admin = app.signup("坏文件公司", "管理员", "admin@bad.test").await;

    // The limit is on the page.
    let form = admin.get("/imports").await;
    assert_eq!(
        form.texts("#f-file-help").join(""),
        zh("imports.limit").replace("%{size}", "64 KB")
    );

    // Too large.
    let big = vec![b'a'; 100 * 1024];
    let page = upload(
        &admin,
        "contact",
        "big.csv",
        CSV,
        big,
        &[("visibility", "public")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.texts("#import-error").join(""),
        zh("imports.too_large").replace("%{size}", "64 KB")
    );
    assert!(
        page.body
            .contains("id=\"f-entity-contact\" value=\"contact\" checked"),
        "entity kept"
    );

    // A PNG named .xlsx.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let page = upload(&admin, "company", "logo.xlsx", XLSX, png, &[]).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(!page.texts("#import-error").join("").is_empty());

    // The chosen format does not match the name.
    let page = upload(
        &admin,
        "company",
        "a.csv",
        CSV,
        b"name\nx\n".to_vec(),
        &[("format", "xlsx")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(page.texts("#import-error").join("").contains("a.csv"));

    // No file at all.
    let page = upload(&admin, "company", "", CSV, vec![], &[]).await;
    assert_eq!(page.status, 422);
    assert_eq!(page.texts("#import-error").join(""), zh("imports.no_file"));

    // A truncated workbook.
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet()
        .write_string(0, 0, "公司名称")
        .expect("cell");
    let mut bytes = book.save_to_buffer().expect("xlsx");
    bytes.truncate(bytes.len() / 2);
    let page = upload(&admin, "company", "cut.xlsx", XLSX, bytes, &[]).await;
    assert_eq!(page.status, 422);
    assert!(!page.texts("#import-error").join("").is_empty());

    // Mixed encodings found after the first rows fail the run with the line.
    let mut mixed = "公司名称\n".as_bytes().to_vec();
    for i in 0..30 {
        mixed.extend_from_slice(format!("公司{i}\n").as_bytes());
    }
    mixed.extend_from_slice(&gbk("广州晨光贸易\n"));
    let page = upload(&admin, "company", "mixed.csv", CSV, mixed, &[]).await;
    if page.status == 303 {
        let path = page.location.expect("mapping");
        let id = id_of(&path);
        start(&admin, &path, &["name"], &[]).await;
        wait_for(&app, id, &["failed"]).await;
        let reason = app
            .text(&format!("SELECT last_error FROM imports WHERE id = {id}"))
            .await;
        assert!(reason.contains("32"), "the line is named: {reason}");
        let shown = admin.get(&path).await;
        assert!(shown.texts("#import-failed").join("").contains("32"));
    } else {
        assert_eq!(page.status, 422);
        assert!(page.texts("#import-error").join("").contains("32"));
    }
    assert_eq!(company_count(&app, "admin@bad.test").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_import_can_be_cancelled_and_keeps_only_whole_chunks() {
    let app = TestApp::start().await;
    let admin = app.signup("取消公司", "管理员", "admin@cancel.test").await;
    let mut csv = String::from("公司名称,电话\n");
    for i in 0..60_000 {
        csv.push_str(&format!("取消测试公司{i},010-{i}\n"));
    }
    let page = upload(&admin, "company", "many.csv", CSV, csv.into_bytes(), &[]).await;
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    start(&admin, &path, &["name", "phone"], &[]).await;
    let page = admin.post(&format!("{path}/cancel"), &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        wait_for(&app, id, &["cancelled", "done"]).await,
        "cancelled"
    );
    let [done, created, ..] = counts(&app, id).await;
    assert!(done < 60_000, "stopped early ({done})");
    assert_eq!(done % 5_000, 0, "whole chunks only");
    assert_eq!(created, done);
    assert_eq!(company_count(&app, "admin@cancel.test").await, created);
    // Undo removes what the cancelled import created.
    admin.post(&format!("{path}/undo"), &[]).await;
    wait_for(&app, id, &["undone"]).await;
    assert_eq!(company_count(&app, "admin@cancel.test").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_are_for_admins_and_stay_in_their_tenant() {
    let app = TestApp::start().await;
    let admin = app.signup("甲公司", "管理员", "admin@a.test").await;
    let other = app.signup("乙公司", "管理员", "admin@b.test").await;
    let page = upload(
        &admin,
        "company",
        "a.csv",
        CSV,
        "公司名称\n甲的客户\n".as_bytes().to_vec(),
        &[],
    )
    .await;
    let path = page.location.expect("mapping");
    for p in [
        path.clone(),
        format!("{path}/progress"),
        format!("{path}/errors"),
    ] {
        assert_eq!(other.get(&p).await.status, 404, "{p}");
    }
    other.get("/imports").await;
    let page = other
        .post(&format!("{path}/start"), &[("map_0", "name")])
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(
        app.text(&format!(
            "SELECT status FROM imports WHERE id = {}",
            id_of(&path)
        ))
        .await,
        "draft"
    );
    assert!(!other.get("/imports").await.body.contains("a.csv"));

    // A member is refused the whole tool.
    app.create_user(&admin, "员工", "member@a.test", "member", None)
        .await;
    let member = app.login_ok("member@a.test").await;
    assert_eq!(member.get("/imports").await.status, 403);
    assert_eq!(member.get(&path).await.status, 403);
    assert!(
        !member
            .get("/customers")
            .await
            .body
            .contains("href=\"/imports\"")
    );
}

/// A zip of `entries` (the first stored, the rest deflated), as office files are.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (i, (name, bytes)) in entries.iter().enumerate() {
        let method = if i == 0 {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        zip.start_file(*name, options).expect("zip entry");
        zip.write_all(bytes).expect("zip write");
    }
    zip.finish().expect("zip").into_inner()
}

/// The entries of a generated xlsx, with `patch` applied to each (name, bytes).
fn xlsx_entries(patch: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "公司名称").expect("cell");
    sheet.write_string(1, 0, "炸弹公司").expect("cell");
    let bytes = book.save_to_buffer().expect("xlsx");
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).expect("entry");
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).expect("inflate");
            let name = entry.name().expect("entry name").into_owned();
            let data = patch(&name, data);
            (name, data)
        })
        .collect()
}

fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    zip_of(&refs)
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_files_fail_at_upload_with_a_clear_reason_and_store_nothing() {
    let app = TestApp::start().await;
    let admin = app
        .signup("恶意文件公司", "管理员", "admin@hostile.test")
        .await;
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![];

    // A zip bomb: one entry of 8 MiB of zeros (compresses over 1000:1).
    let mut bomb = xlsx_entries(|_, d| d);
    bomb.push(("xl/media/zeros.bin".into(), vec![0u8; 8 << 20]));
    cases.push(("bomb.xlsx", rezip(&bomb), "压缩"));

    // A sheet declaring the whole grid (16,384 × 1,048,576 cells).
    let huge = xlsx_entries(|name, data| {
        if name == "xl/worksheets/sheet1.xml" {
            let xml = String::from_utf8(data).expect("utf-8");
            let start = xml.find("<dimension ref=\"").expect("a dimension");
            let end = start + xml[start..].find("/>").expect("end") + 2;
            format!(
                "{}<dimension ref=\"A1:XFD1048576\"/>{}",
                &xml[..start],
                &xml[end..]
            )
            .into_bytes()
        } else {
            data
        }
    });
    cases.push(("huge.xlsx", rezip(&huge), "200"));

    // A thousand columns.
    let header: Vec<String> = (0..1000).map(|i| format!("列{i}")).collect();
    let wide = format!("{}\n{}\n", header.join(","), header.join(","));
    cases.push(("wide.csv", wide.into_bytes(), "200"));

    for (name, bytes, hint) in cases {
        let content_type = if name.ends_with(".csv") { CSV } else { XLSX };
        let page = upload(&admin, "company", name, content_type, bytes, &[]).await;
        assert_eq!(page.status, 422, "{name}: {}", page.status);
        let reason = page.texts("#import-error").join("");
        assert!(reason.contains(hint), "{name}: {reason}");
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM imports").await,
        0,
        "no import is created for a refused file"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ods_spreadsheet_imports_like_an_xlsx() {
    let app = TestApp::start().await;
    let admin = app.signup("开放文档公司", "管理员", "admin@ods.test").await;
    let cell = |t: &str| {
        format!(
            "<table:table-cell office:value-type=\"string\"><text:p>{t}</text:p></table:table-cell>"
        )
    };
    let rows = [
        ("客户名称", "电话"),
        ("南京紫金科技", "025-1"),
        ("苏州园林设计", "0512-2"),
    ]
    .iter()
    .map(|(a, b)| format!("<table:table-row>{}{}</table:table-row>", cell(a), cell(b)))
    .collect::<String>();
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="客户">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let ods = zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", manifest.as_bytes()),
        ("content.xml", content.as_bytes()),
    ]);
    let page = upload(
        &admin,
        "company",
        "客户.ods",
        "application/vnd.oasis.opendocument.spreadsheet",
        ods,
        &[("format", "ods")],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.texts("#import-error").join(""));
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    start(&admin, &path, &["name", "phone"], &[]).await;
    wait_for(&app, id, &["done"]).await;
    assert_eq!(counts(&app, id).await, [2, 2, 0, 0, 0]);
    assert_eq!(
        app.text("SELECT string_agg(name || ':' || phone, ',' ORDER BY id) FROM companies")
            .await,
        "南京紫金科技:025-1,苏州园林设计:0512-2"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_excel_97_xls_file_imports() {
    let app = TestApp::start().await;
    let admin = app.signup("旧表格公司", "管理员", "admin@xls.test").await;
    let bytes = include_bytes!("../fixtures/customers.xls").to_vec();
    let page = upload(
        &admin,
        "company",
        "客户.xls",
        "application/vnd.ms-excel",
        bytes,
        &[],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.texts("#import-error").join(""));
    let path = page.location.expect("mapping");
    let id = id_of(&path);
    start(&admin, &path, &["name", "phone", "address"], &[]).await;
    wait_for(&app, id, &["done"]).await;
    assert_eq!(counts(&app, id).await, [2, 2, 0, 0, 0]);
    assert_eq!(
        app.text("SELECT string_agg(name || ':' || phone || ':' || address, ',' ORDER BY id) FROM companies")
            .await,
        "武汉长江航运:027-1:江汉区,西安古城文旅:13800138000:碑林区"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_companies_get_the_chosen_visibility_and_owner() {
    let app = TestApp::start().await;
    let admin = app.signup("可见公司", "管理员", "admin@seen.test").await;
    app.create_user(&admin, "销售甲", "sales@seen.test", "member", None)
        .await;
    app.create_user(&admin, "销售乙", "other@seen.test", "member", None)
        .await;
    let sales = app.user_id("sales@seen.test").await.to_string();
    for (file, visibility) in [("私有.csv", "private"), ("公开.csv", "public")] {
        let csv = format!("公司名称\n{visibility}导入客户\n");
        let page = upload(
            &admin,
            "company",
            file,
            CSV,
            csv.into_bytes(),
            &[("visibility", visibility), ("owner_id", &sales)],
        )
        .await;
        let path = page.location.expect("mapping");
        let id = id_of(&path);
        let screen = admin.get(&path).await;
        assert!(screen.body.contains(&format!("value=\"{sales}\" selected")));
        start(
            &admin,
            &path,
            &["name"],
            &[("visibility", visibility), ("owner_id", &sales)],
        )
        .await;
        wait_for(&app, id, &["done"]).await;
    }
    let owner = app
        .scalar("SELECT count(DISTINCT owner_id) FROM companies")
        .await;
    assert_eq!(owner, 1);
    let sales_client = app.login_ok("sales@seen.test").await;
    let list = sales_client.get("/customers").await;
    assert!(list.body.contains("private导入客户") && list.body.contains("public导入客户"));
    let other = app.login_ok("other@seen.test").await;
    let list = other.get("/customers").await;
    assert!(list.body.contains("public导入客户"));
    assert!(
        !list.body.contains("private导入客户"),
        "a private import is its owner's"
    );
}

/// Uploads a CSV of names and phones, starts it with `policy` and waits until it is done.
async fn import_names_and_phones(app: &TestApp, admin: &Client, csv: String, policy: &str) -> i64 {
    let page = upload(admin, "company", "客户.csv", CSV, csv.into_bytes(), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let path = page.location.expect("the mapping screen");
    let id = id_of(&path);
    let page = start(
        admin,
        &path,
        &["name", "phone"],
        &[("on_duplicate", policy)],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(wait_for(app, id, &["done"]).await, "done");
    id
}

/// Chunks are merged on two connections at once: a name repeated in another chunk (as
/// another spelling of the same key) is still created once, whichever chunk commits
/// first, and the counts add up.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_repeated_across_chunks_merged_at_once_is_created_once() {
    let app = TestApp::start().await;
    let admin = app
        .signup("并发导入公司", "管理员", "admin@parallel.test")
        .await;
    let rows = 3 * kehu::imports::CHUNK_ROWS;
    let mut csv = String::from("公司名称,电话\n");
    for i in 0..rows {
        let name = match i {
            // Chunk 1 repeats row 0 with a legal form; chunk 2 row 1 in full-width digits.
            5000 => "并发去重测试0号有限公司".to_owned(),
            10000 => "并发去重测试１号".to_owned(),
            _ => format!("并发去重测试{i}号"),
        };
        csv.push_str(&format!("{name},010-{i}\n"));
    }
    let id = import_names_and_phones(&app, &admin, csv, "skip").await;

    let total = rows as i64;
    assert_eq!(counts(&app, id).await, [total, total - 2, 0, 2, 0]);
    assert_eq!(company_count(&app, "admin@parallel.test").await, total - 2);
    for key in ["并发去重测试0号", "并发去重测试1号"] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT count(*) FROM companies WHERE name_key = kehu_company_key('{key}')"
            ))
            .await,
            1,
            "{key} created once"
        );
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM import_keys").await,
        0,
        "every claim is released"
    );
}

/// With the update policy, a name repeated in a later chunk updates the record the
/// earlier chunk created, as merging the chunks one after another would: the later row's
/// values win, even though the two chunks are merged at once.
#[tokio::test(flavor = "multi_thread")]
async fn a_later_chunk_updates_what_an_earlier_chunk_created_in_file_order() {
    let app = TestApp::start().await;
    let admin = app
        .signup("并发更新公司", "管理员", "admin@parallel-update.test")
        .await;
    let rows = 2 * kehu::imports::CHUNK_ROWS;
    let mut csv = String::from("公司名称,电话\n");
    for i in 0..rows {
        let (name, phone) = match i {
            0 => ("顺序更新测试公司".to_owned(), "010-first".to_owned()),
            5000 => ("顺序更新测试公司".to_owned(), "010-second".to_owned()),
            _ => (format!("顺序更新测试{i}号"), format!("010-{i}")),
        };
        csv.push_str(&format!("{name},{phone}\n"));
    }
    let id = import_names_and_phones(&app, &admin, csv, "update").await;

    let total = rows as i64;
    assert_eq!(counts(&app, id).await, [total, total - 1, 1, 1, 0]);
    assert_eq!(
        app.text("SELECT phone FROM companies WHERE name = '顺序更新测试公司'")
            .await,
        "010-second"
    );
}

/// The error report's file name carries the date in the tenant's time zone, not UTC's.
#[tokio::test(flavor = "multi_thread")]
async fn the_error_report_is_named_with_the_tenants_date() {
    let app = TestApp::start().await;
    let admin = app
        .signup("报告日期公司", "管理员", "admin@report-date.test")
        .await;
    let tenant = app.tenant_of("admin@report-date.test").await;
    let (zone, today) = zone_off_utc_date();
    exec(
        &app,
        &format!("UPDATE tenants SET time_zone = '{zone}' WHERE id = {tenant}"),
    )
    .await;
    let csv = "公司名称,邮箱\n日期公司,not-an-email\n";
    let page = upload(
        &admin,
        "company",
        "客户.csv",
        CSV,
        csv.as_bytes().to_vec(),
        &[],
    )
    .await;
    let path = page.location.expect("the mapping screen");
    let id = id_of(&path);
    start(&admin, &path, &["name", "email"], &[]).await;
    assert_eq!(wait_for(&app, id, &["done"]).await, "done");
    let (status, headers, _) = admin.get_bytes(&format!("{path}/errors")).await;
    assert_eq!(status, 200);
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        disposition.contains(&format!("-{today}.xlsx")),
        "{today} in {zone}: {disposition}"
    );
}

/// Without JavaScript the import's page reloads itself while the import (or its undo)
/// runs, and stops once it has stopped; with JavaScript htmx polls the fragment.
#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_an_import_page_refreshes_itself_while_the_import_runs() {
    let app = TestApp::start().await;
    let admin = app
        .signup("刷新导入公司", "管理员", "admin@refresh-import.test")
        .await;
    let csv = "公司名称\n刷新公司\n";
    let page = upload(
        &admin,
        "company",
        "客户.csv",
        CSV,
        csv.as_bytes().to_vec(),
        &[],
    )
    .await;
    let path = page.location.expect("the mapping screen");
    let id = id_of(&path);
    let draft = admin.get(&path).await;
    assert_eq!(
        refresh_without_js(&draft),
        None,
        "the mapping screen waits for the user"
    );
    // A live lease and a fresh enqueue: neither the worker nor the reconciler moves it.
    for status in ["queued", "running", "undoing"] {
        exec(
            &app,
            &format!(
                "UPDATE imports SET status = '{status}', started_at = now(), \
                 lease_until = now() + interval '1 hour', enqueued_at = now() WHERE id = {id}"
            ),
        )
        .await;
        let page = admin.get(&path).await;
        assert_eq!(page.attrs("#import-status", "data-status"), [status]);
        assert_eq!(refresh_without_js(&page), Some(2), "{status}");
        assert_eq!(page.attrs("#import-status", "hx-trigger"), ["every 1s"]);
    }
    let fragment = admin.get(&format!("{path}/progress")).await;
    assert!(!fragment.body.contains("http-equiv"), "{}", fragment.body);
    for status in ["done", "cancelled", "failed", "undone"] {
        exec(
            &app,
            &format!("UPDATE imports SET status = '{status}' WHERE id = {id}"),
        )
        .await;
        let page = admin.get(&path).await;
        assert_eq!(page.attrs("#import-status", "data-status"), [status]);
        assert_eq!(refresh_without_js(&page), None, "{status}");
        assert!(page.attrs("#import-status", "hx-trigger").is_empty());
    }
}
