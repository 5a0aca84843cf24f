//! Getting back in from the email, in the browser, in Chinese: the only admin of a
//! company locks themself out, opens the unlock link of the email they get, unlocks and
//! signs in; then forgets the password, asks for a link on 忘记密码, and sets a new one
//! through it, which signs them in.

use kehu_tests::{PASSWORD, TestApp, browser::Browser, smtp::Received};

use crate::steps::{HEADING, sign_out, submit_login};

const TEST: &str = "recovery";
const EMAIL: &str = "wang.fang@recovery.example.com";
const NEW_PASSWORD: &str = "Amber-Orchard-Compass-58";

/// The email to [`EMAIL`] with this subject, once it has arrived.
async fn mail(app: &TestApp, subject: &str) -> Received {
    let m = app.smtp.wait_for(EMAIL, subject).await;
    assert_eq!(m.subject(), subject);
    m
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_out_owner_unlocks_from_the_email_and_resets_a_forgotten_password() {
    let app = TestApp::start().await;
    app.signup("芳华文化传媒", "王芳", EMAIL).await;
    let b = Browser::start(&app, TEST).await;

    b.goto("/login").await;
    for _ in 0..3 {
        submit_login(&b, EMAIL, "Wrong-Guess-Again-1").await;
        assert!(b.text_of(".alert").await.contains("邮箱或密码错误"));
    }
    b.screenshot("locked-login-says-no-more").await;

    // The email: locked for 15 minutes, a link that unlocks it now.
    let notice = mail(&app, "您的 Kehu 账户已被暂时锁定").await;
    assert!(notice.body().contains("15 分钟"), "{}", notice.body());
    let unlock = notice
        .link(&format!("{}/account/unlock/", app.base_url))
        .expect("an unlock link");
    b.goto(&unlock).await;
    assert_eq!(b.text_of(HEADING).await, "解锁账户");
    assert_eq!(b.text_of("#unlock").await, "解锁我的账户");
    b.screenshot("unlock-page").await;
    b.click_and_load("#unlock").await;
    assert_eq!(b.text_of("#unlocked").await, "账户已解锁，现在可以登录了。");
    b.screenshot("unlocked").await;
    b.click_and_load("a[href='/login']").await;
    submit_login(&b, EMAIL, PASSWORD).await;
    b.wait_for_path("/").await;
    assert_eq!(b.text_of(HEADING).await, "工作桌面");
    sign_out(&b).await;

    // 忘记密码？ on the login page.
    b.click_and_load("#forgot").await;
    b.wait_for_path("/password/forgot").await;
    assert_eq!(b.text_of(HEADING).await, "忘记密码");
    b.fill("#f-email", EMAIL).await;
    b.click_and_load("form[action='/password/forgot'] button[type=submit]")
        .await;
    assert!(
        b.text_of("#forgot-sent")
            .await
            .contains("重置密码的邮件已经发出")
    );
    b.screenshot("reset-link-sent").await;
    let reset = mail(&app, "重设您的 Kehu 密码")
        .await
        .link(&format!("{}/password/reset/", app.base_url))
        .expect("a reset link");
    b.goto(&reset).await;
    assert_eq!(b.text_of(HEADING).await, "重设密码");
    b.fill("#f-password", NEW_PASSWORD).await;
    b.fill("#f-confirm", NEW_PASSWORD).await;
    b.screenshot("reset-form").await;
    b.click_and_load("form[action^='/password/reset/'] button[type=submit]")
        .await;
    b.wait_for_path("/").await;
    assert_eq!(b.text_of(HEADING).await, "工作桌面");
    sign_out(&b).await;
    submit_login(&b, EMAIL, NEW_PASSWORD).await;
    b.wait_for_path("/").await;
    b.finish().await;
}
