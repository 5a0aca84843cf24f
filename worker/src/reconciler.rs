//! The reconciler: PostgreSQL is the source of truth, so every few seconds it re-pushes
//! rows that should be running but are not — queued rows Redis lost, retries whose
//! backoff has passed, and running rows whose worker's lease ran out. Which kinds and
//! how each is claimed come from the job registry ([`crate::jobs::registry`]).

use std::sync::Arc;

use tokio::sync::watch;

use crate::{WorkerState, jobs::Registry};

/// Runs until `stop` turns true.
pub async fn run(
    state: Arc<WorkerState>,
    registry: Arc<Registry>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(state.config.reconcile_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match registry.reconcile(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "reconciler re-enqueued jobs"),
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "reconciler pass failed"),
        }
    }
}
