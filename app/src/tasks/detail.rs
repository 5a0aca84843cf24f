//! GET /tasks/:id — a task or memo: its content, times in the user's time zone, owner,
//! category, visibility, what it belongs to and its pending reminders, with
//! 标记为完成 / 复原为未完成, 修改 and 删除 for those who may change it. POST
//! `/tasks/:id/done` and `/tasks/:id/restore` answer a detail-page section (htmx) with the
//! section again, and a plain form with a redirect back.

use maud::{Markup, html};
use poem::{
    IntoResponse, Request, Response, handler,
    web::{Data, Path, Redirect},
};

use crate::{
    auth::ctx::Ctx,
    db::TenantTx,
    error::AppResult,
    ids::TaskId,
    state::State,
    tasks::{
        managed,
        model::{self, Kind, Link, Task},
        reminders, section,
    },
    users::model as users,
    visibility::{Scope, View},
    web::{
        flash,
        layout::{self, Module, csrf_field},
    },
};

/// GET /tasks/:id
#[handler]
pub async fn show(ctx: Ctx, state: Data<&State>, Path(id): Path<TaskId>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let task = model::find(&mut tx, &scope, id).await?;
    let (company, opportunity) = model::link_names(&mut tx, &task).await?;
    let people = users::list(&mut tx).await?;
    let categories = model::categories(&mut tx).await?;
    let pending = reminders::pending(&mut tx, task.id).await?;
    tx.commit().await?;

    let person = |id| {
        people
            .iter()
            .find(|u| u.id == id)
            .map_or("", |u| u.name.as_str())
    };
    let category = task
        .category_id
        .and_then(|c| categories.iter().find(|(id, _)| *id == c))
        .map_or(String::new(), |(_, n)| n.clone());
    let manage = scope.can_manage(task.owner_id);
    let overdue = task.overdue(chrono::Utc::now());
    let content = html! {
        div.d-flex.flex-wrap.justify-content-between.align-items-start.gap-2.mb-3 #task-head {
            div {
                span.badge.text-bg-light.me-2 { (ctx.t(&format!("tasks.kind_{}", task.kind))) }
                @if task.done_at.is_some() {
                    span.badge.text-bg-success #task-state { (ctx.t("tasks.state_done")) }
                } @else if overdue {
                    span.badge.text-bg-danger #task-state { (ctx.t("tasks.state_overdue")) }
                } @else {
                    span.badge.text-bg-secondary #task-state { (ctx.t("tasks.state_open")) }
                }
            }
            @if manage {
                div.d-flex.gap-2 {
                    (done_button(&ctx, &task, None))
                    a.btn.btn-outline-secondary #task-edit href={"/tasks/" (task.id) "/edit"} { (ctx.t("common.edit")) }
                    a.btn.btn-outline-danger #task-delete href={"/tasks/" (task.id) "/delete"} { (ctx.t("common.delete")) }
                }
            }
        }
        section.card.mb-3 {
            div.card-body {
                p.task-content.fs-5 #task-content { (task.content) }
                dl.row.mb-0 #task-facts {
                    dt.col-sm-3 { (ctx.t("tasks.starts_at")) }
                    dd.col-sm-9 { (ctx.datetime(task.starts_at)) }
                    dt.col-sm-3 { (ctx.t(if task.kind() == Kind::Memo { "tasks.ends_at" } else { "tasks.due_at" })) }
                    dd.col-sm-9.text-danger[overdue] #task-due { (ctx.datetime(task.due_at)) }
                    dt.col-sm-3 { (ctx.t("tasks.owner")) }
                    dd.col-sm-9 { (person(task.owner_id)) }
                    dt.col-sm-3 { (ctx.t("tasks.category")) }
                    dd.col-sm-9 { @if category.is_empty() { span.text-secondary { (ctx.t("tasks.no_category")) } } @else { (category) } }
                    dt.col-sm-3 { (ctx.t("tasks.visibility")) }
                    dd.col-sm-9 { (ctx.t(&format!("visibility.{}", task.visibility))) }
                    dt.col-sm-3 { (ctx.t("tasks.linked_to")) }
                    dd.col-sm-9 #task-link {
                        @if let (Some(id), Some(name)) = (task.opportunity_id, &opportunity) {
                            a href={"/opportunities/" (id)} { (name) }
                            @if let (Some(cid), Some(cname)) = (task.company_id, &company) {
                                " · " a href={"/customers/" (cid)} { (cname) }
                            }
                        } @else if let (Some(id), Some(name)) = (task.company_id, &company) {
                            a href={"/customers/" (id)} { (name) }
                        } @else {
                            span.text-secondary { (ctx.t("tasks.no_link")) }
                        }
                    }
                    @if let Some(done) = task.done_at {
                        dt.col-sm-3 { (ctx.t("tasks.done_at")) }
                        dd.col-sm-9 { (ctx.datetime(done)) " · " (task.done_by.map_or("", person)) }
                    }
                    @if task.kind() == Kind::Task {
                        dt.col-sm-3 { (ctx.t("tasks.reminders")) }
                        dd.col-sm-9 #task-reminders {
                            @if pending.is_empty() {
                                span.text-secondary { (ctx.t("tasks.no_reminders")) }
                            }
                            @for at in &pending { span.badge.text-bg-light.me-1 { (ctx.datetime(*at)) } }
                        }
                    }
                    dt.col-sm-3 { (ctx.t("tasks.created_at")) }
                    dd.col-sm-9 { (ctx.datetime(task.created_at)) " · " (person(task.created_by)) }
                }
            }
        }
        @if manage {
            form.d-flex.flex-wrap.gap-2.align-items-end.mb-3 #task-move method="post" action={"/tasks/" (task.id) "/move"} {
                (csrf_field(&ctx.csrf))
                div {
                    label.form-label for="f-move-date" { (ctx.t("calendar.move_to")) }
                    input.form-control #f-move-date type="date" name="date" required
                        value=(task.starts_at.with_timezone(&ctx.time_zone).format("%Y-%m-%d"));
                }
                button.btn.btn-outline-secondary type="submit" { (ctx.t("calendar.move")) }
            }
        }
        a href="/tasks" { "← " (ctx.t("tasks.back_to_list")) }
        " · "
        a href={"/calendar?view=week&date=" (task.starts_at.with_timezone(&ctx.time_zone).format("%Y-%m-%d"))} { (ctx.t("calendar.open")) }
    };
    Ok(layout::page(
        &ctx,
        Module::Home,
        "/tasks",
        &ctx.t("tasks.detail_title"),
        content,
    ))
}

