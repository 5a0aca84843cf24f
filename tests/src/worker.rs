//! The worker's parts on a test app's configuration, to run a job or a cron job by hand
//! with a clock the test chooses.

use chrono::{DateTime, Utc};

use crate::TestApp;

/// The app's Redis queues, as a worker or a test pushes to them.
pub async fn queues(app: &TestApp) -> kehu::jobs::Queues {
    let client = redis::Client::open(app.config.redis_url.as_str()).expect("redis");
    let conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("redis connection");
    kehu::jobs::Queues::new(conn, &app.config.redis_prefix)
}

/// A worker's state on the app's configuration, to run a job or a cron job by hand.
pub async fn worker_state(app: &TestApp) -> kehu_worker::WorkerState {
    kehu_worker::WorkerState {
        config: app.config.clone(),
        db: kehu::db::pool(&app.config.database_url, 4).expect("pool"),
        mailer: kehu::mail::Mailer::from_config(&app.config).expect("mailer"),
        queues: queues(app).await,
        files: kehu::files::FileStore::from_url(&app.config.file_store_url).expect("file store"),
    }
}

/// Runs the worker's cron job `kind` as of `now`, as its tick would; returns its report.
pub async fn run_cron(app: &TestApp, kind: &str, now: DateTime<Utc>) -> String {
    let state = worker_state(app).await;
    kehu_worker::jobs::registry()
        .run_cron(kind, &state, now)
        .await
        .unwrap_or_else(|| panic!("{kind} is a cron job"))
        .unwrap_or_else(|e| panic!("{kind} runs: {e:#}"))
}
