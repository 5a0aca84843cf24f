//! Markup shared by the opportunity pages: the status badge and buttons, the stage form,
//! the history, and the list on a company's page.

use maud::{Markup, html};

use crate::{
    history,
    ids::{CompanyId, LostReasonId},
    money,
    opportunities::{
        model::{Event, EventKind, Opportunity, Status},
        pipeline::Pipeline,
    },
    web::{ctx::Ctx, forms::Errors, layout::csrf_field},
};

/// The status as a coloured badge.
pub fn status_badge(ctx: &Ctx, status: Status) -> Markup {
    let class = match status {
        Status::Tracking => "text-bg-primary",
        Status::Won => "text-bg-success",
        Status::Lost => "text-bg-secondary",
    };
    html! {
        span class={"badge opportunity-status " (class)} data-status=(status.as_str()) {
            (ctx.t(&format!("opportunities.status_{}", status.as_str())))
        }
    }
}

/// An amount in the user's locale.
pub fn amount(ctx: &Ctx, o: &Opportunity) -> String {
    money::format(ctx.locale, o.amount, &o.currency)
}

/// What the 失败 form shows: the reasons to pick from, the typed input and its errors.
pub struct LostForm<'a> {
    /// The tenant's lost reasons.
    pub reasons: &'a [(LostReasonId, String)],
    /// The chosen reason id as submitted.
    pub reason: &'a str,
    /// The typed note.
    pub note: &'a str,
    /// Errors (`lost_reason_id`, `lost_note`).
    pub errors: &'a Errors,
}

/// The status card at the top right of the detail page: the badge, when it closed, why it
/// was lost, and the 跟踪 / 成功 / 失败 buttons (for whoever manages it). Each button is a
/// form that works without JavaScript; with htmx the card swaps itself. `lost` opens
/// the reason form inside the card.
pub fn status_card(
    ctx: &Ctx,
    o: &Opportunity,
    lost_reason: Option<&str>,
    manage: bool,
    lost: Option<&LostForm<'_>>,
) -> Markup {
    let status = o.status();
    let action = format!("/opportunities/{}/status", o.id);
    html! {
        div #opportunity-status.opportunity-status-card.text-lg-end {
            div.d-flex.flex-wrap.gap-2.align-items-center.justify-content-lg-end {
                (status_badge(ctx, status))
                @if manage {
                    div.btn-group.status-buttons role="group" aria-label=(ctx.t("opportunities.status")) {
                        form.d-inline method="post" action=(action)
                            hx-post=(action) hx-target="#opportunity-status" hx-swap="outerHTML" {
                            (csrf_field(&ctx.csrf))
                            input type="hidden" name="status" value="tracking";
                            button.btn.btn-sm.btn-outline-primary.status-tracking type="submit"
                                disabled[status == Status::Tracking] { (ctx.t("opportunities.button_tracking")) }
                        }
                        form.d-inline method="post" action=(action)
                            hx-post=(action) hx-target="#opportunity-status" hx-swap="outerHTML" {
                            (csrf_field(&ctx.csrf))
                            input type="hidden" name="status" value="won";
                            button.btn.btn-sm.btn-outline-success.status-won type="submit"
                                disabled[status == Status::Won] { (ctx.t("opportunities.button_won")) }
                        }
                        @if status == Status::Lost {
                            button.btn.btn-sm.btn-outline-danger.status-lost type="button" disabled {
                                (ctx.t("opportunities.button_lost"))
                            }
                        } @else {
                            a.btn.btn-sm.btn-outline-danger.status-lost href={(action) "?to=lost"}
                                hx-get={(action) "?to=lost"} hx-target="#opportunity-status" hx-swap="outerHTML" {
                                (ctx.t("opportunities.button_lost"))
                            }
                        }
                    }
                }
            }
            @if let Some(closed) = o.closed_at {
                div.small.text-secondary.mt-1 #opportunity-closed {
                    (ctx.t(&format!("opportunities.closed_{}", status.as_str()))) " "
                    time datetime=(closed.to_rfc3339()) { (ctx.datetime(closed)) }
                }
            }
            @if status == Status::Lost {
                div.small.mt-1 #opportunity-lost-reason {
                    span.text-secondary { (ctx.t("opportunities.lost_reason")) (ctx.t("history.separator")) }
                    (lost_reason.unwrap_or(""))
                    @if !o.lost_note.is_empty() {
                        @if lost_reason.is_some() { " · " }
                        span.lost-note { (o.lost_note) }
                    }
                }
            }
            @if let Some(form) = lost {
                (lost_form(ctx, o, form))
            }
        }
    }
}

