//! The daily task digest (see `kehu::tasks::digest`): writes the digests that are due and
//! pushes their send jobs (the reconciler pushes any that a failed push left behind).

use chrono::{DateTime, Utc};
use kehu::{config::Config, tasks::digest};

use super::CronJob;
use crate::WorkerState;

/// The cron job; its schedule is `TASK_DIGEST_SCHEDULE`.
pub struct TaskDigest;

impl CronJob for TaskDigest {
    const KIND: &'static str = "task_digest";

    /// Digest emails written.
    type Report = usize;

    fn schedule(config: &Config) -> Option<&str> {
        config.task_digest_schedule.as_deref()
    }

    async fn run(state: &WorkerState, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let queued = digest::run(
            &state.db,
            now,
            &state.config.base_url,
            state.config.job_max_attempts,
        )
        .await?;
        super::send_email::push_all(state, &queued).await;
        Ok(queued.len())
    }
}
