//! GET /calendar?view=month|week|day&date=YYYY-MM-DD[&user=ID] — the calendar of the
//! tasks and memos in scope, server-rendered (it works without JavaScript): one's own by
//! default; a manager may show a team member's, an admin anyone's. A day links to adding
//! a task on it, an entry to the task. POST /tasks/:id/move moves an entry to another day
//! at the same time of day (the form on the task's page); its reminders move with it.
//!
//! Days and weeks are the user's (their time zone, weeks from Monday), so an entry shows
//! on the day its start falls on there.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Path, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    auth::ctx::Ctx,
    db::TenantTx,
    error::AppResult,
    ids::{TaskId, UserId},
    schema::tasks,
    state::State,
    tasks::{
        managed,
        model::{self, Kind, Task},
    },
    users::model as users,
    visibility::{Scope, View},
    web::{
        flash,
        forms::RawForm,
        layout::{self, Module},
    },
};

/// The three views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalView {
    /// 月.
    Month,
    /// 周.
    Week,
    /// 日.
    Day,
}

impl CalView {
    fn parse(raw: &str) -> Self {
        match raw {
            "week" => Self::Week,
            "day" => Self::Day,
            _ => Self::Month,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Week => "week",
            Self::Day => "day",
        }
    }
}

/// The query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CalParams {
    view: String,
    date: String,
    user: Option<i64>,
}

/// The first and the day after the last day a view shows around `date`.
pub fn range(view: CalView, date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let monday = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
    match view {
        CalView::Day => (date, date + Duration::days(1)),
        CalView::Week => {
            let start = monday(date);
            (start, start + Duration::days(7))
        }
        CalView::Month => {
            let first = date.with_day(1).unwrap_or(date);
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            }
            .unwrap_or(first + Duration::days(31));
            // Whole weeks, Monday to Sunday.
            let start = monday(first);
            let last = next - Duration::days(1);
            let end = monday(last) + Duration::days(7);
            (start, end)
        }
    }
}

/// The instant a day starts in `tz` (the first instant that exists on it).
fn day_start(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..3)
        .find_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
            |t| t.with_timezone(&Utc),
        )
}

