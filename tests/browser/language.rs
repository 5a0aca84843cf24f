//! The language switch (Chinese by default, English on request) and the left menu,
//! which lists only the modules that are built and that the user may open.

use kehu_tests::{PASSWORD, TestApp, browser::Browser};

use crate::steps::{HEADING, LOGIN_SUBMIT, LOGOUT, cjk, menu, sign_in, sign_out, tabs};

/// Chinese text on the page, except the switch's own "简体中文" button.
async fn chinese_on_page(b: &Browser) -> String {
    cjk(&b.text().await.replace("简体中文", ""))
}

#[tokio::test(flavor = "multi_thread")]
async fn login_page_and_app_shell_switch_between_chinese_and_english() {
    const TEST: &str = "language_switch";
    let app = TestApp::start().await;
    // Latin names, so that any Chinese left on an English page is an untranslated label.
    app.signup("Acme Trading Ltd", "Alex Chen", "alex@example.com")
        .await;
    let b = Browser::start(&app, TEST).await;

    // The login page, Chinese by default.
    b.goto("/login").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("zh-CN"));
    assert_eq!(b.text_of(HEADING).await, "登录");
    assert_eq!(b.text_of(LOGIN_SUBMIT).await, "登录");
    assert_eq!(b.text_of("label[for='f-email']").await, "邮箱 *");
    assert_eq!(b.text_of("label[for='f-password']").await, "密码 *");
    assert_eq!(b.text_of(".app-brand-dark").await, "Kehu 客户管理");
    b.screenshot("login-zh").await;

    // English.
    b.click_and_load(".lang-switch button[lang='en']").await;
    b.wait_for_path("/login").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("en"));
    assert_eq!(b.text_of(HEADING).await, "Sign in");
    assert_eq!(b.text_of(LOGIN_SUBMIT).await, "Sign in");
    assert_eq!(b.text_of("label[for='f-email']").await, "Email *");
    assert_eq!(b.text_of("label[for='f-password']").await, "Password *");
    assert_eq!(b.text_of(".app-brand-dark").await, "Kehu CRM");
    assert_eq!(
        b.text_of(".public-card a[href='/signup']").await,
        "Sign up free"
    );
    assert_eq!(
        chinese_on_page(&b).await,
        "",
        "untranslated text on the page"
    );
    let english_button = ".lang-switch button[lang='en']";
    assert_eq!(
        b.attr(english_button, "disabled").await.as_deref(),
        Some("")
    );
    b.screenshot("login-en").await;

    // Back to Chinese.
    b.click_and_load(".lang-switch button[lang='zh-CN']").await;
    assert_eq!(b.text_of(HEADING).await, "登录");
    assert_eq!(b.text_of(LOGIN_SUBMIT).await, "登录");

    // The app shell in Chinese.
    sign_in(&b, "alex@example.com", PASSWORD).await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("zh-CN"));
    assert_eq!(b.text_of(HEADING).await, "工作桌面");
    assert_eq!(b.text_of(LOGOUT).await, "退出登录");
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
    assert_eq!(b.text_of(".app-user .badge").await, "管理员");
    b.screenshot("workspace-zh").await;

    // Switch to English in the top bar: the same page, in English.
    b.click_and_load(".app-topbar .lang-switch button[lang='en']")
        .await;
    b.wait_for_path("/").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("en"));
    assert_eq!(b.text_of(HEADING).await, "Workspace");
    assert_eq!(b.text_of(LOGOUT).await, "Sign out");
    assert_eq!(
        menu(&b).await,
        [
            "Workspace",
            "Customers",
            "Opportunities",
            "Statistics",
            "Settings",
            "My account"
        ]
    );
    assert_eq!(b.text_of(".app-user .badge").await, "Admin");
    b.wait_for_text("Welcome back to Acme Trading Ltd's workspace, Alex Chen.")
        .await;
    assert_eq!(
        chinese_on_page(&b).await,
        "",
        "untranslated text on the page"
    );
    b.screenshot("workspace-en").await;

    // Other pages of the shell follow.
    b.click_and_load("nav.app-menu a[href='/admin/users']")
        .await;
    assert_eq!(b.text_of(HEADING).await, "Users");
    assert_eq!(
        tabs(&b).await,
        [
            "Users",
            "Categories",
            "Custom fields",
            "Sales stages",
            "Opportunity categories",
            "Lost reasons",
            "Task categories",
            "Audit log",
            "Background jobs"
        ]
    );
    assert_eq!(
        b.text_of("#content a[href='/admin/users/invite']").await,
        "Invite user"
    );
    assert_eq!(b.text_of("#users .badge").await, "Active");
    assert_eq!(
        chinese_on_page(&b).await,
        "",
        "untranslated text on the page"
    );
    b.screenshot("users-en").await;
    b.click_and_load("nav.app-menu a[href='/account']").await;
    assert_eq!(
        tabs(&b).await,
        ["Profile", "Reminders & time zone", "Password"]
    );
    assert_eq!(
        chinese_on_page(&b).await,
        "",
        "untranslated text on the page"
    );
    b.screenshot("account-en").await;

    // The choice sticks: the login page after signing out, and the next sign-in.
    sign_out(&b).await;
    assert_eq!(b.text_of(HEADING).await, "Sign in");
    sign_in(&b, "alex@example.com", PASSWORD).await;
    assert_eq!(b.text_of(LOGOUT).await, "Sign out");
    assert_eq!(
        app.text("SELECT locale FROM users WHERE email = 'alex@example.com'")
            .await,
        "en"
    );

    b.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn left_menu_lists_only_built_modules_the_role_may_open() {
    const TEST: &str = "language_menu_by_role";
    let app = TestApp::start().await;
    let admin_http = app
        .signup("杭州云桥网络有限公司", "陈静", "chen.jing@example.com")
        .await;
    app.create_user(&admin_http, "刘洋", "liu.yang@example.com", "member", None)
        .await;
    app.create_user(&admin_http, "赵敏", "zhao.min@example.com", "manager", None)
        .await;
    let b = Browser::start(&app, TEST).await;

    // Admin: 工作桌面, 客户管理, 销售机会, 统计分析, 系统设置, 个人设置 — nothing that is not built yet.
    sign_in(&b, "chen.jing@example.com", PASSWORD).await;
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
    assert_eq!(
        b.attr("nav.app-menu .nav-link.active", "href")
            .await
            .as_deref(),
        Some("/"),
        "the current module is highlighted"
    );
    b.click_and_load("nav.app-menu a[href='/admin/users']")
        .await;
    assert_eq!(
        tabs(&b).await,
        [
            "用户管理",
            "客户分类",
            "自定义字段",
            "销售阶段",
            "销售机会分类",
            "失败原因",
            "任务分类",
            "审计日志",
            "后台任务"
        ]
    );
    assert_eq!(
        b.attr("nav.app-menu .nav-link.active", "href")
            .await
            .as_deref(),
        Some("/admin/users")
    );
    b.screenshot("admin-menu").await;
    sign_out(&b).await;

    // Member: no 系统设置, and no link into /admin anywhere on the page.
    sign_in(&b, "liu.yang@example.com", PASSWORD).await;
    assert_eq!(b.text_of(".app-user .badge").await, "普通员工");
    assert_eq!(
        menu(&b).await,
        ["工作桌面", "客户管理", "销售机会", "统计分析", "个人设置"]
    );
    assert!(!b.exists("a[href^='/admin']").await, "no admin links");
    b.screenshot("member-menu").await;
    b.click_and_load("nav.app-menu a[href='/account']").await;
    assert_eq!(tabs(&b).await, ["个人资料", "提醒与时区", "修改密码"]);
    assert_eq!(
        menu(&b).await,
        ["工作桌面", "客户管理", "销售机会", "统计分析", "个人设置"]
    );
    b.screenshot("member-account").await;

    // The member in English: still no settings.
    b.click_and_load(".app-topbar .lang-switch button[lang='en']")
        .await;
    assert_eq!(
        menu(&b).await,
        [
            "Workspace",
            "Customers",
            "Opportunities",
            "Statistics",
            "My account"
        ]
    );
    assert_eq!(
        tabs(&b).await,
        ["Profile", "Reminders & time zone", "Password"]
    );
    b.screenshot("member-menu-en").await;
    sign_out(&b).await;

    // A manager is not an admin either.
    sign_in(&b, "zhao.min@example.com", PASSWORD).await;
    assert_eq!(b.text_of(".app-user .badge").await, "经理");
    assert_eq!(
        menu(&b).await,
        ["工作桌面", "客户管理", "销售机会", "统计分析", "个人设置"]
    );
    assert!(!b.exists("a[href^='/admin']").await, "no admin links");
    b.screenshot("manager-menu").await;

    b.finish().await;
}
