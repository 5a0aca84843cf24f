//! Runs one export (see `kehu::exports`): claim the row, write the file, record the outcome.

use kehu::{config::Config, ids::ExportId, ids::TenantId, jobs::RunExport};

use super::{Claim, Job};
use crate::WorkerState;

impl Job for RunExport {
    const CLAIM: Option<Claim> = Some(Claim {
        function: "kehu_claim_due_exports",
        batch: 100,
    });

    fn from_claim(tenant_id: TenantId, id: i64) -> Self {
        Self {
            tenant_id,
            export_id: ExportId(id),
        }
    }

    fn concurrency(config: &Config) -> usize {
        config.worker_concurrency_export
    }

    async fn run(self, state: &WorkerState) -> anyhow::Result<()> {
        kehu::exports::write::run(&state.db, &state.files, state.config.job_lease, &self).await
    }
}
