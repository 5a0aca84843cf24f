//! 客户管理 in the browser, in Chinese: a new company's admin opens the empty customer
//! list, adds a company, is warned as they type a duplicate of it (htmx), submits anyway
//! and lands on the existing company, searches the list, and narrows it to public data.

use kehu_tests::{TestApp, browser::Browser};

use crate::steps::{HEADING, menu};

const TEST: &str = "customers";
const TENANT: &str = "星辰集团";
const ADMIN_NAME: &str = "王芳";
const ADMIN_EMAIL: &str = "wang.fang@example.com";
const COMPANY: &str = "北京星辰科技有限公司";
const PHONE: &str = "010-8888 6666";
const ADDRESS: &str = "北京市海淀区中关村大街1号";
const PUBLIC_COMPANY: &str = "上海晨光贸易有限公司";
const SUBMIT: &str = "form.company-form button[type=submit]";
const ROWS: &str = "#companies tbody tr";
const SEARCH: &str = "form.customer-search button[type=submit]";

/// The company id in a `/customers/<id>` path.
fn company_id(path: &str) -> i64 {
    path.strip_prefix("/customers/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a company page: {path}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_a_company_is_stopped_from_duplicating_it_and_filters_the_list() {
    let app = TestApp::start().await;
    let b = Browser::start(&app, TEST).await;

    // Sign up.
    crate::steps::sign_up(&b, &app, TENANT, ADMIN_NAME, ADMIN_EMAIL).await;
    assert_eq!(
        menu(&b).await,
        [
            "工作桌面",
            "客户管理",
            "销售机会",
            "统计分析",
            "系统设置",
            "个人设置"
        ]
    );

    // 客户管理 from the left menu: nothing yet.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    b.wait_for_path("/customers").await;
    assert_eq!(b.text_of(HEADING).await, "客户一览");
    b.wait_for_text_in("nav.app-menu .nav-link.active", "客户管理")
        .await;
    assert_eq!(b.text_of("ul.app-tabs .nav-link.active").await, "客户一览");
    b.wait_for_text_in(".empty-state", "还没有客户").await;
    assert!(!b.exists("#companies").await, "no table yet");
    b.screenshot("empty-customer-list").await;

    // 新增客户.
    b.click_and_load(".empty-state a[href='/customers/new']")
        .await;
    b.wait_for_path("/customers/new").await;
    assert_eq!(b.text_of(HEADING).await, "新增客户");
    assert_eq!(b.text_of("ul.app-tabs .nav-link.active").await, "新增客户");
    assert_eq!(
        b.text_of("#f-visibility option:checked").await,
        "仅自己及上级可见",
        "private by default"
    );
    assert_eq!(b.text_of("#f-owner_id option:checked").await, ADMIN_NAME);
    b.fill("#f-name", COMPANY).await;
    b.fill("#f-phone", PHONE).await;
    b.fill("#f-address", ADDRESS).await;
    b.screenshot("new-company-filled").await;
    b.click_and_load(SUBMIT).await;

    // The detail page.
    let path = b.path().await;
    let id = company_id(&path);
    assert_eq!(b.text_of(HEADING).await, COMPANY);
    let facts = b.text_of(".company-facts").await;
    for expected in [PHONE, ADDRESS, ADMIN_NAME, "仅自己及上级可见"] {
        assert!(facts.contains(expected), "{expected} in {facts:?}");
    }
    assert!(!b.exists(".alert-warning").await, "no duplicate notice");
    assert_eq!(
        app.text(&format!("SELECT name FROM companies WHERE id = {id}"))
            .await,
        COMPANY
    );
    b.screenshot("company-detail").await;

    // Back to 新增客户: typing a variant of the name shows the hint without a reload.
    b.click_and_load("ul.app-tabs a[href='/customers/new']")
        .await;
    b.wait_for_path("/customers/new").await;
    b.wait_js("htmx", "return typeof htmx !== 'undefined'", vec![])
        .await;
    b.mark_document().await;
    b.fill("#f-name", "北京星辰科技").await;
    b.wait_for_text_in("#name-hint .duplicate-hint", "已存在同名公司")
        .await;
    assert_eq!(
        b.attr("#name-hint .duplicate-hint a", "href").await,
        Some(format!("/customers/{id}")),
        "the hint links to the existing company"
    );
    assert_eq!(
        b.text_of("#name-hint .duplicate-hint a").await,
        "查看该公司"
    );
    assert!(b.document_is_marked().await, "htmx, not a page load");
    b.screenshot("duplicate-hint-while-typing").await;

    // Submitting anyway opens the existing company with a notice.
    b.click_and_load(SUBMIT).await;
    b.wait_for_path(&format!("/customers/{id}")).await;
    let search = b.js("return location.search", vec![]).await;
    assert_eq!(search.as_str(), Some("?duplicate=1"));
    assert_eq!(
        b.text_of(".alert-warning").await,
        "公司名已经存在，已为您打开该公司的详细页面。"
    );
    assert_eq!(b.text_of(HEADING).await, COMPANY);
    assert_eq!(
        app.scalar("SELECT count(*) FROM companies").await,
        1,
        "no second company"
    );
    b.screenshot("duplicate-redirected-to-existing").await;

    // A second, public company.
    b.click_and_load("ul.app-tabs a[href='/customers/new']")
        .await;
    b.wait_for_path("/customers/new").await;
    b.fill("#f-name", PUBLIC_COMPANY).await;
    b.select("#f-visibility", "public").await;
    b.click_and_load(SUBMIT).await;
    let public_id = company_id(&b.path().await);
    assert_eq!(b.text_of(HEADING).await, PUBLIC_COMPANY);
    let private_row = format!("tr#company-{id}");
    let public_row = format!("tr#company-{public_id}");

    // The list shows both, newest first.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    b.wait_for_path("/customers").await;
    assert_eq!(b.texts(ROWS).await.len(), 2);
    let first = b.text_of(ROWS).await;
    assert!(first.contains(PUBLIC_COMPANY), "newest first: {first}");
    let row = b.text_of(&private_row).await;
    for expected in [COMPANY, PHONE, ADMIN_NAME] {
        assert!(row.contains(expected), "{expected} in {row:?}");
    }
    // 查看权限 is no longer a default column (the column chooser adds it).
    assert!(!b.exists("#companies th[data-col='visibility']").await);
    assert!(b.text_of(&public_row).await.contains(PUBLIC_COMPANY));
    b.screenshot("customer-list").await;

    // Search "北京".
    b.fill("#f-q", "北京").await;
    b.click_and_load(SEARCH).await;
    b.wait_for_path("/customers").await;
    assert!(b.exists(&private_row).await, "北京星辰 found");
    assert!(!b.exists(&public_row).await, "上海晨光 filtered out");
    assert_eq!(b.texts(ROWS).await.len(), 1);
    assert_eq!(b.attr("#f-q", "value").await.as_deref(), Some("北京"));
    b.screenshot("search-beijing").await;

    // As admin, switch the view to 公共数据: the private company disappears.
    b.fill("#f-q", "").await;
    b.select("#f-view", "public").await;
    assert_eq!(b.text_of("#f-view option:checked").await, "公共数据");
    b.click_and_load(SEARCH).await;
    b.wait_for_path("/customers").await;
    assert_eq!(b.text_of("#f-view option:checked").await, "公共数据");
    assert!(!b.exists(&private_row).await, "the private company is gone");
    assert!(b.exists(&public_row).await, "the public one stays");
    assert_eq!(b.texts(ROWS).await.len(), 1);
    b.screenshot("view-public-data").await;

    // Back to all data.
    b.select("#f-view", "").await;
    b.click_and_load(SEARCH).await;
    assert_eq!(b.texts(ROWS).await.len(), 2);

    b.finish().await;
}
