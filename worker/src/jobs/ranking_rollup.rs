//! The nightly sales-ranking rollup (see `kehu::statistics::rollup`): recomputes the
//! (tenant, day)s that changed and are over in their tenant's time zone.

use chrono::{DateTime, Utc};
use kehu::{config::Config, statistics::rollup};

use super::CronJob;
use crate::WorkerState;

/// The cron job; its schedule is `RANKING_ROLLUP_SCHEDULE`.
pub struct RankingRollup;

impl CronJob for RankingRollup {
    const KIND: &'static str = "ranking_rollup";

    type Report = rollup::Report;

    fn schedule(config: &Config) -> Option<&str> {
        config.ranking_rollup_schedule.as_deref()
    }

    async fn run(state: &WorkerState, now: DateTime<Utc>) -> anyhow::Result<rollup::Report> {
        rollup::run(&state.db, now, None).await
    }
}
