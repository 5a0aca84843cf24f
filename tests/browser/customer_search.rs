//! 客户一览's searches in the browser, in Chinese: the name search finds "北京" at the
//! start and in the middle of a name; 高级搜索 narrows each row's operators to its field
//! (htmx) and combines two conditions; the result is saved as a 快速过滤 that comes back
//! with one click; and an admin switches the view to one employee's companies.

use std::collections::BTreeSet;

use kehu_tests::{PASSWORD, TestApp, browser::Browser};
use serde_json::json;

use crate::steps::{HEADING, add_company, scroll_to, sign_in};

const TEST: &str = "customer_search";
const TENANT: &str = "星辰集团";
const ADMIN_NAME: &str = "王芳";
const ADMIN_EMAIL: &str = "wang.fang@search.example.com";
const EMPLOYEE_NAME: &str = "刘洋";
const EMPLOYEE_EMAIL: &str = "liu.yang@search.example.com";
/// 北京 at the start, with a Beijing phone (the admin's).
const XINGCHEN: &str = "北京星辰科技有限公司";
/// 北京 at the start, with a Beijing phone (the employee's).
const DONGFANG: &str = "北京东方园林有限公司";
/// 北京 at the start, no phone (the employee's).
const HUAXIA: &str = "北京华夏贸易有限公司";
/// 北京 in the middle (the admin's).
const BEIJINGLU: &str = "广州北京路百货有限公司";
/// No 北京 (the employee's).
const CHENGUANG: &str = "上海晨光贸易有限公司";
/// No 北京 (the admin's).
const QIANHAI: &str = "深圳前海科技有限公司";
const SAVED: &str = "北京客户";
const NAMES: &str = "#companies tbody td:nth-child(2)";
const SEARCH: &str = "form.customer-search button[type=submit]";
const ADVANCED_SEARCH: &str = "#advanced-search form button[type=submit]";
/// The operators of a text field, in order.
const TEXT_OPERATORS: [&str; 5] = ["包含", "等于", "开头是", "为空", "不为空"];

