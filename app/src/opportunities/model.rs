//! Opportunities: queries and writes. Reads go through a [`Scope`] (`Scope::opportunities`)
//! so nobody sees what they may not; every function also filters on the transaction's
//! tenant explicitly.

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

use diesel::{
    dsl::sql,
    prelude::*,
    sql_types::{BigInt, Nullable},
};
use diesel_async::RunQueryDsl;
use serde_json::Value;

use crate::{
    customers::visibility::Scope,
    db::TenantTx,
    error::{AppError, AppResult},
    files::DeletedFiles,
    history::Change,
    ids::{
        CompanyId, LostReasonId, OpportunityCategoryId, OpportunityId, StageId, TenantId, UserId,
    },
    schema::{companies, opportunities, opportunity_events, users},
};

/// 跟踪中 / 已经成功 / 失败.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 跟踪中: still open.
    Tracking,
    /// 已经成功.
    Won,
    /// 失败.
    Lost,
}

impl Status {
    /// Every status, in the order the buttons show them.
    pub const ALL: [Self; 3] = [Self::Tracking, Self::Won, Self::Lost];

    /// The database spelling (also the locale key suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tracking => "tracking",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    /// Parses the database spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// An opportunity as pages show it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = opportunities)]
pub struct Opportunity {
    /// Id.
    pub id: OpportunityId,
    /// The company it is with.
    pub company_id: CompanyId,
    /// Name.
    pub name: String,
    /// 简介.
    pub description: String,
    /// Minor units of `currency`.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// 分类.
    pub category_id: Option<OpportunityCategoryId>,
    /// The pipeline stage.
    pub stage_id: StageId,
    /// `tracking`, `won` or `lost` (see [`Status`]).
    pub status: String,
    /// Why it was lost.
    pub lost_reason_id: Option<LostReasonId>,
    /// The loser's own words.
    pub lost_note: String,
    /// 预计成交日期.
    pub expected_close: Option<NaiveDate>,
    /// When it was won or lost.
    pub closed_at: Option<DateTime<Utc>>,
    /// 负责人.
    pub owner_id: UserId,
    /// `public` or `private`.
    pub visibility: String,
    /// Custom field values by field id.
    pub custom: Value,
    /// Created by.
    pub created_by: UserId,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Opportunity {
    /// Its status.
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Tracking)
    }
}

/// The fields a user edits, for both create and update.
#[derive(Clone, Debug, AsChangeset, Insertable)]
#[diesel(table_name = opportunities, treat_none_as_null = true)]
pub struct OpportunityFields {
    /// Name.
    pub name: String,
    /// 简介.
    pub description: String,
    /// Minor units.
    pub amount: i64,
    /// 分类.
    pub category_id: Option<OpportunityCategoryId>,
    /// Stage.
    pub stage_id: StageId,
    /// 预计成交日期.
    pub expected_close: Option<NaiveDate>,
    /// 负责人.
    pub owner_id: UserId,
    /// `public` or `private`.
    pub visibility: String,
    /// Custom field values, checked by `custom_fields::validate`.
    pub custom: Value,
}

/// A new opportunity: the edited fields plus what is set once.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = opportunities)]
pub struct NewOpportunity {
    /// The tenant (from the transaction).
    pub tenant_id: TenantId,
    /// The company.
    pub company_id: CompanyId,
    /// ISO 4217 code.
    pub currency: String,
    /// Who created it.
    pub created_by: UserId,
    /// The rest.
    #[diesel(embed)]
    pub fields: OpportunityFields,
}

/// A visible opportunity, or `NotFound` (also when it exists but is not visible).
pub async fn find(tx: &mut TenantTx, scope: &Scope, id: OpportunityId) -> AppResult<Opportunity> {
    find_one(tx, scope, id, false).await
}

/// The same, locking the row for the rest of the transaction (status and stage moves).
pub async fn find_for_update(
    tx: &mut TenantTx,
    scope: &Scope,
    id: OpportunityId,
) -> AppResult<Opportunity> {
    find_one(tx, scope, id, true).await
}