/// 标记为完成 or 复原为未完成 as a small form; in the section of a company or an
/// opportunity (`of`) it swaps the section through htmx.
pub fn done_button(ctx: &Ctx, task: &Task, of: Option<&str>) -> Markup {
    let (path, label, class) = if task.done_at.is_some() {
        ("restore", "tasks.restore", "btn-outline-secondary")
    } else {
        ("done", "tasks.mark_done", "btn-success")
    };
    let url = match of {
        Some(of) => format!("/tasks/{}/{path}?of={of}", task.id),
        None => format!("/tasks/{}/{path}", task.id),
    };
    html! {
        form.d-inline method="post" action=(url)
            hx-post=[of.map(|_| url.as_str())]
            hx-target=[of.map(|_| "closest .task-section")] hx-swap=[of.map(|_| "outerHTML")] {
            (csrf_field(&ctx.csrf))
            button.btn.(class).btn-sm[of.is_some()] type="submit" data-task=(task.id) data-action=(path) { (ctx.t(label)) }
        }
    }
}

/// POST /tasks/:id/done
#[handler]
pub async fn complete(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<TaskId>,
    req: &Request,
) -> AppResult<Response> {
    set_done(&ctx, &state, id, true, req).await
}

/// POST /tasks/:id/restore
#[handler]
pub async fn reopen(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<TaskId>,
    req: &Request,
) -> AppResult<Response> {
    set_done(&ctx, &state, id, false, req).await
}

async fn set_done(
    ctx: &Ctx,
    state: &State,
    id: TaskId,
    done: bool,
    req: &Request,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, task) = managed(&mut tx, ctx, id).await?;
    model::set_done(&mut tx, &[task.id], done, ctx.user).await?;
    let of = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "of")
            .map(|(_, v)| v.into_owned())
    });
    let section_of = match of.as_deref() {
        Some("company") if task.company_id.is_some() => Some(Link {
            company: task.company_id,
            opportunity: None,
        }),
        Some("opportunity") if task.opportunity_id.is_some() => Some(Link {
            company: task.company_id,
            opportunity: task.opportunity_id,
        }),
        _ => None,
    };
    if let (Some(link), true) = (section_of, req.header("HX-Request").is_some()) {
        let markup = section::render(&mut tx, ctx, &scope, link).await?;
        tx.commit().await?;
        return Ok(markup.into_response());
    }
    tx.commit().await?;
    flash::success(
        ctx,
        ctx.t(if done {
            "tasks.marked_done"
        } else {
            "tasks.restored"
        }),
    );
    let back = match section_of {
        Some(Link {
            opportunity: Some(o),
            ..
        }) => format!("/opportunities/{o}#opportunity-tasks"),
        Some(Link {
            company: Some(c), ..
        }) => format!("/customers/{c}#company-tasks"),
        _ => format!("/tasks/{}", task.id),
    };
    Ok(Redirect::see_other(back).into_response())
}

/// GET /tasks/:id/delete — asks first.
#[handler]
pub async fn confirm_delete(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<TaskId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, task) = managed(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    let short: String = task.content.chars().take(60).collect();
    let content = html! {
        div.alert.alert-danger role="alert" {
            p.mb-2 { strong { (ctx.locale.tf("tasks.delete_confirm", &[("content", &short)])) } }
            p.mb-0 { (ctx.t("tasks.delete_warning")) }
        }
        (layout::confirm_delete_form(
            &ctx,
            &format!("/tasks/{}/delete", task.id),
            &ctx.t("tasks.delete_submit"),
            &format!("/tasks/{}", task.id),
        ))
    };
    Ok(layout::page(
        &ctx,
        Module::Home,
        "/tasks",
        &ctx.t("tasks.delete_title"),
        content,
    ))
}

/// POST /tasks/:id/delete — back to the list.
#[handler]
pub async fn delete(ctx: Ctx, state: Data<&State>, Path(id): Path<TaskId>) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, task) = managed(&mut tx, &ctx, id).await?;
    model::delete_many(&mut tx, &[task.id]).await?;
    tx.commit().await?;
    flash::success(&ctx, ctx.t("tasks.deleted"));
    Ok(Redirect::see_other("/tasks").into_response())
}
