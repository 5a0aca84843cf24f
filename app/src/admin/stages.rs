//! 系统设置 → 销售阶段: the tenant's pipeline. Admins add stages, rename them, set their
//! win probability, reorder them and retire them. A retired stage keeps its opportunities
//! and its place in their history but is no longer offered for moves or shown on the
//! board; it can be restored. The last active stage cannot be retired.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::{AppResult, is_unique_violation},
    ids::StageId,
    opportunities::pipeline::{self, Stage},
    schema::opportunity_stages,
    state::State,
    web::{
        ctx::AdminCtx,
        forms::{self, Errors, Opts},
        layout::{self, Module, csrf_field},
    },
};

const PATH: &str = "/admin/stages";
const UNIQUE: &str = "opportunity_stages_tenant_name_key";

/// The stage form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StageForm {
    name: String,
    probability: String,
}

/// A refused form: which row (none for the add form), what was typed, the errors.
struct Refused<'a> {
    row: Option<StageId>,
    input: &'a StageForm,
    errors: &'a Errors,
}

fn page(ctx: &AdminCtx, stages: &[Stage], refused: Option<&Refused<'_>>) -> Markup {
    let adding = refused.filter(|r| r.row.is_none());
    let empty_errors = Errors::new();
    let add_errors = adding.map_or(&empty_errors, |r| r.errors);
    let active = stages.iter().filter(|s| !s.retired).count();
    let content = html! {
        p.text-secondary.narrow-form { (ctx.t("opportunities.stages.help")) }
        form.d-flex.gap-2.align-items-start.mb-3.narrow-form method="post" action=(PATH) novalidate {
            (csrf_field(&ctx.csrf))
            div.flex-grow-1 {
                (forms::input("name", &ctx.t("opportunities.stages.new_name"), adding.map_or("", |r| r.input.name.as_str()),
                    add_errors.get("name"), Opts { required: true, autofocus: true, max_len: Some(50), ..Opts::default() }))
            }
            div.stage-probability {
                (forms::input("probability", &ctx.t("opportunities.stages.probability"), adding.map_or("", |r| r.input.probability.as_str()),
                    add_errors.get("probability"), Opts { max_len: Some(3), ..Opts::default() }))
            }
            button.btn.btn-primary.mt-4.text-nowrap type="submit" { (ctx.t("opportunities.stages.add")) }
        }
        ul.list-group.narrow-form #stages {
            @for (i, s) in stages.iter().enumerate() {
                @let row = refused.filter(|r| r.row == Some(s.id));
                @let name = row.map_or(s.name.clone(), |r| r.input.name.clone());
                @let probability = row.map_or(s.probability.to_string(), |r| r.input.probability.clone());
                @let errors = row.map_or(&empty_errors, |r| r.errors);
                li.list-group-item.stage-row.text-secondary[s.retired] id={"stage-" (s.id)} data-retired=(s.retired) {
                    div.d-flex.gap-2.align-items-center {
                        form.d-flex.gap-2.flex-grow-1.align-items-center method="post" action={(PATH) "/" (s.id)} {
                            (csrf_field(&ctx.csrf))
                            label.visually-hidden for={"stage-name-" (s.id)} { (ctx.t("opportunities.stages.name")) }
                            input.form-control.form-control-sm.is-invalid[errors.get("name").is_some()] id={"stage-name-" (s.id)}
                                name="name" value=(name) maxlength="50" required;
                            label.visually-hidden for={"stage-probability-" (s.id)} { (ctx.t("opportunities.stages.probability")) }
                            div.input-group.input-group-sm.stage-probability {
                                input.form-control.is-invalid[errors.get("probability").is_some()] id={"stage-probability-" (s.id)}
                                    name="probability" value=(probability) maxlength="3" inputmode="numeric";
                                span.input-group-text { "%" }
                            }
                            button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("common.save")) }
                        }
                        form method="post" action={(PATH) "/" (s.id) "/up"} {
                            (csrf_field(&ctx.csrf))
                            button.btn.btn-sm.btn-outline-secondary type="submit" disabled[i == 0] aria-label=(ctx.t("categories.up")) { "↑" }
                        }
                        form method="post" action={(PATH) "/" (s.id) "/retire"} {
                            (csrf_field(&ctx.csrf))
                            @if s.retired {
                                button.btn.btn-sm.btn-outline-primary.text-nowrap type="submit" { (ctx.t("opportunities.stages.restore")) }
                            } @else {
                                button.btn.btn-sm.btn-outline-danger.text-nowrap type="submit" disabled[active <= 1] { (ctx.t("opportunities.stages.retire")) }
                            }
                        }
                    }
                    @if s.retired { div.small.mt-1 { (ctx.t("opportunities.stages.retired")) } }
                    @for field in ["name", "probability"] {
                        @if let Some(error) = errors.get(field) { div.small.text-danger.mt-1.stage-error { (error) } }
                    }
                }
            }
        }
    };
    layout::page(ctx, Module::Settings, PATH, &ctx.t("tab.stages"), content)
}

