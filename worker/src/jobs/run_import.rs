//! Runs one import or its undo (see `kehu::imports::run`).

use kehu::{
    config::Config,
    ids::{ImportId, TenantId},
    imports::run::Env,
    jobs::RunImport,
};

use super::{Claim, Job};
use crate::WorkerState;

impl Job for RunImport {
    const CLAIM: Option<Claim> = Some(Claim {
        function: "kehu_claim_due_imports",
        batch: 100,
    });

    fn from_claim(tenant_id: TenantId, id: i64) -> Self {
        Self {
            tenant_id,
            import_id: ImportId(id),
        }
    }

    fn concurrency(config: &Config) -> usize {
        config.worker_concurrency_import
    }

    async fn run(self, state: &WorkerState) -> anyhow::Result<()> {
        let env = Env {
            db: &state.db,
            database_url: &state.config.database_url,
            files: &state.files,
            lease: state.config.job_lease,
            connections: state.config.import_connections,
        };
        kehu::imports::run::run(&env, &self).await
    }
}
