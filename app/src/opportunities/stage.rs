//! POST /opportunities/:id/stage — moves an opportunity to another stage, from the detail
//! page's stage form, a board card's menu (both without JavaScript) or a drag on the
//! board (htmx, which gets the board back with its new counts and totals). Only whoever
//! manages the opportunity may; a retired stage cannot be moved to.

use poem::{
    IntoResponse, Request, Response, handler,
    web::{Data, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    customers::visibility::View,
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action, Change},
    ids::{OpportunityId, StageId},
    opportunities::{
        board, managed,
        model::{self, EventKind, Opportunity},
        pipeline::{self, Pipeline},
    },
    state::State,
    web::{ctx::Ctx, forms::RawForm, is_htmx},
};

/// The move form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MoveForm {
    stage_id: String,
    /// `board` to go back to the board, anything else the detail page.
    back: String,
    /// The board's view (admins), kept when going back to it.
    view: String,
}

/// Records a stage move of `o` to `to` (the caller has updated nothing yet).
pub async fn move_to(
    tx: &mut TenantTx,
    ctx: &Ctx,
    pipeline: &Pipeline,
    o: &Opportunity,
    to: StageId,
) -> AppResult<()> {
    model::set_stage(tx, o.id, to).await?;
    record_move(tx, ctx, pipeline, o, to).await
}

/// Writes the history of a stage move: the opportunity's row (for the funnel) and the
/// company's.
pub async fn record_move(
    tx: &mut TenantTx,
    ctx: &Ctx,
    pipeline: &Pipeline,
    o: &Opportunity,
    to: StageId,
) -> AppResult<()> {
    model::record(tx, o.id, Some(ctx.user), EventKind::Stage(o.stage_id, to)).await?;
    history::record(
        tx,
        o.company_id,
        Some(ctx.user),
        Action::OpportunityUpdated,
        &o.name,
        vec![Change::field(
            "opportunities.stage",
            pipeline.name(o.stage_id),
            pipeline.name(to),
        )],
    )
    .await
}

/// POST /opportunities/:id/stage
#[handler]
pub async fn change(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    req: &Request,
    body: RawForm,
) -> AppResult<Response> {
    let input: MoveForm = body.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, o) = managed(&mut tx, &ctx, id).await?;
    let pipeline = pipeline::load(&mut tx, ctx.locale).await?;
    let to = input
        .stage_id
        .trim()
        .parse()
        .ok()
        .map(StageId)
        .filter(|to| {
            pipeline
                .get(*to)
                .is_some_and(|s| !s.retired || *to == o.stage_id)
        })
        .ok_or(AppError::BadRequest)?;
    if to != o.stage_id {
        move_to(&mut tx, &ctx, &pipeline, &o, to).await?;
    }
    tx.commit().await?;
    let view = View::parse(Some(input.view.as_str()).filter(|v| !v.is_empty()));
    if input.back == "board" {
        if is_htmx(req) {
            return Ok(board::fragment(&ctx, &state, view).await?.into_response());
        }
        return Ok(Redirect::see_other(board::href(view)).into_response());
    }
    Ok(Redirect::see_other(format!("/opportunities/{}", o.id)).into_response())
}
