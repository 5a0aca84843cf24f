//! The tasks section of a company's and an opportunity's detail pages: their visible
//! tasks (open ones by due time, then done ones), a quick add (content and due time) and
//! 标记为完成 / 复原 on each, through htmx with plain-form fallbacks. POST
//! /customers/:id/tasks and /opportunities/:id/tasks add one; the full form
//! (/tasks/new?company=…) is a link away.

use maud::{Markup, html};
use poem::{
    IntoResponse, Request, Response, handler,
    web::{Data, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, OpportunityId},
    state::State,
    tasks::{
        detail::done_button,
        form::{self, CONTENT_MAX},
        model::{self, Kind, Link, TaskFields},
    },
    visibility::{Scope, View},
    web::{
        ctx::Ctx,
        flash,
        forms::{self as forms_, Errors},
        layout::csrf_field,
    },
};

/// The section for a company (`opportunity: None`) or an opportunity.
pub async fn render(tx: &mut TenantTx, ctx: &Ctx, scope: &Scope, link: Link) -> AppResult<Markup> {
    render_with(tx, ctx, scope, link, &QuickForm::default(), &Errors::new()).await
}

async fn render_with(
    tx: &mut TenantTx,
    ctx: &Ctx,
    scope: &Scope,
    link: Link,
    input: &QuickForm,
    errors: &Errors,
) -> AppResult<Markup> {
    let tasks = model::of_link(tx, scope, link).await?;
    let (of, id, dom) = match link {
        Link {
            opportunity: Some(o),
            ..
        } => ("opportunity", o.0, "opportunity-tasks"),
        Link {
            company: Some(c), ..
        } => ("company", c.0, "company-tasks"),
        _ => return Ok(html! {}),
    };
    let now = chrono::Utc::now();
    let due_value = if input.due_at.is_empty() {
        form::TaskForm::fresh(ctx, vec![]).due_at
    } else {
        input.due_at.clone()
    };
    Ok(html! {
        section.card.task-section id=(dom) {
            div.card-header.d-flex.justify-content-between.align-items-center {
                span { (ctx.t("customers.tasks")) }
                a.btn.btn-sm.btn-outline-primary href={"/tasks/new?" (of) "=" (id)} { (ctx.t("tasks.new")) }
            }
            div.card-body {
                @let action = format!("{}/{id}/tasks", if of == "company" { "/customers" } else { "/opportunities" });
                form.task-quick.row.g-2.align-items-start.mb-3 method="post" action=(action)
                    hx-post=(action) hx-target={"#" (dom)} hx-swap="outerHTML" {
                    (csrf_field(&ctx.csrf))
                    div.col-12 {
                        label.visually-hidden for={"f-quick-content-" (of)} { (ctx.t("tasks.content")) }
                        input.form-control.form-control-sm.is-invalid[errors.get("content").is_some()]
                            id={"f-quick-content-" (of)} name="content" type="text" maxlength=(CONTENT_MAX)
                            value=(input.content) placeholder=(ctx.t("tasks.quick_placeholder")) required;
                        @if let Some(e) = errors.get("content") { div.invalid-feedback { (e) } }
                    }
                    div.col {
                        label.visually-hidden for={"f-quick-due-" (of)} { (ctx.t("tasks.due_at")) }
                        input.form-control.form-control-sm.is-invalid[errors.get("due_at").is_some()]
                            id={"f-quick-due-" (of)} name="due_at" type="datetime-local" value=(due_value) required;
                        @if let Some(e) = errors.get("due_at") { div.invalid-feedback { (e) } }
                    }
                    div.col-auto {
                        button.btn.btn-sm.btn-primary.text-nowrap type="submit" { (ctx.t("tasks.quick_add")) }
                    }
                }
                @if tasks.is_empty() {
                    p.empty-state.mb-0 { (ctx.t("tasks.section_empty")) }
                } @else {
                    ul.list-group.list-group-flush.task-items {
                        @for t in &tasks {
                            @let overdue = t.overdue(now);
                            li.list-group-item.d-flex.justify-content-between.align-items-center.gap-2
                                id={"task-" (t.id)} .task-done[t.done_at.is_some()] .task-overdue[overdue] {
                                div.text-truncate {
                                    @if t.kind() == Kind::Memo { span.badge.text-bg-light.me-1 { (ctx.t("tasks.kind_memo")) } }
                                    a href={"/tasks/" (t.id)} .text-decoration-line-through[t.done_at.is_some()] { (t.content) }
                                    br;
                                    small.text-danger[overdue].text-secondary[!overdue] { (ctx.datetime(t.due_at)) }
                                }
                                @if scope.can_manage(t.owner_id) && t.kind() == Kind::Task {
                                    (done_button(ctx, t, Some(of)))
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The quick add as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuickForm {
    content: String,
    due_at: String,
}

/// POST /customers/:id/tasks — a task on a company (see [`quick`]).
#[handler]
pub async fn quick_on_company(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
    body: crate::web::forms::RawForm,
    req: &Request,
) -> AppResult<Response> {
    quick(&ctx, &state, Linked::Company(id), &body.parse()?, req).await
}

/// POST /opportunities/:id/tasks — a task on an opportunity (see [`quick`]).
#[handler]
pub async fn quick_on_opportunity(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    body: crate::web::forms::RawForm,
    req: &Request,
) -> AppResult<Response> {
    quick(&ctx, &state, Linked::Opportunity(id), &body.parse()?, req).await
}

/// The page a quick add is posted from.
enum Linked {
    Company(CompanyId),
    Opportunity(OpportunityId),
}

/// A task for the signed-in user on a company or an opportunity they can see, reminded
/// as their account says. htmx gets the section back (with the errors and what was
/// typed); a plain form goes back to the page.
async fn quick(
    ctx: &Ctx,
    state: &State,
    on: Linked,
    input: &QuickForm,
    req: &Request,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, ctx, View::All).await?;
    let (link, page) = match on {
        Linked::Company(id) => {
            let c = crate::customers::model::find(&mut tx, &scope, id).await?;
            (
                Link {
                    company: Some(c.id),
                    opportunity: None,
                },
                format!("/customers/{}#company-tasks", c.id),
            )
        }
        Linked::Opportunity(id) => {
            let o = crate::opportunities::model::find(&mut tx, &scope, id).await?;
            (
                Link {
                    company: Some(o.company_id),
                    opportunity: Some(o.id),
                },
                format!("/opportunities/{}#opportunity-tasks", o.id),
            )
        }
    };
    let mut errors = Errors::new();
    let content = forms_::check_text(
        &mut errors,
        ctx.locale,
        "content",
        &input.content,
        CONTENT_MAX,
    );
    let due_at =
        form::parse_local(ctx, &input.due_at).map_err(|key| errors.add(ctx.locale, "due_at", key));
    let htmx = req.header("HX-Request").is_some();
    let due_at = match due_at {
        Ok(due) if errors.is_empty() => due,
        _ => {
            if htmx {
                let markup = render_with(&mut tx, ctx, &scope, link, input, &errors).await?;
                tx.commit().await?;
                // htmx swaps only 2xx answers: the section comes back with the errors.
                return Ok(markup.into_response());
            }
            tx.rollback().await?;
            flash::warning(ctx, ctx.t("tasks.quick_invalid"));
            return Ok(Redirect::see_other(page).into_response());
        }
    };
    let remind_before = form::default_reminders(&mut tx, ctx.user).await?;
    let fields = TaskFields {
        kind: Kind::Task,
        content,
        starts_at: due_at
            .min(chrono::Utc::now())
            .max(due_at - chrono::Duration::hours(1)),
        due_at,
        owner_id: ctx.user,
        category_id: None,
        visibility: "private".into(),
        remind_before,
    };
    model::create(&mut tx, &fields, link, ctx.user).await?;
    if htmx {
        let markup = render(&mut tx, ctx, &scope, link).await?;
        tx.commit().await?;
        return Ok(markup.into_response());
    }
    tx.commit().await?;
    flash::success(ctx, ctx.t("tasks.created"));
    Ok(Redirect::see_other(page).into_response())
}
