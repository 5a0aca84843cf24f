//! Security headers on every response, cookie flags, CSRF on every state-changing route,
//! the vendored htmx, the 404 page and HTML escaping.

use kehu_tests::{PASSWORD, TestApp, client::Page};

use crate::{
    support::{set_cookie_named, signed_in, tenant_snapshot, zh},
    tenancy::ROUTES,
};

fn assert_security_headers(page: &Page, what: &str) {
    let csp = page
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    let referrer = page
        .header("referrer-policy")
        .unwrap_or_else(|| panic!("{what}: no Referrer-Policy"));
    assert!(
        [
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin"
        ]
        .contains(&referrer.as_str()),
        "{what}: {referrer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::start().await;
    let admin = app.signup("安全公司", "管理员", "admin@headers.test").await;
    let id = app.user_id("admin@headers.test").await;
    let anonymous = app.client();
    let cases = [
        ("a public page", anonymous.get("/login").await, 200),
        ("a redirect to login", anonymous.get("/").await, 303),
        ("a 404 page", anonymous.get("/no/such/page").await, 404),
        (
            "a static script",
            anonymous.get("/static/vendor/htmx.min.js").await,
            200,
        ),
        (
            "a static stylesheet",
            anonymous.get("/static/app.css").await,
            200,
        ),
        (
            "a missing static file",
            anonymous.get("/static/vendor/nope.js").await,
            404,
        ),
        ("the health check", anonymous.get("/healthz").await, 200),
        ("a wrong method", anonymous.get("/logout").await, 405),
        (
            "a wrong method outside the pages",
            anonymous.request(reqwest::Method::POST, "/healthz").await,
            405,
        ),
        ("a signed-in page", admin.get("/admin/users").await, 200),
        (
            "a CSRF refusal",
            admin
                .post_without_csrf("/locale", &[("locale", "en")])
                .await,
            403,
        ),
        (
            "an htmx fragment",
            admin
                .post_htmx(&format!("/admin/users/{id}/unlock"), &[])
                .await,
            200,
        ),
        (
            "a redirect after a form",
            admin.post(&format!("/admin/users/{id}/unlock"), &[]).await,
            303,
        ),
    ];
    for (what, page, status) in &cases {
        assert_eq!(page.status, *status, "{what}");
        assert_security_headers(page, what);
    }
    // Pages are not cached; static files are.
    assert_eq!(
        cases[0].1.header("cache-control").as_deref(),
        Some("no-store")
    );
    assert!(
        cases[3]
            .1
            .header("cache-control")
            .is_some_and(|c| c.contains("max-age")),
        "{:?}",
        cases[3].1.header("cache-control")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_and_csrf_cookies_are_http_only_and_same_site_lax() {
    let app = TestApp::start().await;
    app.signup("饼干公司", "管理员", "admin@cookie.test").await;
    let (_, page) = app.login("admin@cookie.test", PASSWORD).await;
    assert_eq!(page.status, 303);
    let session = set_cookie_named(&page, "kehu_session").expect("a session cookie");
    let attrs: Vec<String> = session
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attrs.contains(&"httponly".to_owned()), "{session}");
    assert!(attrs.contains(&"samesite=lax".to_owned()), "{session}");
    assert!(attrs.contains(&"path=/".to_owned()), "{session}");
    let value = session
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    assert!(value.len() >= 32, "a long random session id: {value}");

    let login = app.client().get("/login").await;
    let csrf = set_cookie_named(&login, "kehu_csrf").expect("a CSRF cookie");
    let lower = csrf.to_ascii_lowercase();
    assert!(lower.contains("httponly"), "{csrf}");
    assert!(lower.contains("samesite=lax"), "{csrf}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_state_changing_route_refuses_a_missing_or_wrong_csrf_token() {
    let app = TestApp::start().await;
    let admin = app.signup("令牌公司", "管理员", "admin@csrf.test").await;
    let member = app
        .create_user(&admin, "员工", "member@csrf.test", "member", None)
        .await;
    app.drain_jobs().await;
    let tenant = app.tenant_of("admin@csrf.test").await;
    let before = tenant_snapshot(&app, tenant).await;
    admin.get("/admin/users").await;
    let good = admin.csrf().expect("a token");
    // A genuine token, but bound to another browser's cookie.
    let other = app.client();
    other.get("/login").await;
    let foreign = other.csrf().expect("a token");
    assert_ne!(good, foreign);

    let mut checked = 0;
    for route in ROUTES.iter().filter(|r| r.method == "POST") {
        let path = route
            .path
            .replace(":id", &member.to_string())
            .replace(":token", "some-token");
        let what = format!("POST {path}");
        let refusals = [
            ("no token", admin.post_without_csrf(&path, route.form).await),
            (
                "a garbage token",
                admin
                    .post_with_token(&path, route.form, "not-a-token")
                    .await,
            ),
            (
                "another browser's token",
                admin.post_with_token(&path, route.form, &foreign).await,
            ),
            (
                "an empty htmx header",
                admin.post_htmx_with_token(&path, route.form, "").await,
            ),
            (
                "a garbage htmx header",
                admin
                    .post_htmx_with_token(&path, route.form, "bm90LWEtdG9rZW4=")
                    .await,
            ),
            (
                "another browser's htmx header",
                admin
                    .post_htmx_with_token(&path, route.form, &foreign)
                    .await,
            ),
        ];
        for (how, page) in refusals {
            assert_eq!(page.status, 403, "{what} with {how}");
            assert!(
                page.body.contains("页面已过期"),
                "{what} with {how}: {}",
                page.body
            );
        }
        checked += 1;
    }
    assert!(checked >= 12, "{checked} POST routes");
    assert!(signed_in(&admin).await, "the refused logout did nothing");
    assert_eq!(
        before,
        tenant_snapshot(&app, tenant).await,
        "a refused request changed data"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM tenants WHERE id > 0")
            .await,
        1
    );

    // The anonymous forms are protected too (login CSRF).
    let visitor = app.client();
    visitor.get("/login").await;
    let page = visitor
        .post_without_csrf(
            "/login",
            &[("email", "admin@csrf.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(!signed_in(&visitor).await);
    // And the real token works, as form field and as htmx header.
    assert_eq!(
        admin
            .post_with_token(&format!("/admin/users/{member}/unlock"), &[], &good)
            .await
            .status,
        303
    );
    assert_eq!(
        admin
            .post_htmx_with_token(&format!("/admin/users/{member}/unlock"), &[], &good)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn htmx_is_served_and_every_page_hands_it_the_csrf_token() {
    let app = TestApp::start().await;
    let client = app.client();
    let js = client.get("/static/vendor/htmx.min.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .is_some_and(|c| c.contains("javascript")),
        "{:?}",
        js.header("content-type")
    );
    assert!(js.body.len() > 10_000 && js.body.contains("htmx"));

    let admin = app.signup("脚本公司", "管理员", "admin@htmx.test").await;
    for (who, page) in [
        ("public", client.get("/login").await),
        ("signed in", admin.get("/admin/users").await),
        ("error", client.get("/missing").await),
    ] {
        let headers = page.attrs("body", "hx-headers");
        assert_eq!(headers.len(), 1, "{who}");
        let json: serde_json::Value = serde_json::from_str(&headers[0]).expect("JSON");
        let token = json["X-CSRF-Token"].as_str().expect("the token");
        assert!(!token.is_empty(), "{who}");
        let forms = page.attrs("input[name=_csrf]", "value");
        assert!(!forms.is_empty(), "{who}: forms carry the token too");
        assert!(forms.iter().all(|t| t == token), "{who}");
        assert_eq!(
            page.attrs("script", "src"),
            vec![
                "/static/vendor/htmx.min.js".to_owned(),
                "/static/forms.js".to_owned()
            ],
            "{who}"
        );
        assert!(
            page.texts("script").iter().all(String::is_empty),
            "{who}: no inline script"
        );
        assert!(
            page.attrs("[style]", "style").is_empty(),
            "{who}: no inline style"
        );
        let config = page.attrs("meta[name=htmx-config]", "content");
        assert!(
            config
                .first()
                .is_some_and(|c| c.contains(r#""allowEval":false"#)),
            "{who}: {config:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_url_gets_the_404_page_in_the_layout() {
    let app = TestApp::start().await;
    let client = app.client();
    for path in [
        "/no-such-page",
        "/admin/nothing/here",
        "/admin/users/abc/def",
    ] {
        let page = client.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("页面不存在"), "{path}");
        assert!(page.body.contains(&zh("error.404")), "{path}");
        assert!(page.body.contains("<html"), "{path}: in the layout");
        assert_eq!(page.texts(".error-code"), vec!["404".to_owned()]);
    }
    let admin = app.signup("迷路公司", "管理员", "admin@lost.test").await;
    let page = admin.get("/no-such-page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("页面不存在"));
}

#[tokio::test(flavor = "multi_thread")]
async fn user_input_is_always_escaped() {
    let app = TestApp::start().await;
    let company = "<script>alert(1)</script>";
    let name = "\"><img src=x onerror=alert(2)>";
    let admin = app.signup(company, name, "admin@xss.test").await;
    let member = app
        .create_user(&admin, "<b>bold</b>", "member@xss.test", "member", None)
        .await;
    let home = admin.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!home.body.contains("<script>alert"));
    assert!(!home.body.contains("<img src=x"));
    assert_eq!(home.texts(".app-tenant"), vec![company.to_owned()]);

    let list = admin.get("/admin/users").await;
    assert!(!list.body.contains("<b>bold</b>"));
    assert!(list.body.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(!list.body.contains("<img src=x"));
    assert_eq!(
        list.texts(&format!("tr#user-{member} td:first-child a")),
        vec!["<b>bold</b>".to_owned()]
    );
    let edit = admin.get(&format!("/admin/users/{member}")).await;
    assert_eq!(edit.input_value("name").as_deref(), Some("<b>bold</b>"));
    assert!(!edit.body.contains("<b>bold</b>"));

    // Re-rendered forms escape what was typed.
    let visitor = app.client();
    visitor.get("/signup").await;
    let page = visitor
        .post(
            "/signup",
            &[
                ("company", "\"><script>alert(3)</script>"),
                ("name", "x"),
                ("email", "<svg onload=alert(4)>"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(!page.body.contains("<script>alert(3)"));
    assert!(!page.body.contains("<svg onload"));
    assert_eq!(
        page.input_value("company").as_deref(),
        Some("\"><script>alert(3)</script>")
    );
    let (_, login) = app.login("<svg onload=alert(5)>@x.test", "x").await;
    assert!(!login.body.contains("<svg onload"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_language_switch_never_redirects_off_site() {
    let app = TestApp::start().await;
    let client = app.client();
    client.get("/login").await;
    let token = client.csrf().expect("token");
    for referer in [
        format!("{}//evil.example/x", app.base_url),
        format!("{}/\\evil.example/x", app.base_url),
        "https://evil.example/login".to_owned(),
    ] {
        let resp = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .post(format!("{}/locale", app.base_url))
            .header("Referer", &referer)
            .header("X-CSRF-Token", &token)
            .header(
                "Cookie",
                format!(
                    "kehu_csrf={}",
                    client.cookie("kehu_csrf").expect("csrf cookie")
                ),
            )
            .form(&[("locale", "en")])
            .send()
            .await
            .expect("POST /locale");
        assert_eq!(resp.status().as_u16(), 303);
        assert_eq!(
            resp.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/"),
            "{referer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_refused_however_the_token_is_sent() {
    let app = TestApp::start().await;
    let client = app.client();
    client.get("/login").await;
    let big = "x".repeat(300 * 1024);
    let page = client
        .post_htmx("/login", &[("email", &big), ("password", "p")])
        .await;
    assert_eq!(page.status, 413, "header token");
    let page = client
        .post("/login", &[("email", &big), ("password", "p")])
        .await;
    assert_eq!(page.status, 413, "form token");
}
