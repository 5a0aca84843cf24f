//! Email reminders of tasks, through an outbox that never loses one (DESIGN.md §7).
//!
//! - [`sync`] runs in every transaction that creates or changes tasks: it deletes their
//!   pending `task_reminders` rows and writes one per reminder time still ahead, so a task
//!   that is done, deleted or moved before its time has nothing left to send. The row is
//!   unique per (task, reminder time): a reminder already handed on is not written again.
//! - [`scan`] runs in the worker every minute (apalis-cron), as of the time it is given:
//!   it finds the tenants with due rows, claims them with `FOR UPDATE SKIP LOCKED` in the
//!   tenant's own transaction and, in that same transaction, either writes the email (an
//!   `emails` row in the recipient's language, with the due time in their time zone) and
//!   marks the row `queued`, or marks it `skipped` with the reason (the task is done, the
//!   owner is disabled or locked, or turned reminders off). A batch costs four statements
//!   whatever its size (claim, skip, write and mark, commit): at 100k reminders due in one
//!   minute, PostgreSQL's time per reminder is what bounds the delivery (BENCHMARKS.md).
//!   From there the email path (`SendEmails`, the `SendEmail` reconciler and the failed
//!   state) delivers it: at most twice, and twice only when a worker dies between the
//!   send and the mark.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz},
};
use diesel_async::RunQueryDsl;
use futures::StreamExt;

use crate::{
    db::{DbPool, TenantTx},
    error::AppResult,
    i18n::Locale,
    ids::{EmailId, TaskId, TenantId},
    jobs::email::NewEmail,
};

/// Reminder rows claimed per transaction.
pub const BATCH: i64 = 500;

