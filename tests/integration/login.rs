//! Sign-in: lockout after three wrong passwords, unknown emails indistinguishable from
//! known ones, the per-IP throttle, session rotation and logout.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kehu::i18n::Locale;
use kehu_tests::{Client, PASSWORD, TestApp, TestOptions, client::Page};

use crate::support::{WRONG_PASSWORD, set_cookie_named, signed_in, zh};

const SESSION: &str = "kehu_session";

async fn attempt(client: &Client, email: &str, password: &str) -> Page {
    client
        .post("/login", &[("email", email), ("password", password)])
        .await
}

/// What a visitor can observe about a failed attempt.
fn observed(page: &Page) -> (u16, Option<String>) {
    (page.status, page.alert())
}

#[tokio::test(flavor = "multi_thread")]
async fn three_wrong_passwords_lock_the_account_even_against_the_right_password_and_say_nothing_more()
 {
    let app = TestApp::start().await;
    let admin = app
        .signup("锁定测试公司", "管理员甲", "admin@lock.test")
        .await;
    let id = app
        .create_user(&admin, "员工乙", "yi@lock.test", "member", None)
        .await;
    let client = app.client();
    client.get("/login").await;

    for n in 1..=2 {
        let page = attempt(&client, "yi@lock.test", WRONG_PASSWORD).await;
        assert_eq!(page.status, 401, "attempt {n}");
        assert_eq!(page.alert(), Some(zh("login.invalid")), "attempt {n}");
        assert_eq!(page.input_value("email").as_deref(), Some("yi@lock.test"));
        assert_eq!(page.input_value("password").as_deref(), Some(""));
    }
    // Locked: the page says what it says for a wrong password (the owner gets an email).
    let third = attempt(&client, "yi@lock.test", WRONG_PASSWORD).await;
    assert_eq!(third.status, 401);
    assert_eq!(third.alert(), Some(zh("login.invalid")));

    let right = attempt(&client, "yi@lock.test", PASSWORD).await;
    assert_eq!(right.status, 401, "a locked account stays locked");
    assert_eq!(right.alert(), Some(zh("login.invalid")));
    assert!(!signed_in(&client).await);

    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM users WHERE id = {id} AND locked_at IS NOT NULL AND failed_logins >= 3"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_locked' \
             AND actor_id IS NULL AND target_user_id = {id}"
        ))
        .await,
        1,
        "one user_locked row, by the system"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_email_answers_exactly_like_a_known_one_on_every_attempt() {
    let app = TestApp::start().await;
    let admin = app
        .signup("探测测试公司", "管理员", "admin@probe.test")
        .await;
    app.create_user(&admin, "真实用户", "real@probe.test", "member", None)
        .await;
    let known = app.client();
    known.get("/login").await;
    let unknown = app.client();
    unknown.get("/login").await;
    for n in 1..=4 {
        let k = attempt(&known, "real@probe.test", WRONG_PASSWORD).await;
        let u = attempt(&unknown, "nobody@probe.test", WRONG_PASSWORD).await;
        assert_eq!(observed(&k), observed(&u), "attempt {n}");
        assert_eq!(k.status, 401, "attempt {n}");
        assert_eq!(k.alert(), Some(zh("login.invalid")), "attempt {n}");
        assert_eq!(u.input_value("email").as_deref(), Some("nobody@probe.test"));
        // Same page apart from the email and the CSRF token.
        let strip = |p: &Page, email: &str| -> Vec<String> {
            p.texts("main")
                .into_iter()
                .map(|t| t.replace(email, "EMAIL"))
                .collect()
        };
        assert_eq!(
            strip(&k, "real@probe.test"),
            strip(&u, "nobody@probe.test"),
            "attempt {n}"
        );
    }
    // The locked account and the unknown email answer the right password alike.
    let k = attempt(&known, "real@probe.test", PASSWORD).await;
    let u = attempt(&unknown, "nobody@probe.test", PASSWORD).await;
    assert_eq!(observed(&k), observed(&u));
    assert_eq!(observed(&u), (401, Some(zh("login.invalid"))));
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_emails_cost_the_same_argon2_work_as_known_ones() {
    let app = TestApp::start().await;
    let admin = app
        .signup("计时测试公司", "管理员", "admin@timing.test")
        .await;
    app.create_user(&admin, "计时用户", "timed@timing.test", "member", None)
        .await;
    let known = app.client();
    known.get("/login").await;
    let unknown = app.client();
    unknown.get("/login").await;
    let (mut k, mut u) = (Vec::new(), Vec::new());
    for n in 0..7 {
        let start = Instant::now();
        let page = attempt(&known, "timed@timing.test", WRONG_PASSWORD).await;
        k.push(start.elapsed());
        assert_eq!(page.status, 401);
        let start = Instant::now();
        let page = attempt(&unknown, &format!("ghost{n}@timing.test"), WRONG_PASSWORD).await;
        u.push(start.elapsed());
        assert_eq!(page.status, 401);
    }
    let (k, u) = (median(k), median(u));
    let ratio = k.as_secs_f64().max(u.as_secs_f64()) / k.as_secs_f64().min(u.as_secs_f64());
    assert!(
        ratio < 2.0,
        "known {k:?} vs unknown {u:?}: both must do the argon2 work"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_per_ip_throttle_answers_429_after_the_limit_without_touching_the_account() {
    let app = TestApp::start_with(TestOptions {
        login_ip_limit: 3,
        ..TestOptions::default()
    })
    .await;
    // The limit is per clock minute: don't start right before the minute turns.
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        % 60;
    if second > 45 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
    // Sign-ups count towards the same limit: this is attempt 1.
    app.signup("限流测试公司", "管理员", "admin@throttle.test")
        .await;
    let client = app.client();
    client.get("/login").await;
    for n in 2..=3 {
        let page = attempt(&client, &format!("guess{n}@throttle.test"), WRONG_PASSWORD).await;
        assert_eq!(page.status, 401, "attempt {n} is under the limit");
    }
    // Another browser from the same IP is throttled too, even with the right password.
    let other = app.client();
    other.get("/login").await;
    let page = attempt(&other, "admin@throttle.test", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert_eq!(page.alert(), Some(zh("login.throttled")));
    assert_eq!(
        page.input_value("email").as_deref(),
        Some("admin@throttle.test")
    );
    assert!(!signed_in(&other).await);
    assert_eq!(
        app.scalar("SELECT failed_logins FROM users WHERE email = 'admin@throttle.test'")
            .await,
        0,
        "a throttled attempt does not count against the account"
    );
    // Sign-ups from the same IP are throttled too.
    other.get("/signup").await;
    let page = other
        .post(
            "/signup",
            &[
                ("company", "又一家公司"),
                ("name", "又一人"),
                ("email", "again@throttle.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 429);
    assert_eq!(page.alert(), Some(zh("login.throttled")));
    assert_eq!(
        app.scalar("SELECT count(*) FROM tenants WHERE id > 0")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_issues_a_new_session_id_every_time() {
    let app = TestApp::start().await;
    app.signup("会话测试公司", "管理员", "admin@session.test")
        .await;

    let client = app.client();
    client.get("/login").await;
    let before = client.cookie(SESSION);
    let first = attempt(&client, "admin@session.test", PASSWORD).await;
    assert_eq!(first.status, 303);
    assert!(
        set_cookie_named(&first, SESSION).is_some(),
        "login sets the cookie"
    );
    let s1 = client.cookie(SESSION).expect("a session cookie");
    assert_ne!(Some(s1.clone()), before);
    assert!(signed_in(&client).await);

    // Signing in again from the same browser rotates the id; the old id is dead.
    client.get("/login").await;
    let second = attempt(&client, "admin@session.test", PASSWORD).await;
    assert_eq!(second.status, 303);
    let s2 = client.cookie(SESSION).expect("a session cookie");
    assert_ne!(s1, s2);
    assert!(signed_in(&client).await);
    let replay = app.client();
    replay.set_cookie(SESSION, &s1);
    assert!(
        !signed_in(&replay).await,
        "the pre-login session id still works"
    );

    // A session id planted before login (fixation) is not the one that gets signed in.
    let victim = app.client();
    victim.set_cookie(SESSION, "planted-by-an-attacker-0123456789abcdef");
    victim.get("/login").await;
    let page = attempt(&victim, "admin@session.test", PASSWORD).await;
    assert_eq!(page.status, 303);
    let issued = victim.cookie(SESSION).expect("a session cookie");
    assert_ne!(issued, "planted-by-an-attacker-0123456789abcdef");
    let attacker = app.client();
    attacker.set_cookie(SESSION, "planted-by-an-attacker-0123456789abcdef");
    assert!(!signed_in(&attacker).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn logging_out_ends_the_session_and_its_cookie_cannot_be_replayed() {
    let app = TestApp::start().await;
    let client = app
        .signup("退出测试公司", "管理员", "admin@logout.test")
        .await;
    assert!(signed_in(&client).await);
    let id = client.cookie(SESSION).expect("a session cookie");
    let key = format!("{}session:{id}", app.config.redis_prefix);
    let redis = redis::Client::open(app.config.redis_url.as_str()).expect("redis");
    let mut conn = redis
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let exists: bool = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("EXISTS");
    assert!(exists, "the session lives in Redis under {key}");

    let page = client.post("/logout", &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/login"));
    assert_eq!(client.cookie(SESSION), None, "the cookie is removed");
    let home = client.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location.as_deref(), Some("/login"));

    let replay = app.client();
    replay.set_cookie(SESSION, &id);
    assert!(!signed_in(&replay).await, "the old session id still works");
    let exists: bool = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("EXISTS");
    assert!(!exists, "the session is deleted from Redis");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_user_with_the_right_password_is_told_the_account_is_disabled() {
    let app = TestApp::start().await;
    let admin = app
        .signup("停用测试公司", "管理员", "admin@disabled.test")
        .await;
    let id = app
        .create_user(&admin, "停用员工", "off@disabled.test", "member", None)
        .await;
    let page = admin.post(&format!("/admin/users/{id}/disable"), &[]).await;
    assert_eq!(page.status, 303);

    let (client, page) = app.login("off@disabled.test", PASSWORD).await;
    assert_eq!(page.status, 401);
    assert_eq!(page.alert(), Some(zh("login.disabled")));
    assert!(!signed_in(&client).await);
    // Without the right password nothing reveals that the account is disabled.
    let (_, page) = app.login("off@disabled.test", WRONG_PASSWORD).await;
    assert_eq!(page.status, 401);
    assert_eq!(page.alert(), Some(zh("login.invalid")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_login_resets_the_count_of_wrong_passwords() {
    let app = TestApp::start().await;
    let admin = app
        .signup("计数测试公司", "管理员", "admin@count.test")
        .await;
    app.create_user(&admin, "计数员工", "count@count.test", "member", None)
        .await;
    let client = app.client();
    client.get("/login").await;
    for _ in 0..2 {
        assert_eq!(
            attempt(&client, "count@count.test", WRONG_PASSWORD)
                .await
                .status,
            401
        );
    }
    assert_eq!(
        attempt(&client, "COUNT@count.test ", PASSWORD).await.status,
        303,
        "emails are matched case- and space-insensitively"
    );
    let client = app.client();
    client.get("/login").await;
    for n in 1..=2 {
        let page = attempt(&client, "count@count.test", WRONG_PASSWORD).await;
        assert_eq!(page.status, 401);
        assert_eq!(
            page.alert(),
            Some(zh("login.invalid")),
            "attempt {n} after the reset"
        );
    }
    assert_eq!(
        app.scalar(
            "SELECT failed_logins FROM users WHERE email = 'count@count.test' AND locked_at IS NULL"
        )
        .await,
        2
    );
    assert_eq!(
        attempt(&client, "count@count.test", PASSWORD).await.status,
        303
    );
    assert!(signed_in(&client).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_sent_at_once_each_count_and_lock_the_account_once() {
    let app = TestApp::start().await;
    let admin = app
        .signup("并发锁定公司", "管理员", "admin@burst.test")
        .await;
    let id = app
        .create_user(&admin, "并发员工", "burst@burst.test", "member", None)
        .await;
    let clients = [app.client(), app.client(), app.client(), app.client()];
    for client in &clients {
        client.get("/login").await;
    }
    let pages = tokio::join!(
        attempt(&clients[0], "burst@burst.test", WRONG_PASSWORD),
        attempt(&clients[1], "burst@burst.test", WRONG_PASSWORD),
        attempt(&clients[2], "burst@burst.test", WRONG_PASSWORD),
        attempt(&clients[3], "burst@burst.test", WRONG_PASSWORD),
    );
    let alerts = [
        pages.0.alert(),
        pages.1.alert(),
        pages.2.alert(),
        pages.3.alert(),
    ];
    assert!(
        alerts
            .iter()
            .all(|a| a.as_deref() == Some(zh("login.invalid").as_str())),
        "every attempt answers alike: {alerts:?}"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT failed_logins FROM users WHERE id = {id} AND locked_at IS NOT NULL"
        ))
        .await,
        4,
        "attempts run in parallel (no row lock, so timing cannot reveal the account): each wrong password counts"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'user_locked' AND target_user_id = {id}"
        ))
        .await,
        1,
        "locked once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sign_in_is_greeted_as_one_and_later_ones_as_coming_back() {
    let app = TestApp::start().await;
    let admin = app.signup("问候公司", "新管理员", "admin@greet.test").await;
    let greeting =
        |name: &str, key: &str| Locale::ZhCn.tf(key, &[("name", name), ("company", "问候公司")]);
    let home = admin.get("/").await;
    assert_eq!(
        home.texts("p.lead"),
        [greeting("新管理员", "home.welcome_first")]
    );
    let later = app.login_ok("admin@greet.test").await;
    assert_eq!(
        later.get("/").await.texts("p.lead"),
        [greeting("新管理员", "home.welcome")]
    );
    // A user an admin made with a password: their first login is their first sign-in.
    app.create_user(&admin, "新同事", "new@greet.test", "member", None)
        .await;
    let first = app.login_ok("new@greet.test").await;
    assert_eq!(
        first.get("/").await.texts("p.lead"),
        [greeting("新同事", "home.welcome_first")]
    );
    let again = app.login_ok("new@greet.test").await;
    assert_eq!(
        again.get("/").await.texts("p.lead"),
        [greeting("新同事", "home.welcome")]
    );
}
