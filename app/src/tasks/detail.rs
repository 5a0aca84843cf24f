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
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::TaskId,
    state::State,
    tasks::{
        managed,
        model::{self, Kind, Link, Task},
        recurrence, reminders, section,
    },
    users::model as users,
    visibility::{Scope, View},
    web::{
        ctx::Ctx,
        flash,
        forms::RawForm,
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
    let series = model::series_info(&mut tx, &task).await?;
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
                    @if let Some(series) = &series {
                        dt.col-sm-3 { (ctx.t("tasks.repeat")) }
                        dd.col-sm-9 #task-series {
                            (recurrence::describe(ctx.locale, &series.rule, ctx.time_zone).unwrap_or_default())
                            span.text-secondary.ms-2 {
                                (ctx.locale.tf("tasks.series_position", &[
                                    ("n", &series.position.to_string()),
                                    ("left", &series.left.to_string()),
                                    ("made", &series.made.to_string()),
                                ]))
                            }
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
    let (scope, task) = managed(&mut tx, &ctx, id).await?;
    // A recurring task's occurrence: this one, this and the later ones, or all of them
    // (those the user may change).
    let mut counts = None;
    if let Some(series) = task.series_id {
        // In time order, so this one and the later ones are the tail from it on.
        let members = model::series_members(&mut tx, series, None).await?;
        let from = members
            .iter()
            .position(|(id, _)| *id == task.id)
            .unwrap_or(0);
        let manageable = |m: &[(TaskId, crate::ids::UserId)]| {
            m.iter()
                .filter(|(_, owner)| scope.can_manage(*owner))
                .count()
        };
        counts = Some((manageable(&members[from..]), manageable(&members)));
    }
    tx.commit().await?;
    let short: String = task.content.chars().take(60).collect();
    let choices = html! {
        @if let Some((following, all)) = counts {
            fieldset.mb-3 #delete-which {
                legend.h6 { (ctx.t("tasks.delete_which")) }
                @for (value, label, count) in [("one", "tasks.delete_one", 1), ("following", "tasks.delete_following", following), ("all", "tasks.delete_all_series", all)] {
                    div.form-check {
                        input.form-check-input type="radio" name="which" value=(value)
                            id={"f-which-" (value)} checked[value == "one"];
                        label.form-check-label for={"f-which-" (value)} {
                            (ctx.locale.tf(label, &[("count", &count.to_string())]))
                        }
                    }
                }
            }
        }
    };
    let content = html! {
        div.alert.alert-danger role="alert" {
            p.mb-2 { strong { (ctx.locale.tf("tasks.delete_confirm", &[("content", &short)])) } }
            p.mb-0 { (ctx.t("tasks.delete_warning")) }
        }
        (layout::confirm_delete_form_with(
            &ctx,
            &format!("/tasks/{}/delete", task.id),
            (&ctx.t("tasks.delete_submit"), &format!("/tasks/{}", task.id)),
            choices,
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

/// What POST /tasks/:id/delete deletes.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeleteForm {
    /// `one` (the default), or for a recurring task `following` or `all`.
    which: String,
}

/// POST /tasks/:id/delete — back to the list. Of a series, only the occurrences the user
/// may change are deleted.
#[handler]
pub async fn delete(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<TaskId>,
    body: RawForm,
) -> AppResult<Response> {
    let form: DeleteForm = body.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, task) = managed(&mut tx, &ctx, id).await?;
    let ids: Vec<TaskId> = match (task.series_id, form.which.as_str()) {
        (Some(series), which @ ("following" | "all")) => {
            let from = (which == "following").then_some(&task);
            model::series_members(&mut tx, series, from)
                .await?
                .into_iter()
                .filter(|(_, owner)| scope.can_manage(*owner))
                .map(|(id, _)| id)
                .collect()
        }
        _ => vec![task.id],
    };
    let deleted = model::delete_many(&mut tx, &ids).await?;
    tx.commit().await?;
    flash::success(
        &ctx,
        if deleted == 1 {
            ctx.t("tasks.deleted")
        } else {
            ctx.locale
                .tf("tasks.deleted_many", &[("count", &deleted.to_string())])
        },
    );
    Ok(Redirect::see_other("/tasks").into_response())
}