async fn find_one(
    tx: &mut TenantTx,
    scope: &Scope,
    id: OpportunityId,
    lock: bool,
) -> AppResult<Opportunity> {
    let tenant = tx.tenant();
    let query = opportunities::table
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .filter(scope.opportunities())
        .select(Opportunity::as_select());
    Ok(if lock {
        query.for_update().first(&mut **tx).await?
    } else {
        query.first(&mut **tx).await?
    })
}

/// The name of a company of this tenant (an opportunity may be visible when its company
/// is not; its name is part of the opportunity).
pub async fn company_name(tx: &mut TenantTx, company: CompanyId) -> AppResult<String> {
    let tenant = tx.tenant();
    Ok(companies::table
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::id.eq(company)),
        )
        .select(companies::name)
        .first(&mut **tx)
        .await?)
}

/// How many opportunities a company has, visible or not (what deleting it removes).
pub async fn count_of_company(tx: &mut TenantTx, company: CompanyId) -> AppResult<i64> {
    let tenant = tx.tenant();
    Ok(opportunities::table
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::company_id.eq(company)),
        )
        .count()
        .get_result(&mut **tx)
        .await?)
}

/// The visible opportunities of a company, newest first, at most `limit`.
pub async fn of_company(
    tx: &mut TenantTx,
    scope: &Scope,
    company: CompanyId,
    limit: i64,
) -> AppResult<Vec<Opportunity>> {
    let tenant = tx.tenant();
    Ok(opportunities::table
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::company_id.eq(company)),
        )
        .filter(scope.opportunities())
        .order(opportunities::id.desc())
        .limit(limit)
        .select(Opportunity::as_select())
        .load(&mut **tx)
        .await?)
}

/// Inserts an opportunity. A company deleted meanwhile gives `NotFound`.
pub async fn create(tx: &mut TenantTx, new: &NewOpportunity) -> AppResult<OpportunityId> {
    diesel::insert_into(opportunities::table)
        .values(new)
        .returning(opportunities::id)
        .get_result(&mut **tx)
        .await
        .map_err(|err| match err {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => AppError::NotFound,
            other => other.into(),
        })
}

