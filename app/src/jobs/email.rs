//! The email outbox (`emails` table): enqueue in the user's transaction, claim and finish
//! in the worker.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{EmailId, TenantId},
    schema::emails,
};

/// A message to send.
pub struct NewEmail {
    /// What caused it: `welcome`, `invitation`, …
    pub kind: &'static str,
    /// Recipient address.
    pub to_addr: String,
    /// Subject line, already in the recipient's language.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
}

/// An outbox row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = emails)]
pub struct EmailRow {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Row id.
    pub id: EmailId,
    /// What caused it.
    pub kind: String,
    /// Recipient.
    pub to_addr: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body_text: String,
    /// `queued`, `running`, `sent` or `failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// Attempts allowed before `failed`.
    pub max_attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// Until when the claiming worker holds it.
    pub lease_until: Option<DateTime<Utc>>,
}

/// Writes a queued email in the caller's transaction. The caller pushes the job after
/// commit; `enqueued_at` is set now so the reconciler does not push it a second time.
pub async fn enqueue(tx: &mut TenantTx, email: NewEmail, max_attempts: i32) -> AppResult<EmailId> {
    let tenant = tx.tenant();
    let id = diesel::insert_into(emails::table)
        .values((
            emails::tenant_id.eq(tenant),
            emails::kind.eq(email.kind),
            emails::to_addr.eq(&email.to_addr),
            emails::subject.eq(&email.subject),
            emails::body_text.eq(&email.body_text),
            emails::max_attempts.eq(max_attempts),
            emails::enqueued_at.eq(diesel::dsl::now),
        ))
        .returning(emails::id)
        .get_result(&mut **tx)
        .await?;
    Ok(id)
}

/// Commits `tx`, which wrote the outbox row `email_id`, then pushes its send job.
pub async fn commit_and_push(
    tx: TenantTx,
    queues: &crate::jobs::Queues,
    email_id: EmailId,
) -> AppResult<()> {
    let tenant_id = tx.tenant();
    tx.commit().await?;
    queues
        .push_email(crate::jobs::SendEmail {
            tenant_id,
            email_id,
        })
        .await;
    Ok(())
}

/// Claims a row for sending: queued rows, or running rows whose lease expired. Returns
/// `None` when the row is finished or another worker holds a live lease, which makes a
/// duplicate delivery from Redis harmless.
pub async fn claim(
    tx: &mut TenantTx,
    id: EmailId,
    lease: std::time::Duration,
) -> AppResult<Option<EmailRow>> {
    Ok(claim_many(tx, &[id], lease).await?.pop())
}

