//! 导出客户 / 导出联系人: a view of the customer or contact list, exported to `.xlsx`
//! (rust_xlsxwriter in constant-memory mode) or CSV in the worker.
//!
//! The `exports` row is the job (DESIGN.md §1, §7): written in the user's transaction,
//! pushed to apalis by id after commit, claimed by the worker with a lease, re-pushed by
//! the reconciler if Redis loses it or the worker dies. The worker runs the export as the
//! user who asked, through the same [`Scope`](crate::customers::visibility::Scope) and
//! filters as the list page, and records progress as it goes. Only that user and admins
//! can see and download the file.

pub mod routes;
pub mod write;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{ExportId, UserId},
    schema::exports,
};

/// An export as pages and the worker see it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = exports)]
pub struct Export {
    /// Id.
    pub id: ExportId,
    /// Who asked.
    pub requested_by: UserId,
    /// `company` or `contact`.
    pub entity: String,
    /// `xlsx` or `csv`.
    pub format: String,
    /// The list's query string.
    pub query: String,
    /// The admin's view.
    pub view: String,
    /// Language of the headers.
    pub locale: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Rows written so far.
    pub rows_done: i64,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts before it fails for good.
    pub max_attempts: i32,
    /// The file, once done.
    pub file_key: Option<String>,
    /// The download name.
    pub file_name: Option<String>,
    /// The file's size.
    pub size_bytes: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Asked for.
    pub created_at: DateTime<Utc>,
    /// Done or failed.
    pub finished_at: Option<DateTime<Utc>>,
    /// Rows in the view, counted when the attempt started (`None` until then, or if the
    /// count failed).
    pub rows_total: Option<i64>,
    /// When the current attempt started (the rate and the time left count from here).
    pub started_at: Option<DateTime<Utc>>,
}

impl Export {
    /// True while it is queued or running (its page keeps refreshing).
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "running")
    }

    /// Rows a second so far and the seconds left at that rate, while it runs: `None`
    /// before the first rows or without a start time; the time left also needs the total.
    pub fn rate_and_eta(&self, now: DateTime<Utc>) -> (Option<f64>, Option<i64>) {
        let Some(started) = self.started_at else {
            return (None, None);
        };
        let elapsed = (now - started).num_milliseconds() as f64 / 1000.0;
        if self.rows_done <= 0 || elapsed <= 0.0 {
            return (None, None);
        }
        let rate = self.rows_done as f64 / elapsed;
        let eta = self
            .rows_total
            .map(|total| ((total - self.rows_done).max(0) as f64 / rate).ceil() as i64);
        (Some(rate), eta)
    }
}

/// What a new export is.
pub struct NewExport<'a> {
    /// `company` or `contact`.
    pub entity: &'a str,
    /// `xlsx` or `csv`.
    pub format: &'a str,
    /// The list's query string.
    pub query: &'a str,
    /// The admin's view.
    pub view: &'a str,
    /// Header language.
    pub locale: &'a str,
}

/// Writes the row (the job); the caller pushes it after commit.
pub async fn create(tx: &mut TenantTx, by: UserId, new: NewExport<'_>) -> AppResult<ExportId> {
    let tenant = tx.tenant();
    Ok(diesel::insert_into(exports::table)
        .values((
            exports::tenant_id.eq(tenant),
            exports::requested_by.eq(by),
            exports::entity.eq(new.entity),
            exports::format.eq(new.format),
            exports::query.eq(new.query),
            exports::view.eq(new.view),
            exports::locale.eq(new.locale),
            exports::enqueued_at.eq(diesel::dsl::now),
        ))
        .returning(exports::id)
        .get_result(&mut **tx)
        .await?)
}

/// An export `user` may see: their own, or any when `admin`. Others are `NotFound`.
pub async fn find_for(
    tx: &mut TenantTx,
    id: ExportId,
    user: UserId,
    admin: bool,
) -> AppResult<Export> {
    let tenant = tx.tenant();
    let mut query = exports::table
        .filter(exports::tenant_id.eq(tenant).and(exports::id.eq(id)))
        .select(Export::as_select())
        .into_boxed();
    if !admin {
        query = query.filter(exports::requested_by.eq(user));
    }
    Ok(query.first(&mut **tx).await?)
}

