//! Helpers shared by the integration tests: locale texts, raw SQL, row snapshots and
//! common account set-ups.

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kehu::i18n::Locale;
use kehu_tests::{Client, TestApp, client::Page};

/// A second password that passes the policy.
pub const OTHER_PASSWORD: &str = "Velvet-Canyon-Meadow-73";

/// A wrong password.
pub const WRONG_PASSWORD: &str = "Not-The-Right-One-99";

/// The Simplified Chinese text of a locale key (fails if the key has no text).
pub fn zh(key: &str) -> String {
    let text = Locale::ZhCn.t(key);
    assert_ne!(text, key, "zh-CN has no text for {key}");
    text
}

/// The English text of a locale key (fails if the key has no text).
pub fn en(key: &str) -> String {
    let text = Locale::En.t(key);
    assert_ne!(text, key, "en has no text for {key}");
    text
}

/// Runs one statement as the owner role; returns the affected rows.
pub async fn exec(app: &TestApp, sql: &str) -> usize {
    app.execute(sql).await
}

/// Runs a query returning one bigint `n` on a given connection.
pub async fn count_on(conn: &mut AsyncPgConnection, sql: &str) -> Result<i64, String> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT ({sql})::bigint AS n"))
        .get_result::<N>(conn)
        .await
        .map(|r| r.n)
        .map_err(|e| e.to_string())
}

/// Every row of `table` for one tenant as JSON text, ordered by id: compare two
/// snapshots to prove nothing changed.
pub async fn snapshot(app: &TestApp, table: &str, tenant: i64) -> String {
    app.text(&format!(
        "SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n' ORDER BY row_to_json(t)::text), '') \
         FROM {table} t WHERE t.tenant_id = {tenant}"
    ))
    .await
}

/// Snapshot of every tenant-owned table of one tenant (every table with a `tenant_id`,
/// found in the catalog, so new tables are covered without editing this).
pub async fn tenant_snapshot(app: &TestApp, tenant: i64) -> String {
    let tables = app
        .text(
            "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name = 'tenant_id' AND table_name <> 'user_directory'",
        )
        .await;
    let mut all = String::new();
    for table in tables.split(',') {
        all.push_str(&format!("== {table}\n"));
        all.push_str(&snapshot(app, table, tenant).await);
        all.push('\n');
    }
    all.push_str(
        &app.text(&format!(
            "SELECT coalesce((SELECT row_to_json(t)::text FROM tenants t WHERE id = {tenant}), '')"
        ))
        .await,
    );
    all
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(page: &Page) -> Vec<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// The `Set-Cookie` header that sets `name`, if any.
pub fn set_cookie_named(page: &Page, name: &str) -> Option<String> {
    set_cookies(page)
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// Three wrong passwords from a fresh browser: locks a real account.
pub async fn lock_out(app: &TestApp, email: &str) {
    for _ in 0..3 {
        let (_, page) = app.login(email, WRONG_PASSWORD).await;
        assert_eq!(page.status, 401, "wrong password for {email}");
    }
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM users WHERE email = '{email}' AND locked_at IS NOT NULL"
        ))
        .await,
        1,
        "{email} is locked"
    );
}

/// True when this browser is signed in (GET / answers 200 instead of the login redirect).
pub async fn signed_in(client: &Client) -> bool {
    let page = client.get("/").await;
    match page.status {
        200 => true,
        303 if page.location.as_deref() == Some("/login") => false,
        other => panic!("GET / answered {other}: {}", page.body),
    }
}

