//! 个人设置: the profile, changing one's own password, and the language switch.

use kehu_tests::{PASSWORD, TestApp};

use crate::support::{OTHER_PASSWORD, en, set_cookie_named, zh};

#[tokio::test(flavor = "multi_thread")]
async fn the_profile_shows_who_is_signed_in() {
    let app = TestApp::start().await;
    let admin = app
        .signup("资料公司", "资料管理员", "admin@profile.test")
        .await;
    app.create_user(&admin, "资料经理", "boss@profile.test", "manager", None)
        .await;
    let manager = app.login_ok("boss@profile.test").await;
    let page = manager.get("/account").await;
    assert_eq!(page.status, 200);
    let facts = page.texts("dl.profile dd");
    assert_eq!(facts[0], "资料经理");
    assert_eq!(facts[1], "boss@profile.test");
    assert_eq!(facts[2], zh("role.manager"));
    assert_eq!(facts[3], "资料公司");
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_ones_password_checks_the_current_one_and_the_new_one() {
    let app = TestApp::start().await;
    let client = app.signup("改密公司", "改密用户", "me@password.test").await;
    let form = client.get("/account/password").await;
    assert_eq!(form.status, 200);

    let page = client
        .post(
            "/account/password",
            &[
                ("current", "Not-My-Password-1"),
                ("password", OTHER_PASSWORD),
                ("confirm", OTHER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("current"),
        Some(zh("account.wrong_current"))
    );

    let page = client
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", OTHER_PASSWORD),
                ("confirm", "Velvet-Canyon-Meadow-74"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("confirm"), Some(zh("password.mismatch")));

    let page = client
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "password123"),
                ("confirm", "password123"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("password"),
        Some(zh("password.too_common"))
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM audit_log WHERE action = 'password_changed'")
            .await,
        0,
        "nothing changed yet"
    );

    let page = client
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
    let done = client
        .get(page.location.as_deref().expect("redirect"))
        .await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains(&zh("account.password_changed")));

    let (_, old) = app.login("me@password.test", PASSWORD).await;
    assert_eq!(old.status, 401, "the old password no longer works");
    let (_, new) = app.login("me@password.test", OTHER_PASSWORD).await;
    assert_eq!(new.status, 303, "the new password works");

    let id = app.user_id("me@password.test").await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'password_changed' \
             AND actor_id = {id} AND target_user_id = {id}"
        ))
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_to_english_is_remembered_on_the_user() {
    let app = TestApp::start().await;
    let client = app.signup("语言公司", "语言用户", "me@locale.test").await;
    let home = client.get("/").await;
    assert!(home.body.contains(&zh("nav.logout")));
    assert_eq!(home.attrs("html", "lang"), vec!["zh-CN".to_owned()]);

    let page = client.post("/locale", &[("locale", "en")]).await;
    assert_eq!(page.status, 303);
    let cookie = set_cookie_named(&page, "kehu_lang").expect("the language cookie");
    assert!(cookie.starts_with("kehu_lang=en"), "{cookie}");

    let home = client.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Sign out"), "{}", home.body);
    assert!(home.body.contains(&en("menu.home")));
    assert!(!home.body.contains(&zh("nav.logout")));
    assert_eq!(home.attrs("html", "lang"), vec!["en".to_owned()]);
    assert_eq!(
        app.text("SELECT locale FROM users WHERE email = 'me@locale.test'")
            .await,
        "en"
    );

    // A fresh browser with no language cookie: after login the user's language wins.
    let (fresh, login) = app.login("me@locale.test", PASSWORD).await;
    assert_eq!(login.status, 303);
    assert!(
        set_cookie_named(&login, "kehu_lang").is_some_and(|c| c.starts_with("kehu_lang=en")),
        "login sets the language cookie"
    );
    let home = fresh.get("/").await;
    assert!(home.body.contains("Sign out"));
    let account = fresh.get("/account").await;
    assert!(account.body.contains(&en("field.language")));

    // And back.
    fresh.post("/locale", &[("locale", "zh-CN")]).await;
    assert!(fresh.get("/").await.body.contains(&zh("nav.logout")));
    assert_eq!(
        app.text("SELECT locale FROM users WHERE email = 'me@locale.test'")
            .await,
        "zh-CN"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_visitor_switches_the_login_page_with_a_cookie() {
    let app = TestApp::start().await;
    let client = app.client();
    let login = client.get("/login").await;
    assert_eq!(login.texts("h1"), vec![zh("login.title")]);

    let page = client.post("/locale", &[("locale", "en")]).await;
    assert_eq!(page.status, 303);
    assert!(
        set_cookie_named(&page, "kehu_lang").is_some_and(|c| c.starts_with("kehu_lang=en")),
        "{:?}",
        page.headers
    );
    assert_eq!(client.cookie("kehu_lang").as_deref(), Some("en"));
    let login = client.get("/login").await;
    assert_eq!(login.texts("h1"), vec![en("login.title")]);
    assert_eq!(login.attrs("html", "lang"), vec!["en".to_owned()]);
    let signup = client.get("/signup").await;
    assert!(signup.body.contains(&en("signup.submit")));

    // Error pages speak the visitor's language too.
    let missing = client.get("/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains(&en("error.404_title")));

    // An unknown language falls back to Chinese.
    client.post("/locale", &[("locale", "xx")]).await;
    assert_eq!(client.cookie("kehu_lang").as_deref(), Some("zh-CN"));
}
