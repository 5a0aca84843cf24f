//! Sales targets, and the won and open opportunity amounts they are compared with:
//! queries and writes. Every query filters on the transaction's tenant and on the
//! people the caller passes (already checked against the viewer's scope).
//!
//! Amounts are CNY fen: opportunities in another currency do not count towards a target.
//! A month is the tenant's calendar month: `closed_at` is read in the tenant's time zone.

use diesel::{
    QueryableByName,
    prelude::*,
    sql_types::{Array, BigInt, Date, Integer, Nullable, Text},
    upsert::excluded,
};
use diesel_async::RunQueryDsl;

use crate::{db::TenantTx, error::AppResult, ids::UserId, schema::sales_targets, targets::Month};

/// One person's target for one month.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = sales_targets)]
pub struct Target {
    /// Whose target.
    pub user_id: UserId,
    /// Calendar year.
    pub year: i32,
    /// 1..=12.
    pub month: i32,
    /// Fen.
    pub amount: i64,
    /// Who set it for them; `None` when they set it themselves.
    pub assigned_by: Option<UserId>,
}

impl Target {
    /// The month it is for.
    pub fn month(&self) -> Month {
        Month::new(self.year, self.month as u32)
    }
}

/// The targets of `people` in the years `years` (inclusive), optionally only one month.
pub async fn targets(
    tx: &mut TenantTx,
    people: &[UserId],
    years: (i32, i32),
    only_month: Option<u32>,
) -> AppResult<Vec<Target>> {
    let tenant = tx.tenant();
    let mut query = sales_targets::table
        .filter(sales_targets::tenant_id.eq(tenant))
        .filter(sales_targets::user_id.eq_any(people.to_vec()))
        .filter(sales_targets::year.between(years.0, years.1))
        .select(Target::as_select())
        .order((
            sales_targets::user_id,
            sales_targets::year,
            sales_targets::month,
        ))
        .into_boxed();
    if let Some(month) = only_month {
        query = query.filter(sales_targets::month.eq(month as i32));
    }
    Ok(query.load(&mut **tx).await?)
}

/// What one month of the target form changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// 1..=12.
    pub month: u32,
    /// The new amount in fen; `None` removes the target.
    pub amount: Option<i64>,
}