/// Updates the edited fields.
pub async fn update(
    tx: &mut TenantTx,
    id: OpportunityId,
    fields: &OpportunityFields,
) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(opportunities::table)
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .set(fields)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves it to another stage.
pub async fn set_stage(tx: &mut TenantTx, id: OpportunityId, stage: StageId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(opportunities::table)
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .set(opportunities::stage_id.eq(stage))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets the status: won and lost record when (now), tracking clears it and the reason.
pub async fn set_status(
    tx: &mut TenantTx,
    id: OpportunityId,
    status: Status,
    lost: Option<(Option<LostReasonId>, String)>,
) -> AppResult<()> {
    let tenant = tx.tenant();
    let (reason, note) = lost.unwrap_or_default();
    let closed_at = match status {
        Status::Tracking => None,
        Status::Won | Status::Lost => Some(Utc::now()),
    };
    diesel::update(opportunities::table)
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .set((
            opportunities::status.eq(status.as_str()),
            opportunities::closed_at.eq(closed_at),
            opportunities::lost_reason_id.eq(reason),
            opportunities::lost_note.eq(note),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes an opportunity and, through the foreign-key cascades, its notes, their
/// attachment rows and its history. Returns the notes' stored files, to be removed once
/// the transaction has committed.
pub async fn delete(tx: &mut TenantTx, id: OpportunityId) -> AppResult<DeletedFiles> {
    let tenant = tx.tenant();
    // Lock it first: a note being added concurrently has either committed (its files
    // are collected) or fails on its foreign key.
    opportunities::table
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .select(opportunities::id)
        .for_update()
        .first::<OpportunityId>(&mut **tx)
        .await?;
    let files = crate::notes::model::opportunity_files(tx, id).await?;
    diesel::delete(opportunities::table)
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .execute(&mut **tx)
        .await?;
    Ok(files)
}

/// Deletes opportunities as [`delete`] deletes one (the bulk delete). Returns their
/// notes' stored files and each deleted opportunity's company and name (for the
/// companies' histories).
pub async fn delete_many(
    tx: &mut TenantTx,
    ids: &[OpportunityId],
) -> AppResult<(DeletedFiles, Vec<(CompanyId, String)>)> {
    let tenant = tx.tenant();
    let mine = || {
        opportunities::tenant_id
            .eq(tenant)
            .and(opportunities::id.eq_any(ids))
    };
    let deleted: Vec<(CompanyId, String)> = opportunities::table
        .filter(mine())
        .order(opportunities::id)
        .select((opportunities::company_id, opportunities::name))
        .for_update()
        .load(&mut **tx)
        .await?;
    let files = crate::notes::model::opportunities_files(tx, ids).await?;
    diesel::delete(opportunities::table)
        .filter(mine())
        .execute(&mut **tx)
        .await?;
    Ok((files, deleted))
}

/// What an [`Event`] records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Created, in this stage.
    Created(StageId),
    /// Moved between stages.
    Stage(StageId, StageId),
    /// Its status changed.
    Status(Status, Status),
    /// Other fields changed.
    Updated(Vec<Change>),
}

/// Writes a history row (and marks the opportunity active now).
pub async fn record(
    tx: &mut TenantTx,
    id: OpportunityId,
    actor: Option<UserId>,
    kind: EventKind,
) -> AppResult<()> {
    let tenant = tx.tenant();
    let (action, from_stage, to_stage, from_status, to_status, changes) = match kind {
        EventKind::Created(stage) => ("created", None, Some(stage), None, None, vec![]),
        EventKind::Stage(from, to) => ("stage", Some(from), Some(to), None, None, vec![]),
        EventKind::Status(from, to) => (
            "status",
            None,
            None,
            Some(from.as_str()),
            Some(to.as_str()),
            vec![],
        ),
        EventKind::Updated(changes) => ("updated", None, None, None, None, changes),
    };
    let changes = serde_json::to_value(changes).map_err(anyhow::Error::from)?;
    diesel::insert_into(opportunity_events::table)
        .values((
            opportunity_events::tenant_id.eq(tenant),
            opportunity_events::opportunity_id.eq(id),
            opportunity_events::actor_id.eq(actor),
            opportunity_events::action.eq(action),
            opportunity_events::from_stage_id.eq(from_stage),
            opportunity_events::to_stage_id.eq(to_stage),
            opportunity_events::from_status.eq(from_status),
            opportunity_events::to_status.eq(to_status),
            opportunity_events::changes.eq(changes),
        ))
        .execute(&mut **tx)
        .await?;
    diesel::update(opportunities::table)
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .set(opportunities::last_activity_at.eq(diesel::dsl::now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A history row as the detail page shows it.
#[derive(Clone, Debug)]
pub struct Event {
    /// Who acted, if a person did.
    pub actor: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// When.
    pub at: DateTime<Utc>,
}

type EventRow = (
    Option<String>,
    String,
    Option<StageId>,
    Option<StageId>,
    Option<String>,
    Option<String>,
    Value,
    DateTime<Utc>,
);

/// An opportunity's history, newest first, at most `limit` rows.
pub async fn events(tx: &mut TenantTx, id: OpportunityId, limit: i64) -> AppResult<Vec<Event>> {
    let tenant = tx.tenant();
    let rows: Vec<EventRow> = opportunity_events::table
        .left_join(
            users::table.on(users::tenant_id
                .eq(opportunity_events::tenant_id)
                .and(users::id.nullable().eq(opportunity_events::actor_id))),
        )
        .filter(
            opportunity_events::tenant_id
                .eq(tenant)
                .and(opportunity_events::opportunity_id.eq(id)),
        )
        .order(opportunity_events::id.desc())
        .limit(limit)
        .select((
            users::name.nullable(),
            opportunity_events::action,
            opportunity_events::from_stage_id,
            opportunity_events::to_stage_id,
            opportunity_events::from_status,
            opportunity_events::to_status,
            opportunity_events::changes,
            opportunity_events::created_at,
        ))
        .load(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(actor, action, from, to, from_s, to_s, changes, at)| {
            let status = |s: Option<String>| s.as_deref().and_then(Status::parse);
            let kind = match action.as_str() {
                "created" => EventKind::Created(to?),
                "stage" => EventKind::Stage(from?, to?),
                "status" => EventKind::Status(status(from_s)?, status(to_s)?),
                _ => EventKind::Updated(serde_json::from_value(changes).unwrap_or_default()),
            };
            Some(Event { actor, kind, at })
        })
        .collect())
}

/// One card of the board.
#[derive(Clone, Debug)]
pub struct Card {
    /// The opportunity.
    pub opportunity: Opportunity,
    /// Its owner's name.
    pub owner_name: String,
    /// Its company's name.
    pub company_name: String,
}

/// Count and total amount of the visible tracking opportunities per stage.
pub async fn stage_totals(tx: &mut TenantTx, scope: &Scope) -> AppResult<Vec<(StageId, i64, i64)>> {
    let tenant = tx.tenant();
    let rows: Vec<(StageId, i64, Option<i64>)> = opportunities::table
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::status.eq("tracking")),
        )
        .filter(scope.opportunities())
        .group_by(opportunities::stage_id)
        .select((
            opportunities::stage_id,
            diesel::dsl::count_star(),
            sql::<Nullable<BigInt>>("sum(opportunities.amount)::bigint"),
        ))
        .load(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(stage, count, sum)| (stage, count, sum.unwrap_or(0)))
        .collect())
}

/// The first `limit` visible tracking opportunities of a stage, newest first, older than
/// `before` (a keyset cursor for the "more" page), with company and owner names.
pub async fn cards(
    tx: &mut TenantTx,
    scope: &Scope,
    stage: StageId,
    before: Option<OpportunityId>,
    limit: i64,
) -> AppResult<Vec<Card>> {
    let tenant = tx.tenant();
    let mut query = opportunities::table
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::status.eq("tracking"))
                .and(opportunities::stage_id.eq(stage)),
        )
        .filter(scope.opportunities())
        .order(opportunities::id.desc())
        .limit(limit)
        .select(Opportunity::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(opportunities::id.lt(before));
    }
    let rows: Vec<Opportunity> = query.load(&mut **tx).await?;
    let company_ids: Vec<CompanyId> = rows.iter().map(|o| o.company_id).collect();
    let owner_ids: Vec<UserId> = rows.iter().map(|o| o.owner_id).collect();
    let company_names: HashMap<CompanyId, String> = companies::table
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::id.eq_any(company_ids)),
        )
        .select((companies::id, companies::name))
        .load::<(CompanyId, String)>(&mut **tx)
        .await?
        .into_iter()
        .collect();
    let owner_names: HashMap<UserId, String> = users::table
        .filter(users::tenant_id.eq(tenant).and(users::id.eq_any(owner_ids)))
        .select((users::id, users::name))
        .load::<(UserId, String)>(&mut **tx)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|o| Card {
            owner_name: owner_names.get(&o.owner_id).cloned().unwrap_or_default(),
            company_name: company_names
                .get(&o.company_id)
                .cloned()
                .unwrap_or_default(),
            opportunity: o,
        })
        .collect())
}

/// Marks it active now (a note was added).
pub async fn touch(tx: &mut TenantTx, id: OpportunityId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(opportunities::table)
        .filter(
            opportunities::tenant_id
                .eq(tenant)
                .and(opportunities::id.eq(id)),
        )
        .set(opportunities::last_activity_at.eq(diesel::dsl::now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
