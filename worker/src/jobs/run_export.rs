//! Runs one export (see `kehu::exports`): claim the row, write the file, record the outcome.

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use kehu::jobs::RunExport;

use crate::WorkerState;

/// The apalis handler. `Ok` once the outcome is recorded in PostgreSQL; an `Err` means
/// the database itself failed, and the reconciler will push the job again.
pub async fn run(job: RunExport, state: Data<Arc<WorkerState>>) -> Result<(), BoxDynError> {
    kehu::exports::write::run(&state.db, &state.files, state.config.job_lease, &job)
        .await
        .map_err(|e| {
            tracing::warn!(?job, error = %format!("{e:#}"), "export job could not record its outcome");
            e.into()
        })
}