/// The visible entries of `owner` that overlap `[from, to)`.
pub async fn entries(
    tx: &mut TenantTx,
    scope: &Scope,
    owner: UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<Task>> {
    let tenant = tx.tenant();
    Ok(tasks::table
        .filter(tasks::tenant_id.eq(tenant).and(tasks::owner_id.eq(owner)))
        .filter(scope.tasks())
        .filter(tasks::due_at.ge(from))
        .filter(tasks::starts_at.lt(to))
        .order((tasks::starts_at.asc(), tasks::id.asc()))
        .limit(2000)
        .select(Task::as_select())
        .load(&mut **tx)
        .await?)
}

/// GET /calendar
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<CalParams>,
) -> AppResult<Markup> {
    let view = CalView::parse(&params.view);
    let today = ctx.today();
    let date = NaiveDate::parse_from_str(params.date.trim(), "%Y-%m-%d").unwrap_or(today);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let people = users::list(&mut tx).await?;
    // Whose calendar: someone the user may manage (themselves for a member).
    let owner = params
        .user
        .map(UserId)
        .filter(|u| scope.can_manage(*u) && people.iter().any(|p| p.id == *u))
        .unwrap_or(ctx.user);
    let (first, end) = range(view, date);
    let tz = ctx.time_zone;
    let list = entries(
        &mut tx,
        &scope,
        owner,
        day_start(tz, first),
        day_start(tz, end),
    )
    .await?;
    tx.commit().await?;

    let choosable: Vec<_> = people
        .iter()
        .filter(|p| scope.can_manage(p.id) && (p.status != "disabled" || p.id == owner))
        .collect();
    let user_param = if owner == ctx.user {
        String::new()
    } else {
        format!("&user={owner}")
    };
    let href = |v: CalView, d: NaiveDate| {
        format!(
            "/calendar?view={}&date={}{user_param}",
            v.as_str(),
            d.format("%Y-%m-%d")
        )
    };
    let (prev, next) = match view {
        CalView::Day => (date - Duration::days(1), date + Duration::days(1)),
        CalView::Week => (date - Duration::days(7), date + Duration::days(7)),
        CalView::Month => {
            let first = date.with_day(1).unwrap_or(date);
            (first - Duration::days(1), first + Duration::days(32))
        }
    };
    let on_day = |d: NaiveDate| -> Vec<&Task> {
        list.iter()
            .filter(|t| {
                let starts = t.starts_at.with_timezone(&tz).date_naive();
                let ends = t.due_at.with_timezone(&tz).date_naive();
                starts <= d && d <= ends.max(starts)
            })
            .collect()
    };
    let now = Utc::now();
    let entry = |t: &Task| {
        html! {
            a.cal-entry.d-block.text-truncate href={"/tasks/" (t.id)}
                .cal-memo[t.kind() == Kind::Memo] .cal-done[t.done_at.is_some()] .cal-overdue[t.overdue(now)]
                data-task=(t.id) title=(t.content) {
                span.cal-time { (t.starts_at.with_timezone(&tz).format("%H:%M")) }
                " " (t.content)
            }
        }
    };
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < end).collect();
    let title = match view {
        CalView::Month => ctx.locale.tf(
            "calendar.month_title",
            &[
                ("year", &date.year().to_string()),
                ("month", &date.month().to_string()),
            ],
        ),
        CalView::Week => format!(
            "{} – {}",
            first.format("%Y-%m-%d"),
            (end - Duration::days(1)).format("%Y-%m-%d")
        ),
        CalView::Day => date.format("%Y-%m-%d").to_string(),
    };
    let weekday = |d: NaiveDate| {
        ctx.t(&format!(
            "calendar.weekday_{}",
            d.weekday().num_days_from_monday()
        ))
    };
    let content = html! {
        div.d-flex.flex-wrap.align-items-center.gap-2.mb-3 #calendar-toolbar {
            div.btn-group {
                a.btn.btn-outline-secondary #cal-prev href=(href(view, prev)) aria-label=(ctx.t("calendar.prev")) { "‹" }
                a.btn.btn-outline-secondary #cal-today href=(href(view, today)) { (ctx.t("calendar.today")) }
                a.btn.btn-outline-secondary #cal-next href=(href(view, next)) aria-label=(ctx.t("calendar.next")) { "›" }
            }
            h2.h5.mb-0.mx-2 #cal-title { (title) }
            div.btn-group.ms-auto {
                @for v in [CalView::Month, CalView::Week, CalView::Day] {
                    a.btn.btn-outline-primary.active[v == view] href=(href(v, date)) { (ctx.t(&format!("calendar.view_{}", v.as_str()))) }
                }
            }
            @if choosable.len() > 1 {
                form.d-flex.gap-2 method="get" action="/calendar" {
                    input type="hidden" name="view" value=(view.as_str());
                    input type="hidden" name="date" value=(date.format("%Y-%m-%d"));
                    label.visually-hidden for="f-cal-user" { (ctx.t("calendar.whose")) }
                    select.form-select.form-select-sm.w-auto #f-cal-user name="user" {
                        @for p in &choosable {
                            option value=(p.id) selected[p.id == owner] { (p.name) }
                        }
                    }
                    button.btn.btn-sm.btn-outline-secondary type="submit" { (ctx.t("calendar.show")) }
                }
            }
        }
        @match view {
            CalView::Month => {
                table.table.table-bordered.cal-month #calendar {
                    thead { tr { @for d in days.iter().take(7) { th scope="col" { (weekday(*d)) } } } }
                    tbody {
                        @for week in days.chunks(7) {
                            tr {
                                @for d in week {
                                    td.cal-day .cal-other[d.month() != date.month()] .cal-today[*d == today]
                                        data-date=(d.format("%Y-%m-%d")) {
                                        div.d-flex.justify-content-between {
                                            a.cal-date href=(href(CalView::Day, *d)) { (d.day()) }
                                            a.cal-add href={"/tasks/new?date=" (d.format("%Y-%m-%d"))}
                                                aria-label=(ctx.locale.tf("calendar.add_on", &[("date", &d.format("%Y-%m-%d").to_string())])) { "+" }
                                        }
                                        @for t in on_day(*d) { (entry(t)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            _ => {
                div.cal-days #calendar {
                    @for d in &days {
                        section.card.mb-2.cal-day .cal-today[*d == today] data-date=(d.format("%Y-%m-%d")) {
                            div.card-header.d-flex.justify-content-between {
                                a href=(href(CalView::Day, *d)) { (d.format("%Y-%m-%d")) " " (weekday(*d)) }
                                a.cal-add href={"/tasks/new?date=" (d.format("%Y-%m-%d"))} { (ctx.t("calendar.add")) }
                            }
                            div.card-body {
                                @let found = on_day(*d);
                                @if found.is_empty() { span.text-secondary { (ctx.t("calendar.nothing")) } }
                                @for t in found { (entry(t)) }
                            }
                        }
                    }
                }
            }
        }
        // The entries as a list, for reading without the grid.
        details.mt-3 #calendar-list {
            summary { (ctx.locale.tf("calendar.count", &[("count", &list.len().to_string())])) }
            ul {
                @for t in &list {
                    li { (ctx.datetime(t.starts_at)) " – " (ctx.datetime(t.due_at)) " · " a href={"/tasks/" (t.id)} { (t.content) } }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Home,
        "/calendar",
        &ctx.t("calendar.title"),
        content,
    ))
}

/// The move form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MoveForm {
    date: String,
}

/// POST /tasks/:id/move — to `date` (YYYY-MM-DD) at the same time of day, in the
/// user's time zone; its length and reminders follow.
#[handler]
pub async fn move_to(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<TaskId>,
    body: RawForm,
) -> AppResult<Response> {
    let input: MoveForm = body.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, task) = managed(&mut tx, &ctx, id).await?;
    let tz = ctx.time_zone;
    let Ok(day) = NaiveDate::parse_from_str(input.date.trim(), "%Y-%m-%d") else {
        tx.rollback().await?;
        flash::warning(&ctx, ctx.t("calendar.move_invalid"));
        return Ok(Redirect::see_other(format!("/tasks/{id}")).into_response());
    };
    let local = task.starts_at.with_timezone(&tz);
    let moved = tz
        .from_local_datetime(&day.and_time(local.time()))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| task.starts_at + (day - local.date_naive()));
    model::reschedule(&mut tx, &task, moved).await?;
    tx.commit().await?;
    flash::success(&ctx, ctx.t("calendar.moved"));
    Ok(Redirect::see_other(format!(
        "/calendar?view=week&date={}",
        day.format("%Y-%m-%d")
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::{CalView, range};
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn views_cover_whole_days_and_weeks_from_monday() {
        // December 2026 starts on a Tuesday and ends on a Thursday.
        assert_eq!(
            range(CalView::Month, d("2026-12-07")),
            (d("2026-11-30"), d("2027-01-04"))
        );
        assert_eq!(
            range(CalView::Week, d("2026-12-06")),
            (d("2026-11-30"), d("2026-12-07"))
        );
        assert_eq!(
            range(CalView::Day, d("2026-12-31")),
            (d("2026-12-31"), d("2027-01-01"))
        );
        // February 2027 is exactly four weeks from Monday the 1st.
        assert_eq!(
            range(CalView::Month, d("2027-02-14")),
            (d("2027-02-01"), d("2027-03-01"))
        );
    }
}
