//! Background jobs shared by the app (which enqueues) and the worker (which runs).
//!
//! PostgreSQL is the source of truth: each job is a row (here an `emails` row) written in
//! the user's transaction. After commit only ids go to Redis through apalis. The worker
//! reloads the row, so a job is safe to run twice, and a reconciler re-pushes rows that
//! Redis lost or a dead worker left running.

pub mod email;

use apalis::prelude::TaskSink;
use apalis_redis::RedisStorage;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

use crate::ids::{EmailId, ExportId, ImportId, TenantId};

/// Payload of the email queue: which outbox row to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmail {
    /// Tenant that owns the row.
    pub tenant_id: TenantId,
    /// The `emails` row.
    pub email_id: EmailId,
}

/// Payload of the export queue: which `exports` row to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunExport {
    /// Tenant that owns the row.
    pub tenant_id: TenantId,
    /// The `exports` row.
    pub export_id: ExportId,
}

/// Payload of the import queue: which `imports` row to run (load or undo).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunImport {
    /// Tenant that owns the row.
    pub tenant_id: TenantId,
    /// The `imports` row.
    pub import_id: ImportId,
}

/// The apalis queues, one per job kind.
#[derive(Clone)]
pub struct Queues {
    /// Outgoing email.
    pub email: RedisStorage<SendEmail>,
    /// Exports.
    pub export: RedisStorage<RunExport>,
    /// Imports.
    pub import: RedisStorage<RunImport>,
}

impl Queues {
    /// Queues on `conn`, namespaced by `prefix` so deployments and tests don't mix.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            email: RedisStorage::new(conn.clone()).with_config(queue_config(prefix, "email")),
            export: RedisStorage::new(conn.clone()).with_config(queue_config(prefix, "export")),
            import: RedisStorage::new(conn).with_config(queue_config(prefix, "import")),
        }
    }

    /// Pushes an email job. A failure is logged, not returned: the row is already
    /// committed and the reconciler will push it again.
    pub async fn push_email(&self, job: SendEmail) {
        if let Err(err) = self.email.clone().push(job.clone()).await {
            tracing::warn!(?job, error = %err, "could not enqueue email; the reconciler will retry");
        }
    }
}

/// Pushes an export job; like [`Queues::push_email`], a failure is left to the reconciler.
impl Queues {
    /// See above.
    pub async fn push_export(&self, job: RunExport) {
        if let Err(err) = self.export.clone().push(job.clone()).await {
            tracing::warn!(?job, error = %err, "could not enqueue export; the reconciler will retry");
        }
    }

    /// Pushes an import job; a failure is left to the reconciler.
    pub async fn push_import(&self, job: RunImport) {
        if let Err(err) = self.import.clone().push(job.clone()).await {
            tracing::warn!(?job, error = %err, "could not enqueue import; the reconciler will retry");
        }
    }
}

/// The apalis-redis configuration of one queue.
pub fn queue_config(prefix: &str, kind: &str) -> apalis_redis::Config {
    apalis_redis::Config::default()
        .queue(format!("{prefix}jobs:{kind}"))
        .heartbeat_interval(std::time::Duration::from_secs(5))
        .missed_heartbeats(6)
}
