//! GET and POST /opportunities/:id/status — the 跟踪 / 成功 / 失败 buttons. Won and lost
//! record when it closed (`closed_at`); back to tracking clears it. 失败 asks for a
//! reason first: GET `?to=lost` shows the small form (inside the status card with htmx,
//! on the detail page without), and a lost without a reason from the list or in words is
//! refused with the form kept.

use maud::{Markup, html};
use poem::{
    IntoResponse, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action, Change},
    ids::{LostReasonId, OpportunityId},
    opportunities::{
        detail::{self, Detail},
        managed,
        model::{self, EventKind, Opportunity, Status},
        pipeline,
        views::{self, LostForm},
    },
    state::State,
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
        is_htmx,
    },
};

/// Longest note on a lost opportunity.
const LOST_NOTE_MAX: usize = 1000;

/// Query of the status card.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CardParams {
    /// `lost` opens the reason form.
    to: String,
}

/// GET /opportunities/:id/status — the status card (htmx), with the 失败 form when
/// `?to=lost`; without htmx, the detail page with the form open.
#[handler]
pub async fn card(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    Query(params): Query<CardParams>,
    req: &Request,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, o) = managed(&mut tx, &ctx, id).await?;
    let detail = Detail::load(&mut tx, &ctx, &scope, &o).await?;
    let reasons = pipeline::lost_reasons(&mut tx).await?;
    tx.commit().await?;
    let errors = Errors::new();
    let form = LostForm {
        reasons: &reasons,
        reason: "",
        note: "",
        errors: &errors,
    };
    let lost = (params.to == "lost").then_some(&form);
    Ok(respond(&ctx, &o, &detail, lost, is_htmx(req)))
}

/// The status card (htmx) or the whole page.
fn respond(
    ctx: &Ctx,
    o: &Opportunity,
    d: &Detail,
    lost: Option<&LostForm<'_>>,
    htmx: bool,
) -> Markup {
    if htmx {
        views::status_card(ctx, o, d.lost_reason.as_deref(), d.manage, lost)
    } else {
        detail::page(ctx, o, d, lost)
    }
}

/// The status form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    lost_reason_id: String,
    lost_note: String,
}

/// POST /opportunities/:id/status
#[handler]
pub async fn set(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    req: &Request,
    body: RawForm,
) -> AppResult<Response> {
    let input: StatusForm = body.parse()?;
    let to = Status::parse(&input.status).ok_or(AppError::BadRequest)?;
    let htmx = is_htmx(req);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, o) = managed(&mut tx, &ctx, id).await?;
    let from = o.status();
    let reasons = pipeline::lost_reasons(&mut tx).await?;
    let mut errors = Errors::new();
    let mut lost = None;
    if to == Status::Lost {
        let reason = match input.lost_reason_id.trim() {
            "" => None,
            raw => match raw.parse().map(LostReasonId) {
                Ok(id) if reasons.iter().any(|(r, _)| *r == id) => Some(id),
                _ => {
                    errors.add(ctx.locale, "lost_reason_id", "form.invalid_choice");
                    None
                }
            },
        };
        let note = input.lost_note.trim().to_owned();
        if note.chars().count() > LOST_NOTE_MAX {
            errors.add(ctx.locale, "lost_note", "form.too_long");
        }
        if reason.is_none() && note.is_empty() {
            errors.add(
                ctx.locale,
                "lost_reason_id",
                "opportunities.lost_reason_needed",
            );
        }
        lost = Some((reason, note));
    }
    if !errors.is_empty() {
        let detail = Detail::load(&mut tx, &ctx, &scope, &o).await?;
        tx.rollback().await?;
        let form = LostForm {
            reasons: &reasons,
            reason: &input.lost_reason_id,
            note: &input.lost_note,
            errors: &errors,
        };
        let page = respond(&ctx, &o, &detail, Some(&form), htmx);
        // htmx swaps only successful responses; the form with its errors is one.
        let status = if htmx {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok(page.with_status(status).into_response());
    }
    if to != from || to == Status::Lost {
        let reason_name = lost
            .as_ref()
            .and_then(|(r, _)| *r)
            .and_then(|id| reasons.iter().find(|(r, _)| *r == id))
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        let note = lost.as_ref().map(|(_, n)| n.clone()).unwrap_or_default();
        model::set_status(&mut tx, o.id, to, lost).await?;
        if to != from {
            model::record(&mut tx, o.id, Some(ctx.user), EventKind::Status(from, to)).await?;
            let label = |s: Status| ctx.t(&format!("opportunities.status_{}", s.as_str()));
            let (action, changes) = match to {
                Status::Won => (Action::OpportunityWon, vec![]),
                Status::Lost => (
                    Action::OpportunityLost,
                    vec![Change::field(
                        "opportunities.lost_reason",
                        "",
                        &[reason_name, note]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(" · "),
                    )],
                ),
                Status::Tracking => (
                    Action::OpportunityUpdated,
                    vec![Change::field(
                        "opportunities.status",
                        &label(from),
                        &label(to),
                    )],
                ),
            };
            history::record(
                &mut tx,
                o.company_id,
                Some(ctx.user),
                action,
                &o.name,
                changes,
            )
            .await?;
        }
    }
    if !htmx {
        tx.commit().await?;
        return Ok(Redirect::see_other(format!("/opportunities/{}", o.id)).into_response());
    }
    let o = model::find(&mut tx, &scope, o.id).await?;
    let detail = Detail::load(&mut tx, &ctx, &scope, &o).await?;
    tx.commit().await?;
    Ok(html! {
        (views::status_card(&ctx, &o, detail.lost_reason.as_deref(), detail.manage, None))
        (views::history_oob(&ctx, &detail.events, &detail.choices.pipeline))
    }
    .into_response())
}
