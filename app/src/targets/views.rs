//! The markup of 销售指标设定: the query bar, the twelve-month form, the query's table
//! and chart, the forecast table, and the progress card of the home page.

use maud::{Markup, html};
use poem::{IntoResponse, Request, Response};
use serde_json::json;

use crate::{
    money,
    statistics::views as stats,
    targets::{
        Month, Who,
        forecast::Forecast,
        index::{Page, Sheet},
        percent,
        report::{Mode, Row},
        signed_percent,
    },
    web::{
        ctx::Ctx,
        forms::form_alert,
        is_htmx,
        layout::{self, Module, csrf_field, json_script, notice},
    },
};

/// The tab's path, also the active tab of 工作桌面.
pub const PATH: &str = "/targets";

/// The tab in the layout, or only its content for htmx.
pub fn respond(ctx: &Ctx, req: &Request, page: &Page) -> Response {
    let content = content(ctx, page);
    if is_htmx(req) {
        content.into_response()
    } else {
        let content = html! { (content) (stats::chart_scripts()) };
        layout::page(ctx, Module::Home, PATH, &ctx.t("targets.title"), content).into_response()
    }
}

/// The tab's content.
pub fn content(ctx: &Ctx, page: &Page) -> Markup {
    html! {
        div #targets {
            @if page.saved { (notice("success", &ctx.t("targets.saved"))) }
            (query_bar(ctx, page))
            @match &page.sheet {
                Some(sheet) => (sheet_form(ctx, sheet)),
                None => p.text-secondary #targets-team-hint { (ctx.t("targets.team_hint")) },
            }
            (report(ctx, page))
            (forecast(ctx, &page.forecast))
        }
    }
}

fn query_bar(ctx: &Ctx, page: &Page) -> Markup {
    let choice = page.choice;
    let first = page.now.year - 5;
    let last = page.now.year + 1;
    let mut years: Vec<i32> = (first..=last).rev().collect();
    if let Some(y) = choice.year.filter(|y| !years.contains(y)) {
        years.push(y);
        years.sort_unstable_by(|a, b| b.cmp(a));
    }
    html! {
        form.d-flex.flex-wrap.gap-2.align-items-end.mb-2 #targets-query method="get" action=(PATH)
            hx-get=(PATH) hx-target="#targets" hx-swap="outerHTML" hx-push-url="true" {
            @if page.people.team.len() > 1 {
                div {
                    label.form-label.small.mb-1 for="q-who" { (ctx.t("targets.who")) }
                    select.form-select #q-who name="who" {
                        @for p in &page.people.team {
                            @let label = if p.id == ctx.user { ctx.locale.tf("targets.who_me", &[("name", &p.name)]) } else { p.name.clone() };
                            option value=(p.id) selected[choice.who == Who::Person(p.id)] { (label) }
                        }
                        option value="team" selected[choice.who == Who::Team] { (ctx.t("targets.who_team")) }
                    }
                }
            }
            div {
                label.form-label.small.mb-1 for="q-year" { (ctx.t("targets.year")) }
                select.form-select #q-year name="year" {
                    option value="" selected[choice.year.is_none()] { (ctx.t("targets.any")) }
                    @for y in &years {
                        option value=(y) selected[choice.year == Some(*y)] { (y) }
                    }
                }
            }
            div {
                label.form-label.small.mb-1 for="q-month" { (ctx.t("targets.month")) }
                select.form-select #q-month name="month" {
                    option value="" selected[choice.month.is_none()] { (ctx.t("targets.any")) }
                    @for m in 1..=12u32 {
                        option value=(m) selected[choice.month == Some(m)] { (Month::new(page.now.year, m).name(ctx.locale)) }
                    }
                }
            }
            button.btn.btn-outline-secondary type="submit" { (ctx.t("targets.query")) }
        }
        p.small.text-secondary.mb-3 { (ctx.t("targets.query_hint")) }
    }
}

