//! GET /calendar?view=month|week|day&date=YYYY-MM-DD[&user=ID] — the calendar of the
//! tasks and memos in scope, server-rendered (it works without JavaScript): one's own by
//! default; a manager may show a team member's, an admin anyone's. A day links to adding
//! a task on it, an entry to the task. POST /tasks/:id/move moves an entry to another day
//! at the same time of day (the form on the task's page, and each entry's on the
//! calendar); its reminders move with it.
//!
//! Each entry the user may change carries its own small move form (behind a ⋯), so
//! that moving works without JavaScript. With it, entries are dragged between days
//! (SortableJS, vendored): `static/calendar.js` fills in the entry's form and submits it
//! through htmx, and the calendar comes back as its `fragment`, the way the
//! opportunity board moves its cards. A drag says which day the entry was picked up on,
//! so an entry of several days moves by as many days as it was dragged, whichever of its
//! days it was picked up on.
//!
//! Days and weeks are the user's (their time zone, weeks from Monday), so an entry shows
//! on the day its start falls on there.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Request, Response, handler,
    web::{Data, Path, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::{AppError, AppResult},
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
        ctx::Ctx,
        flash::{self, Flash},
        forms::RawForm,
        is_htmx,
        layout::{self, Module, csrf_field},
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
pub(crate) fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
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

/// The entries of `list` that show on `day` in `tz`: every day from the one an entry
/// starts on to the one it is due on.
pub(crate) fn on_day(list: &[Task], tz: Tz, day: NaiveDate) -> Vec<&Task> {
    list.iter()
        .filter(|t| {
            let starts = t.starts_at.with_timezone(&tz).date_naive();
            let ends = t.due_at.with_timezone(&tz).date_naive();
            starts <= day && day <= ends.max(starts)
        })
        .collect()
}

/// An entry as a link to its task: its start time and content, marked as a memo, done
/// or overdue (the calendar's days and the home page's week card).
pub(crate) fn entry_link(t: &Task, tz: Tz, now: DateTime<Utc>) -> Markup {
    html! {
        a.cal-entry.d-block.text-truncate href={"/tasks/" (t.id)}
            .cal-memo[t.kind() == Kind::Memo] .cal-done[t.done_at.is_some()] .cal-overdue[t.overdue(now)]
            data-task=(t.id) title=(t.content) {
            span.cal-time { (t.starts_at.with_timezone(&tz).format("%H:%M")) }
            " " (t.content)
        }
    }
}

/// The short name of `day`'s weekday (周一 … 周日).
pub(crate) fn weekday(ctx: &Ctx, day: NaiveDate) -> String {
    ctx.t(&format!(
        "calendar.weekday_{}",
        day.weekday().num_days_from_monday()
    ))
}

/// A calendar page's URL: `owner`'s calendar in `view` around `date` (no `user` for the
/// user's own).
fn href(view: CalView, date: NaiveDate, owner: UserId, me: UserId) -> String {
    let user = if owner == me {
        String::new()
    } else {
        format!("&user={owner}")
    };
    format!(
        "/calendar?view={}&date={}{user}",
        view.as_str(),
        date.format("%Y-%m-%d")
    )
}

/// What a calendar shows: whose, which days, and their entries.
struct Shown {
    view: CalView,
    /// The date the view is around.
    date: NaiveDate,
    owner: UserId,
    /// The first day shown.
    first: NaiveDate,
    /// The day after the last day shown.
    end: NaiveDate,
    list: Vec<Task>,
    /// The user's scope: which entries they may change.
    scope: Scope,
}

/// Loads `owner`'s entries for `view` around `date`.
async fn load(
    tx: &mut TenantTx,
    ctx: &Ctx,
    scope: Scope,
    view: CalView,
    date: NaiveDate,
    owner: UserId,
) -> AppResult<Shown> {
    let (first, end) = range(view, date);
    let tz = ctx.time_zone;
    let list = entries(tx, &scope, owner, day_start(tz, first), day_start(tz, end)).await?;
    Ok(Shown {
        view,
        date,
        owner,
        first,
        end,
        list,
        scope,
    })
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
    let date = parse_day(&params.date).unwrap_or(today);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let people = users::list(&mut tx).await?;
    // Whose calendar: someone the user may manage (themselves for a member).
    let owner = params
        .user
        .map(UserId)
        .filter(|u| scope.can_manage(*u) && people.iter().any(|p| p.id == *u))
        .unwrap_or(ctx.user);
    let choosable: Vec<_> = people
        .iter()
        .filter(|p| scope.can_manage(p.id) && (p.status != "disabled" || p.id == owner))
        .collect();
    let shown = load(&mut tx, &ctx, scope, view, date, owner).await?;
    tx.commit().await?;

    let href = |v: CalView, d: NaiveDate| href(v, d, owner, ctx.user);
    let (prev, next) = match view {
        CalView::Day => (date - Duration::days(1), date + Duration::days(1)),
        CalView::Week => (date - Duration::days(7), date + Duration::days(7)),
        CalView::Month => {
            let first = date.with_day(1).unwrap_or(date);
            (first - Duration::days(1), first + Duration::days(32))
        }
    };
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
            shown.first.format("%Y-%m-%d"),
            (shown.end - Duration::days(1)).format("%Y-%m-%d")
        ),
        CalView::Day => date.format("%Y-%m-%d").to_string(),
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
        (fragment(&ctx, &shown, None))
        script src="/static/vendor/Sortable.min.js" defer {}
        script src="/static/calendar.js" defer {}
    };
    Ok(layout::page(
        &ctx,
        Module::Home,
        "/calendar",
        &ctx.t("calendar.title"),
        content,
    ))
}

