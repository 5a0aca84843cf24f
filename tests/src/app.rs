//! [`TestApp`]: one isolated Kehu per test — its own database, Redis namespace, SMTP
//! server, web server and worker — plus helpers to drive it.

use std::time::Duration;

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Text},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use kehu::{config::Config, state::AppState};
use poem::{
    Server,
    listener::{Acceptor, Listener, TcpListener},
};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{Client, PASSWORD, client::Page, db, smtp::SmtpServer};

/// Knobs for one test's app.
#[derive(Clone, Debug)]
pub struct TestOptions {
    /// Point `SMTP_URL` at a closed port, so every send fails.
    pub smtp_down: bool,
    /// `SMTP_URL` instead of the test server's (e.g. a port where a server starts later).
    pub smtp_url: Option<String>,
    /// `JOB_MAX_ATTEMPTS`.
    pub job_max_attempts: i32,
    /// `LOGIN_IP_LIMIT_PER_MINUTE`.
    pub login_ip_limit: u32,
    /// `SIGNUP_IP_LIMIT_PER_DAY`.
    pub signup_ip_limit: u32,
    /// `INVITE_TENANT_LIMIT_PER_DAY`.
    pub invite_tenant_limit: u32,
    /// `INVITE_NEW_TENANT_LIMIT_PER_DAY`.
    pub invite_new_tenant_limit: u32,
    /// `INVITE_IP_LIMIT_PER_DAY`.
    pub invite_ip_limit: u32,
    /// Start the worker.
    pub worker: bool,
    /// `IMPORT_MAX_BYTES`.
    pub import_max_bytes: u64,
    /// `REDIS_URL` instead of the shared server's.
    pub redis_url: Option<String>,
    /// `SESSION_MAX_DAYS`, as a duration (30 days).
    pub session_max_age: Duration,
    /// `RANKING_ROLLUP_SCHEDULE`; off by default, so that only the tests that want it
    /// see the cron job run (the others call the rollup with a clock they choose).
    pub ranking_rollup_schedule: Option<String>,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            smtp_down: false,
            smtp_url: None,
            job_max_attempts: 3,
            login_ip_limit: 10_000,
            signup_ip_limit: 1_000,
            invite_tenant_limit: 1_000,
            invite_new_tenant_limit: 1_000,
            invite_ip_limit: 1_000,
            worker: true,
            import_max_bytes: 50 * 1024 * 1024,
            redis_url: None,
            session_max_age: Duration::from_secs(30 * 24 * 3600),
            ranking_rollup_schedule: None,
        }
    }
}

/// A running, isolated Kehu.
pub struct TestApp {
    /// The app's URL.
    pub base_url: String,
    /// This test's database.
    pub db_name: String,
    /// The configuration the app and worker run with.
    pub config: Config,
    /// The SMTP server that receives the app's mail.
    pub smtp: SmtpServer,
    server: JoinHandle<()>,
    worker: Option<(oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>)>,
}

impl TestApp {
    /// Starts an app with default options.
    pub async fn start() -> Self {
        Self::start_with(TestOptions::default()).await
    }

