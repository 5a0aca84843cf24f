//! Error pages render in the layout, styled, with a way back.

use kehu_tests::{PASSWORD, TestApp, browser::Browser};

use crate::steps::{HEADING, sign_in};

/// Where an error page is drawn: the public layout for visitors, the app shell (left
/// menu, top bar) for signed-in users.
#[derive(Clone, Copy, PartialEq)]
enum Shell {
    Public,
    SignedIn,
}

/// Checks the error page on screen: heading, code, message and the way back, in the
/// expected layout with the stylesheets applied.
async fn assert_error_page(b: &Browser, shell: Shell, code: &str, title: &str, message: &str) {
    assert_eq!(b.text_of(HEADING).await, title);
    assert_eq!(b.text_of(".error-page .error-code").await, code);
    b.wait_for_text_in(".error-page", message).await;
    assert_eq!(
        b.text_of(".error-page a.btn[href='/']").await,
        "返回工作桌面"
    );
    match shell {
        Shell::Public => {
            assert_eq!(b.text_of("header .app-brand-dark").await, "Kehu 客户管理");
            assert!(b.exists("header .lang-switch").await, "language switch");
            assert!(!b.exists(".app-menu").await, "no app menu for visitors");
        }
        Shell::SignedIn => {
            assert!(b.exists(".app-menu").await, "the left menu stays");
            assert!(
                b.exists(".app-topbar form[action='/logout']").await,
                "sign-out stays reachable"
            );
            assert!(!b.exists(".public-card").await, "not the visitor layout");
        }
    }
    let title_tag = b.js("return document.title", vec![]).await;
    assert_eq!(
        title_tag.as_str(),
        Some(format!("{title} · Kehu 客户管理").as_str())
    );
    // app.css and Bootstrap are applied (not blocked, not missing).
    let styles = b
        .js(
            "const page = getComputedStyle(document.querySelector('.error-page')); \
             const btn = getComputedStyle(document.querySelector('.error-page a.btn')); \
             return [page.textAlign, btn.backgroundColor]",
            vec![],
        )
        .await;
    assert_eq!(
        styles,
        serde_json::json!(["center", "rgb(13, 110, 253)"]),
        "styles of the error page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_pages_show_the_404_page_in_the_layout() {
    const TEST: &str = "errors_404";
    let app = TestApp::start().await;
    app.signup("成都蓝海咨询有限公司", "黄磊", "huang.lei@example.com")
        .await;
    let b = Browser::start(&app, TEST).await;

    // Signed out.
    b.goto("/no-such-page").await;
    assert_error_page(&b, Shell::Public, "404", "页面不存在", "您要找的页面不存在").await;
    b.screenshot("404-signed-out").await;

    // Signed in: an unknown path, and a user id that does not exist.
    sign_in(&b, "huang.lei@example.com", PASSWORD).await;
    b.goto("/customers/42").await;
    assert_error_page(
        &b,
        Shell::SignedIn,
        "404",
        "页面不存在",
        "您要找的页面不存在",
    )
    .await;
    b.screenshot("404-signed-in").await;
    b.goto("/admin/users/987654321").await;
    assert_error_page(
        &b,
        Shell::SignedIn,
        "404",
        "页面不存在",
        "您要找的页面不存在",
    )
    .await;

    // The way back leads to the workspace.
    b.click_and_load(".error-page a.btn[href='/']").await;
    b.wait_for_path("/").await;
    assert_eq!(b.text_of(HEADING).await, "工作桌面");
    b.screenshot("back-to-workspace").await;

    b.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_opening_admin_pages_gets_the_403_page() {
    const TEST: &str = "errors_403";
    let app = TestApp::start().await;
    let admin = app
        .signup("成都蓝海咨询有限公司", "黄磊", "huang.lei@example.com")
        .await;
    app.create_user(&admin, "周杰", "zhou.jie@example.com", "member", None)
        .await;
    let b = Browser::start(&app, TEST).await;
    sign_in(&b, "zhou.jie@example.com", PASSWORD).await;

    b.goto("/admin/users").await;
    assert_error_page(
        &b,
        Shell::SignedIn,
        "403",
        "无权访问",
        "您没有权限访问此页面",
    )
    .await;
    b.wait_for_text("请联系管理员").await;
    assert!(!b.exists("#users").await, "no user table");
    let text = b.text().await;
    assert!(
        !text.contains("huang.lei@example.com"),
        "nothing of the user list leaks: {text}"
    );
    b.screenshot("403-user-list").await;

    for path in ["/admin/users/invite", "/admin/audit", "/admin/jobs"] {
        b.goto(path).await;
        assert_error_page(
            &b,
            Shell::SignedIn,
            "403",
            "无权访问",
            "您没有权限访问此页面",
        )
        .await;
    }

    // Still signed in: the way back leads to the member's workspace.
    b.click_and_load(".error-page a.btn[href='/']").await;
    b.wait_for_path("/").await;
    assert_eq!(b.text_of(HEADING).await, "工作桌面");
    b.wait_for_text("周杰").await;

    b.finish().await;
}
