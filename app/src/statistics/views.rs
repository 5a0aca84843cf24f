//! What the statistics pages share: the page frame with the chart scripts, the filter
//! form, the chart element and the ECharts options it carries.

use maud::{Markup, html};
use serde_json::{Value, json};

use super::{Audience, Period, Span};
use crate::{
    customers::visibility::View,
    web::{
        ctx::Ctx,
        layout::{self, Module},
    },
};

/// A statistics page: `fragment` (the `#stats-body` an htmx request gets alone) in the
/// layout, with the chart library and `charts.js`.
pub fn page(ctx: &Ctx, tab: &str, title: &str, fragment: Markup) -> Markup {
    layout::page(
        ctx,
        Module::Statistics,
        tab,
        title,
        html! {
            (fragment)
            (chart_scripts())
        },
    )
}

/// The chart library and `charts.js`, for a page with charts.
pub fn chart_scripts() -> Markup {
    html! {
        script src="/static/vendor/echarts.min.js" defer {}
        script src="/static/charts.js" defer {}
    }
}

/// The body every filter swaps with htmx (a plain GET without JavaScript).
pub fn body(id: &str, content: Markup) -> Markup {
    html! { div #stats-body data-page=(id) { (content) } }
}

/// What a filter form offers besides the audience.
pub struct FormParts<'a> {
    /// The page's path.
    pub action: &'a str,
    /// The period fields, if the page has a period.
    pub span: Option<&'a Span>,
    /// Offer the team picker.
    pub teams: bool,
    /// Page-specific fields, before the button.
    pub extra: Markup,
}

/// The filter form: period, the admin's view, a manager's team, and the page's own fields.
pub fn filters(ctx: &Ctx, audience: &Audience, parts: FormParts<'_>) -> Markup {
    let teams = if parts.teams {
        audience.teams(ctx)
    } else {
        vec![]
    };
    let picked_team = audience.team.as_ref().map(|(m, _)| *m);
    html! {
        form.stats-filters.d-flex.flex-wrap.gap-2.align-items-end.mb-3 method="get" action=(parts.action)
            hx-get=(parts.action) hx-target="#stats-body" hx-swap="outerHTML" hx-push-url="true" {
            @if let Some(span) = parts.span {
                div {
                    label.form-label.small.mb-1 for="f-period" { (ctx.t("statistics.period")) }
                    select.form-select.form-select-sm #f-period name="period" {
                        @for p in Period::ALL {
                            option value=(p.as_param()) selected[p == span.period] { (ctx.t(p.label_key())) }
                        }
                    }
                }
                div {
                    label.form-label.small.mb-1 for="f-from" { (ctx.t("statistics.from")) }
                    input.form-control.form-control-sm.is-invalid[span.error.is_some()] #f-from type="date" name="from"
                        value=(if span.period == Period::Custom { span.typed.0.clone() } else { span.from.to_string() })
                        aria-describedby=[span.error.map(|_| "f-period-error")];
                }
                div {
                    label.form-label.small.mb-1 for="f-to" { (ctx.t("statistics.to")) }
                    input.form-control.form-control-sm.is-invalid[span.error.is_some()] #f-to type="date" name="to"
                        value=(if span.period == Period::Custom { span.typed.1.clone() } else { span.to.to_string() })
                        aria-describedby=[span.error.map(|_| "f-period-error")];
                }
            }
            @if ctx.is_admin() {
                div {
                    label.form-label.small.mb-1 for="f-view" { (ctx.t("customers.view")) }
                    select.form-select.form-select-sm #f-view name="view" {
                        option value="" selected[audience.view == View::All] { (ctx.t("customers.view_all")) }
                        option value="public" selected[audience.view == View::Public] { (ctx.t("customers.view_public")) }
                        @for u in &audience.people {
                            @let value = View::Employee(u.id).as_param();
                            option value=(value) selected[audience.view == View::Employee(u.id)] { (u.name) }
                        }
                    }
                }
            }
            @if !teams.is_empty() {
                div {
                    label.form-label.small.mb-1 for="f-team" { (ctx.t("statistics.team")) }
                    select.form-select.form-select-sm #f-team name="team" {
                        option value="" selected[picked_team.is_none()] { (ctx.t("statistics.team_all")) }
                        @for u in &teams {
                            option value=(u.id) selected[picked_team == Some(u.id)] {
                                (ctx.locale.tf("statistics.team_of", &[("name", &u.name)]))
                            }
                        }
                    }
                }
            }
            (parts.extra)
            button.btn.btn-sm.btn-primary type="submit" { (ctx.t("statistics.apply")) }
        }
        @if let Some(error) = parts.span.and_then(|s| s.error) {
            div.alert.alert-warning.py-2 #f-period-error role="alert" { (ctx.t(error)) }
        }
    }
}

/// The filter form of a page with a period and the team picker.
pub fn period_filters(ctx: &Ctx, audience: &Audience, action: &str, span: &Span) -> Markup {
    filters(
        ctx,
        audience,
        FormParts {
            action,
            span: Some(span),
            teams: true,
            extra: html! {},
        },
    )
}

