//! 导入 in the browser, in Chinese (issue 4): an admin opens 客户管理 → 导入, uploads an
//! xlsx with Chinese headers through the file input, checks the suggested mapping, maps
//! the spare column with the select, previews the first rows (htmx), starts the import,
//! watches the progress bar (polled by htmx) reach 100 %, reads the summary, the first
//! imported rows and the error report, then exports 客户一览 to xlsx and finds the
//! imported companies in the download. Last, the import page in English.

use std::{io::Cursor, path::Path, time::Duration};

use calamine::{Reader, Xlsx};
use kehu_tests::{TestApp, browser::Browser};
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

use crate::steps::{HEADING, cjk, scroll_to, tabs};

const TEST: &str = "imports";
const TENANT: &str = "华东贸易集团";
const ADMIN_NAME: &str = "陈静";
const ADMIN_EMAIL: &str = "chen.jing@imports.example.com";
const FILE_NAME: &str = "客户名单.xlsx";
/// Data rows in the file: one chunk (`CHUNK_ROWS` is 5,000), enough for the progress
/// page to be seen before the import is done.
const ROWS: usize = 3_000;
const HEADERS: [&str; 5] = ["公司名称", "电话", "地址", "邮箱", "备用列"];
/// The data row (1-based) with an email that is not one: refused.
const BAD_EMAIL_ROW: usize = 4;
const BAD_EMAIL: &str = "不是邮箱";
/// The data row that repeats the company of data row 2 without its legal suffix:
/// a duplicate, skipped.
const REPEAT_ROW: usize = 7;
/// How long the import and the export may take on a busy machine.
const JOB_WAIT: Duration = Duration::from_secs(90);
/// The submit button of the upload form.
const UPLOAD: &str = "form.import-upload button[type=submit]";
/// The 预览 button of the mapping screen (htmx).
const PREVIEW: &str = "form.import-mapping button[hx-post]";

fn company(i: usize) -> String {
    format!("华东{i:04}商贸有限公司")
}

fn website(i: usize) -> String {
    format!("www.hd{i:04}.cn")
}

/// The cells of data row `i` (1-based), in the order of [`HEADERS`].
fn row(i: usize) -> [String; 5] {
    let name = if i == REPEAT_ROW {
        "华东0002商贸".to_owned()
    } else {
        company(i)
    };
    let email = if i == BAD_EMAIL_ROW {
        BAD_EMAIL.to_owned()
    } else {
        format!("sales{i}@hd{i:04}.cn")
    };
    [
        name,
        format!("021-{:08}", 60_000_000 + i),
        format!("上海市浦东新区世纪大道{i}号"),
        email,
        website(i),
    ]
}

/// Writes the workbook a person would pick in the file dialog.
fn write_workbook(path: &Path) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("客户").expect("sheet name");
    for (c, header) in HEADERS.iter().enumerate() {
        sheet
            .write_string(0, c as u16, *header)
            .expect("write a header");
    }
    for i in 1..=ROWS {
        for (c, cell) in row(i).iter().enumerate() {
            sheet
                .write_string(i as u32, c as u16, cell)
                .expect("write a cell");
        }
    }
    book.save(path).expect("save the workbook");
}

