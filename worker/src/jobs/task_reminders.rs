//! The task reminder scan (see `kehu::tasks::reminders`): every minute, hands the
//! reminders that are due to the email outbox and pushes their send jobs, batch by
//! batch. A push that fails (Redis down) is not lost: the email rows are in PostgreSQL
//! and the reconciler pushes them again.

use chrono::{DateTime, Utc};
use kehu::{config::Config, tasks::reminders};

use super::CronJob;
use crate::WorkerState;

/// The cron job; its schedule is `TASK_REMINDER_SCHEDULE`.
pub struct TaskReminders;

/// What a scan did.
#[derive(Debug)]
pub struct Report {
    /// Reminder emails written and pushed.
    pub queued: usize,
    /// Reminders not sent (task done, owner disabled, locked or opted out).
    pub skipped: usize,
}

impl CronJob for TaskReminders {
    const KIND: &'static str = "task_reminders";

    type Report = Report;

    fn schedule(config: &Config) -> Option<&str> {
        config.task_reminder_schedule.as_deref()
    }

    async fn run(state: &WorkerState, now: DateTime<Utc>) -> anyhow::Result<Report> {
        // Each batch's emails are pushed as soon as it commits, so sending overlaps the
        // rest of the scan.
        let scanned = reminders::scan_then(
            &state.db,
            now,
            &state.config.base_url,
            state.config.job_max_attempts,
            |tenant, emails| async move {
                super::send_email::push_tenant(state, tenant, &emails).await;
            },
        )
        .await?;
        Ok(Report {
            queued: scanned.queued.len(),
            skipped: scanned.skipped,
        })
    }
}