/// The company names the list shows.
async fn listed(b: &Browser) -> BTreeSet<String> {
    b.texts(NAMES).await.into_iter().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The labels of the options of the `<select>` matching `css`.
async fn options(b: &Browser, css: &str) -> Vec<String> {
    b.texts(&format!("{css} option")).await
}

/// Chooses `field` in condition row `n` and waits for htmx to swap in the row with that
/// field's operators (the page is not reloaded).
async fn choose_field(b: &Browser, n: usize, field: &str) {
    b.mark_document().await;
    b.select(&format!("#f-f{n}"), field).await;
    b.wait_js(
        "the text operators after choosing the field",
        "const o = document.querySelector(arguments[0]); \
         return o !== null && JSON.stringify(Array.from(o.options, x => x.text)) === arguments[1]",
        vec![
            json!(format!("#f-o{n}")),
            json!(serde_json::to_string(&TEXT_OPERATORS).expect("json")),
        ],
    )
    .await;
    assert!(b.document_is_marked().await, "htmx, not a page load");
    assert_eq!(
        b.js(
            "return document.querySelector(arguments[0]).value",
            vec![json!(format!("#f-f{n}"))]
        )
        .await,
        json!(field),
        "the swapped-in row keeps the chosen field"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn searches_save_a_quick_filter_and_switch_to_one_employees_companies() {
    let app = TestApp::start().await;
    let admin = app.signup(TENANT, ADMIN_NAME, ADMIN_EMAIL).await;
    let admin_id = app.user_id(ADMIN_EMAIL).await.to_string();
    let employee = app
        .create_user(&admin, EMPLOYEE_NAME, EMPLOYEE_EMAIL, "member", None)
        .await;
    let employee_id = employee.to_string();
    for (name, phone, owner) in [
        (QIANHAI, "0755-2666 8888", &admin_id),
        (CHENGUANG, "021-6234 5678", &employee_id),
        (BEIJINGLU, "020-8333 1234", &admin_id),
        (HUAXIA, "", &employee_id),
        (DONGFANG, "010-6543 2100", &employee_id),
        (XINGCHEN, "010-8888 6666", &admin_id),
    ] {
        add_company(
            &admin,
            &[("name", name), ("phone", phone), ("owner_id", owner)],
        )
        .await;
    }
    let all = set(&[XINGCHEN, DONGFANG, HUAXIA, BEIJINGLU, CHENGUANG, QIANHAI]);
    let with_beijing = set(&[XINGCHEN, DONGFANG, HUAXIA, BEIJINGLU]);
    let beijing_phones = set(&[XINGCHEN, DONGFANG]);

    let b = Browser::start(&app, TEST).await;
    sign_in(&b, ADMIN_EMAIL, PASSWORD).await;
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    b.wait_for_path("/customers").await;
    assert_eq!(listed(&b).await, all);
    assert!(!b.exists("#save-filter").await, "nothing to save yet");
    b.screenshot("all-companies").await;

    // Search "北京": at the start and in the middle, nothing else.
    b.fill("#f-q", "北京").await;
    b.click_and_load(SEARCH).await;
    assert_eq!(listed(&b).await, with_beijing);
    assert_eq!(b.attr("#f-q", "value").await.as_deref(), Some("北京"));
    b.screenshot("search-beijing").await;

    // 高级搜索 from the whole list: 公司名称 包含 北京.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    assert_eq!(listed(&b).await, all);
    assert_eq!(b.attr("#advanced-search", "open").await, None, "closed");
    b.click("#advanced-search summary").await;
    b.wait_js(
        "高级搜索 to open",
        "return document.querySelector('#advanced-search').open === true",
        vec![],
    )
    .await;
    assert_eq!(b.text_of("#f-f1 option:checked").await, "选择字段");
    let any_field = options(&b, "#f-o1").await;
    assert!(
        any_field.contains(&"属于其中之一".to_owned()) && any_field.contains(&"晚于".to_owned()),
        "every operator before a field is chosen: {any_field:?}"
    );
    choose_field(&b, 1, "name").await;
    assert_eq!(b.text_of("#f-f1 option:checked").await, "公司名称");
    assert_eq!(options(&b, "#f-o1").await, TEXT_OPERATORS);
    b.select("#f-o1", "contains").await;
    b.fill("#f-v1", "北京").await;
    b.screenshot("advanced-first-condition").await;
    b.click_and_load(ADVANCED_SEARCH).await;
    assert_eq!(listed(&b).await, with_beijing);

    // The form comes back open with the condition and an empty second row: 电话 开头是 010.
    assert_eq!(
        b.attr("#advanced-search", "open").await.as_deref(),
        Some("")
    );
    assert_eq!(b.text_of("#f-f1 option:checked").await, "公司名称");
    assert_eq!(b.text_of("#f-o1 option:checked").await, "包含");
    assert_eq!(b.attr("#f-v1", "value").await.as_deref(), Some("北京"));
    assert_eq!(b.text_of("#f-f2 option:checked").await, "选择字段");
    choose_field(&b, 2, "phone").await;
    b.select("#f-o2", "starts_with").await;
    b.fill("#f-v2", "010").await;
    scroll_to(&b, "#advanced-search").await;
    b.screenshot("advanced-second-condition").await;
    b.click_and_load(ADVANCED_SEARCH).await;
    assert_eq!(listed(&b).await, beijing_phones);
    assert!(
        !b.exists("#filter-problems").await,
        "both conditions understood"
    );
    b.screenshot("advanced-two-conditions").await;

    // Save it as a quick filter.
    let conditions = b.js("return location.search", vec![]).await;
    b.click_and_load("#save-filter").await;
    b.wait_for_path("/customers/filters").await;
    assert_eq!(
        b.text_of("section.card .card-header").await,
        "保存当前过滤条件"
    );
    assert_eq!(b.text_of("label[for='f-name']").await, "名称 *");
    b.fill("#f-name", SAVED).await;
    assert_eq!(
        b.js("return document.querySelector('#f-shared').checked", vec![])
            .await,
        json!(false),
        "personal unless shared"
    );
    b.screenshot("save-filter-form").await;
    b.click_and_load("form[action='/customers/filters'] button[type=submit]")
        .await;
    b.wait_for_path("/customers").await;
    assert_eq!(b.js("return location.search", vec![]).await, conditions);
    assert_eq!(listed(&b).await, beijing_phones);
    let saved = "#quick-filters a[data-saved]";
    assert_eq!(b.texts(saved).await, [SAVED]);
    assert!(
        b.attr(saved, "class")
            .await
            .is_some_and(|c| c.split(' ').any(|c| c == "active")),
        "the saved filter is the current one"
    );
    b.screenshot("saved-quick-filter").await;

    // From the whole list, one click brings the same rows back.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    assert_eq!(listed(&b).await, all);
    b.click_and_load(saved).await;
    assert_eq!(listed(&b).await, beijing_phones);
    assert_eq!(b.attr("#f-v1", "value").await.as_deref(), Some("北京"));
    assert_eq!(b.attr("#f-v2", "value").await.as_deref(), Some("010"));
    b.screenshot("quick-filter-clicked").await;

    // 快速过滤管理 lists it.
    b.click_and_load("ul.app-tabs a[href='/customers/filters']")
        .await;
    assert_eq!(b.text_of(HEADING).await, "快速过滤管理");
    assert_eq!(b.texts("#saved-filters tbody tr").await.len(), 1);
    let row = b.text_of("#saved-filters tbody tr").await;
    for expected in [SAVED, "个人"] {
        assert!(row.contains(expected), "{expected} in {row:?}");
    }
    b.screenshot("filters-management").await;

    // The admin looks at one employee's companies only.
    b.click_and_load("nav.app-menu a[href='/customers']").await;
    let views = options(&b, "#f-view").await;
    assert_eq!(views[..2], ["全部数据", "公共数据"]);
    assert_eq!(
        views[2..]
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([ADMIN_NAME, EMPLOYEE_NAME]),
        "then every user"
    );
    b.select("#f-view", &format!("user-{employee}")).await;
    b.click_and_load(SEARCH).await;
    assert_eq!(b.text_of("#f-view option:checked").await, EMPLOYEE_NAME);
    assert_eq!(listed(&b).await, set(&[DONGFANG, HUAXIA, CHENGUANG]));
    let owners = b.texts("#companies tbody td[data-col='owner']").await;
    assert!(
        owners.iter().all(|o| o == EMPLOYEE_NAME),
        "only the employee's: {owners:?}"
    );
    b.screenshot("view-one-employee").await;

    // Within that view, the saved filter narrows further (the view stays).
    b.click_and_load(saved).await;
    assert_eq!(b.text_of("#f-view option:checked").await, EMPLOYEE_NAME);
    assert_eq!(listed(&b).await, set(&[DONGFANG]));
    b.screenshot("view-one-employee-quick-filter").await;

    // And the admin's own.
    b.select("#f-view", &format!("user-{admin_id}")).await;
    b.click_and_load(SEARCH).await;
    assert_eq!(b.text_of("#f-view option:checked").await, ADMIN_NAME);
    assert_eq!(listed(&b).await, set(&[XINGCHEN]), "the conditions stay");

    b.finish().await;
}
