//! Sends several rows of the email outbox of one tenant (the reminder scan's batches):
//! one claim and one mark for up to [`SendEmails::MAX`] sends, over pooled SMTP
//! connections.
//!
//! The guarantees are [`super::send_email`]'s, row by row: a row finished or held by
//! another worker is left out of the claim; a failed send is recorded on its row, retried
//! with backoff and ends `failed` with the reason; the rows a killed worker claimed are
//! re-pushed one by one as `SendEmail` when their lease runs out, so a row already sent
//! but not yet marked goes out once more, at most, and only then.

use kehu::{
    config::Config,
    db::TenantTx,
    ids::{EmailId, TenantId},
    jobs::{SendEmails, email},
};

use super::{Claim, Job};
use crate::WorkerState;

impl Job for SendEmails {
    // Its rows are `emails` rows, which `SendEmail`'s claim re-pushes.
    const CLAIM: Option<Claim> = None;

    fn from_claim(tenant_id: TenantId, id: i64) -> Self {
        Self {
            tenant_id,
            email_ids: vec![EmailId(id)],
        }
    }

    fn concurrency(config: &Config) -> usize {
        config.worker_concurrency_email
    }

    async fn run(self, state: &WorkerState) -> anyhow::Result<()> {
        send(state, &self).await
    }
}

/// Claims the batch, sends each claimed email in turn and records the outcomes. Sending
/// stops once half the lease is gone (a slow SMTP server): the rows not tried yet go
/// back to the queue, so that no other worker takes over a row this one still sends.
pub async fn send(state: &WorkerState, job: &SendEmails) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let budget = state.config.job_lease / 2;
    let mut tx = TenantTx::begin(&state.db, job.tenant_id).await?;
    let claimed = email::claim_many(&mut tx, &job.email_ids, state.config.job_lease).await?;
    tx.commit().await?;
    if claimed.is_empty() {
        return Ok(());
    }

    let mut sent = Vec::with_capacity(claimed.len());
    let mut failed = Vec::new();
    let mut untried = Vec::new();
    for row in claimed {
        if started.elapsed() > budget {
            untried.push(row);
            continue;
        }
        match state
            .mailer
            .send(
                &state.config.mail_from,
                &row.to_addr,
                &row.subject,
                &row.body_text,
            )
            .await
        {
            Ok(()) => sent.push(row),
            Err(err) => failed.push((row, format!("{err:#}"))),
        }
    }

    let mut tx = TenantTx::begin(&state.db, job.tenant_id).await?;
    email::mark_many_sent(&mut tx, &sent).await?;
    email::release(&mut tx, &untried).await?;
    for (row, error) in &failed {
        tracing::warn!(tenant_id = ?job.tenant_id, email_id = ?row.id, attempt = row.attempts, %error, "email not sent");
        email::mark_attempt_failed(&mut tx, row, error).await?;
    }
    tx.commit().await?;
    Ok(())
}
