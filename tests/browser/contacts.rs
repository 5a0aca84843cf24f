//! 联系人 in the browser, in Chinese: a new company's admin adds a company, adds a contact
//! from the company page (the company prefilled), then a second one from the tab bar by
//! typing part of the company's name and picking it from the htmx-filled suggestions, and
//! finds both in 联系人列表 and on the company page.

use kehu_tests::{TestApp, browser::Browser};
use serde_json::json;

use crate::steps::HEADING;

const TEST: &str = "contacts";
const TENANT: &str = "星辰集团";
const ADMIN_NAME: &str = "王芳";
const ADMIN_EMAIL: &str = "wang.fang@contacts.example.com";
const COMPANY: &str = "北京星辰科技有限公司";
const OTHER_COMPANY: &str = "上海晨光贸易有限公司";
const FIRST: &str = "李雷";
const FIRST_TITLE: &str = "销售经理";
const FIRST_MOBILE: &str = "138 0013 8000";
const SECOND: &str = "韩梅梅";
const SECOND_TITLE: &str = "采购主管";
const SECOND_EMAIL: &str = "han.meimei@xingchen.cn";
const SUBMIT: &str = "form.contact-form button[type=submit]";
const ROWS: &str = "#contacts tbody tr";

/// The id in a `/<prefix>/<id>` path.
fn id_in(path: &str, prefix: &str) -> i64 {
    path.strip_prefix(prefix)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a {prefix}<id> page: {path}"))
}

/// Creates a company through 新增客户 and returns its id.
async fn add_company(b: &Browser, name: &str) -> i64 {
    b.click_and_load("ul.app-tabs a[href='/customers/new']")
        .await;
    b.wait_for_path("/customers/new").await;
    b.fill("#f-name", name).await;
    b.click_and_load("form.company-form button[type=submit]")
        .await;
    assert_eq!(b.text_of(HEADING).await, name);
    id_in(&b.path().await, "/customers/")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_contacts_from_the_company_page_and_by_typing_the_company_name() {
    let app = TestApp::start().await;
    let b = Browser::start(&app, TEST).await;

    // Sign up.
    crate::steps::sign_up(&b, &app, TENANT, ADMIN_NAME, ADMIN_EMAIL).await;

    // Two companies; the first is the one the contacts belong to.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    b.wait_for_path("/customers").await;
    add_company(&b, OTHER_COMPANY).await;
    let company = add_company(&b, COMPANY).await;
    b.wait_for_text_in("#company-contacts", "暂无联系人").await;
    b.screenshot("company-without-contacts").await;

    // 新增联系人 on the company page: the company is already filled in.
    let new_here = format!("#company-contacts a[href='/contacts/new?company={company}']");
    assert_eq!(b.text_of(&new_here).await, "新增联系人");
    b.click_and_load(&new_here).await;
    b.wait_for_path("/contacts/new").await;
    assert_eq!(b.text_of(HEADING).await, "新增联系人");
    assert_eq!(
        b.js("return document.querySelector('#f-company').value", vec![])
            .await,
        json!(COMPANY),
        "the company is prefilled"
    );
    b.fill("#f-name", FIRST).await;
    b.fill("#f-title", FIRST_TITLE).await;
    b.fill("#f-mobile", FIRST_MOBILE).await;
    b.screenshot("new-contact-prefilled").await;
    b.click_and_load(SUBMIT).await;

    // The contact page links to its company.
    let first = id_in(&b.path().await, "/contacts/");
    assert_eq!(b.text_of(HEADING).await, FIRST);
    assert_eq!(
        b.attr(".contact-facts a", "href").await,
        Some(format!("/customers/{company}"))
    );
    assert_eq!(b.text_of(".contact-facts a").await, COMPANY);
    let facts = b.text_of(".contact-facts").await;
    for expected in [FIRST_TITLE, FIRST_MOBILE] {
        assert!(facts.contains(expected), "{expected} in {facts:?}");
    }
    b.screenshot("contact-detail").await;

    // 新增联系人 from the tab bar: type part of the name, pick the suggestion.
    b.click_and_load("ul.app-tabs a[href='/contacts/new']")
        .await;
    b.wait_for_path("/contacts/new").await;
    assert_eq!(
        b.text_of("ul.app-tabs .nav-link.active").await,
        "新增联系人"
    );
    b.wait_js("htmx", "return typeof htmx !== 'undefined'", vec![])
        .await;
    b.mark_document().await;
    b.fill("#f-company", "北京").await;
    b.wait_js(
        "the suggestion in #company-options",
        "return Array.from(document.querySelectorAll('#company-options option'), o => o.value) \
           .includes(arguments[0])",
        vec![json!(COMPANY)],
    )
    .await;
    let offered = b
        .js(
            "return Array.from(document.querySelectorAll('#company-options option'), o => o.value)",
            vec![],
        )
        .await;
    assert_eq!(offered, json!([COMPANY]), "only the matching company");
    assert!(b.document_is_marked().await, "htmx, not a page load");
    b.screenshot("company-suggestions").await;
    // Choosing the suggestion puts its value into the field.
    let picked = offered
        .get(0)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    b.fill("#f-company", &picked).await;
    b.fill("#f-name", SECOND).await;
    b.fill("#f-title", SECOND_TITLE).await;
    b.fill("#f-email", SECOND_EMAIL).await;
    b.screenshot("second-contact-filled").await;
    b.click_and_load(SUBMIT).await;
    let second = id_in(&b.path().await, "/contacts/");
    assert_eq!(b.text_of(HEADING).await, SECOND);
    assert_eq!(b.text_of(".contact-facts a").await, COMPANY);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM contacts WHERE company_id = {company} AND id IN ({first}, {second})"
        ))
        .await,
        2
    );

    // 联系人列表: both, newest first.
    b.click_and_load("ul.app-tabs a[href='/contacts']").await;
    b.wait_for_path("/contacts").await;
    assert_eq!(b.text_of(HEADING).await, "联系人列表");
    assert_eq!(b.texts(ROWS).await.len(), 2);
    let top = b.text_of(ROWS).await;
    assert!(top.contains(SECOND), "newest first: {top}");
    let row = b.text_of(&format!("tr#contact-{first}")).await;
    for expected in [FIRST, COMPANY, FIRST_TITLE, FIRST_MOBILE] {
        assert!(row.contains(expected), "{expected} in {row:?}");
    }
    let row = b.text_of(&format!("tr#contact-{second}")).await;
    for expected in [SECOND, COMPANY, SECOND_TITLE, SECOND_EMAIL] {
        assert!(row.contains(expected), "{expected} in {row:?}");
    }
    b.screenshot("contact-list").await;

    // The company page lists both.
    b.click_and_load(&format!(
        "tr#contact-{first} a[href='/customers/{company}']"
    ))
    .await;
    b.wait_for_path(&format!("/customers/{company}")).await;
    assert_eq!(b.texts("#company-contacts li").await.len(), 2);
    let listed = b.text_of("#company-contacts").await;
    for expected in [FIRST, FIRST_TITLE, FIRST_MOBILE, SECOND, SECOND_TITLE] {
        assert!(listed.contains(expected), "{expected} in {listed:?}");
    }
    assert!(!listed.contains("暂无联系人"), "{listed:?}");
    b.screenshot("company-with-contacts").await;

    b.finish().await;
}
