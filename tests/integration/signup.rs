//! Sign-up in two steps: the form only asks for a link, which answers alike for every
//! address; the emailed link (single use, 24 hours) sets the password and creates the
//! company and its admin, once. Bad input re-renders the form with messages and what was
//! typed.

use kehu_tests::{Client, PASSWORD, TestApp, TestOptions, client::Page};

use crate::support::{exec, zh};

async fn request(app: &TestApp, company: &str, name: &str, email: &str) -> (Client, Page) {
    let client = app.client();
    let form = client.get("/signup").await;
    assert_eq!(form.status, 200);
    let page = client
        .post(
            "/signup",
            &[("company", company), ("name", name), ("email", email)],
        )
        .await;
    (client, page)
}

async fn tenants(app: &TestApp) -> i64 {
    app.scalar("SELECT count(*) FROM tenants WHERE id > 0")
        .await
}

async fn pending(app: &TestApp) -> i64 {
    app.scalar("SELECT count(*) FROM signup_requests").await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emailed_link_creates_the_tenant_and_its_admin_once_and_signs_them_in() {
    let app = TestApp::start().await;
    let (client, page) = request(
        &app,
        "  上海云帆贸易有限公司 ",
        "李娜",
        " Li.Na@Example.COM ",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let sent = page.texts("#signup-sent").join("");
    assert!(sent.contains("li.na@example.com"), "{sent}");
    assert_eq!(tenants(&app).await, 0, "nothing is created before the link");
    assert_eq!(
        app.scalar("SELECT count(*) FROM user_directory").await,
        0,
        "the address is not taken"
    );

    app.drain_jobs().await;
    let mail = app.smtp.messages_to("li.na@example.com");
    assert_eq!(mail.len(), 1, "one confirmation email");
    assert!(mail[0].subject().contains("上海云帆贸易有限公司"));
    let link = mail[0]
        .link(&format!("{}/signup/confirm/", app.base_url))
        .expect("a confirmation link");
    let path = link.trim_start_matches(&app.base_url).to_owned();

    // The link asks for the password, with the names filled in.
    let form = client.get(&path).await;
    assert_eq!(form.status, 200);
    assert_eq!(
        form.input_value("company").as_deref(),
        Some("上海云帆贸易有限公司")
    );
    assert_eq!(form.input_value("name").as_deref(), Some("李娜"));
    assert_eq!(form.input_value("password").as_deref(), Some(""));
    assert!(form.body.contains("li.na@example.com"));

    let page = client
        .post(
            &path,
            &[
                ("company", "上海云帆贸易有限公司"),
                ("name", "李娜"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/"));
    let home = client.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("上海云帆贸易有限公司"));
    assert!(home.body.contains("李娜"));
    assert_eq!(home.texts(".app-user .badge"), vec![zh("role.admin")]);

    assert_eq!(tenants(&app).await, 1);
    let user = app
        .text(
            "SELECT email || '|' || role || '|' || status || '|' || locale || '|' || \
             (tenant_id = (SELECT id FROM tenants WHERE id > 0))::text FROM users",
        )
        .await;
    assert_eq!(user, "li.na@example.com|admin|active|zh-CN|true");
    let hash = app.text("SELECT password_hash FROM users").await;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "argon2id at OWASP parameters: {hash}"
    );
    assert_eq!(pending(&app).await, 0, "the request is spent");

    // Single use: the link is dead now, and a second submission creates nothing.
    let again = app.client();
    let reopened = again.get(&path).await;
    assert_eq!(reopened.status, 404);
    assert_eq!(
        reopened.texts("#signup-link-error"),
        vec![zh("signup.invalid")]
    );
    client.get("/signup").await;
    let replay = client
        .post(
            &path,
            &[
                ("company", "又一家"),
                ("name", "李娜"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(replay.status, 404);
    assert_eq!(tenants(&app).await, 1);

    app.drain_jobs().await;
    let mail = app.smtp.messages_to("li.na@example.com");
    assert_eq!(mail.len(), 2, "the link, then the welcome");
    assert!(mail[1].body().contains(&format!("{}/login", app.base_url)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_sign_up_form_shows_every_field_error_and_sends_nothing() {
    let app = TestApp::start().await;
    let (_, page) = request(&app, "", "  ", "").await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("company"), Some(zh("form.required")));
    assert_eq!(page.field_error("name"), Some(zh("form.required")));
    assert_eq!(page.field_error("email"), Some(zh("form.invalid_email")));
    assert_eq!(
        page.attrs("#f-company", "aria-invalid"),
        vec!["true".to_owned()]
    );
    assert_eq!(pending(&app).await, 0);
    assert_eq!(app.scalar("SELECT count(*) FROM emails").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_field_gives_422_with_its_message_and_keeps_what_was_typed() {
    let app = TestApp::start().await;
    for email in ["not-an-email", "li@example"] {
        let (_, page) = request(&app, "深圳星河科技", "张伟", email).await;
        assert_eq!(page.status, 422, "{email}");
        assert_eq!(page.field_error("email"), Some(zh("form.invalid_email")));
        assert_eq!(page.input_value("company").as_deref(), Some("深圳星河科技"));
        assert_eq!(page.input_value("name").as_deref(), Some("张伟"));
        assert_eq!(page.input_value("email").as_deref(), Some(email));
    }
    assert_eq!(pending(&app).await, 0);

    // The password is checked on the link's page, which keeps the names.
    let (client, page) = request(&app, "深圳星河科技", "张伟", "li@example.com").await;
    assert_eq!(page.status, 200);
    let path = app.signup_link("li@example.com").await;
    client.get(&path).await;
    let cases = [
        ("abc".to_owned(), zh("password.too_short")),
        ("password123".to_owned(), zh("password.too_common")),
        ("li@example.com".to_owned(), zh("password.too_common")),
        ("x".repeat(129), zh("password.too_long")),
    ];
    for (password, message) in cases {
        let page = client
            .post(
                &path,
                &[
                    ("company", "深圳星河科技二部"),
                    ("name", "张伟"),
                    ("password", &password),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{password}");
        assert_eq!(page.field_error("password"), Some(message), "{password}");
        assert_eq!(
            page.input_value("company").as_deref(),
            Some("深圳星河科技二部")
        );
        assert_eq!(page.input_value("name").as_deref(), Some("张伟"));
        assert_eq!(
            page.input_value("password").as_deref(),
            Some(""),
            "passwords are never sent back"
        );
    }
    let page = client
        .post(
            &path,
            &[("company", ""), ("name", "张伟"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("company"), Some(zh("form.required")));
    assert_eq!(tenants(&app).await, 0);
    assert_eq!(
        pending(&app).await,
        1,
        "the link still works after bad input"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_answer_is_the_same_for_a_taken_address_whose_owner_is_told_instead() {
    let app = TestApp::start().await;
    let admin = app
        .signup("北京一号公司", "王一", "wang.yi@example.com")
        .await;
    app.create_user(&admin, "赵二", "zhao.er@example.com", "member", None)
        .await;
    app.drain_jobs().await;
    let mails_before = app.smtp.messages().len();

    let (_, free) = request(&app, "北京二号公司", "钱三", "qian.san@example.com").await;
    for email in [
        "wang.yi@example.com",
        "  WANG.YI@Example.com ",
        "Zhao.Er@EXAMPLE.com",
    ] {
        let (_, page) = request(&app, "北京二号公司", "钱三", email).await;
        assert_eq!(page.status, free.status, "{email}");
        assert_eq!(page.texts("h1"), free.texts("h1"), "{email}");
        let normalized = email.trim().to_lowercase();
        assert_eq!(
            page.texts("#signup-sent")
                .join("")
                .replace(&normalized, "@"),
            free.texts("#signup-sent")
                .join("")
                .replace("qian.san@example.com", "@"),
            "{email}"
        );
    }
    assert_eq!(
        tenants(&app).await,
        1,
        "no second tenant, not even half-made"
    );
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 2);

    app.drain_jobs().await;
    let taken = app.smtp.messages_to("wang.yi@example.com");
    let told = &taken[taken.len() - 1];
    assert_eq!(told.subject(), zh("email.signup_taken.subject"));
    assert!(
        told.body()
            .contains(&format!("{}/password/forgot", app.base_url))
    );
    assert!(
        told.link(&format!("{}/signup/confirm/", app.base_url))
            .is_none()
    );
    assert_eq!(
        app.smtp.messages().len() - mails_before,
        4,
        "one email per request"
    );
    assert!(
        app.smtp.messages_to("qian.san@example.com")[0]
            .link(&format!("{}/signup/confirm/", app.base_url))
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_sign_up_sends_a_new_link_and_using_one_spends_both() {
    let app = TestApp::start().await;
    let (first, _) = request(&app, "甲公司", "周一", "zhou@example.com").await;
    let first_link = app.signup_link("zhou@example.com").await;
    let (second, _) = request(&app, "乙公司", "周一", "zhou@example.com").await;
    let second_link = app.signup_link("zhou@example.com").await;
    assert_ne!(first_link, second_link);
    assert_eq!(pending(&app).await, 2);
    assert_eq!(tenants(&app).await, 0, "still nothing taken");

    second.get(&second_link).await;
    let page = second
        .post(
            &second_link,
            &[
                ("company", "乙公司"),
                ("name", "周一"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(pending(&app).await, 0);
    assert_eq!(first.get(&first_link).await.status, 404);
    assert_eq!(
        app.text("SELECT name FROM tenants WHERE id > 0").await,
        "乙公司"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_submissions_of_one_link_at_once_create_one_tenant() {
    let app = TestApp::start().await;
    request(&app, "竞争公司", "同名", "same@race.test").await;
    let path = app.signup_link("same@race.test").await;
    let (one, two) = (app.client(), app.client());
    one.get(&path).await;
    two.get(&path).await;
    let form = [
        ("company", "竞争公司"),
        ("name", "同名"),
        ("password", PASSWORD),
    ];
    let (a, b) = tokio::join!(one.post(&path, &form), two.post(&path, &form));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 404]);
    assert_eq!(tenants(&app).await, 1);
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_link_says_so_and_an_address_taken_meanwhile_is_told_to_log_in() {
    let app = TestApp::start().await;
    let (client, _) = request(&app, "过期公司", "孙五", "sun@example.com").await;
    let path = app.signup_link("sun@example.com").await;
    exec(
        &app,
        "UPDATE signup_requests SET expires_at = now() - interval '1 second'",
    )
    .await;
    let page = client.get(&path).await;
    assert_eq!(page.status, 410);
    assert_eq!(page.texts("h1"), vec![zh("signup.expired_title")]);
    let page = client
        .post(
            &path,
            &[
                ("company", "过期公司"),
                ("name", "孙五"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 410);
    assert_eq!(tenants(&app).await, 0);

    // A request whose address a company took in the meantime creates nothing.
    let (client, _) = request(&app, "迟到公司", "吴六", "wu@example.com").await;
    let path = app.signup_link("wu@example.com").await;
    let admin = app.signup("先到公司", "郑七", "zheng@example.com").await;
    app.create_user(&admin, "吴六", "wu@example.com", "member", None)
        .await;
    client.get(&path).await;
    let page = client
        .post(
            &path,
            &[
                ("company", "迟到公司"),
                ("name", "吴六"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 409);
    assert_eq!(page.texts("h1"), vec![zh("signup.taken_title")]);
    assert_eq!(tenants(&app).await, 1);
    assert_eq!(
        app.scalar("SELECT count(*) FROM signup_requests WHERE email = 'wu@example.com'")
            .await,
        0,
        "its request is spent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_ups_have_a_daily_allowance_per_ip() {
    let app = TestApp::start_with(TestOptions {
        signup_ip_limit: 2,
        ..TestOptions::default()
    })
    .await;
    for n in 0..2 {
        let (_, page) = request(&app, "限额公司", "冯八", &format!("feng{n}@example.com")).await;
        assert_eq!(page.status, 200);
    }
    let (_, page) = request(&app, "限额公司", "冯八", "feng9@example.com").await;
    assert_eq!(page.status, 429);
    assert_eq!(page.alert(), Some(zh("signup.ip_limited")));
    assert_eq!(
        page.input_value("email").as_deref(),
        Some("feng9@example.com")
    );
    assert_eq!(pending(&app).await, 2);
}
