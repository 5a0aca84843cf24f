//! Every job the worker runs, registered in one list.

pub mod run_export;
pub mod run_import;
pub mod send_email;

use std::sync::Arc;

use apalis::prelude::*;

use crate::WorkerState;

/// Registers one apalis worker per job kind, each with its configured concurrency.
pub fn register(monitor: Monitor, state: Arc<WorkerState>, name: &str) -> Monitor {
    let email_name = format!("{name}-email");
    let export_name = format!("{name}-export");
    let export_state = state.clone();
    let import_name = format!("{name}-import");
    let import_state = state.clone();
    monitor
        .register(move |run| {
            WorkerBuilder::new(format!("{email_name}-{run}"))
                .backend(state.queues.email.clone())
                .data(state.clone())
                .concurrency(state.config.worker_concurrency_email)
                .build(send_email::run)
        })
        .register(move |run| {
            WorkerBuilder::new(format!("{export_name}-{run}"))
                .backend(export_state.queues.export.clone())
                .data(export_state.clone())
                .concurrency(export_state.config.worker_concurrency_export)
                .build(run_export::run)
        })
        .register(move |run| {
            WorkerBuilder::new(format!("{import_name}-{run}"))
                .backend(import_state.queues.import.clone())
                .data(import_state.clone())
                .concurrency(import_state.config.worker_concurrency_import)
                .build(run_import::run)
        })
}
