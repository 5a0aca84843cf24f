//! The Kehu worker: apalis workers on Redis queues, plus the reconciler that re-pushes
//! jobs whose Redis message was lost or whose worker died.
//!
//! Every job, queued or cron, is listed once in [`jobs::registry`]; payloads are ids only
//! and every job is idempotent.

pub mod jobs;
pub mod reconciler;

use std::{future::Future, sync::Arc};

use anyhow::Context;
use apalis::prelude::*;
use kehu::{config::Config, db::DbPool, jobs::Queues, mail::Mailer};

/// What every job may use.
pub struct WorkerState {
    /// The typed configuration.
    pub config: Config,
    /// App-role connections (the worker is bound by RLS like the web app).
    pub db: DbPool,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// The queues, for the reconciler's re-pushes.
    pub queues: Queues,
    /// Uploaded and generated files (exports write here).
    pub files: kehu::files::FileStore,
}

/// A worker name unique to this process start, so apalis can tell a dead worker's
/// in-flight jobs from a live one's (apalis #504).
pub fn unique_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    let nonce: u32 = rand_nonce();
    format!(
        "kehu-{}-{}-{nonce:08x}",
        if host.is_empty() { "worker" } else { host },
        std::process::id()
    )
}

fn rand_nonce() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    t ^ std::process::id().rotate_left(16)
}

/// Connects, checks the database role, then runs the workers and the reconciler until
/// `shutdown` completes. Returns an error if the worker pool stops by itself, so that a
/// supervisor restarts the process (apalis-redis #76).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = kehu::db::pool(&config.database_url, 8)?;
    kehu::db::ensure_app_role_is_restricted(&db).await?;
    let client = redis::Client::open(config.redis_url.as_str())?;
    let redis = redis::aio::ConnectionManager::new(client)
        .await
        .context("connecting to Redis")?;
    let queues = Queues::new(redis, &config.redis_prefix);
    let mailer = Mailer::from_config(&config)?;
    let files = kehu::files::FileStore::from_url(&config.file_store_url)?;
    let name = unique_name();
    tracing::info!(worker = %name, "Kehu worker starting");
    let state = Arc::new(WorkerState {
        config,
        db,
        mailer,
        queues,
        files,
    });

    let registry = Arc::new(jobs::registry());
    // A queue's worker that stops (its Redis connection broke for good, apalis-redis #76)
    // stops the whole process, so that its supervisor starts a fresh one: the cron
    // workers would otherwise keep the monitor, and a process that consumes nothing,
    // alive.
    let stopped = Arc::new(tokio::sync::Notify::new());
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let monitor = registry
        .register(Monitor::new(), &state, &name)?
        .should_restart({
            let (stopped, failed) = (stopped.clone(), failed.clone());
            move |worker, error| {
                tracing::error!(
                    worker = worker.name(),
                    ?error,
                    "a worker stopped; the process exits so that its supervisor restarts it"
                );
                failed.store(true, std::sync::atomic::Ordering::SeqCst);
                stopped.notify_one();
                false
            }
        });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reconciler = tokio::spawn(reconciler::run(state.clone(), registry, stop_rx));

    let signal = async move {
        tokio::select! {
            () = shutdown => {}
            () = stopped.notified() => {}
        }
        let _ = stop_tx.send(true);
        Ok(())
    };
    let result = monitor
        .shutdown_timeout(std::time::Duration::from_secs(30))
        .run_with_signal(signal)
        .await;
    reconciler.abort();
    result.context("the worker pool stopped")?;
    if failed.load(std::sync::atomic::Ordering::SeqCst) {
        anyhow::bail!("a worker stopped by itself (see the log above)");
    }
    Ok(())
}