/// The newest exports `user` may see.
pub async fn recent(tx: &mut TenantTx, user: UserId, admin: bool) -> AppResult<Vec<Export>> {
    let tenant = tx.tenant();
    let mut query = exports::table
        .filter(exports::tenant_id.eq(tenant))
        .select(Export::as_select())
        .order(exports::id.desc())
        .limit(50)
        .into_boxed();
    if !admin {
        query = query.filter(exports::requested_by.eq(user));
    }
    Ok(query.load(&mut **tx).await?)
}

/// Claims a queued export (or one whose lease ran out) for `lease`; `None` when it is
/// done, failed, or held by a live worker.
pub async fn claim(
    tx: &mut TenantTx,
    id: ExportId,
    lease: std::time::Duration,
) -> AppResult<Option<Export>> {
    let tenant = tx.tenant();
    let lease_until = Utc::now()
        + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::minutes(5));
    Ok(diesel::update(exports::table)
        .filter(exports::tenant_id.eq(tenant).and(exports::id.eq(id)))
        .filter(
            exports::status.eq("queued").or(exports::status
                .eq("running")
                .and(exports::lease_until.lt(diesel::dsl::now))),
        )
        .set((
            exports::status.eq("running"),
            exports::attempts.eq(exports::attempts + 1),
            exports::lease_until.eq(lease_until),
            exports::rows_done.eq(0),
            exports::rows_total.eq(None::<i64>),
            exports::started_at.eq(diesel::dsl::now),
        ))
        .returning(Export::as_returning())
        .get_result(&mut **tx)
        .await
        .optional()?)
}

/// Records progress (and extends nothing: the lease covers the whole run).
pub async fn progress(tx: &mut TenantTx, id: ExportId, rows: i64) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(exports::table)
        .filter(exports::tenant_id.eq(tenant).and(exports::id.eq(id)))
        .set(exports::rows_done.eq(rows))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records the number of rows in the view (counted once when an attempt starts).
pub async fn set_total(tx: &mut TenantTx, id: ExportId, total: i64) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(exports::table)
        .filter(exports::tenant_id.eq(tenant).and(exports::id.eq(id)))
        .set(exports::rows_total.eq(total))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks it done with its file.
pub async fn finish(
    tx: &mut TenantTx,
    id: ExportId,
    rows: i64,
    key: &str,
    name: &str,
    size: i64,
) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(exports::table)
        .filter(exports::tenant_id.eq(tenant).and(exports::id.eq(id)))
        .set((
            exports::status.eq("done"),
            exports::rows_done.eq(rows),
            exports::file_key.eq(key),
            exports::file_name.eq(name),
            exports::size_bytes.eq(size),
            exports::finished_at.eq(diesel::dsl::now),
            exports::lease_until.eq(None::<DateTime<Utc>>),
            exports::last_error.eq(None::<String>),
        ))
        .execute(&mut **tx)
        .await?;
    // Its 最新动态 entry, for admins (`crate::history`); once, if a finish is retried.
    diesel::sql_query(
        "INSERT INTO tenant_events
                (tenant_id, actor_id, action, export_id, entity, created_count)
         SELECT tenant_id, requested_by, 'exported', id, entity, rows_done
           FROM exports
          WHERE tenant_id = $1 AND id = $2
         ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::BigInt, _>(tenant.0)
    .bind::<diesel::sql_types::BigInt, _>(id.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a failed attempt: queued again while attempts remain, else failed for good.
pub async fn fail(tx: &mut TenantTx, export: &Export, error: &str) -> AppResult<()> {
    let tenant = tx.tenant();
    let done = export.attempts >= export.max_attempts;
    let error: String = error.chars().take(1000).collect();
    diesel::update(exports::table)
        .filter(exports::tenant_id.eq(tenant).and(exports::id.eq(export.id)))
        .set((
            exports::status.eq(if done { "failed" } else { "queued" }),
            exports::last_error.eq(error),
            exports::lease_until.eq(None::<DateTime<Utc>>),
            exports::enqueued_at.eq(None::<DateTime<Utc>>),
            exports::finished_at.eq(done.then(Utc::now)),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
