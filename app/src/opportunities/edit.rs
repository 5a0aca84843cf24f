//! GET and POST /opportunities/:id/edit — 修改销售时机: name, description, amount,
//! category, stage, owner, expected close, visibility and custom fields. What changed is
//! recorded with before and after, in the opportunity's history and its company's.

use maud::Markup;
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Path, Redirect},
};

use crate::{
    custom_fields::Inputs,
    db::TenantTx,
    error::AppResult,
    history::{self, Action},
    ids::OpportunityId,
    opportunities::{
        form::{self, Choices, OpportunityForm, Purpose},
        managed,
        model::{self, EventKind, Opportunity, OpportunityFields},
        stage,
    },
    state::State,
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
    },
};

/// Saves checked fields of `old` and records what changed: a stage move as its own
/// history row, the other fields as one 'updated' row, and both in the company's history.
pub async fn save(
    tx: &mut TenantTx,
    ctx: &Ctx,
    choices: &Choices,
    old: &Opportunity,
    fields: &OpportunityFields,
) -> AppResult<()> {
    model::update(tx, old.id, fields).await?;
    if fields.stage_id != old.stage_id {
        stage::record_move(tx, ctx, &choices.pipeline, old, fields.stage_id).await?;
    }
    let diff = form::changes(ctx, choices, old, fields);
    if !diff.is_empty() {
        let changes = diff.into_changes();
        model::record(
            tx,
            old.id,
            Some(ctx.user),
            EventKind::Updated(changes.clone()),
        )
        .await?;
        history::record(
            tx,
            old.company_id,
            Some(ctx.user),
            Action::OpportunityUpdated,
            &fields.name,
            changes,
        )
        .await?;
    }
    Ok(())
}

/// GET /opportunities/:id/edit
#[handler]
pub async fn edit_form(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, o) = managed(&mut tx, &ctx, id).await?;
    let choices = Choices::load(&mut tx, ctx.locale).await?;
    let company = model::company_name(&mut tx, o.company_id).await?;
    tx.commit().await?;
    Ok(form::page(
        &ctx,
        &Purpose::Edit(o.id, &company),
        &OpportunityForm::from_opportunity(&o),
        &Inputs::from_stored(&choices.fields, &o.custom),
        &Errors::new(),
        &choices,
    ))
}

/// POST /opportunities/:id/edit
#[handler]
pub async fn update(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    body: RawForm,
) -> AppResult<Response> {
    let input: OpportunityForm = body.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, o) = managed(&mut tx, &ctx, id).await?;
    let choices = Choices::load(&mut tx, ctx.locale).await?;
    let custom = Inputs::from_submitted(&choices.fields, body.pairs());
    let mut errors = Errors::new();
    let fields = form::validate(
        &ctx,
        &scope,
        &input,
        (&custom, &o.custom),
        &choices,
        (o.owner_id, Some(o.stage_id)),
        &mut errors,
    );
    if !errors.is_empty() {
        let company = model::company_name(&mut tx, o.company_id).await?;
        tx.rollback().await?;
        return Ok(form::page(
            &ctx,
            &Purpose::Edit(o.id, &company),
            &input,
            &custom,
            &errors,
            &choices,
        )
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response());
    }
    save(&mut tx, &ctx, &choices, &o, &fields).await?;
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/opportunities/{}", o.id)).into_response())
}
