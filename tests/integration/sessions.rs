//! Every session of a user ends when the user is disabled or gets a new password, but not
//! when a stranger's wrong passwords lock the account; and every session ends at its
//! absolute lifetime however busy it is. Most tests sign the same user in from two
//! browsers.

use kehu_tests::{Client, PASSWORD, TestApp};

use crate::support::{OTHER_PASSWORD, WRONG_PASSWORD, lock_out, signed_in};

/// An app with an admin and a member signed in twice (phone and laptop).
async fn two_sessions(app: &TestApp) -> (Client, i64, Client, Client) {
    let admin = app
        .signup("会话公司", "管理员", "admin@sessions.test")
        .await;
    let id = app
        .create_user(&admin, "两台设备", "two@sessions.test", "member", None)
        .await;
    let phone = app.login_ok("two@sessions.test").await;
    let laptop = app.login_ok("two@sessions.test").await;
    assert!(signed_in(&phone).await && signed_in(&laptop).await);
    (admin, id, phone, laptop)
}

async fn assert_signed_out(client: &Client, why: &str) {
    let page = client.get("/account").await;
    assert_eq!(page.status, 303, "{why}: still signed in");
    assert_eq!(page.location.as_deref(), Some("/login"), "{why}");
    // htmx requests get told to go to the login page too.
    let page = client.post_htmx("/account/password", &[]).await;
    assert_eq!(
        page.header("hx-redirect").as_deref(),
        Some("/login"),
        "{why}: htmx request answered {}",
        page.status
    );
    assert!(!signed_in(client).await, "{why}");
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_user_ends_all_their_sessions() {
    let app = TestApp::start().await;
    let (admin, id, phone, laptop) = two_sessions(&app).await;
    let page = admin.post(&format!("/admin/users/{id}/disable"), &[]).await;
    assert_eq!(page.status, 303);
    assert_signed_out(&phone, "phone after disable").await;
    assert_signed_out(&laptop, "laptop after disable").await;
    assert!(
        signed_in(&admin).await,
        "the admin's own session is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_from_a_stranger_lock_the_account_but_keep_its_owners_sessions() {
    let app = TestApp::start().await;
    let (_admin, _id, phone, laptop) = two_sessions(&app).await;
    lock_out(&app, "two@sessions.test").await;
    assert!(signed_in(&phone).await, "the phone is still signed in");
    assert!(signed_in(&laptop).await, "the laptop is still signed in");
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_ones_password_ends_the_other_sessions_but_not_this_one() {
    let app = TestApp::start().await;
    let (_admin, _id, phone, laptop) = two_sessions(&app).await;
    phone.get("/account/password").await;
    let page = phone
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", OTHER_PASSWORD),
                ("confirm", OTHER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(signed_in(&phone).await, "the changing session continues");
    assert_eq!(phone.get("/account").await.status, 200);
    assert_signed_out(&laptop, "laptop after password change").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_resetting_the_password_ends_all_the_users_sessions() {
    let app = TestApp::start().await;
    let (admin, id, phone, laptop) = two_sessions(&app).await;
    admin.get(&format!("/admin/users/{id}/password")).await;
    let page = admin
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_signed_out(&phone, "phone after reset").await;
    assert_signed_out(&laptop, "laptop after reset").await;
    assert!(signed_in(&admin).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_cannot_reset_their_own_password_without_the_current_one() {
    let app = TestApp::start().await;
    let admin = app.signup("自助公司", "管理员", "admin@self.test").await;
    let other_device = app.login_ok("admin@self.test").await;
    let id = app.user_id("admin@self.test").await;
    let form = admin.get(&format!("/admin/users/{id}/password")).await;
    assert_eq!(form.status, 303, "sent to 个人设置 instead");
    assert_eq!(form.location.as_deref(), Some("/account/password"));
    let hash_before = app
        .text(&format!("SELECT password_hash FROM users WHERE id = {id}"))
        .await;
    let page = admin
        .post(
            &format!("/admin/users/{id}/password"),
            &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/account/password"));
    assert_eq!(
        app.text(&format!("SELECT password_hash FROM users WHERE id = {id}"))
            .await,
        hash_before,
        "the password did not change"
    );
    assert!(signed_in(&admin).await && signed_in(&other_device).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_below_the_limit_end_no_session() {
    let app = TestApp::start().await;
    let (_admin, _id, phone, laptop) = two_sessions(&app).await;
    for _ in 0..2 {
        let (_, page) = app.login("two@sessions.test", WRONG_PASSWORD).await;
        assert_eq!(page.status, 401);
    }
    assert!(signed_in(&phone).await && signed_in(&laptop).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_at_its_absolute_lifetime_however_busy_it_is() {
    let app = TestApp::start_with(kehu_tests::TestOptions {
        session_max_age: std::time::Duration::from_secs(3),
        ..kehu_tests::TestOptions::default()
    })
    .await;
    let admin = app
        .signup("寿命公司", "管理员", "admin@lifetime.test")
        .await;
    // Busy all along: a request every half second keeps it from ever being idle.
    for _ in 0..4 {
        assert!(signed_in(&admin).await, "within its lifetime");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(!signed_in(&admin).await, "ended after its lifetime");
    // A new sign-in starts a new lifetime.
    let again = app.login_ok("admin@lifetime.test").await;
    assert!(signed_in(&again).await);
}
