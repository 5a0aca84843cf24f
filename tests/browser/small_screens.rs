//! A phone and a browser without JavaScript: at 390 px the left menu folds behind a Menu
//! button (a checkbox and CSS, so it opens without JavaScript too) and the customer
//! list's search row fits the screen; without JavaScript the pencil of 行内编辑 opens the
//! full edit form, and an export's page reloads itself until the export is done.

use kehu_tests::{PASSWORD, TestApp, browser::Browser};
use serde_json::json;

use crate::steps::{add_company, sign_in};

const TEST_PHONE: &str = "small_screens_phone";
const TEST_NO_JS: &str = "small_screens_no_js";
const MENU_BUTTON: &str = "label.app-menu-button";

/// Whether the element matching `css` takes up room on the page (not `display: none`).
async fn shown(b: &Browser, css: &str) -> bool {
    b.js(
        "const e = document.querySelector(arguments[0]); \
         return e !== null && e.getClientRects().length > 0",
        vec![json!(css)],
    )
    .await
    .as_bool()
    .unwrap_or(false)
}

/// How far the page reaches past the right edge of the window, in CSS pixels (0 when
/// it does not scroll sideways), and the visible element that reaches furthest outside
/// any box that scrolls or clips (the tab bar and a wide table scroll inside themselves;
/// the closed 更多批量操作 is not shown).
async fn overflow(b: &Browser) -> (i64, String) {
    let value = b
        .js(
            "const w = document.documentElement.clientWidth; \
             const clipped = e => { \
               for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) \
                 if (getComputedStyle(a).overflowX !== 'visible') return true; \
               return false; }; \
             let worst = [0, '']; \
             for (const e of document.querySelectorAll('body *')) { \
               const r = e.getBoundingClientRect(); \
               if (r.width > 0 && r.right - w > worst[0] && e.checkVisibility() && !clipped(e)) \
                 worst = [Math.ceil(r.right - w), e.tagName + '#' + e.id + '.' + e.className]; \
             } \
             return [Math.max(worst[0], document.documentElement.scrollWidth - w), worst[1]]",
            vec![],
        )
        .await;
    (
        value[0].as_i64().unwrap_or(i64::MAX),
        value[1].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn at_390_px_the_menu_folds_behind_a_button_and_the_list_fits() {
    let app = TestApp::start().await;
    let http = app
        .signup("小屏集团", "王芳", "wang.fang@phone.example.com")
        .await;
    for name in ["北京星辰科技有限公司", "上海远航物流有限公司"] {
        add_company(&http, &[("name", name), ("phone", "010-8888")]).await;
    }
    let b = Browser::start(&app, TEST_PHONE).await;
    sign_in(&b, "wang.fang@phone.example.com", PASSWORD).await;

    // On a desktop nothing changes: the menu is open beside the content, no button.
    b.goto("/customers").await;
    assert!(shown(&b, "nav.app-menu a[href='/opportunities']").await);
    assert!(!shown(&b, MENU_BUTTON).await, "no Menu button on a desktop");
    assert_eq!(overflow(&b).await.0, 0, "{:?}", overflow(&b).await);
    b.screenshot("desktop-customers").await;

    // A phone: the menu is folded, the search row fits.
    assert_eq!(b.set_viewport(390, 844).await, (390, 844));
    b.goto("/customers").await;
    assert!(shown(&b, MENU_BUTTON).await);
    assert_eq!(b.text_of(MENU_BUTTON).await, "菜单");
    assert!(!shown(&b, "nav.app-menu a[href='/opportunities']").await);
    assert!(shown(&b, "#customer-search #f-q").await);
    b.screenshot("phone-menu-closed").await;
    let (past, what) = overflow(&b).await;
    assert_eq!(past, 0, "nothing reaches past the right edge: {what}");

    // The button opens the menu; its links work.
    b.click(MENU_BUTTON).await;
    b.wait_js(
        "the menu to open",
        "return document.querySelector(\"nav.app-menu a[href='/opportunities']\").getClientRects().length > 0",
        vec![],
    )
    .await;
    assert_eq!(overflow(&b).await.0, 0, "{:?}", overflow(&b).await);
    b.screenshot("phone-menu-open").await;
    b.click_and_load("nav.app-menu a[href='/opportunities']")
        .await;
    b.wait_for_path("/opportunities").await;
    assert!(
        !shown(&b, "nav.app-menu a[href='/customers']").await,
        "a new page starts with the menu folded"
    );
    b.finish().await;

    // Without JavaScript the button opens the menu just the same.
    let b = Browser::start_without_js(&app, TEST_PHONE, "no-js").await;
    sign_in(&b, "wang.fang@phone.example.com", PASSWORD).await;
    assert_eq!(b.set_viewport(390, 844).await, (390, 844));
    b.goto("/customers").await;
    assert!(!shown(&b, "nav.app-menu a[href='/opportunities']").await);
    b.click(MENU_BUTTON).await;
    b.wait_js(
        "the menu to open without JavaScript",
        "return document.querySelector(\"nav.app-menu a[href='/opportunities']\").getClientRects().length > 0",
        vec![],
    )
    .await;
    b.screenshot("phone-menu-open-without-js").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_the_pencil_opens_the_edit_form_and_an_export_page_refreshes() {
    let app = TestApp::start().await;
    let http = app
        .signup("无脚本集团", "李雷", "li.lei@nojs.example.com")
        .await;
    let company = add_company(
        &http,
        &[("name", "北京星辰科技有限公司"), ("phone", "010-1234")],
    )
    .await;
    let b = Browser::start_without_js(&app, TEST_NO_JS, "no-js").await;
    sign_in(&b, "li.lei@nojs.example.com", PASSWORD).await;
    assert_eq!(
        b.js("return typeof window.htmx", vec![]).await,
        json!("undefined"),
        "the page's scripts do not run"
    );

    // The pencil is a link to the edit form, at the field.
    b.goto(&format!("/customers/{company}")).await;
    b.screenshot("company-page").await;
    b.click_and_load("#inline-phone a.inline-edit").await;
    b.wait_for_path(&format!("/customers/{company}/edit")).await;
    assert_eq!(
        b.js("return location.hash", vec![]).await,
        json!("#f-phone")
    );
    assert_eq!(
        b.attr("#f-phone", "value").await.as_deref(),
        Some("010-1234")
    );
    b.screenshot("edit-form-at-phone").await;

    // An export's page reloads itself while the export runs, and stops once it is done.
    let who = app
        .text("SELECT tenant_id || ' ' || id FROM users WHERE email = 'li.lei@nojs.example.com'")
        .await;
    let (tenant, user) = who.split_once(' ').expect("tenant and user");
    app.execute(&format!(
        "INSERT INTO exports (tenant_id, id, requested_by, entity, format, status, rows_done, \
         rows_total, started_at, lease_until, enqueued_at, attempts) VALUES ({tenant}, 900003, \
         {user}, 'company', 'csv', 'running', 500, 2000, now() - interval '10 seconds', \
         now() + interval '1 hour', now(), 1)"
    ))
    .await;
    b.goto("/exports/900003").await;
    assert_eq!(
        b.attr("#export-status", "data-status").await.as_deref(),
        Some("running")
    );
    b.screenshot("export-running").await;
    b.mark_document().await;
    app.execute("UPDATE exports SET status = 'failed', last_error = 'test' WHERE id = 900003")
        .await;
    b.wait_js(
        "the page to reload itself and show the export stopped",
        "const s = document.querySelector('#export-status'); \
         return window.__kehuMark === undefined && s !== null && s.dataset.status === 'failed'",
        vec![],
    )
    .await;
    b.screenshot("export-stopped").await;
    b.mark_document().await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        b.document_is_marked().await,
        "a finished export's page stays put"
    );
    b.finish().await;
}
