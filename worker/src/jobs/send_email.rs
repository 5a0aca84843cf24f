//! Sends one row of the email outbox.
//!
//! Idempotent: the row is claimed first (a sent row, or one another worker holds, is
//! skipped). Failures are recorded on the row, retried by the reconciler with backoff, and
//! end as `failed` with the reason after `max_attempts`. A worker killed between the SMTP
//! send and the "sent" mark sends that email again, at most once more per lease.

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use kehu::{
    db::TenantTx,
    jobs::{SendEmail, email},
};

use crate::WorkerState;

/// The apalis handler. It returns `Ok` once the outcome is recorded in PostgreSQL, so
/// apalis never retries on its own; an `Err` means the database itself failed.
pub async fn run(job: SendEmail, state: Data<Arc<WorkerState>>) -> Result<(), BoxDynError> {
    send(&state, &job).await.map_err(|e| {
        tracing::warn!(?job, error = %e, "email job could not record its outcome");
        e.into()
    })
}

/// Claims, sends and records one email.
pub async fn send(state: &WorkerState, job: &SendEmail) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(&state.db, job.tenant_id).await?;
    let claimed = email::claim(&mut tx, job.email_id, state.config.job_lease).await?;
    tx.commit().await?;
    let Some(row) = claimed else {
        return Ok(());
    };

    let sent = state
        .mailer
        .send(
            &state.config.mail_from,
            &row.to_addr,
            &row.subject,
            &row.body_text,
        )
        .await;

    let mut tx = TenantTx::begin(&state.db, job.tenant_id).await?;
    match &sent {
        Ok(()) => email::mark_sent(&mut tx, &row).await?,
        Err(err) => {
            tracing::warn!(?job, attempt = row.attempts, error = %format!("{err:#}"), "email not sent");
            email::mark_attempt_failed(&mut tx, &row, &format!("{err:#}")).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
