//! The statistics queries. Each takes the tenant's transaction and the viewer's
//! [`Rule`] (their [`Scope`](crate::customers::visibility::Scope) as bind values), so a
//! figure only ever counts opportunities the viewer may see; `team` narrows further to
//! a manager's team.
//!
//! Period figures read the rollup rows for days that are not dirty and compute the dirty
//! days (today among them) live with the rollup's own SQL, in one statement, so the two
//! halves see one snapshot (see [`super::rollup`]).

use chrono::NaiveDate;
use diesel::{
    QueryableByName,
    pg::Pg,
    query_builder::{BoxedSqlQuery, SqlQuery},
    sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, SmallInt, Text},
};
use diesel_async::RunQueryDsl;

use super::rollup::{FACT_WINDOWS, LIVE_DAILY, LIVE_STAGES};
use crate::{
    customers::visibility::Rule,
    db::TenantTx,
    error::AppResult,
    ids::{OpportunityCategoryId, StageId, TenantId, UserId},
};

type Query<'a> = BoxedSqlQuery<'a, Pg, SqlQuery>;

/// The days of tenant `$1` from `$2` to `$3` that are dirty (`dirty(day)`), which are the
/// ones computed live ([`FACT_WINDOWS`] of them); the others come from the rollup.
const PERIOD_DAYS: &str = "
dirty AS (
    SELECT DISTINCT day FROM opportunity_dirty_days
     WHERE tenant_id = $1 AND day BETWEEN $2 AND $3
),
fact_days AS (SELECT day FROM dirty)";

/// `x` is visible under the rule bound at `$first`, `$first + 1`, `$first + 2`, and in
/// the team bound at `$first + 3` (NULL: no team).
fn visible(first: usize) -> String {
    format!(
        "(${first} OR (x.visibility = 'public' AND ${}) OR x.owner_id = ANY(${})) \
         AND (${}::bigint[] IS NULL OR x.owner_id = ANY(${}))",
        first + 1,
        first + 2,
        first + 3,
        first + 3
    )
}

/// `sql` over a period: the tenant at `$1`, the days `$2..=$3`, the rule and team after.
fn period_query<'a>(
    sql: &str,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
    rule: &Rule,
    team: Option<&[UserId]>,
) -> Query<'a> {
    let query = diesel::sql_query(sql.to_owned())
        .into_boxed()
        .bind::<BigInt, _>(tenant)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to);
    bind_visible(query, rule, team)
}

fn bind_visible<'a>(query: Query<'a>, rule: &Rule, team: Option<&[UserId]>) -> Query<'a> {
    query
        .bind::<Bool, _>(rule.everything)
        .bind::<Bool, _>(rule.public)
        .bind::<Array<BigInt>, _>(rule.owners.clone())
        .bind::<Nullable<Array<BigInt>>, _>(team.map(<[UserId]>::to_vec))
}

/// How the opportunities split by one dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// 状态.
    Status,
    /// 阶段.
    Stage,
    /// 分类.
    Category,
}

/// One slice of the distribution.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct Slice {
    /// `GROUPING(status, stage_id, category_id)`: which dimension the row is of.
    #[diesel(sql_type = Integer)]
    grouping: i32,
    /// The status (for [`Dimension::Status`]).
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<String>,
    /// The stage (for [`Dimension::Stage`]).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub stage_id: Option<StageId>,
    /// The category (for [`Dimension::Category`]; `None` for uncategorised ones).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub category_id: Option<OpportunityCategoryId>,
    /// Opportunities.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Their amount, fen.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
}

impl Slice {
    /// The dimension of this slice.
    pub fn dimension(&self) -> Dimension {
        match self.grouping {
            3 => Dimension::Status,
            5 => Dimension::Stage,
            _ => Dimension::Category,
        }
    }
}

/// 比例图: the visible opportunities (of one status, if given) by status, by stage and by
/// category, in one scan.
pub async fn distribution(
    tx: &mut TenantTx,
    rule: &Rule,
    status: Option<&str>,
) -> AppResult<Vec<Slice>> {
    let tenant = tx.tenant();
    let query = diesel::sql_query(format!(
        "SELECT GROUPING(x.status, x.stage_id, x.category_id) AS grouping,
                x.status, x.stage_id, x.category_id,
                count(*) AS count, coalesce(sum(x.amount), 0)::bigint AS amount
           FROM opportunities x
          WHERE x.tenant_id = $1 AND ($2::text IS NULL OR x.status = $2) AND {}
          GROUP BY GROUPING SETS ((x.status), (x.stage_id), (x.category_id))",
        visible(3)
    ))
    .into_boxed()
    .bind::<BigInt, _>(tenant)
    .bind::<Nullable<Text>, _>(status.map(str::to_owned));
    Ok(bind_visible(query, rule, None).load(&mut **tx).await?)
}

