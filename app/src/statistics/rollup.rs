//! The nightly ranking rollup: per (tenant, day, owner, visibility) the new, won and lost
//! opportunities (`opportunity_daily`) and the stage entries (`opportunity_stage_daily`)
//! that the ranking, the funnel and the targets sum over a period.
//!
//! - **Days** are dates in the tenant's time zone (`tenants.time_zone`): an opportunity
//!   closed at 23:59 in Shanghai counts on that day, one at 00:00 on the next.
//! - **Only changed days.** Triggers on `opportunities` and `opportunity_events` mark the
//!   days a write touches in `opportunity_dirty_days` (old and new days on an update, one
//!   mark per day and transaction). A run recomputes the marked days that are over in the
//!   tenant's time zone (today keeps changing, so it stays marked) and nothing else.
//! - **Idempotent per (tenant, day).** A tenant's due days are recomputed in batches (up
//!   to 500 days), each in one transaction with set-based statements: take each day's
//!   advisory lock (two workers never recompute the same day at once), delete the marks
//!   it can see, delete those days' rows, insert them again from the opportunities.
//!   Running twice gives the same rows; a run killed halfway leaves each day either done
//!   (marks gone) or untouched (marks there), and the next run does the rest. A change
//!   committed while a day is recomputed has its own mark, which the recompute cannot see
//!   and so does not delete.
//! - **Never stale.** The pages read these rows only for days that are not marked and
//!   compute the marked ones live with the same SQL ([`FACT_WINDOWS`], [`LIVE_DAILY`],
//!   [`LIVE_STAGES`]), so
//!   a figure is exact the moment the write commits; the rollup only makes it cheap.
//!
//! Amounts are the opportunities' current amounts and owners: a change of amount, owner or
//! visibility marks every day the opportunity counts on.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Date, Integer, Timestamptz},
};
use diesel_async::RunQueryDsl;

use crate::{
    db::{DbPool, TenantTx},
    error::AppResult,
    ids::TenantId,
};

/// The days of a CTE `fact_days(day)` that the query defines first, for tenant `$1`: a
/// CTE `fact_windows(day)` and `fact_span(lo, hi, tz)`, the instants the first day starts
/// and the last day ends in the tenant's time zone, and the zone. [`LIVE_DAILY`] and
/// [`LIVE_STAGES`] follow it.
///
/// A row belongs to the day its timestamp falls on in the tenant's time zone. The facts
/// read the rows of the span by the `(tenant_id, <timestamp>)` index and join them to the
/// days by that computed day (a hash join), not by each day's time range: PostgreSQL
/// misestimates a range join and would scan the tenant once per day (measured on 1M
/// opportunities: minutes for 500 days, against seconds; BENCHMARKS.md, issue 11).
pub const FACT_WINDOWS: &str = "
fact_windows AS (
    SELECT DISTINCT day FROM fact_days
),
fact_span AS (
    SELECT min(w.day)::timestamp AT TIME ZONE t.time_zone AS lo,
           (max(w.day) + 1)::timestamp AT TIME ZONE t.time_zone AS hi,
           t.time_zone AS tz
      FROM fact_windows w JOIN tenants t ON t.id = $1
     GROUP BY t.time_zone
)";

