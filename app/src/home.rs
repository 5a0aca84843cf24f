//! 工作桌面, the home page. Later modules add their panels here.

use maud::{Markup, html};
use poem::{handler, web::Data};

use crate::{
    auth::ctx::Ctx,
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::AppResult,
    history,
    state::State,
    targets::{self, Month},
    web::layout::{self, Module},
};

/// Entries in the 最新动态 feed.
const FEED_SIZE: i64 = 20;

/// Tasks in the today-and-overdue card.
const TASKS_SHOWN: i64 = 10;

/// GET /
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let feed = history::feed(&mut tx, &scope, FEED_SIZE).await?;
    let due = crate::tasks::model::due_list(
        &mut tx,
        ctx.user,
        crate::tasks::model::end_of_today(ctx.time_zone),
        TASKS_SHOWN,
    )
    .await?;
    let this_month = targets::report::one_month(
        &mut tx,
        ctx.time_zone.name(),
        &[ctx.user],
        Month::now(ctx.time_zone),
    )
    .await?;
    tx.commit().await?;
    let content = html! {
        p.lead { (ctx.locale.tf("home.welcome", &[("name", &ctx.name), ("company", &ctx.tenant_name)])) }
        div.row.g-3 {
            div.col-12 { (targets::views::home_card(&ctx, &this_month)) }
            div.col-lg-6 {
                section.card.h-100 #feed {
                    div.card-header { (ctx.t("home.activity")) }
                    @if feed.is_empty() {
                        div.card-body.empty-state { (ctx.t("home.activity_empty")) }
                    } @else {
                        div.card-body { (history::render(&ctx, &feed, true)) }
                    }
                }
            }
            div.col-lg-6 {
                section.card.h-100 #home-tasks {
                    div.card-header.d-flex.justify-content-between.align-items-center {
                        span { (ctx.t("home.tasks")) }
                        span {
                            a.btn.btn-sm.btn-outline-secondary.me-1 href="/calendar?view=week" { (ctx.t("calendar.title")) }
                            a.btn.btn-sm.btn-outline-primary href="/tasks/new" { (ctx.t("tasks.new")) }
                        }
                    }
                    @if due.is_empty() {
                        div.card-body.empty-state { (ctx.t("home.tasks_empty")) }
                    } @else {
                        ul.list-group.list-group-flush {
                            @let now = chrono::Utc::now();
                            @for t in &due {
                                li.list-group-item.d-flex.justify-content-between.gap-2 {
                                    a.text-truncate href={"/tasks/" (t.id)} { (t.content) }
                                    small.text-nowrap.text-danger[t.overdue(now)] { (ctx.datetime(t.due_at)) }
                                }
                            }
                        }
                        div.card-footer { a href="/tasks" { (ctx.t("home.tasks_all")) } }
                    }
                }
            }
            @if ctx.is_admin() {
                div.col-12 {
                    section.card {
                        div.card-header { (ctx.t("home.getting_started")) }
                        div.card-body {
                            p { (ctx.t("home.invite_hint")) }
                            a.btn.btn-primary href="/admin/users/invite" { (ctx.t("users.invite")) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Home,
        "/",
        &ctx.t("menu.home"),
        content,
    ))
}