/// A text with the period's `%{from}` and `%{to}` filled in.
pub fn with_period(ctx: &Ctx, key: &str, span: &Span) -> String {
    ctx.locale.tf(
        key,
        &[
            ("from", &span.from.to_string()),
            ("to", &span.to.to_string()),
        ],
    )
}

/// "统计期间：… 至 …", the days the figures are of.
pub fn period_shown(ctx: &Ctx, span: &Span) -> Markup {
    html! {
        span #stats-period { (with_period(ctx, "statistics.period_shown", span)) }
    }
}

/// A table's head: text columns, then right-aligned number columns (locale keys).
pub fn head(ctx: &Ctx, text: &[&str], numbers: &[&str]) -> Markup {
    html! {
        thead { tr {
            @for key in text { th scope="col" { (ctx.t(key)) } }
            @for key in numbers { th.text-end scope="col" { (ctx.t(key)) } }
        } }
    }
}

/// A chart: ECharts draws `option` into it (see `static/charts.js`); `label` is what a
/// screen reader hears, the table beside it has the numbers.
pub fn chart(id: &str, label: &str, option: &Value) -> Markup {
    html! {
        div.chart id=(id) role="img" aria-label=(label) data-chart=(option.to_string()) {}
    }
}

/// An amount as the tables show it. The rollup sums amounts as stored, so the figures
/// are in the tenant's (default) currency.
pub fn money(ctx: &Ctx, fen: i64) -> String {
    crate::money::format(ctx.locale, fen, crate::money::DEFAULT_CURRENCY)
}

/// Yuan for a chart axis (the tables show exact fen as money).
pub fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

/// A donut of named values (the card around it has the title).
pub fn donut(slices: &[(String, f64)]) -> Value {
    json!({
        "aria": { "enabled": true },
        "tooltip": { "trigger": "item", "renderMode": "richText" },
        "legend": { "type": "scroll", "bottom": 0 },
        "series": [{
            "type": "pie",
            "radius": ["36%", "60%"],
            "center": ["50%", "46%"],
            "label": { "formatter": "{b}\n{d}%" },
            "data": slices.iter().map(|(name, value)| json!({ "name": name, "value": value })).collect::<Vec<_>>(),
        }],
    })
}

/// Horizontal bars, first name on top.
pub fn bars(title: &str, series: &str, rows: &[(String, f64)]) -> Value {
    let names: Vec<&str> = rows.iter().rev().map(|(n, _)| n.as_str()).collect();
    let values: Vec<f64> = rows.iter().rev().map(|(_, v)| *v).collect();
    json!({
        "aria": { "enabled": true },
        "title": { "text": title, "left": "center", "textStyle": { "fontSize": 14 } },
        "tooltip": { "trigger": "axis", "renderMode": "richText" },
        "grid": { "left": 8, "right": 48, "top": 36, "bottom": 8, "containLabel": true },
        "xAxis": { "type": "value" },
        "yAxis": { "type": "category", "data": names },
        "series": [{
            "type": "bar",
            "name": series,
            "barMaxWidth": 32,
            "data": values,
            "label": { "show": true, "position": "right" },
        }],
    })
}

/// A funnel of stages in the given order.
pub fn funnel(title: &str, layers: &[(String, f64)]) -> Value {
    json!({
        "aria": { "enabled": true },
        "title": { "text": title, "left": "center", "textStyle": { "fontSize": 14 } },
        "tooltip": { "trigger": "item", "renderMode": "richText" },
        "series": [{
            "type": "funnel",
            "sort": "none",
            "top": 36,
            "bottom": 8,
            "minSize": "8%",
            "label": { "show": true, "position": "inside", "formatter": "{b}: {c}" },
            "data": layers.iter().map(|(name, value)| json!({ "name": name, "value": value })).collect::<Vec<_>>(),
        }],
    })
}

/// Vertical bars per period (amounts in yuan) with a line of percentages on a second
/// axis: targets against actuals with the completion.
pub fn bars_and_rate(
    categories: &[String],
    bars: &[(String, Vec<Option<f64>>)],
    rate: (&str, &[Option<f64>]),
) -> Value {
    let mut series: Vec<Value> = bars
        .iter()
        .map(|(name, data)| json!({ "type": "bar", "name": name, "barMaxWidth": 24, "data": data }))
        .collect();
    series.push(json!({
        "type": "line",
        "name": rate.0,
        "yAxisIndex": 1,
        "connectNulls": false,
        "data": rate.1,
    }));
    json!({
        "aria": { "enabled": true },
        "tooltip": { "trigger": "axis", "renderMode": "richText" },
        "legend": { "bottom": 0 },
        "grid": { "left": 8, "right": 8, "top": 24, "bottom": 36, "containLabel": true },
        "xAxis": { "type": "category", "data": categories },
        "yAxis": [
            { "type": "value" },
            { "type": "value", "axisLabel": { "formatter": "{value}%" }, "splitLine": { "show": false } },
        ],
        "series": series,
    })
}