/// Brings the pending reminders of `ids` up to date: none for done tasks and memos, one
/// per reminder time still in the future for the others.
pub async fn sync(tx: &mut TenantTx, ids: &[TaskId]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let tenant = tx.tenant();
    let ids: Vec<i64> = ids.iter().map(|t| t.0).collect();
    diesel::sql_query(
        "DELETE FROM task_reminders WHERE tenant_id = $1 AND task_id = ANY($2) AND status = 'pending'",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<Array<BigInt>, _>(&ids)
    .execute(&mut **tx)
    .await?;
    diesel::sql_query(
        "INSERT INTO task_reminders (tenant_id, task_id, remind_at)
         SELECT t.tenant_id, t.id, t.due_at - make_interval(mins => m.minutes)
           FROM tasks t CROSS JOIN LATERAL unnest(t.remind_before) AS m(minutes)
          WHERE t.tenant_id = $1 AND t.id = ANY($2) AND t.kind = 'task' AND t.done_at IS NULL
            AND t.due_at - make_interval(mins => m.minutes) > now()
         ON CONFLICT (tenant_id, task_id, remind_at) DO NOTHING",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<Array<BigInt>, _>(&ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What one scan did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Emails written, to push to the queue after commit.
    pub queued: Vec<(TenantId, EmailId)>,
    /// Reminders left unsent, with the reason recorded on their row.
    pub skipped: usize,
}

/// Who an email of a task goes to, and how it reads to them.
#[derive(QueryableByName)]
pub(super) struct Recipient {
    /// Their address.
    #[diesel(sql_type = Text)]
    pub email: String,
    /// Their name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Their language.
    #[diesel(sql_type = Text)]
    pub locale: String,
    /// Their time zone (their own, else the tenant's).
    #[diesel(sql_type = Text)]
    pub time_zone: String,
}

/// A claimed reminder with what its email says.
#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    task_id: i64,
    #[diesel(sql_type = Text)]
    content: String,
    #[diesel(sql_type = Timestamptz)]
    due_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    done: bool,
    #[diesel(embed)]
    to: Recipient,
    #[diesel(sql_type = Nullable<Text>)]
    refused: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    company: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    opportunity: Option<String>,
}

/// Claims a tenant's due reminders, oldest first, with the task, its owner and links.
/// The owner must still be active and want reminders (`refused` says why not); a lock
/// (maybe a stranger's wrong passwords) stops password logins, not mail.
/// Binds: the tenant, now, the batch size. Public so the benchmark times this statement.
pub const CLAIM: &str = "
    SELECT r.id, r.task_id, t.content, t.due_at, t.done_at IS NOT NULL AS done,
           u.email, u.name, u.locale, coalesce(u.time_zone, tn.time_zone) AS time_zone,
           CASE WHEN u.status <> 'active' THEN 'the owner is ' || u.status
                WHEN NOT u.reminders_on THEN 'the owner turned reminders off' END AS refused,
           c.name AS company, o.name AS opportunity
      FROM task_reminders r
      JOIN tasks t ON t.tenant_id = r.tenant_id AND t.id = r.task_id
      JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.owner_id
      JOIN tenants tn ON tn.id = r.tenant_id
      LEFT JOIN companies c ON c.tenant_id = t.tenant_id AND c.id = t.company_id
      LEFT JOIN opportunities o ON o.tenant_id = t.tenant_id AND o.id = t.opportunity_id
     WHERE r.tenant_id = $1 AND r.status = 'pending' AND r.remind_at <= $2
     ORDER BY r.remind_at, r.id
     LIMIT $3
     FOR UPDATE OF r SKIP LOCKED";

/// Marks a batch's refused reminders `skipped`, each with its reason, in one statement
/// (`id = ANY` keeps the plan to the batch's rows, whatever the estimates).
const SKIP: &str = "
    UPDATE task_reminders r SET status = 'skipped', reason = s.reason, handled_at = now()
      FROM unnest($2::bigint[], $3::text[]) AS s(id, reason)
     WHERE r.tenant_id = $1 AND r.id = ANY($2) AND r.id = s.id";

/// Writes a batch's emails and marks their reminders `queued`, in one statement. The
/// inserted ids pair with the input by rank: the rows are inserted in `ord` order, and
/// the identity hands out increasing ids within one statement (the app role may not call
/// `nextval` on it), so the `ord`th smallest id is the `ord`th row's. The reminder's
/// foreign key to its email is checked at the end of the statement, when the email rows
/// exist.
const QUEUE: &str = "
    WITH input AS (
        SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
               WITH ORDINALITY AS i(reminder_id, to_addr, subject, body_text, ord)),
    inserted AS (
        INSERT INTO emails (tenant_id, kind, to_addr, subject, body_text, max_attempts, enqueued_at)
        SELECT $1, 'task_reminder', to_addr, subject, body_text, $6, now()
          FROM input ORDER BY ord
        RETURNING id),
    paired AS (
        SELECT i.reminder_id, e.ids[i.ord] AS email_id
          FROM input i, (SELECT array_agg(id ORDER BY id) AS ids FROM inserted) e)
    UPDATE task_reminders r SET status = 'queued', email_id = p.email_id, handled_at = now()
      FROM paired p
     WHERE r.tenant_id = $1 AND r.id = ANY($2) AND r.id = p.reminder_id
    RETURNING p.email_id";

/// Hands every reminder due by `now` to the email outbox (or skips it with the reason),
/// tenant by tenant, [`BATCH`] rows per transaction. Safe to run twice, concurrently, or
/// to kill halfway: a row changes state only in the transaction that writes its email.
pub async fn scan(
    db: &DbPool,
    now: DateTime<Utc>,
    base_url: &str,
    max_attempts: i32,
) -> AppResult<Scanned> {
    scan_then(db, now, base_url, max_attempts, |_, _| async {}).await
}

/// [`scan`], calling `committed` with each batch's emails as soon as its transaction
/// commits, so their sending starts while the scan goes on. [`TENANTS_AT_ONCE`] tenants
/// are scanned at once, so that their commits overlap.
pub async fn scan_then<F, Fut>(
    db: &DbPool,
    now: DateTime<Utc>,
    base_url: &str,
    max_attempts: i32,
    committed: F,
) -> AppResult<Scanned>
where
    F: Fn(TenantId, Vec<EmailId>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    #[derive(QueryableByName)]
    struct Tenant {
        #[diesel(sql_type = BigInt)]
        tenant_id: TenantId,
    }
    let tenants: Vec<Tenant> = {
        let mut conn = db.get().await?;
        diesel::sql_query("SELECT tenant_id FROM kehu_reminder_tenants_due($1)")
            .bind::<Timestamptz, _>(now)
            .load(&mut conn)
            .await?
    };
    let committed = &committed;
    let mut scans = futures::stream::iter(tenants)
        .map(|Tenant { tenant_id }| {
            scan_tenant(db, tenant_id, now, base_url, max_attempts, committed)
        })
        .buffer_unordered(TENANTS_AT_ONCE);
    let mut out = Scanned::default();
    while let Some(scanned) = scans.next().await {
        let scanned = scanned?;
        out.skipped += scanned.skipped;
        out.queued.extend(scanned.queued);
    }
    Ok(out)
}

/// Tenants the scan works on at once.
pub const TENANTS_AT_ONCE: usize = 4;

/// One tenant's due reminders, [`BATCH`] rows per transaction.
///
/// The transactions commit without waiting for the WAL flush (`synchronous_commit =
/// off`): a database crash can lose the last ones, emails and reminder marks together,
/// and the reminders are then still pending for the next scan. No email of a lost
/// transaction can have been sent: sending starts with a claim that commits
/// synchronously, and flushing its commit flushes the WAL before it, the scan's included.
async fn scan_tenant<F, Fut>(
    db: &DbPool,
    tenant_id: TenantId,
    now: DateTime<Utc>,
    base_url: &str,
    max_attempts: i32,
    committed: &F,
) -> AppResult<Scanned>
where
    F: Fn(TenantId, Vec<EmailId>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut out = Scanned::default();
    loop {
        let mut tx = TenantTx::begin(db, tenant_id).await?;
        diesel::sql_query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        let due: Vec<Due> = diesel::sql_query(CLAIM)
            .bind::<BigInt, _>(tenant_id)
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(BATCH)
            .load(&mut *tx)
            .await?;
        let claimed = due.len() as i64;
        let batch = handle_batch(&mut tx, &due, base_url, max_attempts).await?;
        tx.commit().await?;
        out.skipped += batch.skipped;
        out.queued
            .extend(batch.queued.iter().map(|&email| (tenant_id, email)));
        if !batch.queued.is_empty() {
            committed(tenant_id, batch.queued).await;
        }
        if claimed < BATCH {
            return Ok(out);
        }
    }
}

/// What one claimed batch became.
struct Batch {
    queued: Vec<EmailId>,
    skipped: usize,
}

/// Skips the refused reminders of a claimed batch and writes the others' emails, in two
/// statements whatever the batch's size.
async fn handle_batch(
    tx: &mut TenantTx,
    due: &[Due],
    base_url: &str,
    max_attempts: i32,
) -> AppResult<Batch> {
    #[derive(QueryableByName)]
    struct Queued {
        #[diesel(sql_type = BigInt)]
        email_id: EmailId,
    }
    let tenant = tx.tenant();
    let (mut skip_ids, mut reasons) = (Vec::new(), Vec::new());
    let (mut ids, mut to, mut subjects, mut bodies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in due {
        let refused = row
            .refused
            .clone()
            .or_else(|| row.done.then(|| "the task is done".to_owned()));
        match refused {
            Some(reason) => {
                skip_ids.push(row.id);
                reasons.push(reason);
            }
            None => {
                let email = message(row, base_url);
                ids.push(row.id);
                to.push(email.to_addr);
                subjects.push(email.subject);
                bodies.push(email.body_text);
            }
        }
    }
    if !skip_ids.is_empty() {
        diesel::sql_query(SKIP)
            .bind::<BigInt, _>(tenant)
            .bind::<Array<BigInt>, _>(&skip_ids)
            .bind::<Array<Text>, _>(&reasons)
            .execute(&mut **tx)
            .await?;
    }
    let queued: Vec<Queued> = if ids.is_empty() {
        Vec::new()
    } else {
        diesel::sql_query(QUEUE)
            .bind::<BigInt, _>(tenant)
            .bind::<Array<BigInt>, _>(&ids)
            .bind::<Array<Text>, _>(&to)
            .bind::<Array<Text>, _>(&subjects)
            .bind::<Array<Text>, _>(&bodies)
            .bind::<Integer, _>(max_attempts)
            .load(&mut **tx)
            .await?
    };
    Ok(Batch {
        queued: queued.into_iter().map(|q| q.email_id).collect(),
        skipped: skip_ids.len(),
    })
}

/// The reminder email, in the recipient's language and time zone.
fn message(row: &Due, base_url: &str) -> NewEmail {
    let locale = Locale::from_code(&row.to.locale).unwrap_or_default();
    let tz: chrono_tz::Tz = row
        .to
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let short: String = row.content.chars().take(60).collect();
    let due = format!("{} ({})", locale.datetime(row.due_at, tz), tz.name());
    let mut body = locale.tf(
        "tasks.email_body",
        &[
            ("name", &row.to.name),
            ("content", &row.content),
            ("due", &due),
        ],
    );
    if let Some(company) = &row.company {
        body.push_str(&locale.tf("tasks.email_company", &[("company", company)]));
    }
    if let Some(opportunity) = &row.opportunity {
        body.push_str(&locale.tf("tasks.email_opportunity", &[("opportunity", opportunity)]));
    }
    body.push_str(&locale.tf(
        "tasks.email_link",
        &[("url", &format!("{base_url}/tasks/{}", row.task_id))],
    ));
    NewEmail {
        kind: "task_reminder",
        to_addr: row.to.email.clone(),
        subject: locale.tf("tasks.email_subject", &[("content", &short)]),
        body_text: body,
    }
}

/// The pending reminder times of a task (its page shows them).
pub async fn pending(tx: &mut TenantTx, task: TaskId) -> AppResult<Vec<DateTime<Utc>>> {
    #[derive(QueryableByName)]
    struct At {
        #[diesel(sql_type = Timestamptz)]
        remind_at: DateTime<Utc>,
    }
    let tenant = tx.tenant();
    let rows: Vec<At> = diesel::sql_query(
        "SELECT remind_at FROM task_reminders
          WHERE tenant_id = $1 AND task_id = $2 AND status = 'pending' ORDER BY remind_at",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<BigInt, _>(task)
    .load(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|r| r.remind_at).collect())
}

/// The reminder choices of the forms, in minutes before the due time.
pub const CHOICES: &[(i32, &str)] = &[
    (0, "tasks.remind_at_due"),
    (15, "tasks.remind_15m"),
    (60, "tasks.remind_1h"),
    (1440, "tasks.remind_1d"),
];