/// The small form that marks an opportunity lost: a reason from the tenant's list and/or
/// the person's own words.
pub fn lost_form(ctx: &Ctx, o: &Opportunity, form: &LostForm<'_>) -> Markup {
    let action = format!("/opportunities/{}/status", o.id);
    let reason_error = form.errors.get("lost_reason_id");
    html! {
        form.lost-form.card.card-body.mt-2.text-start method="post" action=(action)
            hx-post=(action) hx-target="#opportunity-status" hx-swap="outerHTML" novalidate {
            (csrf_field(&ctx.csrf))
            input type="hidden" name="status" value="lost";
            div.mb-2 {
                label.form-label for="f-lost-reason" { (ctx.t("opportunities.lost_reason")) }
                select.form-select.form-select-sm.is-invalid[reason_error.is_some()] #f-lost-reason name="lost_reason_id"
                    aria-describedby=[reason_error.map(|_| "f-lost-reason-error")] {
                    option value="" { (ctx.t("opportunities.lost_reason_choose")) }
                    @for (id, name) in form.reasons {
                        option value=(id) selected[id.to_string() == form.reason] { (name) }
                    }
                }
                @if let Some(error) = reason_error {
                    div.invalid-feedback #f-lost-reason-error { (error) }
                }
            }
            div.mb-2 {
                label.form-label for="f-lost-note" { (ctx.t("opportunities.lost_note")) }
                textarea.form-control.form-control-sm.is-invalid[form.errors.get("lost_note").is_some()] #f-lost-note
                    name="lost_note" rows="2" maxlength="1000" { (form.note) }
                @if let Some(error) = form.errors.get("lost_note") {
                    div.invalid-feedback { (error) }
                }
            }
            div.d-flex.gap-2 {
                button.btn.btn-sm.btn-danger type="submit" { (ctx.t("opportunities.mark_lost")) }
                a.btn.btn-sm.btn-link href={"/opportunities/" (o.id)}
                    hx-get={"/opportunities/" (o.id) "/status"} hx-target="#opportunity-status" hx-swap="outerHTML" {
                    (ctx.t("common.cancel"))
                }
            }
        }
    }
}

/// A `<select>` of the active stages (and the current one) with a 移动 button: the stage
/// move of the detail page and, with `board` (the board's view), of a board card, where
/// htmx swaps the new board in. Both work without JavaScript.
pub fn stage_form(ctx: &Ctx, o: &Opportunity, pipeline: &Pipeline, board: Option<&str>) -> Markup {
    let action = format!("/opportunities/{}/stage", o.id);
    let id = format!("stage-of-{}", o.id);
    html! {
        form.stage-form.d-flex.gap-1.align-items-center method="post" action=(action)
            hx-post=[board.map(|_| &action)] hx-target=[board.map(|_| "#board")] hx-swap=[board.map(|_| "outerHTML")] {
            (csrf_field(&ctx.csrf))
            @if let Some(view) = board {
                input type="hidden" name="back" value="board";
                input type="hidden" name="view" value=(view);
            }
            label.visually-hidden for=(id) { (ctx.t("opportunities.stage")) }
            select.form-select.form-select-sm id=(id) name="stage_id" {
                @for s in pipeline.stages.iter().filter(|s| !s.retired || s.id == o.stage_id) {
                    option value=(s.id) selected[s.id == o.stage_id] {
                        @if board.is_some() { (s.name) } @else {
                            (ctx.locale.tf("opportunities.stage_option", &[("name", &s.name), ("probability", &s.probability.to_string())]))
                        }
                    }
                }
            }
            button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("opportunities.move")) }
        }
    }
}