/// The calendar below its toolbar, as htmx swaps it in after a move (with `note`
/// saying so): the days with their entries, then the entries as a list.
fn fragment(ctx: &Ctx, shown: &Shown, note: Option<&Flash>) -> Markup {
    let tz = ctx.time_zone;
    let today = ctx.today();
    let now = Utc::now();
    let href = |v: CalView, d: NaiveDate| href(v, d, shown.owner, ctx.user);
    let days: Vec<NaiveDate> = shown
        .first
        .iter_days()
        .take_while(|d| *d < shown.end)
        .collect();
    // A day's entries: the list an entry is dragged from and dropped on (`nothing`: with
    // a word when it is empty).
    let day_entries = |d: NaiveDate, nothing: bool| {
        let found = on_day(&shown.list, tz, d);
        html! {
            div.cal-entries data-day=(d.format("%Y-%m-%d")) {
                @if nothing && found.is_empty() { span.text-secondary.cal-nothing { (ctx.t("calendar.nothing")) } }
                @for t in found { (item(ctx, shown, t, d, now)) }
            }
        }
    };
    html! {
        div #calendar-body {
            @if let Some(note) = note { (flash::render(note)) }
            @match shown.view {
                CalView::Month => {
                    table.table.table-bordered.cal-month #calendar {
                        thead { tr { @for d in days.iter().take(7) { th scope="col" { (weekday(ctx, *d)) } } } }
                        tbody {
                            @for week in days.chunks(7) {
                                tr {
                                    @for d in week {
                                        td.cal-day .cal-other[d.month() != shown.date.month()] .cal-today[*d == today]
                                            data-date=(d.format("%Y-%m-%d")) {
                                            div.d-flex.justify-content-between {
                                                a.cal-date href=(href(CalView::Day, *d)) { (d.day()) }
                                                a.cal-add href={"/tasks/new?date=" (d.format("%Y-%m-%d"))}
                                                    aria-label=(ctx.locale.tf("calendar.add_on", &[("date", &d.format("%Y-%m-%d").to_string())])) { "+" }
                                            }
                                            (day_entries(*d, false))
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
                                    a href=(href(CalView::Day, *d)) { (d.format("%Y-%m-%d")) " " (weekday(ctx, *d)) }
                                    a.cal-add href={"/tasks/new?date=" (d.format("%Y-%m-%d"))} { (ctx.t("calendar.add")) }
                                }
                                div.card-body { (day_entries(*d, true)) }
                            }
                        }
                    }
                }
            }
            // The entries as a list, for reading without the grid.
            details.mt-3 #calendar-list {
                summary { (ctx.locale.tf("calendar.count", &[("count", &shown.list.len().to_string())])) }
                ul {
                    @for t in &shown.list {
                        li { (ctx.datetime(t.starts_at)) " – " (ctx.datetime(t.due_at)) " · " a href={"/tasks/" (t.id)} { (t.content) } }
                    }
                }
            }
        }
    }
}

/// One entry on a day of the calendar. One the user may change carries its own move
/// form: the way to move it without JavaScript, and what `static/calendar.js` fills in
/// and submits when the entry is dropped on another day. The others are locked.
fn item(ctx: &Ctx, shown: &Shown, t: &Task, day: NaiveDate, now: DateTime<Utc>) -> Markup {
    let tz = ctx.time_zone;
    let movable = shown.scope.can_manage(t.owner_id);
    let action = format!("/tasks/{}/move", t.id);
    // An entry of several days is on each of them, each time with a form of its own.
    let input = format!("f-move-{}-{}", t.id, day.format("%Y-%m-%d"));
    html! {
        div.cal-item.cal-locked[!movable] data-task=(t.id) {
            (entry_link(t, tz, now))
            @if movable {
                details.cal-move {
                    // A ⋯ in the month's narrow days, the word in the week and the day.
                    summary title=(ctx.t("calendar.move"))
                        aria-label=(ctx.locale.tf("calendar.move_entry", &[("content", &t.content)])) {
                        span.cal-move-icon aria-hidden="true" { "⋯" }
                        span.cal-move-word aria-hidden="true" { (ctx.t("calendar.move")) }
                    }
                    form.cal-move-form method="post" action=(action)
                        hx-post=(action) hx-target="#calendar-body" hx-swap="outerHTML" {
                        (csrf_field(&ctx.csrf))
                        input type="hidden" name="view" value=(shown.view.as_str());
                        input type="hidden" name="shown" value=(shown.date.format("%Y-%m-%d"));
                        // Filled in by a drag: the day the entry was picked up on.
                        input type="hidden" name="from" value="";
                        label.form-label.small for=(input) { (ctx.t("calendar.move_to")) }
                        input.form-control.form-control-sm id=(input) type="date" name="date" required
                            value=(t.starts_at.with_timezone(&tz).format("%Y-%m-%d"));
                        button.btn.btn-sm.btn-outline-secondary type="submit" { (ctx.t("calendar.move")) }
                    }
                }
            }
        }
    }
}

