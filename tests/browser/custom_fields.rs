//! 自定义字段 in the browser: an admin adds a single-select field 行业, fills it in on a
//! new company, sees it on the detail page, changes it in place with the pencil (htmx,
//! no page load, recorded in the history), shows it as a list column, and then looks at
//! the list and the company page in English.

use kehu_tests::{PASSWORD, TestApp, browser::Browser};

use crate::steps::{HEADING, scroll_to, sign_in, tabs};

const TEST: &str = "custom_fields";
const TENANT: &str = "星辰集团";
const ADMIN_NAME: &str = "王芳";
const ADMIN_EMAIL: &str = "wang.fang@fields.example.com";
const COMPANY: &str = "北京星辰科技有限公司";
const FIELD: &str = "行业";
const OPTIONS: [&str; 3] = ["制造业", "零售", "互联网"];

#[tokio::test(flavor = "multi_thread")]
async fn a_select_field_is_filled_edited_in_place_shown_as_a_column_and_in_english() {
    let app = TestApp::start().await;
    app.signup(TENANT, ADMIN_NAME, ADMIN_EMAIL).await;
    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;

    // 系统设置 → 自定义字段: none yet.
    b.click_and_load("nav.app-menu a[href='/admin/users']")
        .await;
    assert!(tabs(&b).await.contains(&"自定义字段".to_owned()));
    b.click_and_load("ul.app-tabs a[href='/admin/fields']")
        .await;
    b.wait_for_path("/admin/fields").await;
    assert_eq!(b.text_of(HEADING).await, "自定义字段");
    b.wait_for("#fields-empty").await;

    // Add 行业, single select, three options.
    b.fill("#f-label", FIELD).await;
    b.select("#f-kind", "select").await;
    assert_eq!(b.text_of("#f-kind option:checked").await, "单选");
    b.fill("#f-options", &OPTIONS.join("\n")).await;
    b.screenshot("add-field-filled").await;
    b.click_and_load("form[action='/admin/fields'] button[type=submit]")
        .await;
    b.wait_for_path("/admin/fields").await;
    let field = app
        .scalar(&format!(
            "SELECT id FROM custom_fields WHERE label = '{FIELD}'"
        ))
        .await;
    let row = b.text_of(&format!("#fields tr#field-{field}")).await;
    for expected in [FIELD, "单选", "制造业、零售、互联网"] {
        assert!(row.contains(expected), "{expected} in {row:?}");
    }
    assert!(!b.exists("#fields-empty").await);
    b.screenshot("field-added").await;

    // A new company with 行业 = 制造业.
    let input = format!("#f-cf_{field}");
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    b.click_and_load("ul.app-tabs a[href='/customers/new']")
        .await;
    b.wait_for_path("/customers/new").await;
    assert_eq!(
        b.text_of(&format!("label[for='f-cf_{field}']")).await,
        FIELD
    );
    assert_eq!(
        b.texts(&format!("{input} option")).await,
        ["请选择", "制造业", "零售", "互联网"]
    );
    b.fill("#f-name", COMPANY).await;
    b.select(&input, "制造业").await;
    scroll_to(&b, &input).await;
    b.screenshot("new-company-with-field").await;
    b.click_and_load("form.company-form button[type=submit]")
        .await;
    assert_eq!(b.text_of(HEADING).await, COMPANY);
    let company: i64 = b
        .path()
        .await
        .strip_prefix("/customers/")
        .and_then(|id| id.parse().ok())
        .expect("a company page");

    // The detail page shows it, with a pencil.
    let cell = format!("#inline-cf_{field}");
    let value = format!("{cell} .inline-value");
    assert_eq!(b.text_of(&value).await, "制造业");
    let facts = b.text_of(".company-facts").await;
    assert!(facts.contains(FIELD), "{FIELD} in {facts:?}");
    assert_eq!(
        b.attr(&format!("{cell} .inline-edit"), "aria-label")
            .await
            .map(|l| l.contains(FIELD)),
        Some(true),
        "the pencil says which field it edits"
    );
    b.screenshot("company-with-field").await;

    // Edit in place: pencil, choose 互联网, save; only the cell changes.
    b.wait_js("htmx", "return typeof htmx !== 'undefined'", vec![])
        .await;
    b.mark_document().await;
    b.click(&format!("{cell} .inline-edit")).await;
    b.wait_for(&format!("{cell} form.inline-form {input}"))
        .await;
    assert!(!b.exists(&value).await, "the editor replaces the value");
    b.select(&input, "互联网").await;
    b.screenshot("inline-editor").await;
    b.click(&format!("{cell} form.inline-form button[type=submit]"))
        .await;
    b.wait_for_text_in(&value, "互联网").await;
    b.wait_for_absent(&format!("{cell} form")).await;
    assert_eq!(b.text_of(&value).await, "互联网");
    assert!(b.document_is_marked().await, "htmx, not a page load");
    assert!(
        b.exists(&format!("{cell} .inline-edit")).await,
        "pencil back"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT custom ->> '{field}' FROM companies WHERE id = {company}"
        ))
        .await,
        "互联网"
    );
    b.screenshot("inline-saved").await;

    // After a reload the history has the change.
    b.goto(&format!("/customers/{company}")).await;
    assert_eq!(b.text_of(&value).await, "互联网");
    let event = "#company-history .event[data-action='updated']";
    let text = b.text_of(event).await;
    for expected in [ADMIN_NAME, "修改了客户", FIELD, "制造业", "互联网"] {
        assert!(text.contains(expected), "{expected} in {text:?}");
    }
    scroll_to(&b, "#company-history").await;
    b.screenshot("history-field-changed").await;

    // 显示列: add 行业 to the list's columns.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    let column = format!("#companies th[data-col='cf_{field}']");
    assert!(!b.exists(&column).await, "not a default column");
    b.click("#column-chooser summary").await;
    let checkbox = format!("#column-chooser #col-cf_{field}");
    b.wait_for(&checkbox).await;
    assert_eq!(
        b.text_of(&format!("#column-chooser label[for='col-cf_{field}']"))
            .await,
        FIELD
    );
    b.click(&checkbox).await;
    b.screenshot("column-chooser").await;
    b.click_and_load("#column-chooser button.btn-primary[type=submit]")
        .await;
    b.wait_for_path("/customers").await;
    assert_eq!(b.text_of(&column).await, FIELD);
    assert_eq!(
        b.text_of(&format!(
            "#companies tr#company-{company} td[data-col='cf_{field}']"
        ))
        .await,
        "互联网"
    );
    b.screenshot("list-with-field-column").await;

    // In English: the list…
    b.click_and_load(".app-topbar .lang-switch button[lang='en']")
        .await;
    b.wait_for_path("/customers").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("en"));
    assert_eq!(b.text_of(HEADING).await, "Customers");
    b.wait_for_text_in("#quick-filters", "Quick filters").await;
    assert_eq!(
        b.text_of("#advanced-search summary").await,
        "Advanced search (several conditions)"
    );
    assert_eq!(b.text_of("#column-chooser summary").await, "Columns");
    assert_eq!(
        b.text_of(&column).await,
        FIELD,
        "labels are the tenant's own"
    );
    b.screenshot("list-en").await;

    // …and the company page.
    b.click_and_load(&format!("#companies a[href='/customers/{company}']"))
        .await;
    assert_eq!(b.text_of(HEADING).await, COMPANY);
    assert_eq!(b.text_of("#company-history .card-header").await, "History");
    assert_eq!(b.text_of("#company-notes .card-header").await, "Notes");
    assert_eq!(b.text_of(&value).await, "互联网");
    let text = b.text_of(event).await;
    assert!(text.contains("edited the customer"), "{text:?}");
    b.screenshot("company-en").await;
    scroll_to(&b, "#company-history").await;
    b.screenshot("company-history-en").await;

    b.finish().await;
}
