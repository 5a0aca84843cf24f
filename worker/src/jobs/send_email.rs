//! Sends one row of the email outbox.
//!
//! Idempotent: the row is claimed first (a sent row, or one another worker holds, is
//! skipped). Failures are recorded on the row, retried by the reconciler with backoff, and
//! end as `failed` with the reason after `max_attempts`. A worker killed between the SMTP
//! send and the "sent" mark sends that email again, at most once more per lease.

use kehu::{
    config::Config,
    db::TenantTx,
    ids::{EmailId, TenantId},
    jobs::{SendEmail, SendEmails, email},
};

use super::{Claim, Job};
use crate::WorkerState;

impl Job for SendEmail {
    const CLAIM: Option<Claim> = Some(Claim {
        function: "kehu_claim_due_emails",
        batch: 500,
    });

    fn from_claim(tenant_id: TenantId, id: i64) -> Self {
        Self {
            tenant_id,
            email_id: EmailId(id),
        }
    }

    fn concurrency(config: &Config) -> usize {
        config.worker_concurrency_email
    }

    async fn run(self, state: &WorkerState) -> anyhow::Result<()> {
        send(state, &self).await
    }
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

/// Pushes the send jobs of emails just written, one [`SendEmails`] per tenant and
/// [`SendEmails::MAX`] emails (a failed push is not lost: the reconciler pushes queued
/// rows again).
pub async fn push_all(state: &WorkerState, emails: &[(TenantId, EmailId)]) {
    for run in emails.chunk_by(|a, b| a.0 == b.0) {
        let ids: Vec<EmailId> = run.iter().map(|(_, id)| *id).collect();
        push_tenant(state, run[0].0, &ids).await;
    }
}

/// Pushes the send jobs of one tenant's emails just written, [`SendEmails::MAX`] a job.
pub async fn push_tenant(state: &WorkerState, tenant_id: TenantId, emails: &[EmailId]) {
    for job in SendEmails::chunks(tenant_id, emails) {
        state.queues.push(job).await;
    }
}
