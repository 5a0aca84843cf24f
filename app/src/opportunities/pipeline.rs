//! The tenant's pipeline (阶段), opportunity categories (分类) and lost reasons (失败原因).
//!
//! Every tenant starts with a default pipeline (初步接洽 10% → 需求确认 30% → 方案报价 50%
//! → 商务谈判 80%) and a list of lost reasons, written at sign-up in the signer's
//! language. Tenants that came without them (created before opportunities existed, or by
//! a script) get them the first time a page needs the pipeline; writing them is
//! idempotent (`ON CONFLICT DO NOTHING` on the tenant's unique names), so two requests at
//! once cannot write two pipelines.

use diesel::{prelude::*, upsert::on_constraint};
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    i18n::Locale,
    ids::{LostReasonId, OpportunityCategoryId, StageId},
    schema::{lost_reasons, opportunity_categories, opportunity_stages},
};

/// The default stages: locale key and win probability.
pub const DEFAULT_STAGES: [(&str, i16); 4] = [
    ("opportunities.default_stage_contact", 10),
    ("opportunities.default_stage_needs", 30),
    ("opportunities.default_stage_proposal", 50),
    ("opportunities.default_stage_negotiation", 80),
];

/// The default lost reasons (locale keys).
pub const DEFAULT_LOST_REASONS: [&str; 6] = [
    "opportunities.default_lost_price",
    "opportunities.default_lost_competitor",
    "opportunities.default_lost_budget",
    "opportunities.default_lost_cancelled",
    "opportunities.default_lost_unreachable",
    "opportunities.default_lost_other",
];

/// A stage of the pipeline.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = opportunity_stages)]
pub struct Stage {
    /// Id.
    pub id: StageId,
    /// Name.
    pub name: String,
    /// Win probability in percent.
    pub probability: i16,
    /// Order.
    pub position: i32,
    /// Retired: kept for its opportunities and history, not offered for moves.
    pub retired: bool,
}

/// The whole pipeline, retired stages included (their names are still shown).
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// Every stage in position order.
    pub stages: Vec<Stage>,
}

impl Pipeline {
    /// The stages a record may move to, in order.
    pub fn active(&self) -> impl Iterator<Item = &Stage> {
        self.stages.iter().filter(|s| !s.retired)
    }

    /// A stage by id.
    pub fn get(&self, id: StageId) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// The name of a stage (empty if unknown).
    pub fn name(&self, id: StageId) -> &str {
        self.get(id).map_or("", |s| s.name.as_str())
    }

    /// The first active stage: where new opportunities start.
    pub fn first(&self) -> Option<&Stage> {
        self.active().next()
    }
}

/// Every stage of the tenant in order (writing the defaults first if it has none).
pub async fn load(tx: &mut TenantTx, locale: Locale) -> AppResult<Pipeline> {
    let mut stages = stages(tx).await?;
    if stages.is_empty() {
        create_defaults(tx, locale).await?;
        stages = self::stages(tx).await?;
    }
    Ok(Pipeline { stages })
}

async fn stages(tx: &mut TenantTx) -> AppResult<Vec<Stage>> {
    let tenant = tx.tenant();
    Ok(opportunity_stages::table
        .filter(opportunity_stages::tenant_id.eq(tenant))
        .order((
            opportunity_stages::position.asc(),
            opportunity_stages::id.asc(),
        ))
        .select(Stage::as_select())
        .load(&mut **tx)
        .await?)
}

/// Writes the default stages and lost reasons in `locale` (sign-up, and tenants that have
/// no stages yet). Idempotent.
pub async fn create_defaults(tx: &mut TenantTx, locale: Locale) -> AppResult<()> {
    let tenant = tx.tenant();
    let stage_rows: Vec<_> = DEFAULT_STAGES
        .iter()
        .enumerate()
        .map(|(i, (key, probability))| {
            (
                opportunity_stages::tenant_id.eq(tenant),
                opportunity_stages::name.eq(locale.t(key)),
                opportunity_stages::probability.eq(*probability),
                opportunity_stages::position.eq(i as i32),
            )
        })
        .collect();
    diesel::insert_into(opportunity_stages::table)
        .values(stage_rows)
        .on_conflict(on_constraint("opportunity_stages_tenant_name_key"))
        .do_nothing()
        .execute(&mut **tx)
        .await?;
    let has_reasons = diesel::select(diesel::dsl::exists(
        lost_reasons::table.filter(lost_reasons::tenant_id.eq(tenant)),
    ))
    .get_result::<bool>(&mut **tx)
    .await?;
    if !has_reasons {
        let reason_rows: Vec<_> = DEFAULT_LOST_REASONS
            .iter()
            .enumerate()
            .map(|(i, key)| {
                (
                    lost_reasons::tenant_id.eq(tenant),
                    lost_reasons::name.eq(locale.t(key)),
                    lost_reasons::position.eq(i as i32),
                )
            })
            .collect();
        diesel::insert_into(lost_reasons::table)
            .values(reason_rows)
            .on_conflict(on_constraint("lost_reasons_tenant_name_key"))
            .do_nothing()
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The tenant's opportunity categories, in their order.
pub async fn categories(tx: &mut TenantTx) -> AppResult<Vec<(OpportunityCategoryId, String)>> {
    let tenant = tx.tenant();
    Ok(opportunity_categories::table
        .filter(opportunity_categories::tenant_id.eq(tenant))
        .order((
            opportunity_categories::position.asc(),
            opportunity_categories::id.asc(),
        ))
        .select((opportunity_categories::id, opportunity_categories::name))
        .load(&mut **tx)
        .await?)
}

/// The tenant's lost reasons, in their order.
pub async fn lost_reasons(tx: &mut TenantTx) -> AppResult<Vec<(LostReasonId, String)>> {
    let tenant = tx.tenant();
    Ok(lost_reasons::table
        .filter(lost_reasons::tenant_id.eq(tenant))
        .order((lost_reasons::position.asc(), lost_reasons::id.asc()))
        .select((lost_reasons::id, lost_reasons::name))
        .load(&mut **tx)
        .await?)
}
