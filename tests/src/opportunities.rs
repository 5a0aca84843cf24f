//! [`OpportunityBuilder`]: opportunities written straight into a test's database (as the
//! owner role), for tests of what reads them — targets, forecasts, rankings — without
//! driving the opportunity pages.

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Nullable, SmallInt, Text},
};
use diesel_async::RunQueryDsl;

use crate::TestApp;

/// Fen of `n` yuan.
pub const fn yuan(n: i64) -> i64 {
    n * 100
}

/// An opportunity to insert. Unless told otherwise it is tracking, CNY 0, at a stage
/// of 0 % and without an expected close date, on a company of its owner's.
#[derive(Clone, Debug)]
pub struct OpportunityBuilder {
    tenant: i64,
    owner: i64,
    name: String,
    amount: i64,
    currency: String,
    status: &'static str,
    closed_at: Option<String>,
    expected_close: Option<String>,
    probability: i16,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

impl OpportunityBuilder {
    /// An opportunity of `owner` in `tenant`.
    pub fn new(tenant: i64, owner: i64) -> Self {
        Self {
            tenant,
            owner,
            name: "测试销售机会".into(),
            amount: 0,
            currency: "CNY".into(),
            status: "tracking",
            closed_at: None,
            expected_close: None,
            probability: 0,
        }
    }

    /// Its name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Its amount in fen.
    pub fn amount(mut self, fen: i64) -> Self {
        self.amount = fen;
        self
    }

    /// Its currency code.
    pub fn currency(mut self, code: &str) -> Self {
        self.currency = code.into();
        self
    }

    /// Won at `at`, a timestamptz literal such as `2026-01-31 23:30:00+08`.
    pub fn won_at(mut self, at: &str) -> Self {
        self.status = "won";
        self.closed_at = Some(at.into());
        self
    }

    /// Lost at `at`.
    pub fn lost_at(mut self, at: &str) -> Self {
        self.status = "lost";
        self.closed_at = Some(at.into());
        self
    }

    /// Expected to close on `date` (`2026-12-20`).
    pub fn expected(mut self, date: &str) -> Self {
        self.expected_close = Some(date.into());
        self
    }

    /// At a stage with this win probability (one stage per probability and tenant,
    /// named `阶段 <p>%`).
    pub fn probability(mut self, percent: i16) -> Self {
        self.probability = percent;
        self
    }

    /// Inserts it (and its company and stage when missing); returns its id.
    pub async fn insert(self, app: &TestApp) -> i64 {
        let mut conn = app.owner_conn().await;
        let company: Id = diesel::sql_query(
            "WITH found AS (SELECT id FROM companies WHERE tenant_id = $1 AND owner_id = $2
                              AND name = '销售机会测试客户' LIMIT 1),
                  made AS (INSERT INTO companies (tenant_id, name, owner_id, created_by)
                           SELECT $1, '销售机会测试客户', $2, $2
                            WHERE NOT EXISTS (SELECT 1 FROM found) RETURNING id)
             SELECT id FROM found UNION ALL SELECT id FROM made",
        )
        .bind::<BigInt, _>(self.tenant)
        .bind::<BigInt, _>(self.owner)
        .get_result(&mut conn)
        .await
        .expect("the test company");
        let stage: Id = diesel::sql_query(
            "INSERT INTO opportunity_stages (tenant_id, name, probability, position)
             VALUES ($1, '阶段 ' || $2 || '%', $2, $2)
             ON CONFLICT (tenant_id, name) DO UPDATE SET probability = EXCLUDED.probability
             RETURNING id",
        )
        .bind::<BigInt, _>(self.tenant)
        .bind::<SmallInt, _>(self.probability)
        .get_result(&mut conn)
        .await
        .expect("the test stage");
        let row: Id = diesel::sql_query(
            "INSERT INTO opportunities (tenant_id, company_id, name, amount, currency, stage_id,
                                        status, closed_at, expected_close, owner_id, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::date, $10, $10)
             RETURNING id",
        )
        .bind::<BigInt, _>(self.tenant)
        .bind::<BigInt, _>(company.id)
        .bind::<Text, _>(&self.name)
        .bind::<BigInt, _>(self.amount)
        .bind::<Text, _>(&self.currency)
        .bind::<BigInt, _>(stage.id)
        .bind::<Text, _>(self.status)
        .bind::<Nullable<Text>, _>(self.closed_at.as_deref())
        .bind::<Nullable<Text>, _>(self.expected_close.as_deref())
        .bind::<BigInt, _>(self.owner)
        .get_result(&mut conn)
        .await
        .expect("the opportunity");
        row.id
    }
}
