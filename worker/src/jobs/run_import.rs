//! Runs one import or its undo (see `kehu::imports::run`).

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use kehu::{imports::run::Env, jobs::RunImport};

use crate::WorkerState;

/// The apalis handler. `Ok` once the outcome is recorded in PostgreSQL; an `Err` means
/// the database itself failed, and the reconciler will push the job again.
pub async fn run(job: RunImport, state: Data<Arc<WorkerState>>) -> Result<(), BoxDynError> {
    let env = Env {
        db: &state.db,
        database_url: &state.config.database_url,
        files: &state.files,
        lease: state.config.job_lease,
        connections: state.config.import_connections,
    };
    kehu::imports::run::run(&env, &job).await.map_err(|e| {
        tracing::warn!(?job, error = %format!("{e:#}"), "import job could not record its outcome");
        e.into()
    })
}