fn sheet_form(ctx: &Ctx, sheet: &Sheet) -> Markup {
    let year = sheet.year.to_string();
    html! {
        section.card.mb-4 #targets-sheet {
            form method="post" action={ (PATH) "/" (sheet.person) } novalidate {
                div.card-header.d-flex.align-items-center.gap-2 {
                    h2.h6.mb-0.me-auto {
                        (ctx.locale.tf("targets.sheet_title", &[("name", &sheet.name), ("year", &year)]))
                    }
                    button.btn.btn-primary.btn-sm type="submit" { (ctx.t("common.save")) }
                }
                div.card-body {
                    (csrf_field(&ctx.csrf))
                    input type="hidden" name="year" value=(sheet.year);
                    (form_alert((!sheet.errors.is_empty()).then(|| ctx.t("targets.form_errors")).as_deref()))
                    p.small.text-secondary { (ctx.t("targets.sheet_hint")) }
                    div.row.g-3 {
                        @for input in &sheet.months {
                            @let name = format!("m{}", input.month.month);
                            @let id = format!("f-{name}");
                            @let error = sheet.errors.get(&name);
                            @let note_id = format!("{id}-note");
                            @let err_id = format!("{id}-error");
                            @let described = [error.map(|_| err_id.clone()), input.assigned_by.as_ref().map(|_| note_id.clone())]
                                .into_iter().flatten().collect::<Vec<_>>().join(" ");
                            div.col-6.col-md-4.col-xl-2 {
                                label.form-label.small.mb-1 for=(id) { (input.month.name(ctx.locale)) }
                                div.input-group.input-group-sm.has-validation {
                                    span.input-group-text aria-hidden="true" { "¥" }
                                    input.form-control.text-end.is-invalid[error.is_some()] id=(id) name=(name)
                                        type="text" inputmode="decimal" autocomplete="off"
                                        value=(input.value) placeholder="0.00"
                                        readonly[input.locked]
                                        aria-invalid=[error.map(|_| "true")]
                                        aria-describedby=[(!described.is_empty()).then_some(described.as_str())];
                                    @if let Some(error) = error {
                                        div.invalid-feedback id=(err_id) { (error) }
                                    }
                                }
                                @if let Some(by) = &input.assigned_by {
                                    div.form-text.target-assigned id=(note_id) {
                                        (ctx.locale.tf("targets.assigned_by", &[("name", by)]))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn report(ctx: &Ctx, page: &Page) -> Markup {
    let title = match page.mode {
        Mode::Year(year) => ctx
            .locale
            .tf("targets.report_year", &[("year", &year.to_string())]),
        Mode::Month(month) => ctx.locale.tf(
            "targets.report_month",
            &[("month", &Month::new(page.now.year, month).name(ctx.locale))],
        ),
    };
    let change_label = match page.mode {
        Mode::Year(_) => ctx.t("targets.change_month"),
        Mode::Month(_) => ctx.t("targets.change_year"),
    };
    let label = |row: &Row| match page.mode {
        Mode::Year(_) => row.period.name(ctx.locale),
        Mode::Month(_) => row.period.label(ctx.locale),
    };
    let chart = json!({
        "kind": "targets",
        "money": "fen",
        "categories": page.rows.iter().map(label).collect::<Vec<_>>(),
        "series": [
            { "name": ctx.t("targets.target"), "type": "bar",
              "data": page.rows.iter().map(|r| r.target).collect::<Vec<_>>() },
            { "name": ctx.t("targets.actual"), "type": "bar",
              "data": page.rows.iter().map(|r| r.actual).collect::<Vec<_>>() },
            { "name": ctx.t("targets.completion"), "type": "line", "unit": "percent",
              "data": page.rows.iter().map(|r| r.completion().map(|p| (p * 10.0).round() / 10.0)).collect::<Vec<_>>() },
        ],
    });
    let categories: Vec<String> = page.rows.iter().map(label).collect();
    let yuan = |values: Vec<Option<i64>>| {
        values
            .into_iter()
            .map(|v| v.map(stats::yuan))
            .collect::<Vec<_>>()
    };
    let completion: Vec<Option<f64>> = page
        .rows
        .iter()
        .map(|r| r.completion().map(|p| (p * 10.0).round() / 10.0))
        .collect();
    let option = stats::bars_and_rate(
        &categories,
        &[
            (
                ctx.t("targets.target"),
                yuan(page.rows.iter().map(|r| r.target).collect()),
            ),
            (
                ctx.t("targets.actual"),
                yuan(page.rows.iter().map(|r| Some(r.actual)).collect()),
            ),
        ],
        (&ctx.t("targets.completion"), &completion),
    );
    let highlight = match page.mode {
        Mode::Year(year) => page.choice.month.map(|m| Month::new(year, m)),
        Mode::Month(_) => None,
    };
    html! {
        section.card.mb-4 #targets-report {
            div.card-header { h2.h6.mb-0 { (title) } }
            div.card-body {
                // ECharts draws `option`; the script keeps the figures in fen for tools.
                div.chart #targets-chart role="img" data-chart=(option.to_string())
                    aria-label=(ctx.t("targets.chart_label")) {
                    (json_script(&chart))
                }
                div.table-responsive {
                    table.table.table-sm.align-middle.mb-0 #targets-table {
                        (head(&[
                            ctx.t("targets.period"),
                            ctx.t("targets.target"),
                            ctx.t("targets.actual"),
                            ctx.t("targets.completion"),
                            change_label,
                        ]))
                        tbody {
                            @for row in &page.rows {
                                tr.table-active[highlight == Some(row.period)]
                                    data-period={ (row.period.year) "-" (format!("{:02}", row.period.month)) } {
                                    th scope="row" { (label(row)) }
                                    td.text-end data-col="target" { (target(ctx, row.target)) }
                                    td.text-end data-col="actual" { (money::format(ctx.locale, row.actual, "CNY")) }
                                    td.text-end data-col="completion" { (percent(row.completion())) }
                                    td.text-end data-col="change" { (signed_percent(row.change())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn forecast(ctx: &Ctx, forecast: &Forecast) -> Markup {
    let several = forecast.lines.len() > 1;
    html! {
        section.card.mb-4 #targets-forecast {
            div.card-header { h2.h6.mb-0 { (ctx.t("targets.forecast")) } }
            div.card-body {
                p.small.text-secondary { (ctx.t("targets.forecast_hint")) }
                div.table-responsive {
                    table.table.table-sm.align-middle.mb-0 #forecast-table {
                        (head(&[
                            ctx.t("targets.person"),
                            ctx.t("targets.target"),
                            ctx.t("targets.actual"),
                            ctx.t("targets.open_count"),
                            ctx.t("targets.open_amount"),
                            ctx.t("targets.weighted"),
                            ctx.t("targets.projected"),
                        ]))
                        @for (i, month) in forecast.months.iter().enumerate() {
                            @let period = format!("{}-{:02}", month.year, month.month);
                            tbody data-period=(period) {
                                tr.table-light {
                                    th colspan="7" scope="colgroup" { (month.label(ctx.locale)) }
                                }
                                @for line in &forecast.lines {
                                    (forecast_row(ctx, &line.name, Some(line.person.0), &line.cells[i]))
                                }
                                @if several {
                                    (forecast_row(ctx, &ctx.t("targets.team_total"), None, &forecast.team[i]))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn forecast_row(
    ctx: &Ctx,
    name: &str,
    person: Option<i64>,
    cell: &crate::targets::forecast::Cell,
) -> Markup {
    html! {
        tr.fw-semibold[person.is_none()]
            data-person=(person.map_or_else(|| "team".to_owned(), |p| p.to_string())) {
            th scope="row" { (name) }
            td.text-end data-col="target" { (target(ctx, cell.target)) }
            td.text-end data-col="actual" { (money::format(ctx.locale, cell.actual, "CNY")) }
            td.text-end data-col="open_count" { (cell.open_count) }
            td.text-end data-col="open_amount" { (money::format(ctx.locale, cell.open_amount, "CNY")) }
            td.text-end data-col="weighted" { (money::format(ctx.locale, cell.weighted, "CNY")) }
            td.text-end data-col="projected" { (percent(cell.projected())) }
        }
    }
}

/// A table head: the first column names the rows, the others hold figures.
fn head(labels: &[String]) -> Markup {
    html! {
        thead {
            tr {
                @for (i, label) in labels.iter().enumerate() {
                    th.text-end[i > 0] scope="col" { (label) }
                }
            }
        }
    }
}

/// A target, or "not set".
fn target(ctx: &Ctx, target: Option<i64>) -> Markup {
    html! {
        @match target {
            Some(t) => (money::format(ctx.locale, t, "CNY")),
            None => span.text-secondary { (ctx.t("targets.no_target")) },
        }
    }
}

/// The home page's card: this month's target of the signed-in user and how far along.
pub fn home_card(ctx: &Ctx, row: &Row) -> Markup {
    let completion = row.completion();
    html! {
        section.card #target-progress {
            div.card-header.d-flex.align-items-center {
                span.me-auto { (ctx.t("targets.home_title")) " · " (row.period.label(ctx.locale)) }
                a.small href=(PATH) { (ctx.t("targets.home_set")) }
            }
            div.card-body {
                @match row.target {
                    Some(target) => {
                        div.d-flex.flex-wrap.gap-3.mb-2 {
                            span { (ctx.t("targets.target")) ": " strong data-col="target" { (money::format(ctx.locale, target, "CNY")) } }
                            span { (ctx.t("targets.actual")) ": " strong data-col="actual" { (money::format(ctx.locale, row.actual, "CNY")) } }
                            span { (ctx.t("targets.completion")) ": " strong data-col="completion" { (percent(completion)) } }
                        }
                        @let shown = completion.unwrap_or(0.0).clamp(0.0, 100.0);
                        progress.meter-progress.w-100.is-done[completion.is_some_and(|c| c >= 100.0)]
                            value=(format!("{shown:.1}")) max="100" aria-label=(ctx.t("targets.progress")) {
                            (percent(completion))
                        }
                    }
                    None => {
                        div.empty-state.py-2 {
                            p.mb-2 { (ctx.t("targets.home_empty")) }
                            a.btn.btn-sm.btn-outline-primary href=(PATH) { (ctx.t("targets.home_set")) }
                        }
                    }
                }
            }
        }
    }
}