/// The stage/status history, newest first.
pub fn history(ctx: &Ctx, events: &[Event], pipeline: &Pipeline) -> Markup {
    history_section(ctx, events, pipeline, false)
}

/// The history as an htmx out-of-band swap (sent with a status change).
pub fn history_oob(ctx: &Ctx, events: &[Event], pipeline: &Pipeline) -> Markup {
    history_section(ctx, events, pipeline, true)
}

fn history_section(ctx: &Ctx, events: &[Event], pipeline: &Pipeline, oob: bool) -> Markup {
    let status = |s: Status| ctx.t(&format!("opportunities.status_{}", s.as_str()));
    html! {
        section.card.mt-3 #opportunity-history hx-swap-oob=[oob.then_some("true")] {
            div.card-header { (ctx.t("opportunities.history")) }
            div.card-body {
                @if events.is_empty() {
                    p.empty-state.mb-0 { (ctx.t("history.empty")) }
                } @else {
                    ol.list-unstyled.mb-0.events {
                        @for e in events {
                            @let action = match &e.kind {
                                EventKind::Created(_) => "created",
                                EventKind::Stage(..) => "stage",
                                EventKind::Status(..) => "status",
                                EventKind::Updated(_) => "updated",
                            };
                            li.event.py-2.border-bottom data-action=(action) {
                                div.d-flex.flex-wrap.gap-2.align-items-baseline {
                                    strong.event-actor { (e.actor.as_deref().unwrap_or(&ctx.t("history.system"))) }
                                    span.event-text {
                                        @match &e.kind {
                                            EventKind::Created(stage) => {
                                                (ctx.locale.tf("opportunities.event_created", &[("stage", pipeline.name(*stage))]))
                                            }
                                            EventKind::Stage(from, to) => {
                                                (ctx.locale.tf("opportunities.event_stage", &[("from", pipeline.name(*from)), ("to", pipeline.name(*to))]))
                                            }
                                            EventKind::Status(from, to) => {
                                                (ctx.locale.tf("opportunities.event_status", &[("from", &status(*from)), ("to", &status(*to))]))
                                            }
                                            EventKind::Updated(_) => { (ctx.t("opportunities.event_updated")) }
                                        }
                                    }
                                    time.ms-auto.small.text-secondary datetime=(e.at.to_rfc3339()) { (ctx.datetime(e.at)) }
                                }
                                @if let EventKind::Updated(changes) = &e.kind {
                                    (history::changes_list(ctx, changes))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The opportunities card of a company's page: its visible opportunities with stage,
/// status and amount, and the button that adds one with the company filled in.
pub fn of_company(
    ctx: &Ctx,
    company: CompanyId,
    opportunities: &[Opportunity],
    pipeline: &Pipeline,
) -> Markup {
    html! {
        section.card #company-opportunities {
            div.card-header.d-flex.justify-content-between.align-items-center {
                span { (ctx.t("customers.opportunities")) }
                a.btn.btn-sm.btn-outline-primary #new-opportunity href={"/opportunities/new?company=" (company)} {
                    (ctx.t("opportunities.new"))
                }
            }
            @if opportunities.is_empty() {
                div.card-body.empty-state { (ctx.t("opportunities.none_for_company")) }
            } @else {
                ul.list-group.list-group-flush {
                    @for o in opportunities {
                        li.list-group-item.d-flex.flex-wrap.gap-2.align-items-baseline data-opportunity=(o.id) {
                            a.opportunity-name href={"/opportunities/" (o.id)} { (o.name) }
                            span.small.text-secondary.opportunity-stage { (pipeline.name(o.stage_id)) }
                            (status_badge(ctx, o.status()))
                            span.ms-auto.text-nowrap.opportunity-amount { (amount(ctx, o)) }
                        }
                    }
                }
            }
        }
    }
}