/// One employee's figures over a period.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct Figures {
    /// The owner.
    #[diesel(sql_type = BigInt)]
    pub owner_id: UserId,
    /// Won in the period (by close day).
    #[diesel(sql_type = BigInt)]
    pub won_count: i64,
    /// Their amount, fen.
    #[diesel(sql_type = BigInt)]
    pub won_amount: i64,
    /// Lost in the period.
    #[diesel(sql_type = BigInt)]
    pub lost_count: i64,
    /// Created in the period.
    #[diesel(sql_type = BigInt)]
    pub new_count: i64,
    /// Their amount, fen.
    #[diesel(sql_type = BigInt)]
    pub new_amount: i64,
    /// Tracking now (跟踪中), whatever the period.
    #[diesel(sql_type = BigInt)]
    pub open_count: i64,
    /// Their amount, fen.
    #[diesel(sql_type = BigInt)]
    pub open_amount: i64,
}

impl Figures {
    /// No figures for `owner`.
    pub fn none(owner: UserId) -> Self {
        Self {
            owner_id: owner,
            won_count: 0,
            won_amount: 0,
            lost_count: 0,
            new_count: 0,
            new_amount: 0,
            open_count: 0,
            open_amount: 0,
        }
    }
}

/// 销售排行榜: per owner, the won, lost and new opportunities of `from..=to` and the open
/// ones now (kept current by the opportunities' triggers in `opportunity_open`). Owners
/// without a visible opportunity are not in the result.
pub async fn ranking(
    tx: &mut TenantTx,
    rule: &Rule,
    team: Option<&[UserId]>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<Figures>> {
    let sql = format!(
        "WITH {PERIOD_DAYS}, {FACT_WINDOWS}, {LIVE_DAILY},
         open AS (
             SELECT owner_id, visibility, open_count AS n, open_amount AS amount
               FROM opportunity_open
              WHERE tenant_id = $1 AND open_count <> 0
         ),
         x AS (
             SELECT owner_id, visibility, created_count, created_amount, won_count,
                    won_amount, lost_count, 0::bigint AS open_count, 0::numeric AS open_amount
               FROM opportunity_daily r
              WHERE r.tenant_id = $1 AND r.day BETWEEN $2 AND $3
                AND r.day NOT IN (SELECT day FROM dirty)
             UNION ALL
             SELECT owner_id, visibility, created_count, created_amount, won_count,
                    won_amount, lost_count, 0, 0
               FROM live_daily
             UNION ALL
             SELECT owner_id, visibility, 0, 0, 0, 0, 0, n, amount FROM open
         )
         SELECT x.owner_id,
                sum(x.won_count)::bigint AS won_count, sum(x.won_amount)::bigint AS won_amount,
                sum(x.lost_count)::bigint AS lost_count,
                sum(x.created_count)::bigint AS new_count,
                sum(x.created_amount)::bigint AS new_amount,
                sum(x.open_count)::bigint AS open_count, sum(x.open_amount)::bigint AS open_amount
           FROM x
          WHERE {}
          GROUP BY x.owner_id",
        visible(4)
    );
    Ok(period_query(&sql, tx.tenant(), from, to, rule, team)
        .load(&mut **tx)
        .await?)
}

/// One stage of the funnel over a period.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct StageEntries {
    /// The stage.
    #[diesel(sql_type = BigInt)]
    pub stage_id: StageId,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Its win probability, percent.
    #[diesel(sql_type = SmallInt)]
    pub probability: i16,
    /// Retired stages are listed only when something entered them.
    #[diesel(sql_type = Bool)]
    pub retired: bool,
    /// Opportunities that entered it in the period (once per day).
    #[diesel(sql_type = BigInt)]
    pub entered: i64,
    /// Their amount, fen.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
}

/// 销售漏斗: every stage in pipeline order with the visible opportunities that entered it
/// in `from..=to` (from the recorded stage history).
pub async fn funnel(
    tx: &mut TenantTx,
    rule: &Rule,
    team: Option<&[UserId]>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<StageEntries>> {
    let sql = format!(
        "WITH {PERIOD_DAYS}, {FACT_WINDOWS}, {LIVE_STAGES},
         x AS (
             SELECT owner_id, visibility, stage_id, entered, entered_amount
               FROM opportunity_stage_daily r
              WHERE r.tenant_id = $1 AND r.day BETWEEN $2 AND $3
                AND r.day NOT IN (SELECT day FROM dirty)
             UNION ALL
             SELECT owner_id, visibility, stage_id, entered, entered_amount FROM live_stages
         ),
         totals AS (
             SELECT x.stage_id, sum(x.entered)::bigint AS entered,
                    sum(x.entered_amount)::bigint AS amount
               FROM x WHERE {} GROUP BY x.stage_id
         )
         SELECT s.id AS stage_id, s.name, s.probability, s.retired,
                coalesce(t.entered, 0) AS entered, coalesce(t.amount, 0) AS amount
           FROM opportunity_stages s LEFT JOIN totals t ON t.stage_id = s.id
          WHERE s.tenant_id = $1 AND (NOT s.retired OR t.entered > 0)
          ORDER BY s.position, s.id",
        visible(4)
    );
    Ok(period_query(&sql, tx.tenant(), from, to, rule, team)
        .load(&mut **tx)
        .await?)
}
