//! Typed configuration read once from the environment at start-up (see `.env.sample`).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};

/// Everything the app and worker need to know about their surroundings.
#[derive(Clone, Debug)]
pub struct Config {
    /// PostgreSQL URL of the app role (owns nothing, cannot bypass RLS).
    pub database_url: String,
    /// PostgreSQL URL of the owner role; only migrations use it.
    pub database_owner_url: Option<String>,
    /// Redis URL for sessions, throttles and the job queues.
    pub redis_url: String,
    /// Prefix of every Redis key, so several deployments (or tests) share one Redis.
    pub redis_prefix: String,
    /// `None` writes `.eml` files to `mail_dir` instead of talking SMTP.
    pub smtp_url: Option<String>,
    /// Folder for `.eml` files when there is no SMTP server.
    pub mail_dir: PathBuf,
    /// The `From:` of every email.
    pub mail_from: String,
    /// Where the web server listens.
    pub app_addr: SocketAddr,
    /// The public URL, used in email links. `https` turns on Secure cookies.
    pub base_url: String,
    /// 32-byte key for CSRF tokens, identical on every app process.
    pub secret_key: [u8; 32],
    /// Login attempts one IP address may make per minute.
    pub login_ip_limit_per_minute: u32,
    /// Sign-ups one client IP may ask for per day.
    pub signup_ip_limit_per_day: u32,
    /// New users and invitations one tenant may add per day, and
    /// [`Config::invite_new_tenant_limit_per_day`] in its first week.
    pub invite_tenant_limit_per_day: u32,
    /// The daily allowance of new users and invitations of a tenant younger than a week.
    pub invite_new_tenant_limit_per_day: u32,
    /// New users and invitations one client IP may add per day, across tenants.
    pub invite_ip_limit_per_day: u32,
    /// How long a session lasts after its sign-in at most, however busy (the idle limit
    /// ends it sooner).
    pub session_max_age: Duration,
    /// How long three wrong passwords lock an account (the emailed link unlocks it
    /// sooner).
    pub login_lock: Duration,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy_headers: bool,
    /// Concurrent email jobs per worker process.
    pub worker_concurrency_email: usize,
    /// Concurrent export jobs per worker process.
    pub worker_concurrency_export: usize,
    /// Concurrent import jobs per worker process.
    pub worker_concurrency_import: usize,
    /// Largest import upload, in bytes (shown on the upload page).
    pub import_max_bytes: u64,
    /// Database connections one import merges its chunks on at once.
    pub import_connections: usize,
    /// How long a worker may hold a job before the reconciler hands it to another.
    pub job_lease: Duration,
    /// How long a queued job may sit in Redis before the reconciler pushes it again.
    pub job_requeue_after: Duration,
    /// How often the reconciler looks for stuck rows.
    pub reconcile_every: Duration,
    /// Attempts before a job is marked failed.
    pub job_max_attempts: i32,
    /// When the worker runs the sales-ranking rollup: a cron expression, seconds first
    /// (`0 5 * * * *` is five past every hour); `None` (`off`) turns it off.
    pub ranking_rollup_schedule: Option<String>,
    /// When the worker scans for due task reminders (same format; every minute by
    /// default); `off` turns reminders off.
    pub task_reminder_schedule: Option<String>,
    /// When the worker looks for daily digests to send (same format; every five minutes
    /// by default: each user's arrives between 08:00 and 10:00 their time); `off` turns
    /// digests off.
    pub task_digest_schedule: Option<String>,
    /// When the worker runs the clean-up (expired links and sign-ups, never-started import
    /// uploads, files no row references): same format, 03:30 every night by default;
    /// `off` turns it off.
    pub cleanup_schedule: Option<String>,
    /// The time zone cron schedules are read in.
    pub cron_time_zone: chrono_tz::Tz,
    /// Where uploaded and generated files are kept (see [`crate::files`]): empty for
    /// `./var/files`, a folder, or `s3://bucket/prefix`.
    pub file_store_url: String,
}

