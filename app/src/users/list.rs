//! GET /admin/users: every user with their role, manager, status and actions.

use std::collections::HashMap;

use maud::{Markup, html};
use poem::{handler, web::Data};

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    state::State,
    users::model::{self as users, User},
    web::{
        ctx::{AdminCtx, Ctx},
        layout::{self, Module, csrf_field},
    },
};

/// GET /admin/users
#[handler]
pub async fn index(ctx: AdminCtx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let all: Vec<User> = users::list(&mut tx)
        .await?
        .into_iter()
        .map(|u| u.with_lock_in_force(state.config.login_lock))
        .collect();
    tx.commit().await?;
    let names: HashMap<UserId, &str> = all.iter().map(|u| (u.id, u.name.as_str())).collect();
    let content = html! {
        div.d-flex.gap-2.mb-3 {
            a.btn.btn-primary href="/admin/users/invite" { (ctx.t("users.invite")) }
            a.btn.btn-outline-primary href="/admin/users/new" { (ctx.t("users.create")) }
        }
        div.table-responsive {
            table.table.table-hover.align-middle #users {
                thead {
                    tr {
                        th scope="col" { (ctx.t("field.name")) }
                        th scope="col" { (ctx.t("field.email")) }
                        th scope="col" { (ctx.t("field.role")) }
                        th scope="col" { (ctx.t("field.reports_to")) }
                        th scope="col" { (ctx.t("field.status")) }
                        th scope="col" { span.visually-hidden { (ctx.t("common.actions")) } }
                    }
                }
                tbody {
                    @for user in &all {
                        (row(&ctx, user, user.reports_to.and_then(|m| names.get(&m).copied())))
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Settings,
        "/admin/users",
        &ctx.t("users.title"),
        content,
    ))
}

/// The status badge of a user.
pub fn status_badge(ctx: &Ctx, user: &User) -> Markup {
    let (class, key) = if user.locked_at.is_some() {
        ("text-bg-danger", "status.locked")
    } else {
        match user.status.as_str() {
            "active" => ("text-bg-success", "status.active"),
            "invited" => ("text-bg-info", "status.invited"),
            _ => ("text-bg-secondary", "status.disabled"),
        }
    };
    html! { span class={"badge " (class)} { (ctx.t(key)) } }
}

/// One table row; also the htmx response of a row action.
pub fn row(ctx: &Ctx, user: &User, manager: Option<&str>) -> Markup {
    let id = user.id;
    html! {
        tr id={"user-" (id)} {
            td { a href={"/admin/users/" (id)} { (user.name) } }
            td { (user.email) }
            td { (ctx.t(user.role.label_key())) }
            td { (manager.unwrap_or("—")) }
            td { (status_badge(ctx, user)) }
            td.text-end.text-nowrap {
                @if user.locked_at.is_some() {
                    (action_button(ctx, id, "unlock", "users.unlock", "btn-outline-success", None))
                }
                @if id != ctx.user {
                    @if user.status == "disabled" {
                        (action_button(ctx, id, "enable", "users.enable", "btn-outline-success", None))
                    } @else {
                        (action_button(ctx, id, "disable", "users.disable", "btn-outline-danger",
                            Some(ctx.locale.tf("users.confirm_disable", &[("name", &user.name)]))))
                    }
                }
                @if user.status == "invited" {
                    (action_button(ctx, id, "reinvite", "users.reinvite", "btn-outline-secondary", None))
                }
                a.btn.btn-sm.btn-outline-secondary.ms-1 href={"/admin/users/" (id) "/password"} {
                    (ctx.t("users.reset_password"))
                }
            }
        }
    }
}

fn action_button(
    ctx: &Ctx,
    id: UserId,
    action: &str,
    label_key: &str,
    class: &str,
    confirm: Option<String>,
) -> Markup {
    let url = format!("/admin/users/{id}/{action}");
    html! {
        form.d-inline.ms-1 method="post" action=(url)
            hx-post=(url) hx-target={"#user-" (id)} hx-swap="outerHTML" hx-confirm=[confirm] {
            (csrf_field(&ctx.csrf))
            button class={"btn btn-sm " (class)} type="submit" data-action=(action) { (ctx.t(label_key)) }
        }
    }
}