/// Checks a name and a probability (0–100, empty is 0).
fn check(ctx: &AdminCtx, input: &StageForm, errors: &mut Errors) -> (String, i16) {
    let name = forms::check_text(errors, ctx.locale, "name", &input.name, 50);
    let probability = match input.probability.trim().trim_end_matches('%').trim() {
        "" => 0,
        raw => match raw.parse::<i16>() {
            Ok(p) if (0..=100).contains(&p) => p,
            _ => {
                errors.add(
                    ctx.locale,
                    "probability",
                    "opportunities.stages.bad_probability",
                );
                0
            }
        },
    };
    (name, probability)
}

async fn stages(tx: &mut TenantTx, ctx: &AdminCtx) -> AppResult<Vec<Stage>> {
    Ok(pipeline::load(tx, ctx.locale).await?.stages)
}

async fn refuse(
    ctx: &AdminCtx,
    state: &State,
    row: Option<StageId>,
    input: &StageForm,
    errors: &Errors,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let stages = stages(&mut tx, ctx).await?;
    tx.commit().await?;
    let refused = Refused { row, input, errors };
    Ok(page(ctx, &stages, Some(&refused))
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

/// GET /admin/stages
#[handler]
pub async fn index(ctx: AdminCtx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let stages = stages(&mut tx, &ctx).await?;
    tx.commit().await?;
    Ok(page(&ctx, &stages, None))
}

/// POST /admin/stages — adds one at the end of the pipeline.
#[handler]
pub async fn create(
    ctx: AdminCtx,
    state: Data<&State>,
    Form(input): Form<StageForm>,
) -> AppResult<Response> {
    let mut errors = Errors::new();
    let (name, probability) = check(&ctx, &input, &mut errors);
    if errors.is_empty() {
        let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
        let tenant = tx.tenant();
        let next = stages(&mut tx, &ctx)
            .await?
            .iter()
            .map(|s| s.position + 1)
            .max()
            .unwrap_or(0);
        let inserted = diesel::insert_into(opportunity_stages::table)
            .values((
                opportunity_stages::tenant_id.eq(tenant),
                opportunity_stages::name.eq(&name),
                opportunity_stages::probability.eq(probability),
                opportunity_stages::position.eq(next),
            ))
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other(PATH).into_response());
            }
            Err(e) if is_unique_violation(&e, UNIQUE) => {
                tx.rollback().await?;
                errors.add(ctx.locale, "name", "opportunities.stages.taken");
            }
            Err(e) => return Err(e.into()),
        }
    }
    refuse(&ctx, &state, None, &input, &errors).await
}

async fn find(tx: &mut TenantTx, ctx: &AdminCtx, id: StageId) -> AppResult<(Vec<Stage>, Stage)> {
    let all = stages(tx, ctx).await?;
    let stage = all
        .iter()
        .find(|s| s.id == id)
        .cloned()
        .ok_or(crate::error::AppError::NotFound)?;
    Ok((all, stage))
}

/// POST /admin/stages/:id — renames it and sets its probability.
#[handler]
pub async fn update(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<StageId>,
    Form(input): Form<StageForm>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    find(&mut tx, &ctx, id).await?;
    let mut errors = Errors::new();
    let (name, probability) = check(&ctx, &input, &mut errors);
    if errors.is_empty() {
        let updated = diesel::update(opportunity_stages::table)
            .filter(
                opportunity_stages::tenant_id
                    .eq(tenant)
                    .and(opportunity_stages::id.eq(id)),
            )
            .set((
                opportunity_stages::name.eq(&name),
                opportunity_stages::probability.eq(probability),
            ))
            .execute(&mut *tx)
            .await;
        match updated {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other(PATH).into_response());
            }
            Err(e) if is_unique_violation(&e, UNIQUE) => {
                errors.add(ctx.locale, "name", "opportunities.stages.taken");
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.rollback().await?;
    refuse(&ctx, &state, Some(id), &input, &errors).await
}

/// POST /admin/stages/:id/up — swaps it with the one above.
#[handler]
pub async fn move_up(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<StageId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    let (all, _) = find(&mut tx, &ctx, id).await?;
    let mut order: Vec<StageId> = all.iter().map(|s| s.id).collect();
    if let Some(i) = order.iter().position(|s| *s == id)
        && i > 0
    {
        order.swap(i, i - 1);
    }
    for (position, stage) in order.iter().enumerate() {
        diesel::update(opportunity_stages::table)
            .filter(
                opportunity_stages::tenant_id
                    .eq(tenant)
                    .and(opportunity_stages::id.eq(stage)),
            )
            .set(opportunity_stages::position.eq(position as i32))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(PATH).into_response())
}

/// POST /admin/stages/:id/retire — retires an active stage, restores a retired one.
#[handler]
pub async fn retire(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<StageId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    let (all, stage) = find(&mut tx, &ctx, id).await?;
    let active = all.iter().filter(|s| !s.retired).count();
    if !stage.retired && active <= 1 {
        tx.rollback().await?;
        let mut errors = Errors::new();
        errors.add(ctx.locale, "name", "opportunities.stages.last_active");
        let input = StageForm {
            name: stage.name.clone(),
            probability: stage.probability.to_string(),
        };
        return refuse(&ctx, &state, Some(id), &input, &errors).await;
    }
    diesel::update(opportunity_stages::table)
        .filter(
            opportunity_stages::tenant_id
                .eq(tenant)
                .and(opportunity_stages::id.eq(id)),
        )
        .set(opportunity_stages::retired.eq(!stage.retired))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::see_other(PATH).into_response())
}