    /// Starts an app.
    pub async fn start_with(opts: TestOptions) -> Self {
        let db_name = db::create_test_database().await.expect("test database");
        let smtp = SmtpServer::start();
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind");
        let addr = acceptor
            .local_addr()
            .into_iter()
            .next()
            .and_then(|a| a.as_socket_addr().copied())
            .expect("local address");
        let base_url = format!("http://{addr}");
        let secret: [u8; 32] = rand_key();
        let config = Config {
            database_url: db::with_db(&db::app_url(), &db_name),
            database_owner_url: Some(db::with_db(&db::owner_url(), &db_name)),
            redis_url: opts.redis_url.clone().unwrap_or_else(|| {
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
            }),
            redis_prefix: format!("{db_name}:"),
            smtp_url: Some(match (&opts.smtp_url, opts.smtp_down) {
                (Some(url), _) => url.clone(),
                (None, true) => "smtp://127.0.0.1:1".into(),
                (None, false) => smtp.url.clone(),
            }),
            mail_dir: std::env::temp_dir().join(&db_name),
            mail_from: "Kehu Test <no-reply@kehu.test>".into(),
            app_addr: addr,
            base_url: base_url.clone(),
            secret_key: secret,
            login_ip_limit_per_minute: opts.login_ip_limit,
            signup_ip_limit_per_day: opts.signup_ip_limit,
            invite_tenant_limit_per_day: opts.invite_tenant_limit,
            invite_new_tenant_limit_per_day: opts.invite_new_tenant_limit,
            invite_ip_limit_per_day: opts.invite_ip_limit,
            login_lock: Duration::from_secs(15 * 60),
            session_max_age: opts.session_max_age,
            trust_proxy_headers: false,
            worker_concurrency_email: 2,
            worker_concurrency_export: 1,
            worker_concurrency_import: 1,
            import_max_bytes: opts.import_max_bytes,
            import_connections: 2,
            job_lease: Duration::from_secs(30),
            job_requeue_after: Duration::from_secs(2),
            reconcile_every: Duration::from_millis(300),
            job_max_attempts: opts.job_max_attempts,
            ranking_rollup_schedule: opts.ranking_rollup_schedule.clone(),
            // Tests drive the reminder scan with a clock they choose.
            task_reminder_schedule: None,
            task_digest_schedule: None,
            cleanup_schedule: None,
            cron_time_zone: chrono_tz::Asia::Shanghai,
            file_store_url: std::env::temp_dir()
                .join(&db_name)
                .join("files")
                .display()
                .to_string(),
        };
        kehu::auth::password::warm_up();
        let state = AppState::connect(config.clone()).await.expect("app state");
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor)
                .run(kehu::routes::app(state))
                .await;
        });
        let worker = opts.worker.then(|| {
            let (tx, rx) = oneshot::channel::<()>();
            let handle = tokio::spawn(kehu_worker::run(config.clone(), async move {
                let _ = rx.await;
            }));
            (tx, handle)
        });
        Self {
            base_url,
            db_name,
            config,
            smtp,
            server,
            worker,
        }
    }

    /// The environment a worker process needs to run against this app (see
    /// `.env.sample`), with short leases so a killed worker's jobs are taken over fast.
    pub fn worker_env(&self) -> Vec<(String, String)> {
        let c = &self.config;
        vec![
            ("DATABASE_URL".into(), c.database_url.clone()),
            ("REDIS_URL".into(), c.redis_url.clone()),
            ("REDIS_PREFIX".into(), c.redis_prefix.clone()),
            ("SMTP_URL".into(), c.smtp_url.clone().unwrap_or_default()),
            ("MAIL_DIR".into(), c.mail_dir.display().to_string()),
            ("MAIL_FROM".into(), c.mail_from.clone()),
            ("APP_ADDR".into(), c.app_addr.to_string()),
            ("BASE_URL".into(), c.base_url.clone()),
            ("SECRET_KEY".into(), hex::encode(c.secret_key)),
            ("FILE_STORE_URL".into(), c.file_store_url.clone()),
            ("JOB_LEASE_SECONDS".into(), "5".into()),
            ("JOB_REQUEUE_SECONDS".into(), "1".into()),
            ("RECONCILE_SECONDS".into(), "1".into()),
            ("WORKER_CONCURRENCY_IMPORT".into(), "1".into()),
            ("RANKING_ROLLUP_SCHEDULE".into(), "off".into()),
            ("TASK_REMINDER_SCHEDULE".into(), "off".into()),
            ("TASK_DIGEST_SCHEDULE".into(), "off".into()),
            // One cron stays on, as in production: a queue's worker that stops must still
            // stop the process (a cron worker alone would keep it running, idle).
            ("CLEANUP_SCHEDULE".into(), "0 30 3 * * *".into()),
            ("RUST_LOG".into(), "warn".into()),
        ]
    }

    /// The folder of this app's file store (uploaded attachments).
    pub fn files_dir(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(&self.config.file_store_url)
    }

    /// A fresh browser for this app.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url)
    }

    /// A connection to this test's database as the owner role (sees every tenant), for
    /// checking what the app wrote.
    pub async fn owner_conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(
            self.config
                .database_owner_url
                .as_deref()
                .expect("owner url"),
        )
        .await
        .expect("owner connection")
    }

    /// A connection as the app role (RLS applies).
    pub async fn app_conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.config.database_url)
            .await
            .expect("app connection")
    }

    /// Runs one owner-role statement; returns the affected rows.
    pub async fn execute(&self, sql: &str) -> usize {
        let mut conn = self.owner_conn().await;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs an owner-role query returning one bigint.
    pub async fn scalar(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct V {
            #[diesel(sql_type = BigInt)]
            v: i64,
        }
        let mut conn = self.owner_conn().await;
        let row: V = diesel::sql_query(format!("SELECT ({sql})::bigint AS v"))
            .get_result(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.v
    }

    /// Runs an owner-role query returning one text.
    pub async fn text(&self, sql: &str) -> String {
        #[derive(QueryableByName)]
        struct V {
            #[diesel(sql_type = Text)]
            v: String,
        }
        let mut conn = self.owner_conn().await;
        let row: V = diesel::sql_query(format!("SELECT ({sql})::text AS v"))
            .get_result(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.v
    }

    /// Waits until the worker has finished every email and export job. Fails the
    /// test if jobs are still pending after `timeout`.
    pub async fn drain_jobs_within(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pending = self
                .scalar(
                    "SELECT (SELECT count(*) FROM emails WHERE status IN ('queued', 'running')) \
                          + (SELECT count(*) FROM exports WHERE status IN ('queued', 'running')) \
                          + (SELECT count(*) FROM imports WHERE status IN ('queued', 'running', 'undoing'))",
                )
                .await;
            if pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{pending} jobs still pending after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// [`TestApp::drain_jobs_within`] 20 seconds.
    pub async fn drain_jobs(&self) {
        self.drain_jobs_within(Duration::from_secs(20)).await;
    }

    /// Signs up a company through its confirmation link and returns the signed-in
    /// admin's browser. The link is read from Kehu's outbox, so this works with or
    /// without a worker (the sign-up tests follow the delivered email instead).
    pub async fn signup(&self, company: &str, name: &str, email: &str) -> Client {
        let client = self.client();
        client.get("/signup").await;
        let page = client
            .post(
                "/signup",
                &[("company", company), ("name", name), ("email", email)],
            )
            .await;
        assert_eq!(page.status, 200, "sign-up request failed: {}", page.body);
        let link = self.signup_link(email).await;
        let form = client.get(&link).await;
        assert_eq!(form.status, 200, "sign-up link failed: {}", form.body);
        let page = client
            .post(
                &link,
                &[("company", company), ("name", name), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, 303, "sign-up failed: {}", page.body);
        client
    }

    /// The path of the newest sign-up link written to `email` (from Kehu's own outbox,
    /// tenant 0).
    pub async fn signup_link(&self, email: &str) -> String {
        self.outbox_link(email, "signup", "/signup/confirm/").await
    }

    /// The path (starting with `path`) of the link in the newest email of `kind` written
    /// to `email` in Kehu's own outbox (tenant 0).
    pub async fn outbox_link(&self, email: &str, kind: &str, path: &str) -> String {
        let to = email.trim().to_lowercase().replace('\'', "''");
        let body = self
            .text(&format!(
                "SELECT body_text FROM emails WHERE tenant_id = 0 AND kind = '{kind}' \
                 AND to_addr = '{to}' ORDER BY id DESC LIMIT 1"
            ))
            .await;
        let start = body
            .find(path)
            .unwrap_or_else(|| panic!("no {path} link in {body:?}"));
        let rest = &body[start..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest[..end].to_owned()
    }

    /// Logs in with a password; returns the browser and the login response.
    pub async fn login(&self, email: &str, password: &str) -> (Client, Page) {
        let client = self.client();
        client.get("/login").await;
        let page = client
            .post("/login", &[("email", email), ("password", password)])
            .await;
        (client, page)
    }

    /// Logs in and asserts it worked.
    pub async fn login_ok(&self, email: &str) -> Client {
        let (client, page) = self.login(email, PASSWORD).await;
        assert_eq!(
            page.status,
            303,
            "login of {email} failed: {:?}",
            page.alert()
        );
        client
    }

    /// As `admin`, creates a user with the standard password; returns its id.
    pub async fn create_user(
        &self,
        admin: &Client,
        name: &str,
        email: &str,
        role: &str,
        reports_to: Option<i64>,
    ) -> i64 {
        admin.get("/admin/users/new").await;
        let manager = reports_to.map(|m| m.to_string()).unwrap_or_default();
        let page = admin
            .post(
                "/admin/users/new",
                &[
                    ("name", name),
                    ("email", email),
                    ("role", role),
                    ("reports_to", &manager),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "creating {email} failed: {}", page.body);
        self.confirm_added(email).await;
        self.user_id(email).await
    }

    /// Follows the confirmation link a user an admin created got (in a browser of its
    /// own, whose session is dropped): the user becomes active and can sign in.
    pub async fn confirm_added(&self, email: &str) {
        let link = self.outbox_link(email, "user_confirm", "/invite/").await;
        let client = self.client();
        let form = client.get(&link).await;
        assert_eq!(form.status, 200, "confirming {email}: {}", form.body);
        let page = client.post(&link, &[]).await;
        assert_eq!(page.status, 200, "confirming {email}: {}", page.body);
        assert_eq!(page.texts("#invite-confirmed").len(), 1, "{}", page.body);
    }

    /// The id of the user with this email.
    pub async fn user_id(&self, email: &str) -> i64 {
        self.scalar(&format!(
            "SELECT id FROM users WHERE email = '{}'",
            email.trim().to_lowercase().replace('\'', "''")
        ))
        .await
    }

    /// The tenant id of the user with this email.
    pub async fn tenant_of(&self, email: &str) -> i64 {
        self.scalar(&format!(
            "SELECT tenant_id FROM users WHERE email = '{}'",
            email.trim().to_lowercase().replace('\'', "''")
        ))
        .await
    }
}

fn rand_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    let uuid_a = uuid::Uuid::new_v4();
    let uuid_b = uuid::Uuid::new_v4();
    key[..16].copy_from_slice(uuid_a.as_bytes());
    key[16..].copy_from_slice(uuid_b.as_bytes());
    key
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.worker.take() {
            let _ = stop.send(());
            handle.abort();
        }
        self.server.abort();
        let db_name = self.db_name.clone();
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(&db_name));
        let prefix = self.config.redis_prefix.clone();
        let redis_url = self.config.redis_url.clone();
        // Clean up on a separate runtime: Drop cannot await.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let _ = db::drop_test_database(&db_name).await;
                if let Ok(client) = redis::Client::open(redis_url.as_str())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{prefix}*"))
                        .query_async(&mut conn)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> =
                            redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}
