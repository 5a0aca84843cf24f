//! Sign-up: a company becomes a tenant with its first admin, who is signed in and welcomed
//! by email; bad input re-renders the form with messages and what was typed.

use kehu_tests::{PASSWORD, TestApp, client::Page};

use crate::support::zh;

async fn submit(app: &TestApp, company: &str, name: &str, email: &str, password: &str) -> Page {
    let client = app.client();
    let form = client.get("/signup").await;
    assert_eq!(form.status, 200);
    client
        .post(
            "/signup",
            &[
                ("company", company),
                ("name", name),
                ("email", email),
                ("password", password),
            ],
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_up_creates_the_tenant_and_its_admin_signs_them_in_and_sends_a_welcome_email() {
    let app = TestApp::start().await;
    let client = app.client();
    client.get("/signup").await;
    let page = client
        .post(
            "/signup",
            &[
                ("company", "  上海云帆贸易有限公司 "),
                ("name", "李娜"),
                ("email", " Li.Na@Example.COM "),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/"));

    let home = client.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("上海云帆贸易有限公司"));
    assert!(home.body.contains("工作桌面"));
    assert!(home.body.contains("李娜"));
    assert_eq!(home.texts(".app-user .badge"), vec![zh("role.admin")]);

    assert_eq!(app.scalar("SELECT count(*) FROM tenants").await, 1);
    assert_eq!(
        app.text("SELECT name FROM tenants").await,
        "上海云帆贸易有限公司",
        "the company name is trimmed"
    );
    let user = app
        .text(
            "SELECT email || '|' || role || '|' || status || '|' || locale || '|' || \
             (tenant_id = (SELECT id FROM tenants))::text FROM users",
        )
        .await;
    assert_eq!(user, "li.na@example.com|admin|active|zh-CN|true");
    let hash = app.text("SELECT password_hash FROM users").await;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "argon2id at OWASP parameters: {hash}"
    );

    app.drain_jobs().await;
    let mail = app.smtp.messages_to("li.na@example.com");
    assert_eq!(mail.len(), 1, "one welcome email");
    assert!(mail[0].subject().contains("上海云帆贸易有限公司"));
    assert!(mail[0].body().contains("李娜"));
    assert!(
        mail[0].body().contains(&format!("{}/login", app.base_url)),
        "{}",
        mail[0].body()
    );
    assert_eq!(
        app.text("SELECT status FROM emails WHERE kind = 'welcome'")
            .await,
        "sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_sign_up_form_shows_every_field_error_and_creates_nothing() {
    let app = TestApp::start().await;
    let page = submit(&app, "", "  ", "", "").await;
    assert_eq!(page.status, 422);
    assert_eq!(page.field_error("company"), Some(zh("form.required")));
    assert_eq!(page.field_error("name"), Some(zh("form.required")));
    assert_eq!(page.field_error("email"), Some(zh("form.invalid_email")));
    assert_eq!(page.field_error("password"), Some(zh("password.too_short")));
    assert_eq!(
        page.attrs("#f-company", "aria-invalid"),
        vec!["true".to_owned()]
    );
    assert_eq!(app.scalar("SELECT count(*) FROM tenants").await, 0);
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_bad_field_gives_422_with_its_message_and_keeps_what_was_typed() {
    let app = TestApp::start().await;
    let cases = [
        ("not-an-email", PASSWORD, "email", zh("form.invalid_email")),
        ("li@example", PASSWORD, "email", zh("form.invalid_email")),
        (
            "li@example.com",
            "abc",
            "password",
            zh("password.too_short"),
        ),
        (
            "li@example.com",
            "password123",
            "password",
            zh("password.too_common"),
        ),
        (
            "li@example.com",
            "li@example.com",
            "password",
            zh("password.too_common"),
        ),
        (
            "li@example.com",
            &"x".repeat(129),
            "password",
            zh("password.too_long"),
        ),
    ];
    for (email, password, field, message) in cases {
        let page = submit(&app, "深圳星河科技", "张伟", email, password).await;
        assert_eq!(page.status, 422, "{email} / {password}");
        assert_eq!(
            page.field_error(field),
            Some(message),
            "{email} / {password}"
        );
        let other = if field == "email" {
            "password"
        } else {
            "email"
        };
        assert_eq!(page.field_error(other), None, "{email} / {password}");
        assert_eq!(page.input_value("company").as_deref(), Some("深圳星河科技"));
        assert_eq!(page.input_value("name").as_deref(), Some("张伟"));
        assert_eq!(page.input_value("email").as_deref(), Some(email));
        assert_eq!(
            page.input_value("password").as_deref(),
            Some(""),
            "passwords are never sent back"
        );
    }
    assert_eq!(app.scalar("SELECT count(*) FROM tenants").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_already_registered_anywhere_in_kehu_is_refused_whatever_its_case() {
    let app = TestApp::start().await;
    let admin = app
        .signup("北京一号公司", "王一", "wang.yi@example.com")
        .await;
    app.create_user(&admin, "赵二", "zhao.er@example.com", "member", None)
        .await;
    app.drain_jobs().await;

    for email in [
        "wang.yi@example.com",
        "  WANG.YI@Example.com ",
        "Zhao.Er@EXAMPLE.com",
    ] {
        let page = submit(&app, "北京二号公司", "钱三", email, PASSWORD).await;
        assert_eq!(page.status, 422, "{email}: {}", page.body);
        assert_eq!(
            page.field_error("email"),
            Some(zh("form.email_taken")),
            "{email}"
        );
        assert!(zh("form.email_taken").contains("已注册"));
        assert_eq!(page.input_value("company").as_deref(), Some("北京二号公司"));
        assert_eq!(page.input_value("name").as_deref(), Some("钱三"));
        assert_eq!(page.input_value("email").as_deref(), Some(email));
    }
    assert_eq!(
        app.scalar("SELECT count(*) FROM tenants").await,
        1,
        "no second tenant, not even half-made"
    );
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 2);
    assert_eq!(
        app.smtp.messages().len(),
        1,
        "only the first company was welcomed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sign_ups_with_the_same_email_at_once_create_one_tenant() {
    let app = TestApp::start().await;
    let (one, two) = (app.client(), app.client());
    one.get("/signup").await;
    two.get("/signup").await;
    let form = |company: &'static str| {
        [
            ("company", company),
            ("name", "同名"),
            ("email", "same@race.test"),
            ("password", PASSWORD),
        ]
    };
    let (form_a, form_b) = (form("甲竞争公司"), form("乙竞争公司"));
    let (a, b) = tokio::join!(one.post("/signup", &form_a), two.post("/signup", &form_b));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 422]);
    let loser = if a.status == 422 { &a } else { &b };
    assert_eq!(loser.field_error("email"), Some(zh("form.email_taken")));
    assert_eq!(app.scalar("SELECT count(*) FROM tenants").await, 1);
    assert_eq!(app.scalar("SELECT count(*) FROM users").await, 1);
    app.drain_jobs().await;
    assert_eq!(app.smtp.messages_to("same@race.test").len(), 1);
}