/// Applies the changed months of `user`'s targets in `year`; `assigned_by` is who set
/// them (`None`: the user themselves).
pub async fn save(
    tx: &mut TenantTx,
    user: UserId,
    year: i32,
    changes: &[Change],
    assigned_by: Option<UserId>,
) -> AppResult<()> {
    let tenant = tx.tenant();
    let (set, cleared): (Vec<Change>, Vec<Change>) =
        changes.iter().partition(|c| c.amount.is_some());
    if !cleared.is_empty() {
        let months: Vec<i32> = cleared.iter().map(|c| c.month as i32).collect();
        diesel::delete(
            sales_targets::table
                .filter(sales_targets::tenant_id.eq(tenant))
                .filter(sales_targets::user_id.eq(user))
                .filter(sales_targets::year.eq(year))
                .filter(sales_targets::month.eq_any(months)),
        )
        .execute(&mut **tx)
        .await?;
    }
    if !set.is_empty() {
        let rows: Vec<_> = set
            .iter()
            .map(|c| {
                (
                    sales_targets::tenant_id.eq(tenant),
                    sales_targets::user_id.eq(user),
                    sales_targets::year.eq(year),
                    sales_targets::month.eq(c.month as i32),
                    sales_targets::amount.eq(c.amount.unwrap_or_default()),
                    sales_targets::assigned_by.eq(assigned_by),
                )
            })
            .collect();
        diesel::insert_into(sales_targets::table)
            .values(rows)
            .on_conflict((
                sales_targets::tenant_id,
                sales_targets::user_id,
                sales_targets::year,
                sales_targets::month,
            ))
            .do_update()
            .set((
                sales_targets::amount.eq(excluded(sales_targets::amount)),
                sales_targets::assigned_by.eq(excluded(sales_targets::assigned_by)),
            ))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// One person and month: the key of the sums below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, QueryableByName)]
pub struct PersonMonth {
    /// Whose.
    #[diesel(sql_type = BigInt)]
    pub user_id: UserId,
    /// Calendar year.
    #[diesel(sql_type = Integer)]
    pub year: i32,
    /// 1..=12.
    #[diesel(sql_type = Integer)]
    pub month: i32,
}

impl PersonMonth {
    /// The month it is for.
    pub fn month(&self) -> Month {
        Month::new(self.year, self.month as u32)
    }
}

/// The won amount of one person in one month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, QueryableByName)]
pub struct MonthSum {
    /// Whose and when.
    #[diesel(embed)]
    pub key: PersonMonth,
    /// Fen.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
}

/// The won amount of each of `people` per month they closed in, from the start of `from`
/// to the start of `until` (exclusive), optionally only one calendar month of each year.
pub async fn won_by_month(
    tx: &mut TenantTx,
    time_zone: &str,
    people: &[UserId],
    (from, until): (Month, Month),
    only_month: Option<u32>,
) -> AppResult<Vec<MonthSum>> {
    let tenant = tx.tenant();
    Ok(diesel::sql_query(
        "SELECT owner_id AS user_id,
                extract(year FROM local)::int AS year,
                extract(month FROM local)::int AS month,
                sum(amount)::bigint AS amount
           FROM (SELECT owner_id, amount, closed_at AT TIME ZONE $2 AS local
                   FROM opportunities
                  WHERE tenant_id = $1 AND status = 'won' AND currency = 'CNY'
                    AND owner_id = ANY($3)
                    AND closed_at >= ($4::timestamp AT TIME ZONE $2)
                    AND closed_at < ($5::timestamp AT TIME ZONE $2)) won
          WHERE $6::int IS NULL OR extract(month FROM local) = $6
          GROUP BY 1, 2, 3",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<Text, _>(time_zone)
    .bind::<Array<BigInt>, _>(people)
    .bind::<Date, _>(from.first_day())
    .bind::<Date, _>(until.first_day())
    .bind::<Nullable<Integer>, _>(only_month.map(|m| m as i32))
    .load(&mut **tx)
    .await?)
}

/// The open (跟踪中) opportunities of one person expected to close in one month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, QueryableByName)]
pub struct OpenSum {
    /// Whose, and the month of the expected close date.
    #[diesel(embed)]
    pub key: PersonMonth,
    /// How many.
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Their amount, fen.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    /// Their amount weighted by their stage's win probability, fen (rounded once per
    /// person and month).
    #[diesel(sql_type = BigInt)]
    pub weighted: i64,
}

/// The open opportunities of `people` by expected close month, from `from` to `until`
/// (exclusive).
pub async fn open_by_month(
    tx: &mut TenantTx,
    people: &[UserId],
    (from, until): (Month, Month),
) -> AppResult<Vec<OpenSum>> {
    let tenant = tx.tenant();
    Ok(diesel::sql_query(
        "SELECT o.owner_id AS user_id,
                extract(year FROM o.expected_close)::int AS year,
                extract(month FROM o.expected_close)::int AS month,
                count(*) AS count,
                sum(o.amount)::bigint AS amount,
                round(sum(o.amount::numeric * s.probability) / 100)::bigint AS weighted
           FROM opportunities o
           JOIN opportunity_stages s ON s.tenant_id = o.tenant_id AND s.id = o.stage_id
          WHERE o.tenant_id = $1 AND o.status = 'tracking' AND o.currency = 'CNY'
            AND o.owner_id = ANY($2)
            AND o.expected_close >= $3 AND o.expected_close < $4
          GROUP BY 1, 2, 3",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<Array<BigInt>, _>(people)
    .bind::<Date, _>(from.first_day())
    .bind::<Date, _>(until.first_day())
    .load(&mut **tx)
    .await?)
}

/// The first year with a target or a won opportunity of any of `people`.
pub async fn first_year(
    tx: &mut TenantTx,
    time_zone: &str,
    people: &[UserId],
) -> AppResult<Option<i32>> {
    #[derive(QueryableByName)]
    struct First {
        #[diesel(sql_type = Nullable<Integer>)]
        year: Option<i32>,
    }
    let tenant = tx.tenant();
    let first: First = diesel::sql_query(
        "SELECT least(
                    (SELECT min(year) FROM sales_targets
                      WHERE tenant_id = $1 AND user_id = ANY($3)),
                    (SELECT extract(year FROM min(closed_at) AT TIME ZONE $2)::int
                       FROM opportunities
                      WHERE tenant_id = $1 AND status = 'won' AND owner_id = ANY($3)
                        AND closed_at IS NOT NULL)) AS year",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<Text, _>(time_zone)
    .bind::<Array<BigInt>, _>(people)
    .get_result(&mut **tx)
    .await?;
    Ok(first.year)
}
