//! Every job the worker runs, registered in one list.

pub mod send_email;

use std::sync::Arc;

use apalis::prelude::*;

use crate::WorkerState;

/// Registers one apalis worker per job kind, each with its configured concurrency.
pub fn register(monitor: Monitor, state: Arc<WorkerState>, name: &str) -> Monitor {
    let email_name = format!("{name}-email");
    monitor.register(move |run| {
        WorkerBuilder::new(format!("{email_name}-{run}"))
            .backend(state.queues.email.clone())
            .data(state.clone())
            .concurrency(state.config.worker_concurrency_email)
            .build(send_email::run)
    })
}
