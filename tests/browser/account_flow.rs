//! The account life cycle in the browser, in Chinese: a company signs up through the
//! emailed link, its admin invites a colleague by email, the colleague sets a password,
//! signs in and out, locks the account with three wrong passwords (the page says only what it says for a wrong
//! password), and the admin unlocks it (htmx) from the user list.

use kehu_tests::{PASSWORD, TestApp, browser::Browser};

use crate::steps::{
    HEADING, LOGIN_SUBMIT, menu, open_sign_up_link, request_sign_up, sign_out, submit_login,
};

const TEST: &str = "account_flow";
const COMPANY: &str = "上海示例贸易有限公司";
const ADMIN_NAME: &str = "张伟";
const ADMIN_EMAIL: &str = "zhang.wei@example.com";
const USER_NAME: &str = "李娜";
const USER_EMAIL: &str = "li.na@example.com";
const WRONG_PASSWORD: &str = "Not-The-Right-One-7";

#[tokio::test(flavor = "multi_thread")]
async fn admin_invites_a_colleague_who_locks_the_account_and_is_unlocked() {
    let app = TestApp::start().await;
    let admin = Browser::start_as(&app, TEST, "admin").await;

    // Sign up the company: the form asks only for the names and the address…
    admin.goto("/signup").await;
    assert_eq!(admin.text_of(HEADING).await, "注册公司账户");
    for label in ["公司名称", "您的姓名", "邮箱"] {
        admin
            .wait_for_text_in("form[action='/signup']", label)
            .await;
    }
    admin.screenshot("signup-form").await;
    request_sign_up(&admin, COMPANY, ADMIN_NAME, ADMIN_EMAIL).await;
    assert_eq!(admin.text_of(HEADING).await, "请查收邮件");
    assert!(admin.text_of("#signup-sent").await.contains(ADMIN_EMAIL));
    admin.screenshot("signup-check-email").await;

    // …and the emailed link sets the password. Its button shows that it is working and
    // cannot send the form twice.
    open_sign_up_link(&admin, &app, COMPANY, ADMIN_EMAIL).await;
    assert_eq!(admin.text_of(HEADING).await, "完成注册");
    admin.fill("#f-password", PASSWORD).await;
    admin.screenshot("signup-confirm").await;
    let guarded = admin
        .js(
            "const form = document.querySelector(\"form[action^='/signup/confirm/']\");
             const seen = [];
             window.addEventListener('submit', (e) => seen.push(e.defaultPrevented));
             form.requestSubmit();
             form.requestSubmit();
             const button = form.querySelector('button[type=submit]');
             return [seen, button.textContent, form.getAttribute('aria-busy')];",
            vec![],
        )
        .await;
    assert_eq!(
        guarded,
        serde_json::json!([[false, true], "正在创建…", "true"]),
        "the second submission is stopped"
    );

    // Lands on the workspace.
    admin.wait_for_path("/").await;
    assert_eq!(admin.text_of(HEADING).await, "工作桌面");
    let welcome = admin.text_of("#content .lead").await;
    assert!(
        welcome.contains(ADMIN_NAME) && welcome.contains(COMPANY),
        "{welcome}"
    );
    assert_eq!(admin.text_of(".app-tenant").await, COMPANY);
    assert_eq!(
        menu(&admin).await,
        [
            "工作桌面",
            "客户管理",
            "销售机会",
            "统计分析",
            "系统设置",
            "个人设置"
        ]
    );
    admin.screenshot("workspace-after-signup").await;

    // 系统设置 → 用户管理.
    admin
        .click_and_load("nav.app-menu a[href='/admin/users']")
        .await;
    admin.wait_for_path("/admin/users").await;
    assert_eq!(admin.text_of(HEADING).await, "用户管理");
    assert_eq!(
        admin.text_of("ul.app-tabs .nav-link.active").await,
        "用户管理"
    );
    assert_eq!(
        admin.texts("#users tbody tr").await.len(),
        1,
        "only the admin"
    );
    admin.wait_for_text_in("#users tbody", ADMIN_EMAIL).await;
    admin.screenshot("user-list").await;

    // 邀请用户.
    admin
        .click_and_load("#content a[href='/admin/users/invite']")
        .await;
    admin.wait_for_path("/admin/users/invite").await;
    assert_eq!(admin.text_of(HEADING).await, "邀请用户");
    admin.fill("#f-name", USER_NAME).await;
    admin.fill("#f-email", USER_EMAIL).await;
    admin.select("#f-role", "member").await;
    assert_eq!(
        admin.text_of("#f-role option:checked").await,
        "普通员工",
        "role member"
    );
    admin.screenshot("invite-form").await;
    admin
        .click_and_load("form.user-form button[type=submit]")
        .await;
    admin.wait_for_path("/admin/users").await;
    let user_id = app.user_id(USER_EMAIL).await;
    let row = format!("tr#user-{user_id}");
    admin.wait_for_text_in(&row, USER_NAME).await;
    let row_text = admin.text_of(&row).await;
    for expected in [USER_EMAIL, "普通员工", "待确认", "重发邀请"] {
        assert!(row_text.contains(expected), "{expected} in {row_text:?}");
    }
    admin.screenshot("user-list-with-invited-user").await;

    // The invitation arrives through SMTP.
    app.drain_jobs().await;
    let invitation = app
        .smtp
        .messages_to(USER_EMAIL)
        .into_iter()
        .find(|m| m.body().contains("/invite/"))
        .expect("an invitation email to the invited user");
    let subject = invitation.subject();
    assert!(
        subject.contains(ADMIN_NAME) && subject.contains(COMPANY),
        "{subject}"
    );
    let link = invitation
        .link(&format!("{}/invite/", app.base_url))
        .expect("an /invite/ link in the email");

    // The colleague opens the link in their own browser and sets a password.
    let user = Browser::start_as(&app, TEST, "invitee").await;
    user.goto(&link).await;
    assert_eq!(user.text_of(HEADING).await, "设置密码");
    user.wait_for_text(&format!("{USER_NAME}，欢迎加入！"))
        .await;
    assert_eq!(
        user.attr("#f-email-ro", "value").await.as_deref(),
        Some(USER_EMAIL)
    );
    user.fill("#f-password", PASSWORD).await;
    user.fill("#f-confirm", PASSWORD).await;
    user.screenshot("invitee-sets-password").await;
    user.click_and_load("form[action^='/invite/'] button[type=submit]")
        .await;
    user.wait_for_path("/").await;
    assert_eq!(user.text_of(HEADING).await, "工作桌面");
    assert_eq!(user.text_of(".app-user .fw-semibold").await, USER_NAME);
    assert_eq!(user.text_of(".app-user .badge").await, "普通员工");
    assert_eq!(
        menu(&user).await,
        ["工作桌面", "客户管理", "销售机会", "统计分析", "个人设置"]
    );
    user.screenshot("invitee-signed-in").await;

    // Sign out, sign in with the new password, sign out again.
    sign_out(&user).await;
    assert_eq!(user.text_of(HEADING).await, "登录");
    user.screenshot("invitee-signed-out").await;
    submit_login(&user, USER_EMAIL, PASSWORD).await;
    user.wait_for_path("/").await;
    assert_eq!(user.text_of(HEADING).await, "工作桌面");
    user.wait_for_text(USER_NAME).await;
    user.screenshot("invitee-signed-in-with-password").await;
    sign_out(&user).await;

    // Three wrong passwords lock the account.
    for attempt in 1..=2 {
        submit_login(&user, USER_EMAIL, WRONG_PASSWORD).await;
        assert_eq!(user.path().await, "/login");
        let alert = user.text_of(".alert").await;
        assert!(
            alert.contains("邮箱或密码错误"),
            "attempt {attempt}: {alert}"
        );
        assert_eq!(
            user.attr("#f-email", "value").await.as_deref(),
            Some(USER_EMAIL),
            "the email is kept"
        );
        user.screenshot(&format!("wrong-password-{attempt}")).await;
    }
    // The third locks it, and says no more than a wrong password does (the owner is
    // emailed instead).
    submit_login(&user, USER_EMAIL, WRONG_PASSWORD).await;
    let alert = user.text_of(".alert").await;
    assert!(alert.contains("邮箱或密码错误"), "same message: {alert}");
    user.screenshot("account-locked").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM users WHERE id = {user_id} AND locked_at IS NOT NULL"
        ))
        .await,
        1,
        "locked in the database"
    );
    // Even the right password does not get in now.
    submit_login(&user, USER_EMAIL, PASSWORD).await;
    assert_eq!(user.path().await, "/login");
    let alert = user.text_of(".alert").await;
    assert!(alert.contains("邮箱或密码错误"), "still locked: {alert}");

    // The admin sees the lock in the user list and unlocks (htmx swaps the row).
    admin
        .click_and_load("ul.app-tabs a[href='/admin/users']")
        .await;
    admin.wait_for_path("/admin/users").await;
    assert_eq!(
        admin.text_of(&format!("{row} .badge")).await,
        "已锁定",
        "locked badge"
    );
    let unlock = format!("{row} button[data-action='unlock']");
    assert_eq!(admin.text_of(&unlock).await, "解锁");
    admin.screenshot("admin-sees-locked-user").await;
    admin
        .wait_js("htmx", "return typeof htmx !== 'undefined'", vec![])
        .await;
    admin.mark_document().await;
    admin.click(&unlock).await;
    admin.wait_for_absent(&unlock).await;
    admin
        .wait_for_text_in(&format!("{row} .badge"), "正常")
        .await;
    assert!(
        admin.document_is_marked().await,
        "htmx updated the row in place (no full page load)"
    );
    let row_text = admin.text_of(&row).await;
    assert!(
        row_text.contains(USER_NAME) && row_text.contains("停用"),
        "{row_text:?}"
    );
    assert_eq!(admin.texts("#users tbody tr").await.len(), 2, "two users");
    admin.screenshot("admin-unlocked-user").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM users WHERE id = {user_id} AND locked_at IS NULL"
        ))
        .await,
        1,
        "unlocked in the database"
    );

    // The colleague signs in.
    user.wait_for(LOGIN_SUBMIT).await;
    submit_login(&user, USER_EMAIL, PASSWORD).await;
    user.wait_for_path("/").await;
    assert_eq!(user.text_of(HEADING).await, "工作桌面");
    user.wait_for_text(USER_NAME).await;
    user.screenshot("invitee-signed-in-after-unlock").await;

    user.finish().await;
    admin.finish().await;
}