/// A `YYYY-MM-DD` date, or None.
fn parse_day(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// The move form as posted. The calendar's forms add `from`, `view` and `shown`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MoveForm {
    /// The new start day; after a drag, the day the entry was dropped on.
    date: String,
    /// After a drag, the day the entry was picked up on (one of its days).
    from: String,
    /// The calendar view the form is on (`month`, `week`, `day`), to show again.
    view: String,
    /// The date that view is around.
    shown: String,
}

/// The day a moved entry starts on: `date`, or after a drag, its start day `start` moved
/// by as many days as it was dragged (from `from` to `date`). None for a bad date.
fn target_day(input: &MoveForm, start: NaiveDate) -> Option<NaiveDate> {
    let date = parse_day(&input.date)?;
    if input.from.trim().is_empty() {
        return Some(date);
    }
    start.checked_add_signed(date - parse_day(&input.from)?)
}

/// POST /tasks/:id/move — to `date` (YYYY-MM-DD) at the same time of day, in the
/// user's time zone; its length and reminders follow. From the calendar with htmx (a
/// drag), the answer is the calendar the form was on; otherwise a redirect to it (to
/// the week of the new day from elsewhere), with a flash message.
#[handler]
pub async fn move_to(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<TaskId>,
    req: &Request,
    body: RawForm,
) -> AppResult<Response> {
    let input: MoveForm = body.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, task) = managed(&mut tx, &ctx, id).await?;
    let tz = ctx.time_zone;
    let local = task.starts_at.with_timezone(&tz);
    let Some(day) = target_day(&input, local.date_naive()) else {
        tx.rollback().await?;
        if is_htmx(req) {
            return Err(AppError::BadRequest);
        }
        flash::warning(&ctx, ctx.t("calendar.move_invalid"));
        return Ok(Redirect::see_other(format!("/tasks/{id}")).into_response());
    };
    let moved = tz
        .from_local_datetime(&day.and_time(local.time()))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| task.starts_at + (day - local.date_naive()));
    model::reschedule(&mut tx, &task, moved).await?;
    let back = (!input.view.is_empty()).then(|| CalView::parse(&input.view));
    if let Some(view) = back.filter(|_| is_htmx(req)) {
        let around = parse_day(&input.shown).unwrap_or(day);
        let shown = load(&mut tx, &ctx, scope, view, around, task.owner_id).await?;
        tx.commit().await?;
        let note = Flash {
            kind: "success".to_owned(),
            text: ctx.t("calendar.moved"),
        };
        return Ok(fragment(&ctx, &shown, Some(&note)).into_response());
    }
    tx.commit().await?;
    flash::success(&ctx, ctx.t("calendar.moved"));
    Ok(Redirect::see_other(href(
        back.unwrap_or(CalView::Week),
        day,
        task.owner_id,
        ctx.user,
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::{CalView, MoveForm, range, target_day};
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

    #[test]
    fn a_dragged_entry_moves_by_as_many_days_as_it_was_dragged() {
        let form = |date: &str, from: &str| MoveForm {
            date: date.to_owned(),
            from: from.to_owned(),
            ..MoveForm::default()
        };
        let start = d("2030-01-15");
        // The form alone: the new start day.
        assert_eq!(
            target_day(&form("2030-01-20", ""), start),
            Some(d("2030-01-20"))
        );
        // Picked up on its start day, or on its second day, and dropped two days later.
        assert_eq!(
            target_day(&form("2030-01-17", "2030-01-15"), start),
            Some(d("2030-01-17"))
        );
        assert_eq!(
            target_day(&form("2030-01-18", "2030-01-16"), start),
            Some(d("2030-01-17"))
        );
        // Backwards across a month.
        assert_eq!(
            target_day(&form("2029-12-31", "2030-01-16"), start),
            Some(d("2029-12-30"))
        );
        assert_eq!(target_day(&form("2030-02-30", ""), start), None);
        assert_eq!(target_day(&form("2030-01-18", "yesterday"), start), None);
    }
}