/// The facts of the [`FACT_WINDOWS`] days: a CTE `live_daily(day, owner_id, visibility,
/// created_count, created_amount, won_count, won_amount, lost_count, lost_amount)`.
pub const LIVE_DAILY: &str = "
fact_created AS (
    SELECT w.day, o.owner_id, o.visibility, count(*)::int AS n, sum(o.amount)::bigint AS amount
      FROM opportunities o
      JOIN fact_windows w
        ON w.day = (o.created_at AT TIME ZONE (SELECT tz FROM fact_span))::date
     WHERE o.tenant_id = $1
       AND o.created_at >= (SELECT lo FROM fact_span) AND o.created_at < (SELECT hi FROM fact_span)
     GROUP BY 1, 2, 3
),
fact_closed AS (
    SELECT w.day, o.owner_id, o.visibility,
           count(*) FILTER (WHERE o.status = 'won')::int AS won_count,
           coalesce(sum(o.amount) FILTER (WHERE o.status = 'won'), 0)::bigint AS won_amount,
           count(*) FILTER (WHERE o.status = 'lost')::int AS lost_count,
           coalesce(sum(o.amount) FILTER (WHERE o.status = 'lost'), 0)::bigint AS lost_amount
      FROM opportunities o
      JOIN fact_windows w
        ON w.day = (o.closed_at AT TIME ZONE (SELECT tz FROM fact_span))::date
     WHERE o.tenant_id = $1
       AND o.closed_at >= (SELECT lo FROM fact_span) AND o.closed_at < (SELECT hi FROM fact_span)
     GROUP BY 1, 2, 3
),
live_daily AS (
    SELECT day, owner_id, visibility,
           coalesce(c.n, 0) AS created_count, coalesce(c.amount, 0) AS created_amount,
           coalesce(k.won_count, 0) AS won_count, coalesce(k.won_amount, 0) AS won_amount,
           coalesce(k.lost_count, 0) AS lost_count, coalesce(k.lost_amount, 0) AS lost_amount
      FROM fact_created c FULL JOIN fact_closed k USING (day, owner_id, visibility)
)";

/// The stage entries of the [`FACT_WINDOWS`] days: a CTE `live_stages(day, owner_id,
/// visibility, stage_id, entered, entered_amount)`, each opportunity counted once per
/// stage and day.
pub const LIVE_STAGES: &str = "
stage_entries AS (
    SELECT DISTINCT w.day, e.opportunity_id, e.to_stage_id AS stage_id,
           o.owner_id, o.visibility, o.amount
      FROM opportunity_events e
      JOIN fact_windows w
        ON w.day = (e.created_at AT TIME ZONE (SELECT tz FROM fact_span))::date
      JOIN opportunities o ON o.tenant_id = e.tenant_id AND o.id = e.opportunity_id
     WHERE e.tenant_id = $1 AND e.to_stage_id IS NOT NULL AND e.action IN ('created', 'stage')
       AND e.created_at >= (SELECT lo FROM fact_span) AND e.created_at < (SELECT hi FROM fact_span)
),
live_stages AS (
    SELECT day, owner_id, visibility, stage_id, count(*)::int AS entered,
           sum(amount)::bigint AS entered_amount
      FROM stage_entries
     GROUP BY 1, 2, 3, 4
)";

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// (tenant, day)s recomputed.
    pub days: usize,
    /// Rollup rows written for them.
    pub rows: usize,
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = Date)]
    day: NaiveDate,
}

/// Due (tenant, day)s fetched per query.
const BATCH: i32 = 500;

/// Recomputes every dirty (tenant, day) that is over at `now` in its tenant's time zone,
/// at most `limit` of them (`None`: all), in (tenant, day) order.
pub async fn run(db: &DbPool, now: DateTime<Utc>, limit: Option<usize>) -> anyhow::Result<Report> {
    let mut report = Report::default();
    // Before any tenant and day (NaiveDate::MIN is beyond PostgreSQL's dates).
    let mut after = (
        TenantId(0),
        NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default(),
    );
    loop {
        let left = limit.map_or(usize::MAX, |l| l - report.days);
        if left == 0 {
            return Ok(report);
        }
        let due: Vec<Due> = {
            let mut conn = db.get().await?;
            diesel::sql_query("SELECT tenant_id, day FROM kehu_rollup_due_days($1, $2, $3, $4)")
                .bind::<Timestamptz, _>(now)
                .bind::<BigInt, _>(after.0)
                .bind::<Date, _>(after.1)
                .bind::<Integer, _>(BATCH.min(i32::try_from(left).unwrap_or(BATCH)))
                .load(&mut conn)
                .await?
        };
        let Some(last) = due.last() else {
            return Ok(report);
        };
        after = (last.tenant_id, last.day);
        // One transaction per tenant and batch: a full rollup (every day dirty) is a few
        // set-based statements per tenant, not one round of them per day.
        for days in due.chunk_by(|a, b| a.tenant_id == b.tenant_id) {
            let tenant = days[0].tenant_id;
            let days: Vec<NaiveDate> = days.iter().map(|d| d.day).collect();
            let (done, rows) = recompute_days(db, tenant, &days).await?;
            report.days += done;
            report.rows += rows;
        }
    }
}

