//! 工作桌面, the home page. Later modules add their panels here.

use chrono::{NaiveDate, Utc};
use maud::{Markup, html};
use poem::{handler, web::Data};

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::AppResult,
    history,
    state::State,
    targets::{self, Month},
    tasks::{
        calendar::{self, CalView},
        model::Task,
    },
    web::{
        ctx::Ctx,
        layout::{self, Module},
    },
};

/// Entries in the 最新动态 feed.
const FEED_SIZE: i64 = 20;

/// Tasks in the today-and-overdue card.
const TASKS_SHOWN: i64 = 10;

/// Entries shown on a day of the week card; the rest are behind a link to the day.
const WEEK_SHOWN_PER_DAY: usize = 4;

/// GET /
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let feed = history::feed(
        &mut tx,
        &scope,
        crate::imports::history::may_see(&ctx),
        FEED_SIZE,
    )
    .await?;
    let due = crate::tasks::model::due_list(
        &mut tx,
        ctx.user,
        crate::tasks::model::end_of_today(ctx.time_zone),
        TASKS_SHOWN,
    )
    .await?;
    // This week, Monday to Sunday in the user's time zone, as the week calendar shows it.
    let today = ctx.today();
    let week = calendar::range(CalView::Week, today);
    let this_week = calendar::entries(
        &mut tx,
        &scope,
        ctx.user,
        calendar::day_start(ctx.time_zone, week.0),
        calendar::day_start(ctx.time_zone, week.1),
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
        p.lead { ( ctx.locale.tf(if ctx.first_session { "home.welcome_first" } else { "home.welcome" }, &[("name", &ctx.name), ("company", &ctx.tenant_name)])) }
        div.row.g-3 {
            div.col-12 { (targets::views::home_card(&ctx, &this_month)) }
            div.col-12 { (week_card(&ctx, today, week, &this_week)) }
            div.col-lg-6 {
                section.card.h-100 #feed {
                    div.card-header { (ctx.t("home.activity")) }
                    @if feed.is_empty() {
                        div.card-body.empty-state { (ctx.t("home.activity_empty")) }
                    } @else {
                        div.card-body { (history::render_feed(&ctx, &feed)) }
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

/// 本周日程: the user's tasks and memos of the week `(first, end)` by day, today
/// marked, each a link to its task (the calendar's entry links).
fn week_card(
    ctx: &Ctx,
    today: NaiveDate,
    (first, end): (NaiveDate, NaiveDate),
    list: &[Task],
) -> Markup {
    let tz = ctx.time_zone;
    let now = Utc::now();
    html! {
        section.card #home-week {
            div.card-header.d-flex.justify-content-between.align-items-center {
                span { (ctx.t("home.week")) }
                a.btn.btn-sm.btn-outline-secondary href="/calendar?view=week" { (ctx.t("home.week_open")) }
            }
            @if list.is_empty() {
                div.card-body.empty-state { (ctx.t("home.week_empty")) }
            } @else {
                ol.home-week {
                    @for d in first.iter_days().take_while(|d| *d < end) {
                        @let found = calendar::on_day(list, tz, d);
                        li.home-week-day.home-week-today[d == today] data-date=(d.format("%Y-%m-%d"))
                            aria-current=[(d == today).then_some("date")] {
                            div.home-week-date { (calendar::weekday(ctx, d)) " " (d.format("%m-%d")) }
                            @for t in found.iter().take(WEEK_SHOWN_PER_DAY) { (calendar::entry_link(t, tz, now)) }
                            @if found.len() > WEEK_SHOWN_PER_DAY {
                                a.home-week-more href={"/calendar?view=day&date=" (d.format("%Y-%m-%d"))} {
                                    (ctx.locale.tf("home.week_more", &[("count", &(found.len() - WEEK_SHOWN_PER_DAY).to_string())]))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
