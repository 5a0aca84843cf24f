//! Every job the worker runs, registered in one list: [`registry`].
//!
//! There are two shapes of job, and a new one of either is one line in that list:
//! - a [`Job`] travels through a Redis queue. Its payload (from `kehu::jobs`) is ids only;
//!   its row in PostgreSQL is the truth. It says how the reconciler claims rows that are
//!   due (queued rows Redis lost, retries past their backoff, running rows whose lease ran
//!   out) and how one is run.
//! - a [`CronJob`] runs on a schedule from the configuration. Its work is a function of
//!   "now", so tests call it with the time they choose.
//!
//! The monitor (one apalis worker per kind) and the reconciler both walk the registry, so
//! no kind is listed twice. Every job is idempotent: Redis delivers at least once, cron
//! ticks fire on every worker process, and a killed worker's work is done again.

pub mod cleanup;
pub mod ranking_rollup;
pub mod run_export;
pub mod run_import;
pub mod send_email;
pub mod send_emails;
pub mod task_digest;
pub mod task_reminders;

use std::{future::Future, marker::PhantomData, str::FromStr, sync::Arc, time::Duration};

use anyhow::Context;
use apalis::prelude::*;
use apalis_core::backend::Vacuum;
use apalis_cron::{CronScheduler, Tick};
use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Double, Integer},
};
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use kehu::{
    config::Config,
    ids::TenantId,
    jobs::{QueuedJob, RunExport, RunImport, SendEmail, SendEmails},
};

use crate::WorkerState;

/// Every job kind the worker runs.
pub fn registry() -> Registry {
    Registry::default()
        .queued::<SendEmail>()
        .queued::<SendEmails>()
        .queued::<RunExport>()
        .queued::<RunImport>()
        .cron::<ranking_rollup::RankingRollup>()
        .cron::<task_reminders::TaskReminders>()
        .cron::<task_digest::TaskDigest>()
        .cron::<cleanup::Cleanup>()
}

/// A queued job: the kind (its queue), how due rows are claimed, and how one is run.
pub trait Job: QueuedJob {
    /// The SQL function that claims due rows for a (re-)push; `None` when another kind's
    /// claim already covers the rows (a [`SendEmails`] row is re-pushed as a [`SendEmail`]).
    const CLAIM: Option<Claim>;

    /// The payload for one claimed row.
    fn from_claim(tenant_id: TenantId, id: i64) -> Self;

    /// Jobs of this kind one worker process runs at once.
    fn concurrency(config: &Config) -> usize;

    /// Runs the job. `Ok` once its outcome is recorded in PostgreSQL (a failure of the
    /// work itself is an outcome); an `Err` means the database itself failed, and the
    /// reconciler will push the job again.
    fn run(self, state: &WorkerState) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// How the reconciler finds a kind's due rows: a SECURITY DEFINER function
/// `f(requeue_after interval, limit integer) RETURNS TABLE (tenant_id bigint, id bigint)`
/// that marks the rows it returns as enqueued (the app role cannot see across tenants).
#[derive(Clone, Copy, Debug)]
pub struct Claim {
    /// The function's name.
    pub function: &'static str,
    /// Rows claimed per reconciler pass.
    pub batch: i32,
}

/// A job that runs on a schedule.
pub trait CronJob: Send + Sync + 'static {
    /// The kind, for the worker's name and the log.
    const KIND: &'static str;

    /// What a run reports (logged).
    type Report: std::fmt::Debug + Send;

    /// The cron expression from the configuration (seconds first, as the `cron` crate
    /// reads it, in [`Config::cron_time_zone`]); `None` turns the job off.
    fn schedule(config: &Config) -> Option<&str>;

    /// One run, as of `now`.
    fn run(
        state: &WorkerState,
        now: DateTime<Utc>,
    ) -> impl Future<Output = anyhow::Result<Self::Report>> + Send;
}

/// The registered kinds, in order.
#[derive(Default)]
pub struct Registry {
    kinds: Vec<Box<dyn Kind>>,
}

impl Registry {
    /// Adds a queued job kind.
    pub fn queued<J: Job>(mut self) -> Self {
        self.kinds.push(Box::new(Queued::<J>(PhantomData)));
        self
    }

    /// Adds a cron job.
    pub fn cron<C: CronJob>(mut self) -> Self {
        self.kinds.push(Box::new(Cron::<C>(PhantomData)));
        self
    }

    /// The kinds' names, in order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// Registers one apalis worker per kind, named after `worker` (this process's unique
    /// name). Fails on a schedule that does not parse.
    pub fn register(
        &self,
        mut monitor: Monitor,
        state: &Arc<WorkerState>,
        worker: &str,
    ) -> anyhow::Result<Monitor> {
        for kind in &self.kinds {
            monitor = kind.register(monitor, state, worker)?;
        }
        Ok(monitor)
    }

    /// One reconciler pass over every queued kind; returns how many jobs were pushed again.
    pub async fn reconcile(&self, state: &WorkerState) -> anyhow::Result<usize> {
        let mut pushed = 0;
        for kind in &self.kinds {
            pushed += kind.reconcile(state).await?;
        }
        Ok(pushed)
    }

    /// Runs the cron job `kind` once as of `now`, as its schedule would; `None` if no cron
    /// job of that name is registered.
    pub async fn run_cron(
        &self,
        kind: &str,
        state: &WorkerState,
        now: DateTime<Utc>,
    ) -> Option<anyhow::Result<String>> {
        let found = self.kinds.iter().find(|k| k.name() == kind)?;
        found.run_at(state, now).await
    }
}