impl Config {
    /// Reads the configuration from environment variables.
    pub fn from_env() -> anyhow::Result<Self> {
        let app_addr = var_or("APP_ADDR", "127.0.0.1:8080");
        let base_url = std::env::var("BASE_URL").unwrap_or_else(|_| format!("http://{app_addr}"));
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            database_owner_url: std::env::var("DATABASE_OWNER_URL")
                .ok()
                .filter(|v| !v.is_empty()),
            redis_url: var_or("REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_prefix: var_or("REDIS_PREFIX", "kehu:"),
            smtp_url: std::env::var("SMTP_URL")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            mail_dir: PathBuf::from(var_or("MAIL_DIR", "./var/mail")),
            mail_from: var_or("MAIL_FROM", "Kehu CRM <no-reply@kehu.local>"),
            app_addr: app_addr
                .parse()
                .with_context(|| format!("APP_ADDR {app_addr:?}"))?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret_key: parse_key(&required("SECRET_KEY")?)?,
            login_ip_limit_per_minute: parse("LOGIN_IP_LIMIT_PER_MINUTE", 30)?,
            signup_ip_limit_per_day: parse("SIGNUP_IP_LIMIT_PER_DAY", 20)?,
            invite_tenant_limit_per_day: parse("INVITE_TENANT_LIMIT_PER_DAY", 100)?,
            invite_new_tenant_limit_per_day: parse("INVITE_NEW_TENANT_LIMIT_PER_DAY", 20)?,
            invite_ip_limit_per_day: parse("INVITE_IP_LIMIT_PER_DAY", 200)?,
            session_max_age: Duration::from_secs(
                24 * 3600 * in_range("SESSION_MAX_DAYS", parse("SESSION_MAX_DAYS", 30)?, 1..=365)?,
            ),
            login_lock: Duration::from_secs(
                60 * in_range(
                    "LOGIN_LOCK_MINUTES",
                    parse("LOGIN_LOCK_MINUTES", 15)?,
                    1..=1440,
                )?,
            ),
            trust_proxy_headers: parse("TRUST_PROXY_HEADERS", false)?,
            worker_concurrency_email: parse("WORKER_CONCURRENCY_EMAIL", 4)?,
            worker_concurrency_export: parse("WORKER_CONCURRENCY_EXPORT", 1)?,
            worker_concurrency_import: parse("WORKER_CONCURRENCY_IMPORT", 1)?,
            import_max_bytes: parse("IMPORT_MAX_BYTES", 200 * 1024 * 1024)?,
            import_connections: parse::<usize>("IMPORT_CONNECTIONS", 2)?.clamp(1, 16),
            job_lease: Duration::from_secs(parse("JOB_LEASE_SECONDS", 300)?),
            job_requeue_after: Duration::from_secs(parse("JOB_REQUEUE_SECONDS", 60)?),
            reconcile_every: Duration::from_secs(parse("RECONCILE_SECONDS", 5)?),
            job_max_attempts: parse("JOB_MAX_ATTEMPTS", 5)?,
            ranking_rollup_schedule: schedule("RANKING_ROLLUP_SCHEDULE", "0 5 * * * *"),
            task_reminder_schedule: schedule("TASK_REMINDER_SCHEDULE", "0 * * * * *"),
            task_digest_schedule: schedule("TASK_DIGEST_SCHEDULE", "30 */5 * * * *"),
            cleanup_schedule: schedule("CLEANUP_SCHEDULE", "0 30 3 * * *"),
            cron_time_zone: parse("CRON_TIME_ZONE", chrono_tz::Asia::Shanghai)?,
            file_store_url: std::env::var("FILE_STORE_URL")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        })
    }

    /// Cookies get the Secure flag when the site is served over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .with_context(|| format!("{name} must be set (see .env.sample)"))
}

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A cron schedule variable: unset for `default`, `off` (or `none`) for no schedule.
fn schedule(name: &str, default: &str) -> Option<String> {
    let value = var_or(name, default);
    let value = value.trim();
    (!value.eq_ignore_ascii_case("off") && !value.eq_ignore_ascii_case("none"))
        .then(|| value.to_owned())
}

/// `value` of the setting `name`, refused outside `range`.
fn in_range(name: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> anyhow::Result<u64> {
    anyhow::ensure!(
        range.contains(&value),
        "{name}={value} is not between {} and {}",
        range.start(),
        range.end()
    );
    Ok(value)
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not valid")),
        _ => Ok(default),
    }
}

/// Parses a 64-character hex key.
pub fn parse_key(hex: &str) -> anyhow::Result<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("SECRET_KEY must be 64 hex characters");
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16)?;
    }
    Ok(key)
}
