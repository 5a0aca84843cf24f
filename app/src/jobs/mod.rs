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
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::ids::{EmailId, ExportId, ImportId, TenantId};

/// Payload of the email queue: which outbox row to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmail {
    /// Tenant that owns the row.
    pub tenant_id: TenantId,
    /// The `emails` row.
    pub email_id: EmailId,
}

/// Payload of the batch email queue: several outbox rows of one tenant, claimed and
/// marked together (the reminder scan's emails). Each row is still reconciled on its own
/// as a [`SendEmail`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEmails {
    /// Tenant that owns the rows.
    pub tenant_id: TenantId,
    /// The `emails` rows, at most [`SendEmails::MAX`].
    pub email_ids: Vec<EmailId>,
}

impl SendEmails {
    /// Emails per job: one claim and one mark for this many sends.
    pub const MAX: usize = 50;

    /// The jobs of a tenant's emails, [`SendEmails::MAX`] per job.
    pub fn chunks(tenant_id: TenantId, email_ids: &[EmailId]) -> impl Iterator<Item = Self> + '_ {
        email_ids.chunks(Self::MAX).map(move |ids| Self {
            tenant_id,
            email_ids: ids.to_vec(),
        })
    }
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

/// A job that travels through a Redis queue. Its payload is ids only; the worker reloads
/// the row it names. One queue per kind, named `{prefix}jobs:{KIND}`.
pub trait QueuedJob:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + Send + Sync + Unpin + 'static
{
    /// The kind: names the queue, the worker and the log lines.
    const KIND: &'static str;
}

impl QueuedJob for SendEmail {
    const KIND: &'static str = "email";
}

impl QueuedJob for SendEmails {
    const KIND: &'static str = "emails";
}

impl QueuedJob for RunExport {
    const KIND: &'static str = "export";
}

impl QueuedJob for RunImport {
    const KIND: &'static str = "import";
}

/// The apalis queues: one per [`QueuedJob`] kind, on one Redis connection.
#[derive(Clone)]
pub struct Queues {
    conn: ConnectionManager,
    prefix: String,
}

impl Queues {
    /// Queues on `conn`, namespaced by `prefix` so deployments and tests don't mix.
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    /// The queue of job kind `J` (a handle: cheap, no round trip).
    pub fn queue<J: QueuedJob>(&self) -> RedisStorage<J> {
        RedisStorage::new(self.conn.clone()).with_config(queue_config(&self.prefix, J::KIND))
    }

    /// Pushes a job. A failure is logged, not returned: the row is already committed and
    /// the reconciler will push it again.
    pub async fn push<J: QueuedJob>(&self, job: J) {
        if let Err(err) = self.queue::<J>().push(job.clone()).await {
            tracing::warn!(kind = J::KIND, ?job, error = %err, "could not enqueue; the reconciler will retry");
        }
    }

    /// Pushes an email job ([`Queues::push`] for the email queue).
    pub async fn push_email(&self, job: SendEmail) {
        self.push(job).await;
    }
}

/// The apalis-redis configuration of one queue.
pub fn queue_config(prefix: &str, kind: &str) -> apalis_redis::Config {
    apalis_redis::Config::default()
        .queue(format!("{prefix}jobs:{kind}"))
        .heartbeat_interval(std::time::Duration::from_secs(5))
        .missed_heartbeats(6)
}