#[derive(QueryableByName)]
struct Marked {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
}

/// Recomputes one (tenant, day) in one transaction; `None` when its marks were gone (a
/// concurrent run did it).
pub async fn recompute_day(
    db: &DbPool,
    tenant: TenantId,
    day: NaiveDate,
) -> AppResult<Option<usize>> {
    let (done, rows) = recompute_days(db, tenant, &[day]).await?;
    Ok((done > 0).then_some(rows))
}

/// Recomputes some days of one tenant in one transaction: each day's lock is taken in
/// day order (so two runs cannot deadlock), then only the days whose marks it could
/// still delete are rebuilt (the others a concurrent run did). Returns the days rebuilt
/// and the rows written.
pub async fn recompute_days(
    db: &DbPool,
    tenant: TenantId,
    days: &[NaiveDate],
) -> AppResult<(usize, usize)> {
    let mut days = days.to_vec();
    days.sort_unstable();
    days.dedup();
    let mut tx = TenantTx::begin(db, tenant).await?;
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('kehu_rollup:' || $1 || ':' || d, 0))
           FROM unnest($2::date[]) AS d ORDER BY d",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<Array<Date>, _>(&days)
    .execute(&mut *tx)
    .await?;
    let marked: Vec<Marked> = diesel::sql_query(
        "DELETE FROM opportunity_dirty_days WHERE tenant_id = $1 AND day = ANY($2)
         RETURNING day",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<Array<Date>, _>(&days)
    .load(&mut *tx)
    .await?;
    let mut days: Vec<NaiveDate> = marked.into_iter().map(|m| m.day).collect();
    days.sort_unstable();
    days.dedup();
    if days.is_empty() {
        tx.commit().await?;
        return Ok((0, 0));
    }
    for table in ["opportunity_daily", "opportunity_stage_daily"] {
        diesel::sql_query(format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND day = ANY($2)"
        ))
        .bind::<BigInt, _>(tenant)
        .bind::<Array<Date>, _>(&days)
        .execute(&mut *tx)
        .await?;
    }
    let daily = diesel::sql_query(format!(
        "WITH fact_days AS (SELECT unnest($2::date[]) AS day), {FACT_WINDOWS}, {LIVE_DAILY}
         INSERT INTO opportunity_daily (tenant_id, day, owner_id, visibility, created_count,
                created_amount, won_count, won_amount, lost_count, lost_amount)
         SELECT $1, day, owner_id, visibility, created_count, created_amount,
                won_count, won_amount, lost_count, lost_amount
           FROM live_daily"
    ))
    .bind::<BigInt, _>(tenant)
    .bind::<Array<Date>, _>(&days)
    .execute(&mut *tx)
    .await?;
    let stages = diesel::sql_query(format!(
        "WITH fact_days AS (SELECT unnest($2::date[]) AS day), {FACT_WINDOWS}, {LIVE_STAGES}
         INSERT INTO opportunity_stage_daily (tenant_id, day, owner_id, visibility, stage_id,
                entered, entered_amount)
         SELECT $1, day, owner_id, visibility, stage_id, entered, entered_amount
           FROM live_stages"
    ))
    .bind::<BigInt, _>(tenant)
    .bind::<Array<Date>, _>(&days)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((days.len(), daily + stages))
}