/// What the registry needs of a kind, object-safe.
trait Kind: Send + Sync {
    fn name(&self) -> &'static str;
    fn register(
        &self,
        monitor: Monitor,
        state: &Arc<WorkerState>,
        worker: &str,
    ) -> anyhow::Result<Monitor>;
    fn reconcile<'a>(&'a self, state: &'a WorkerState) -> BoxFuture<'a, anyhow::Result<usize>>;
    fn run_at<'a>(
        &'a self,
        state: &'a WorkerState,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Option<anyhow::Result<String>>>;
}

struct Queued<J>(PhantomData<fn() -> J>);

impl<J: Job> Kind for Queued<J> {
    fn name(&self) -> &'static str {
        J::KIND
    }

    fn register(
        &self,
        monitor: Monitor,
        state: &Arc<WorkerState>,
        worker: &str,
    ) -> anyhow::Result<Monitor> {
        let name = format!("{worker}-{}", J::KIND);
        let state = state.clone();
        Ok(monitor.register(move |run| {
            WorkerBuilder::new(format!("{name}-{run}"))
                .backend(state.queues.queue::<J>())
                .data(state.clone())
                .concurrency(J::concurrency(&state.config))
                .build(handle::<J>)
        }))
    }

    fn reconcile<'a>(&'a self, state: &'a WorkerState) -> BoxFuture<'a, anyhow::Result<usize>> {
        Box::pin(async move {
            #[derive(QueryableByName)]
            struct Due {
                #[diesel(sql_type = BigInt)]
                tenant_id: TenantId,
                #[diesel(sql_type = BigInt)]
                id: i64,
            }
            let mut due: Vec<Due> = Vec::new();
            if let Some(claim) = J::CLAIM {
                let mut conn = state.db.get().await?;
                due = diesel::sql_query(format!(
                    "SELECT tenant_id, id FROM {}(make_interval(secs => $1), $2)",
                    claim.function
                ))
                .bind::<Double, _>(state.config.job_requeue_after.as_secs_f64())
                .bind::<Integer, _>(claim.batch)
                .load(&mut conn)
                .await?;
            }
            for row in &due {
                state
                    .queues
                    .push(J::from_claim(row.tenant_id, row.id))
                    .await;
            }
            // Finished apalis entries would pile up in Redis (apalis-redis #10): keep an hour.
            if let Err(err) = state
                .queues
                .queue::<J>()
                .vacuum_before(Duration::from_secs(3600))
                .await
            {
                tracing::debug!(kind = J::KIND, error = %err, "vacuum of the queue failed");
            }
            Ok(due.len())
        })
    }

    fn run_at<'a>(
        &'a self,
        _: &'a WorkerState,
        _: DateTime<Utc>,
    ) -> BoxFuture<'a, Option<anyhow::Result<String>>> {
        Box::pin(async { None })
    }
}

/// The apalis handler of every queued kind.
async fn handle<J: Job>(job: J, state: Data<Arc<WorkerState>>) -> Result<(), BoxDynError> {
    let shown = job.clone();
    job.run(&state).await.map_err(|e| {
        tracing::warn!(kind = J::KIND, job = ?shown, error = %format!("{e:#}"), "job could not record its outcome");
        e.into()
    })
}

struct Cron<C>(PhantomData<fn() -> C>);

impl<C: CronJob> Kind for Cron<C> {
    fn name(&self) -> &'static str {
        C::KIND
    }

    fn register(
        &self,
        monitor: Monitor,
        state: &Arc<WorkerState>,
        worker: &str,
    ) -> anyhow::Result<Monitor> {
        let Some(expression) = C::schedule(&state.config) else {
            tracing::info!(kind = C::KIND, "cron job turned off");
            return Ok(monitor);
        };
        let schedule = cron::Schedule::from_str(expression)
            .with_context(|| format!("the schedule of {} ({expression:?})", C::KIND))?;
        let time_zone = state.config.cron_time_zone;
        let name = format!("{worker}-{}", C::KIND);
        let state = state.clone();
        Ok(monitor.register(move |run| {
            WorkerBuilder::new(format!("{name}-{run}"))
                .backend(CronScheduler::new(schedule.clone()).with_timezone(time_zone))
                .data(state.clone())
                .build(tick::<C>)
        }))
    }

    fn reconcile<'a>(&'a self, _: &'a WorkerState) -> BoxFuture<'a, anyhow::Result<usize>> {
        Box::pin(async { Ok(0) })
    }

    fn run_at<'a>(
        &'a self,
        state: &'a WorkerState,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Option<anyhow::Result<String>>> {
        Box::pin(async move { Some(run_cron::<C>(state, now).await) })
    }
}

/// The apalis handler of every cron job: runs it as of the tick's time.
async fn tick<C: CronJob>(
    tick: Tick<chrono_tz::Tz>,
    state: Data<Arc<WorkerState>>,
) -> Result<(), BoxDynError> {
    let now = i64::try_from(tick.get_timestamp())
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(Utc::now);
    run_cron::<C>(&state, now).await?;
    Ok(())
}

async fn run_cron<C: CronJob>(state: &WorkerState, now: DateTime<Utc>) -> anyhow::Result<String> {
    match C::run(state, now).await {
        Ok(report) => {
            tracing::info!(kind = C::KIND, %now, ?report, "cron job ran");
            Ok(format!("{report:?}"))
        }
        Err(err) => {
            tracing::warn!(kind = C::KIND, %now, error = %format!("{err:#}"), "cron job failed; the next tick tries again");
            Err(err)
        }
    }
}
