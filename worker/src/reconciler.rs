//! The reconciler: PostgreSQL is the source of truth, so every few seconds it re-pushes
//! rows that should be running but are not — queued rows Redis lost, retries whose
//! backoff has passed, and running rows whose worker's lease ran out.

use std::sync::Arc;

use apalis_core::backend::Vacuum;
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Double, Integer},
};
use diesel_async::RunQueryDsl;
use kehu::{
    ids::{EmailId, ExportId, ImportId, TenantId},
    jobs::{RunExport, RunImport, SendEmail},
};
use tokio::sync::watch;

use crate::WorkerState;

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = BigInt)]
    id: EmailId,
}

#[derive(QueryableByName)]
struct DueExport {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = BigInt)]
    id: ExportId,
}

#[derive(QueryableByName)]
struct DueImport {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = BigInt)]
    id: ImportId,
}

/// Runs until `stop` turns true.
pub async fn run(state: Arc<WorkerState>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.config.reconcile_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match reconcile_once(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "reconciler re-enqueued email jobs"),
            Err(err) => tracing::warn!(error = %format!("{err:#}"), "reconciler pass failed"),
        }
    }
}

/// One pass; returns how many jobs were pushed again.
pub async fn reconcile_once(state: &WorkerState) -> anyhow::Result<usize> {
    let due: Vec<Due> = {
        let mut conn = state.db.get().await?;
        diesel::sql_query(
            "SELECT tenant_id, id FROM kehu_claim_due_emails(make_interval(secs => $1), $2)",
        )
        .bind::<Double, _>(state.config.job_requeue_after.as_secs_f64())
        .bind::<Integer, _>(500)
        .load(&mut conn)
        .await?
    };
    for row in &due {
        state
            .queues
            .push_email(SendEmail {
                tenant_id: row.tenant_id,
                email_id: row.id,
            })
            .await;
    }
    let exports: Vec<DueExport> = {
        let mut conn = state.db.get().await?;
        diesel::sql_query(
            "SELECT tenant_id, id FROM kehu_claim_due_exports(make_interval(secs => $1), $2)",
        )
        .bind::<Double, _>(state.config.job_requeue_after.as_secs_f64())
        .bind::<Integer, _>(100)
        .load(&mut conn)
        .await?
    };
    for row in &exports {
        state
            .queues
            .push_export(RunExport {
                tenant_id: row.tenant_id,
                export_id: row.id,
            })
            .await;
    }
    let imports: Vec<DueImport> = {
        let mut conn = state.db.get().await?;
        diesel::sql_query(
            "SELECT tenant_id, id FROM kehu_claim_due_imports(make_interval(secs => $1), $2)",
        )
        .bind::<Double, _>(state.config.job_requeue_after.as_secs_f64())
        .bind::<Integer, _>(100)
        .load(&mut conn)
        .await?
    };
    for row in &imports {
        state
            .queues
            .push_import(RunImport {
                tenant_id: row.tenant_id,
                import_id: row.id,
            })
            .await;
    }
    let mut import_queue = state.queues.import.clone();
    if let Err(err) = import_queue
        .vacuum_before(std::time::Duration::from_secs(3600))
        .await
    {
        tracing::debug!(error = %err, "vacuum of the import queue failed");
    }
    let mut export_queue = state.queues.export.clone();
    if let Err(err) = export_queue
        .vacuum_before(std::time::Duration::from_secs(3600))
        .await
    {
        tracing::debug!(error = %err, "vacuum of the export queue failed");
    }
    // Finished apalis entries would pile up in Redis (apalis-redis #10): keep an hour.
    let mut email_queue = state.queues.email.clone();
    if let Err(err) = email_queue
        .vacuum_before(std::time::Duration::from_secs(3600))
        .await
    {
        tracing::debug!(error = %err, "vacuum of the email queue failed");
    }
    Ok(due.len() + exports.len() + imports.len())
}
