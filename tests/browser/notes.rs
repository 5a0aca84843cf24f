//! 备注 in the browser, in Chinese: on a company page an admin writes a note and attaches
//! a file with a Chinese name through the file input, sees the note in the timeline with
//! its download link, finds "添加了备注" in the company's history and in the home page's
//! feed, and downloads the file (with the browser's session) byte for byte.

use kehu_tests::{PASSWORD, TestApp, browser::Browser};

use crate::steps::{HEADING, add_company, scroll_to, sign_in};

const TEST: &str = "notes";
const TENANT: &str = "星辰集团";
const ADMIN_NAME: &str = "王芳";
const ADMIN_EMAIL: &str = "wang.fang@notes.example.com";
const COMPANY: &str = "北京星辰科技有限公司";
const NOTE_FIRST_LINE: &str = "客户要求下周提供正式报价。";
const NOTE: &str = "客户要求下周提供正式报价。\n附上初版报价单，请销售部确认折扣。";
const FILE_NAME: &str = "报价单.txt";
const FILE_TEXT: &str = "报价单\n产品：客户管理系统 专业版\n数量：20 个账号\n单价：¥1,200/年\n";
const SUBMIT: &str = "form.note-form button[type=submit]";

#[tokio::test(flavor = "multi_thread")]
async fn a_note_with_a_chinese_named_file_shows_in_the_timeline_and_history_and_downloads() {
    let app = TestApp::start().await;
    let admin = app.signup(TENANT, ADMIN_NAME, ADMIN_EMAIL).await;
    let company = add_company(&admin, &[("name", COMPANY)]).await;
    // The file a person would pick in the file dialog.
    let dir = std::env::temp_dir().join(format!("kehu-notes-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(FILE_NAME);
    std::fs::write(&file, FILE_TEXT).expect("write the file to upload");

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;

    // The company page from the list: no notes yet.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    b.click_and_load(&format!("#companies a[href='/customers/{company}']"))
        .await;
    b.wait_for_path(&format!("/customers/{company}")).await;
    assert_eq!(b.text_of(HEADING).await, COMPANY);
    assert_eq!(b.text_of("#company-notes .card-header").await, "备注");
    b.wait_for_text_in("#company-notes .empty-state", "暂无备注")
        .await;
    assert_eq!(
        b.text_of("#f-note-files-help").await,
        "每条备注最多 5 个附件，每个不超过 10 MB。"
    );
    b.screenshot("company-without-notes").await;

    // Write the note and choose the file.
    b.fill("#f-note-body", NOTE).await;
    b.upload("#f-note-files", &file).await;
    b.screenshot("note-filled").await;
    b.click_and_load(SUBMIT).await;

    // Back on the company page, at the new note.
    b.wait_for_path(&format!("/customers/{company}")).await;
    let note = app
        .scalar(&format!(
            "SELECT id FROM notes WHERE company_id = {company}"
        ))
        .await;
    let hash = b.js("return location.hash", vec![]).await;
    assert_eq!(hash.as_str(), Some(format!("#note-{note}").as_str()));
    let item = format!("#company-notes #note-{note}");
    assert_eq!(
        b.texts("#company-notes .notes-timeline > li").await.len(),
        1
    );
    assert!(!b.exists("#company-notes .empty-state").await);
    assert_eq!(b.text_of(&format!("{item} .note-author")).await, ADMIN_NAME);
    assert_eq!(b.text_of(&format!("{item} .note-body")).await, NOTE);
    let link = format!("{item} .note-files a");
    assert_eq!(b.text_of(&link).await, FILE_NAME);
    assert_eq!(b.attr(&link, "download").await.as_deref(), Some(FILE_NAME));
    let href = b.attr(&link, "href").await.expect("a download link");
    assert!(
        href.starts_with(&format!("/customers/{company}/files/")),
        "{href}"
    );
    let size = format!("({} B)", FILE_TEXT.len());
    let file_line = b.text_of(&format!("{item} .note-file")).await;
    assert!(file_line.contains(&size), "{size} in {file_line:?}");
    assert_eq!(
        b.attr("#f-note-body", "aria-invalid").await,
        None,
        "no error"
    );
    scroll_to(&b, "#company-notes").await;
    b.screenshot("note-in-timeline").await;

    // The history says who added a note, with its first line.
    let event = "#company-history .event[data-action='note_added']";
    let text = b.text_of(event).await;
    for expected in [ADMIN_NAME, "添加了备注", NOTE_FIRST_LINE] {
        assert!(text.contains(expected), "{expected} in {text:?}");
    }
    assert_eq!(
        b.texts("#company-history .event").await.len(),
        2,
        "created, then the note"
    );
    scroll_to(&b, "#company-history").await;
    b.screenshot("history-note-added").await;

    // The link downloads exactly the file, as an attachment under its Chinese name.
    let (status, headers, bytes) = b
        .fetch_bytes(
            &href,
            &[
                "content-disposition",
                "content-type",
                "x-content-type-options",
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, FILE_TEXT.as_bytes(), "the same bytes came back");
    let disposition = headers
        .get("content-disposition")
        .cloned()
        .unwrap_or_default();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let encoded = disposition
        .split("filename*=UTF-8''")
        .nth(1)
        .unwrap_or_else(|| panic!("an RFC 6266 UTF-8 name in {disposition:?}"));
    let decoded: Vec<(String, String)> =
        url::form_urlencoded::parse(format!("name={encoded}").as_bytes())
            .into_owned()
            .collect();
    assert_eq!(decoded, [("name".to_owned(), FILE_NAME.to_owned())]);
    assert_eq!(
        headers.get("x-content-type-options").map(String::as_str),
        Some("nosniff")
    );
    assert!(
        headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{headers:?}"
    );

    // 工作桌面's 最新动态 shows it too.
    b.click_and_load("nav.app-menu a[href='/']").await;
    b.wait_for_path("/").await;
    let feed = "#feed .event[data-action='note_added']";
    b.wait_for_text_in(feed, "添加了备注").await;
    let text = b.text_of(feed).await;
    for expected in [ADMIN_NAME, COMPANY, NOTE_FIRST_LINE] {
        assert!(text.contains(expected), "{expected} in {text:?}");
    }
    b.screenshot("feed-note-added").await;

    let _ = std::fs::remove_dir_all(&dir);
    b.finish().await;
}
