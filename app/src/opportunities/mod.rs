//! 销售机会: opportunities with a company, an amount, a stage of the tenant's pipeline and
//! a status (跟踪中 / 已经成功 / 失败); their detail page with the stage/status history and
//! notes, the edit and delete pages, and the kanban board. The list (GET /opportunities)
//! lives on the shared list machinery.
//!
//! Visibility is the customers' rule applied to the opportunity's own owner and
//! visibility (`Scope::opportunities`): an opportunity someone may not see is a 404. Its
//! owner, their managers and admins may change it; others who can see it get 403.
//!
//! Every stage and status change writes an `opportunity_events` row (who, when, from,
//! to) and a `company_events` row, so the funnel reads real history and the company's
//! history and 最新动态 show what happened to its opportunities.

pub mod board;
pub mod create;
pub mod delete;
pub mod detail;
pub mod edit;
pub mod form;
pub mod inline;
pub mod list;
pub mod model;
pub mod pipeline;
pub mod stage;
pub mod status;
pub mod views;

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::{AppError, AppResult},
    ids::OpportunityId,
    opportunities::model::Opportunity,
    web::ctx::Ctx,
};

/// Loads an opportunity the user may change, locked for the rest of the transaction, or
/// 404 (not visible) / 403 (visible, not theirs to manage).
pub async fn managed(
    tx: &mut TenantTx,
    ctx: &Ctx,
    id: OpportunityId,
) -> AppResult<(Scope, Opportunity)> {
    let scope = Scope::resolve(tx, ctx, View::All).await?;
    let opportunity = model::find_for_update(tx, &scope, id).await?;
    if !scope.can_manage(opportunity.owner_id) {
        return Err(AppError::Forbidden);
    }
    Ok((scope, opportunity))
}
