//! The nightly clean-up (see `kehu::cleanup`): expired links and sign-up requests, import
//! uploads never started, and files no row references.

use chrono::{DateTime, Utc};
use kehu::{cleanup, config::Config};

use super::CronJob;
use crate::WorkerState;

/// The cron job; its schedule is `CLEANUP_SCHEDULE`.
pub struct Cleanup;

impl CronJob for Cleanup {
    const KIND: &'static str = "cleanup";

    type Report = cleanup::Report;

    fn schedule(config: &Config) -> Option<&str> {
        config.cleanup_schedule.as_deref()
    }

    async fn run(state: &WorkerState, now: DateTime<Utc>) -> anyhow::Result<cleanup::Report> {
        cleanup::run(&state.db, &state.files, now).await
    }
}