/// As `admin`, invites a user and returns their id and the invitation link.
pub async fn invite(app: &TestApp, admin: &Client, name: &str, email: &str) -> (i64, String) {
    admin.get("/admin/users/invite").await;
    let page = admin
        .post(
            "/admin/users/invite",
            &[
                ("name", name),
                ("email", email),
                ("role", "member"),
                ("reports_to", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "inviting {email}: {}", page.body);
    app.drain_jobs().await;
    let link = latest_link(app, email, "/invite/");
    (app.user_id(email).await, link)
}

/// The link starting with `{base_url}{path_prefix}` in the newest email to `email`.
pub fn latest_link(app: &TestApp, email: &str, path_prefix: &str) -> String {
    let prefix = format!("{}{path_prefix}", app.base_url);
    app.smtp
        .messages_to(email)
        .last()
        .unwrap_or_else(|| panic!("no email to {email}"))
        .link(&prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in the email to {email}"))
}

/// Adds a custom field through the admin page and returns its form name (`cf_<id>`).
pub async fn add_field(
    app: &TestApp,
    admin: &Client,
    entity: &str,
    label: &str,
    kind: &str,
    options: &str,
) -> String {
    let page = admin
        .post(
            "/admin/fields",
            &[
                ("entity", entity),
                ("label", label),
                ("kind", kind),
                ("options", options),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "adding field {label}: {}", page.body);
    let id = app
        .scalar(&format!(
            "SELECT id FROM custom_fields WHERE label = '{label}'"
        ))
        .await;
    format!("cf_{id}")
}

/// One tenant with every role: an admin; a manager; a member who reports to the manager;
/// and an outsider, a member who reports to nobody. Each is signed in.
pub struct People {
    /// The tenant.
    pub tenant: i64,
    /// The admin's browser.
    pub admin: Client,
    /// The manager's browser.
    pub manager: Client,
    /// The member's browser (reports to the manager).
    pub member: Client,
    /// The outsider's browser (reports to nobody).
    pub outsider: Client,
    /// The admin's id.
    pub admin_id: i64,
    /// The manager's id.
    pub manager_id: i64,
    /// The member's id.
    pub member_id: i64,
    /// The outsider's id.
    pub outsider_id: i64,
}

impl People {
    /// Signs up a company `tag` (names and emails carry it) on `app` with the four users.
    pub async fn sign_up(app: &TestApp, tag: &str) -> Self {
        let email = |who: &str| format!("{who}@{tag}.test");
        let admin = app
            .signup(&format!("{tag} 团队公司"), "管理员", &email("admin"))
            .await;
        let tenant = app.tenant_of(&email("admin")).await;
        let admin_id = app.user_id(&email("admin")).await;
        let manager_id = app
            .create_user(&admin, "经理", &email("manager"), "manager", None)
            .await;
        let member_id = app
            .create_user(&admin, "员工", &email("member"), "member", Some(manager_id))
            .await;
        let outsider_id = app
            .create_user(&admin, "外组员工", &email("outsider"), "member", None)
            .await;
        Self {
            manager: app.login_ok(&email("manager")).await,
            member: app.login_ok(&email("member")).await,
            outsider: app.login_ok(&email("outsider")).await,
            admin,
            tenant,
            admin_id,
            manager_id,
            member_id,
            outsider_id,
        }
    }
}

/// [`People`] on an app of their own.
pub struct Team {
    /// The app.
    pub app: TestApp,
    /// The people.
    pub people: People,
}

impl Team {
    /// Starts an app and signs up [`People`] `tag` on it.
    pub async fn new(tag: &str) -> Self {
        let app = TestApp::start().await;
        let people = People::sign_up(&app, tag).await;
        Self { app, people }
    }
}

impl std::ops::Deref for Team {
    type Target = People;
    fn deref(&self) -> &People {
        &self.people
    }
}

pub use kehu_tests::worker::{queues, worker_state};

/// The seconds of the page's reload for browsers without JavaScript (a
/// `<meta http-equiv="refresh">` in a `<noscript>` of the `<head>`), if it has one.
pub fn refresh_without_js(page: &Page) -> Option<u32> {
    let head = page.body.split("</head>").next()?;
    let rest = head
        .split(r#"<noscript><meta http-equiv="refresh" content=""#)
        .nth(1)?;
    rest.split('"').next()?.parse().ok()
}

/// A time zone whose date is not UTC's right now (UTC+14 late in the UTC day, UTC−11
/// early in it), so that a date written in UTC shows.
pub fn zone_off_utc_date() -> (&'static str, chrono::NaiveDate) {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let zone = if now.hour() >= 11 {
        chrono_tz::Pacific::Kiritimati
    } else {
        chrono_tz::Pacific::Pago_Pago
    };
    let day = now.with_timezone(&zone).date_naive();
    assert_ne!(day, now.date_naive(), "{zone} is a day off UTC");
    (zone.name(), day)
}