/// The import's state as the progress page shows it: `(data-status, progress value)`.
async fn progress(b: &Browser) -> (String, String) {
    let value = b
        .js(
            "const s = document.querySelector('#import-status'); \
             const p = document.querySelector('#import-progress'); \
             return [s === null ? '' : s.dataset.status, \
                     p === null ? '' : p.getAttribute('value')]",
            vec![],
        )
        .await;
    let field = |i: usize| {
        value
            .get(i)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (field(0), field(1))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_imports_an_xlsx_watches_its_progress_and_exports_the_companies() {
    let app = TestApp::start().await;
    let dir = std::env::temp_dir().join(format!("kehu-imports-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(FILE_NAME);
    write_workbook(&file);
    let b = Browser::start(&app, TEST).await;

    // Sign up.
    crate::steps::sign_up(&b, &app, TENANT, ADMIN_NAME, ADMIN_EMAIL).await;

    // 客户管理 → 导入: no imports yet.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    b.wait_for_path("/customers").await;
    assert!(
        tabs(&b).await.contains(&"导入".to_owned()),
        "an admin has the 导入 tab"
    );
    b.click_and_load("ul.app-tabs a[href='/imports']").await;
    b.wait_for_path("/imports").await;
    assert_eq!(b.text_of(HEADING).await, "导入");
    assert_eq!(b.text_of("ul.app-tabs .nav-link.active").await, "导入");
    assert_eq!(b.text_of("#imports-empty").await, "还没有导入记录。");
    assert!(!b.exists("#imports").await, "no history table yet");
    assert!(
        b.js(
            "return document.querySelector('#f-entity-company').checked",
            vec![]
        )
        .await
            == json!(true),
        "客户 is chosen by default"
    );
    assert_eq!(b.text_of("#f-file-help").await, "文件最大 50 MB。");
    b.screenshot("upload-empty").await;

    // 客户, the file, 上传并继续.
    b.click("label[for='f-entity-company']").await;
    b.upload("#f-file", &file).await;
    b.screenshot("upload-file-chosen").await;
    b.click_and_load(UPLOAD).await;

    // The mapping screen.
    let path = b.path().await;
    let id: i64 = path
        .strip_prefix("/imports/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not an import page: {path}"));
    assert_eq!(b.text_of(HEADING).await, "导入：对应字段");
    let about = b.text_of("#import-file").await;
    for expected in ["客户（公司）", FILE_NAME, &format!("约 {ROWS} 行")] {
        assert!(about.contains(expected), "{expected} in {about:?}");
    }
    assert_eq!(
        b.texts("#import-mapping tbody th").await,
        HEADERS,
        "one row per column, labelled with its header"
    );
    // Suggested from the Chinese headers; 备用列 matches nothing.
    for (c, expected) in ["name", "phone", "address", "email", ""].iter().enumerate() {
        let value = b
            .js(
                "return document.querySelector(arguments[0]).value",
                vec![json!(format!("#f-map-{c}"))],
            )
            .await;
        assert_eq!(
            value.as_str(),
            Some(*expected),
            "suggestion for {}",
            HEADERS[c]
        );
    }
    assert_eq!(b.text_of("#f-map-4 option:checked").await, "（不导入）");
    let examples = b
        .text_of("#import-mapping tbody tr:first-child .import-examples")
        .await;
    assert_eq!(
        examples,
        format!("{} · {} · {}", company(1), company(2), company(3))
    );
    assert_eq!(b.text_of("#import-preview").await, "", "no preview yet");

    // 备用列 holds websites: map it to 网站.
    b.select("#f-map-4", "website").await;
    assert_eq!(b.text_of("#f-map-4 option:checked").await, "网站");
    scroll_to(&b, "#import-mapping").await;
    b.screenshot("mapping-suggested").await;

    // 预览 (htmx): the first ten rows, checked.
    b.wait_js("htmx", "return typeof htmx !== 'undefined'", vec![])
        .await;
    b.mark_document().await;
    b.click(PREVIEW).await;
    b.wait_for("#import-preview #import-preview-counts").await;
    assert!(b.document_is_marked().await, "htmx, not a page load");
    assert_eq!(
        b.text_of("#import-preview-counts").await,
        "前 10 行中：1 行有错误，1 行重复。"
    );
    // The verdict comes first, then the mapped columns.
    let mut heads = vec!["行号", "检查结果"];
    heads.extend(HEADERS);
    assert_eq!(b.texts("#import-preview-table thead th").await, heads);
    let preview_rows = "#import-preview-table tbody tr";
    assert_eq!(b.texts(preview_rows).await.len(), 10);
    let bad = format!("{preview_rows}:nth-child({BAD_EMAIL_ROW})");
    assert!(b.exists(&format!("{bad}.table-danger")).await, "marked red");
    assert_eq!(
        b.text_of(&format!("{bad} td:first-child")).await,
        (BAD_EMAIL_ROW + 1).to_string(),
        "the file's row number"
    );
    assert_eq!(
        b.text_of(&format!("{bad} .import-verdict")).await,
        format!("邮箱“{BAD_EMAIL}”格式不正确")
    );
    let repeat = format!("{preview_rows}:nth-child({REPEAT_ROW})");
    assert!(b.exists(&format!("{repeat}.table-warning")).await);
    assert_eq!(
        b.text_of(&format!("{repeat} .import-verdict")).await,
        "重复"
    );
    assert_eq!(
        b.text_of(&format!("{preview_rows}:first-child .import-verdict"))
            .await,
        "可以导入"
    );
    // The choices were saved with the preview.
    assert_eq!(
        app.text(&format!(
            "SELECT mapping::text FROM imports WHERE id = {id}"
        ))
        .await,
        r#"["name", "phone", "address", "email", "website"]"#
    );
    scroll_to(&b, "#import-preview").await;
    b.screenshot("mapping-with-preview").await;

    // 跳过重复, then 开始导入.
    b.click("label[for='f-dup-skip']").await;
    assert_eq!(
        b.js(
            "return document.querySelector('input[name=on_duplicate]:checked').value",
            vec![]
        )
        .await,
        json!("skip")
    );
    b.click_and_load("#import-start").await;
    b.wait_for_path(&path).await;
    assert_eq!(b.text_of(HEADING).await, "导入");

    // The progress page: htmx polls it every second until the import is done.
    b.mark_document().await;
    let (first_status, first_value) = progress(&b).await;
    b.screenshot("progress").await;
    let mut seen = vec![(first_status.clone(), first_value.clone())];
    let deadline = tokio::time::Instant::now() + JOB_WAIT;
    loop {
        let now = progress(&b).await;
        if seen.last() != Some(&now) {
            seen.push(now.clone());
        }
        if now.0 == "done" && now.1 == "100" {
            break;
        }
        if matches!(now.0.as_str(), "failed" | "cancelled")
            || tokio::time::Instant::now() > deadline
        {
            b.fail(&format!("the import did not finish: {seen:?}"))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let values: Vec<u32> = seen.iter().filter_map(|(_, v)| v.parse().ok()).collect();
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "the bar only moves forward: {seen:?}"
    );
    if first_status != "done" {
        assert!(
            b.document_is_marked().await,
            "htmx brought the progress without reloading the page: {seen:?}"
        );
    }
    assert_eq!(b.text_of(".import-pct").await, "100%");
    assert_eq!(b.text_of("#import-status .badge").await, "已完成");
    assert!(
        b.text_of("#import-counts")
            .await
            .contains(&format!("已处理 {ROWS} / {ROWS} 行")),
    );
    let created = ROWS - 2;
    for (key, expected) in [
        ("imports.total", ROWS),
        ("imports.created", created),
        ("imports.updated", 0),
        ("imports.duplicates", 1),
        ("imports.errors", 1),
    ] {
        assert_eq!(
            b.text_of(&format!("#import-summary dd[data-count='{key}']"))
                .await,
            expected.to_string(),
            "{key}"
        );
    }
    assert_eq!(
        b.texts("#import-summary dt").await,
        ["总行数", "新增", "更新", "重复", "错误"]
    );
    assert!(!b.exists("#import-cancel").await, "nothing to cancel");
    assert_eq!(b.text_of("#import-undo").await, "撤销导入");
    b.screenshot("progress-done").await;

    // The first imported rows, linking to the companies.
    let first = "#import-first tbody tr";
    b.wait_for(first).await;
    let names = b.texts(&format!("{first} a")).await;
    let expected: Vec<String> = (1..=12)
        .filter(|i| *i != BAD_EMAIL_ROW && *i != REPEAT_ROW)
        .take(10)
        .map(company)
        .collect();
    assert_eq!(names, expected);
    let first_id = app
        .scalar(&format!(
            "SELECT id FROM companies WHERE name = '{}'",
            company(1)
        ))
        .await;
    assert_eq!(
        b.attr(&format!("{first}:first-child a"), "href").await,
        Some(format!("/customers/{first_id}"))
    );
    scroll_to(&b, "#import-first").await;
    b.screenshot("summary-first-rows").await;

    // The error report names the row, the column and the reason.
    let report = b.attr("#import-report", "href").await.expect("a report");
    let (status, _, bytes) = b.fetch_bytes(&report, &[]).await;
    assert_eq!(status, 200);
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx report");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let cells: Vec<String> = sheet
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect();
    assert!(
        cells.iter().any(|c| c.contains(BAD_EMAIL)),
        "the bad email in the report: {cells:?}"
    );
    assert!(
        cells.contains(&(BAD_EMAIL_ROW + 1).to_string()),
        "its row number in the report: {cells:?}"
    );

    // 客户一览 lists the companies; export them to xlsx.
    b.click_and_load("ul.app-tabs a[href='/customers']").await;
    b.wait_for_path("/customers").await;
    assert!(
        b.text_of("#companies tbody").await.contains(&company(ROWS)),
        "the newest import first"
    );
    b.select("#f-export-format", "xlsx").await;
    b.click_and_load("form.export-form button[type=submit]")
        .await;
    assert!(b.path().await.starts_with("/exports/"));
    b.wait_js_within(
        JOB_WAIT,
        "the export's download link",
        "return document.querySelector('#export-status[data-status=done] #export-download') !== null",
        vec![],
    )
    .await;
    b.screenshot("export-done").await;
    let href = b
        .attr("#export-download", "href")
        .await
        .expect("a download link");
    let (status, headers, bytes) = b.fetch_bytes(&href, &["content-disposition"]).await;
    assert_eq!(status, 200);
    let disposition = headers
        .get("content-disposition")
        .cloned()
        .unwrap_or_default();
    assert!(disposition.contains(".xlsx"), "{disposition}");
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an xlsx export");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    assert_eq!(sheet.height(), created + 1, "the header and every company");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let header = &rows[0];
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    let (name_col, phone_col, email_col, website_col, address_col) = (
        col("公司名称"),
        col("电话"),
        col("邮箱"),
        col("网站"),
        col("地址"),
    );
    for i in [1, 2, 3, ROWS / 2, ROWS] {
        let cells = row(i);
        let found = rows
            .iter()
            .find(|r| r[name_col] == cells[0])
            .unwrap_or_else(|| panic!("{} in the export", cells[0]));
        assert_eq!(found[phone_col], cells[1]);
        assert_eq!(found[address_col], cells[2]);
        assert_eq!(found[email_col], cells[3]);
        assert_eq!(found[website_col], cells[4], "备用列 went to 网站");
    }
    for refused in [company(BAD_EMAIL_ROW), row(REPEAT_ROW)[0].clone()] {
        assert!(
            !rows.iter().any(|r| r[name_col] == refused),
            "{refused} was not imported"
        );
    }

    // 最新动态 has one entry for the import and one for the export, newest first, and the
    // first company's own history shows the import that created it.
    b.goto("/").await;
    let actions = b
        .js(
            "return [...document.querySelectorAll('#feed .event')].map(e => e.dataset.action)",
            vec![],
        )
        .await;
    let actions: Vec<String> = serde_json::from_value(actions).expect("actions");
    assert_eq!(
        actions.iter().filter(|a| a.as_str() != "created").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(actions[0], "exported", "{actions:?}");
    let imported = b.text_of("#feed .event[data-action=imported]").await;
    assert!(
        imported.contains(&format!(
            "导入了 {} 家客户",
            kehu::listing::views::grouped(i64::try_from(created).expect("a count"))
        )),
        "{imported}"
    );
    b.screenshot("feed-import-export").await;
    b.goto(&format!("/customers/{first_id}")).await;
    assert!(
        b.text_of("#company-history .event[data-action=imported]")
            .await
            .contains(FILE_NAME)
    );
    scroll_to(&b, "#company-history").await;
    b.screenshot("company-history-imported").await;

    // 导入 in English: the history lists the import.
    b.click_and_load("ul.app-tabs a[href='/imports']").await;
    b.click_and_load(".app-topbar .lang-switch button[lang='en']")
        .await;
    b.wait_for_path("/imports").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("en"));
    assert_eq!(b.text_of(HEADING).await, "Import");
    assert_eq!(b.texts("#imports tbody tr").await.len(), 1);
    let line = b.text_of(&format!("#imports #import-{id}")).await;
    for expected in [FILE_NAME, "Customers (companies)", "Done"] {
        assert!(line.contains(expected), "{expected} in {line:?}");
    }
    let page = b.text().await;
    let chinese = cjk(&page
        .replace("简体中文", "")
        .replace(FILE_NAME, "")
        .replace(TENANT, "")
        .replace(ADMIN_NAME, ""));
    assert_eq!(chinese, "", "untranslated text on the page");
    b.screenshot("imports-english").await;

    let _ = std::fs::remove_dir_all(&dir);
    b.finish().await;
}