/// Claims several rows of one tenant for sending under one lease, as [`claim`] does each:
/// the rows finished or held by another worker are left out. One round trip for the
/// batch instead of one per email.
pub async fn claim_many(
    tx: &mut TenantTx,
    ids: &[EmailId],
    lease: std::time::Duration,
) -> AppResult<Vec<EmailRow>> {
    let tenant = tx.tenant();
    diesel::update(emails::table)
        .filter(emails::tenant_id.eq(tenant).and(emails::id.eq_any(ids)))
        .filter(
            emails::status
                .eq("running")
                .and(emails::lease_until.lt(diesel::dsl::now)),
        )
        .filter(emails::attempts.ge(emails::max_attempts))
        .set((
            emails::status.eq("failed"),
            emails::last_error.eq("the worker stopped during the last attempt"),
            emails::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(&mut **tx)
        .await?;
    let lease_until =
        Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let mut rows = diesel::update(emails::table)
        .filter(emails::tenant_id.eq(tenant))
        .filter(emails::id.eq_any(ids))
        .filter(emails::attempts.lt(emails::max_attempts))
        .filter(
            emails::status.eq("queued").or(emails::status
                .eq("running")
                .and(emails::lease_until.lt(diesel::dsl::now))),
        )
        .set((
            emails::status.eq("running"),
            emails::attempts.eq(emails::attempts + 1),
            emails::lease_until.eq(lease_until),
        ))
        .returning(EmailRow::as_returning())
        .get_results(&mut **tx)
        .await?;
    rows.sort_by_key(|r| r.id.0);
    Ok(rows)
}

/// Records the successful sends of rows claimed together ([`claim_many`]), those this
/// worker still holds, in one statement per lease (one, for one claim).
pub async fn mark_many_sent(tx: &mut TenantTx, rows: &[EmailRow]) -> AppResult<()> {
    let tenant = tx.tenant();
    let mut by_lease: std::collections::BTreeMap<Option<DateTime<Utc>>, Vec<EmailId>> =
        std::collections::BTreeMap::new();
    for row in rows {
        by_lease.entry(row.lease_until).or_default().push(row.id);
    }
    for (lease_until, ids) in by_lease {
        diesel::update(emails::table)
            .filter(emails::tenant_id.eq(tenant).and(emails::id.eq_any(&ids)))
            .filter(
                emails::status
                    .eq("running")
                    .and(emails::lease_until.is_not_distinct_from(lease_until)),
            )
            .set((
                emails::status.eq("sent"),
                emails::sent_at.eq(diesel::dsl::now),
                emails::last_error.eq(None::<String>),
                emails::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Puts rows this worker claimed but did not try back in the queue, the attempt not
/// counted, if it still holds them; the reconciler pushes them again.
pub async fn release(tx: &mut TenantTx, rows: &[EmailRow]) -> AppResult<()> {
    let tenant = tx.tenant();
    for row in rows {
        diesel::update(emails::table)
            .filter(emails::tenant_id.eq(tenant).and(emails::id.eq(row.id)))
            .filter(held(row))
            .set((
                emails::status.eq("queued"),
                emails::attempts.eq(emails::attempts - 1),
                emails::lease_until.eq(None::<DateTime<Utc>>),
                emails::enqueued_at.eq(None::<DateTime<Utc>>),
            ))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Records a successful send, if this worker still holds the row's lease.
pub async fn mark_sent(tx: &mut TenantTx, row: &EmailRow) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(emails::table)
        .filter(emails::tenant_id.eq(tenant).and(emails::id.eq(row.id)))
        .filter(held(row))
        .set((
            emails::status.eq("sent"),
            emails::sent_at.eq(diesel::dsl::now),
            emails::last_error.eq(None::<String>),
            emails::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records a failed attempt: back to `queued` with a backoff, or `failed` for good once
/// the attempts are used up.
pub async fn mark_attempt_failed(tx: &mut TenantTx, row: &EmailRow, error: &str) -> AppResult<()> {
    let tenant = tx.tenant();
    let final_failure = row.attempts >= row.max_attempts;
    // 2, 4, 8, … seconds, capped at ten minutes.
    let backoff = chrono::Duration::seconds(
        2_i64
            .saturating_pow(row.attempts.clamp(1, 20) as u32)
            .min(600),
    );
    diesel::update(emails::table)
        .filter(emails::tenant_id.eq(tenant).and(emails::id.eq(row.id)))
        .filter(held(row))
        .set((
            emails::status.eq(if final_failure { "failed" } else { "queued" }),
            emails::last_error.eq(truncate(error, 2000)),
            emails::run_after.eq(Utc::now() + backoff),
            emails::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The newest rows of the tenant's outbox, for the admin's job page.
pub async fn recent(tx: &mut TenantTx, limit: i64) -> AppResult<Vec<EmailRow>> {
    let tenant = tx.tenant();
    Ok(emails::table
        .filter(emails::tenant_id.eq(tenant))
        .order((emails::created_at.desc(), emails::id.desc()))
        .limit(limit)
        .select(EmailRow::as_select())
        .load(&mut **tx)
        .await?)
}

/// The filter built by [`held`].
type HeldBy = diesel::dsl::And<
    diesel::dsl::Eq<emails::status, &'static str>,
    diesel::dsl::IsNotDistinctFrom<emails::lease_until, Option<DateTime<Utc>>>,
>;

/// The row is still running under the lease `row` was claimed with (a slower worker
/// whose lease expired must not overwrite the outcome of the one that took over).
fn held(row: &EmailRow) -> HeldBy {
    emails::status
        .eq("running")
        .and(emails::lease_until.is_not_distinct_from(row.lease_until))
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}
