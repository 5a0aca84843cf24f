//! The list page and its fragments, for any [`ListSpec`]: the search bar with the admin's
//! view switch, the tabs, the quick-filter panel, the advanced search (高级搜索) with its
//! condition rows, the bulk bar, the export button, the column chooser, the table with
//! sort links, the row count and the pages.
//!
//! Everything works without JavaScript: links and GET forms for views, a submit button
//! that adds a condition row, and a "what to act on" choice for bulk actions instead of a
//! select-all checkbox. htmx only swaps a condition row when its field changes, and adds
//! one without reloading the page.

use std::collections::HashMap;

use maud::{Markup, html};

use crate::{
    custom_fields::{self as cf, Field, Kind},
    db::{DbPool, TenantTx},
    error::AppResult,
    listing::{
        BulkChoice, ColumnDef, FieldDef, How, ListSpec, Loaded, Options, PEOPLE, Row, Sources,
        column,
        filter::{self, Condition, FieldType, ListFilter, Op, Problem},
        query::Count,
    },
    visibility::View,
    web::{
        ctx::Ctx,
        layout::{self, csrf_field},
    },
};

/// What the module adds to the generic page.
pub struct Parts<'a, R> {
    /// Buttons left of the search bar (新增客户, 看板…).
    pub buttons: Markup,
    /// Notices above the table (the tag filter…).
    pub notices: Markup,
    /// The name cell's content (a link to the record).
    pub name: &'a dyn Fn(&R) -> Markup,
    /// The content of an optional built-in column's cell.
    pub cell: &'a dyn Fn(&R, &str) -> Markup,
    /// The module's own controls in the bulk bar (tags).
    pub bulk: Markup,
}

/// `path?query`, with the admin's view.
pub fn href(spec: &ListSpec, query: &str, view: View) -> String {
    let query = with_view(query, view);
    if query.is_empty() {
        spec.path.to_owned()
    } else {
        format!("{}?{query}", spec.path)
    }
}

/// A query string with the admin's view appended.
pub fn with_view(query: &str, view: View) -> String {
    let view = view.as_param();
    match (query.is_empty(), view.is_empty()) {
        (_, true) => query.to_owned(),
        (true, false) => format!("view={view}"),
        (false, false) => format!("{query}&view={view}"),
    }
}

/// A count for people: `1,234`.
pub fn grouped(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "共 N 条", or "共 10,000+ 条".
pub fn count_text(ctx: &Ctx, count: Count) -> String {
    let n = match count {
        Count::Exact(n) => grouped(n),
        Count::More => format!("{}+", grouped(crate::listing::query::COUNT_CAP)),
        Count::AtLeast(n) => format!("{}+", grouped(n)),
    };
    ctx.locale.tf("list.count", &[("n", &n)])
}

/// The "共 N 条" line. A count that is only a lower bound fetches the exact one from
/// `exact` once the page has loaded (htmx; without JavaScript it stays "50+").
pub fn row_count(ctx: &Ctx, count: Count, exact: Option<&str>) -> Markup {
    let data = match count {
        Count::Exact(n) => n.to_string(),
        Count::More => "more".into(),
        Count::AtLeast(_) => "at-least".into(),
    };
    let fetch = exact.filter(|_| matches!(count, Count::AtLeast(_)));
    html! {
        p.small.text-secondary.mb-1 #row-count data-count=(data)
            hx-get=[fetch] hx-trigger=[fetch.map(|_| "load")] hx-swap=[fetch.map(|_| "outerHTML")] {
            (count_text(ctx, count))
        }
    }
}

/// The label of a column (built-in or custom).
pub fn column_label(
    ctx: &Ctx,
    spec: &'static ListSpec,
    col: &str,
    fields: &[Field],
) -> Option<String> {
    if let Some(c) = column(spec, col) {
        return Some(ctx.t(c.label));
    }
    fields
        .iter()
        .find(|f| f.input_name() == col)
        .map(|f| f.label.clone())
}

/// The whole list page.
pub fn page<R: Row>(ctx: &Ctx, list: &Loaded<R>, parts: Parts<'_, R>) -> Markup {
    let spec = list.spec;
    let filter = &list.filter;
    let view = list.view;
    let base = filter.to_query(spec);
    let content = html! {
        div.d-flex.flex-wrap.gap-2.mb-3.align-items-end {
            (parts.buttons)
            form class={"d-flex gap-2 ms-auto list-search " (spec.dom.search)} id=(spec.dom.search) method="get" action=(spec.path) role="search" {
                @if ctx.is_admin() {
                    label.visually-hidden for="f-view" { (ctx.t("customers.view")) }
                    select.form-select #f-view name="view" {
                        option value="" selected[view == View::All] { (ctx.t("customers.view_all")) }
                        option value="public" selected[view == View::Public] { (ctx.t("customers.view_public")) }
                        @for (id, name) in list.sources.rows(PEOPLE) {
                            @let value = View::Employee(crate::ids::UserId(*id)).as_param();
                            option value=(value) selected[view == View::Employee(crate::ids::UserId(*id))] { (name) }
                        }
                    }
                }
                label.visually-hidden for="f-q" { (ctx.t(spec.texts.search)) }
                input.form-control #f-q type="search" name="q" value=(filter.q)
                    placeholder=(ctx.t(spec.texts.search));
                @if let Some(quick) = filter.quick { input type="hidden" name="quick" value=(quick); }
                @for (name, value) in &filter.params { input type="hidden" name=(name) value=(value); }
                (conditions_hidden(&filter.conditions))
                @if !filter.sort.is_empty() { input type="hidden" name="sort" value=(filter.sort); }
                button.btn.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("common.search")) }
            }
        }
        (tabs(ctx, spec, filter, view))
        (quick_panel(ctx, list))
        (advanced(ctx, list))
        @if !list.problems.is_empty() {
            div.alert.alert-warning #filter-problems role="alert" {
                @for p in &list.problems { div { (problem_text(ctx, p)) } }
            }
        }
        (parts.notices)
        @if list.rows.is_empty() {
            div.empty-state {
                @if filter.is_unfiltered(spec) && !list.paged && view == View::All {
                    p { (ctx.t(spec.texts.empty)) }
                    a.btn.btn-primary href=(spec.texts.new_href) { (ctx.t(spec.texts.new)) }
                } @else {
                    p { (ctx.t(spec.texts.no_match)) }
                }
            }
        } @else {
            div.d-flex.flex-wrap.gap-2.mb-2.align-items-center.list-toolbar {
                (bulk_bar(ctx, list, parts.bulk))
                @if let Some(entity) = spec.export {
                    (crate::exports::routes::form(ctx, entity, &base, &view.as_param()))
                }
                (column_chooser(ctx, list, &with_view(&base, view)))
            }
            (row_count(ctx, list.count, Some(&format!("{}/count?{}", spec.path, with_view(&base, view)))))
            div.table-responsive.list-table {
                table.table.table-hover.align-middle id=(spec.dom.table) {
                    thead {
                        tr {
                            th scope="col" { span.visually-hidden { (ctx.t("tags.select")) } }
                            th scope="col" data-col=(spec.name_column.key) { (header(ctx, list, &spec.name_column)) }
                            @for col in &list.columns {
                                th scope="col" data-col=(col) {
                                    @match column(spec, col) {
                                        Some(c) => (header(ctx, list, c)),
                                        None => (column_label(ctx, spec, col, &list.fields).unwrap_or_default()),
                                    }
                                }
                            }
                        }
                    }
                    tbody {
                        @for r in &list.rows {
                            tr id={(spec.dom.row) "-" (r.id())} {
                                td {
                                    input.form-check-input type="checkbox" form="bulk" name=(spec.dom.id_field) value=(r.id())
                                        aria-label=(ctx.locale.tf("tags.select_one", &[("name", r.label())]));
                                }
                                td.list-name { ((parts.name)(r)) }
                                @for col in &list.columns {
                                    @let def = column(spec, col);
                                    td data-col=(col) class=[def.and_then(|c| c.class)] {
                                        @if def.is_some() {
                                            ((parts.cell)(r, col))
                                        } @else {
                                            (custom_cell(col, &list.fields, r.custom()))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if list.prev.is_some() || list.next.is_some() {
                nav.d-flex.gap-2 #pages aria-label=(ctx.t("list.pages")) {
                    @let query = with_view(&base, view);
                    @let sep = if query.is_empty() { "" } else { "&" };
                    @if let Some(prev) = &list.prev {
                        a.btn.btn-outline-secondary #prev-page href={(spec.path) "?" (query) (sep) "prev=" (urlencode(prev))} {
                            (ctx.t("list.prev_page"))
                        }
                    }
                    @if let Some(next) = &list.next {
                        a.btn.btn-outline-secondary #next-page href={(spec.path) "?" (query) (sep) "before=" (urlencode(next))} {
                            (ctx.t("common.next_page"))
                        }
                    }
                }
            }
        }
    };
    layout::page(ctx, spec.module, spec.path, &ctx.t(spec.title), content)
}

fn custom_cell(col: &str, fields: &[Field], custom: &serde_json::Value) -> String {
    fields
        .iter()
        .find(|f| f.input_name() == col)
        .map(|f| cf::text_of(f, custom))
        .unwrap_or_default()
}

/// A header that sorts by its column (when it sorts); clicking the active one flips the
/// direction.
fn header<R>(ctx: &Ctx, list: &Loaded<R>, col: &ColumnDef) -> Markup {
    let spec = list.spec;
    let filter = &list.filter;
    let label = ctx.t(col.label);
    let Some(sort) = col.sort else {
        return html! { (label) };
    };
    let sorted_by = if filter.sort.is_empty() {
        spec.default_sort
    } else {
        filter.sort.as_str()
    };
    let active = sorted_by == col.key;
    let next = ListFilter {
        sort: if col.key == spec.default_sort {
            String::new()
        } else {
            col.key.to_owned()
        },
        asc: if active {
            !filter.asc
        } else {
            sort.default_asc()
        },
        ..filter.clone()
    };
    let arrow = match (active, filter.asc) {
        (false, _) => "",
        (true, true) => " ▲",
        (true, false) => " ▼",
    };
    html! {
        a.sort-link.text-reset href=(href(spec, &next.to_query(spec), list.view))
            aria-sort=[active.then_some(if filter.asc { "ascending" } else { "descending" })] {
            (label) (arrow)
        }
    }
}

/// The tabs over the list, when it has them.
fn tabs(ctx: &Ctx, spec: &'static ListSpec, filter: &ListFilter, view: View) -> Markup {
    let Some(tabs) = spec.tabs.as_ref() else {
        return html! {};
    };
    let shown = filter.tab(spec).unwrap_or(tabs.default);
    html! {
        ul.nav.nav-pills.mb-3 #list-tabs {
            @for (value, label, _) in tabs.tabs {
                @let target = ListFilter::default().with_param(tabs.param, Some(value));
                li.nav-item {
                    a.nav-link.active[*value == shown] data-tab=(value)
                        aria-current=[(*value == shown).then_some("page")]
                        href=(href(spec, &target.to_query(spec), view)) {
                        (ctx.t(label))
                    }
                }
            }
        }
    }
}

/// 快速过滤: the built-in filters, the saved ones, and the way to save the current view.
fn quick_panel<R>(ctx: &Ctx, list: &Loaded<R>) -> Markup {
    let spec = list.spec;
    let filter = &list.filter;
    let view = list.view;
    let current = filter.to_query(spec);
    let fresh = filter.only_tab(spec);
    html! {
        nav.quick-filters.d-flex.flex-wrap.gap-2.align-items-center.mb-3 #quick-filters aria-label=(ctx.t("filters.quick")) {
            span.text-secondary.small { (ctx.t("filters.quick_label")) }
            a.btn.btn-sm.btn-outline-secondary.active[filter.is_unfiltered(spec)] href=(href(spec, &fresh.to_query(spec), view)) { (ctx.t(spec.texts.all)) }
            @for quick in spec.quick {
                @let on = filter.quick == Some(quick.key);
                @if let Some(input) = &quick.input {
                    form.d-inline-flex.gap-1.align-items-center.quick-input method="get" action=(spec.path) {
                        @if view != View::All { input type="hidden" name="view" value=(view.as_param()); }
                        @for (name, value) in &fresh.params { input type="hidden" name=(name) value=(value); }
                        input type="hidden" name="quick" value=(quick.key);
                        label.visually-hidden for={"f-quick-" (input.param)} { (ctx.t(input.label)) }
                        input.form-control.form-control-sm id={"f-quick-" (input.param)} name=(input.param)
                            inputmode="decimal" size="8"
                            value=(filter.param(input.param).unwrap_or_default())
                            placeholder=(ctx.t(input.label));
                        button.btn.btn-sm.btn-outline-secondary.text-nowrap.active[on] type="submit" data-quick=(quick.key) {
                            (ctx.t(quick.label))
                        }
                    }
                } @else {
                    @let target = ListFilter { quick: Some(quick.key), ..fresh.clone() };
                    a.btn.btn-sm.btn-outline-secondary.active[on] data-quick=(quick.key)
                        href=(href(spec, &target.to_query(spec), view)) {
                        (ctx.t(quick.label))
                    }
                }
            }
            @for f in &list.saved {
                a.btn.btn-sm.btn-outline-primary.active[f.query == current] data-saved=(f.id)
                    href=(href(spec, &f.query, view)) {
                    (f.name) @if f.shared { " ·" span.visually-hidden { (ctx.t("filters.shared_label")) } }
                }
            }
            span.ms-auto {}
            @if !filter.is_unfiltered(spec) {
                a.btn.btn-sm.btn-link #save-filter href={(spec.path) "/filters?query=" (urlencode(&current))} { (ctx.t("filters.save_view")) }
            }
            a.btn.btn-sm.btn-link href={(spec.path) "/filters"} { (ctx.t("filters.manage")) }
        }
    }
}

/// The conditions as hidden fields, so the simple search keeps them.
fn conditions_hidden(conditions: &[Condition]) -> Markup {
    html! {
        @for (i, c) in conditions.iter().enumerate() {
            @let n = i + 1;
            input type="hidden" name={"f" (n)} value=(c.field);
            input type="hidden" name={"o" (n)} value=(c.op);
            input type="hidden" name={"v" (n)} value=(c.value);
        }
    }
}

/// A searchable field as the advanced search offers it.
pub struct Searchable {
    /// `name` or `cf_<id>`.
    pub name: String,
    /// What users read.
    pub label: String,
    /// Its type.
    pub kind: FieldType,
    /// Its options as (value, label), for choice fields.
    pub options: Vec<(String, String)>,
}

/// The searchable fields of a list: built-ins and custom fields.
pub fn searchable(
    ctx: &Ctx,
    spec: &ListSpec,
    fields: &[Field],
    sources: &Sources,
) -> Vec<Searchable> {
    let mut out: Vec<Searchable> = spec
        .fields
        .iter()
        .map(|f| Searchable {
            name: f.name.to_owned(),
            label: ctx.t(f.label),
            kind: f.kind,
            options: options_of(ctx, f, sources),
        })
        .collect();
    out.extend(fields.iter().map(|f| Searchable {
        name: f.input_name(),
        label: f.label.clone(),
        kind: filter::custom_type(f.kind),
        options: match f.kind {
            Kind::Select | Kind::MultiSelect => {
                f.options.iter().map(|o| (o.clone(), o.clone())).collect()
            }
            _ => vec![],
        },
    }));
    out
}

fn options_of(ctx: &Ctx, f: &FieldDef, sources: &Sources) -> Vec<(String, String)> {
    match &f.how {
        How::Choice(Options::Fixed(options)) => options
            .iter()
            .map(|(code, key)| ((*code).to_owned(), ctx.t(key)))
            .collect(),
        How::Choice(Options::Source(source))
        | How::Special {
            source: Some(source),
            ..
        } => {
            // Values are names (a bookmark reads 重点客户, not 17); a name two rows share
            // is offered once and matches both.
            let mut seen = std::collections::HashSet::new();
            sources
                .rows(*source)
                .iter()
                .filter(|(_, n)| seen.insert(n.clone()))
                .map(|(_, n)| (n.clone(), n.clone()))
                .collect()
        }
        _ => vec![],
    }
}

/// 高级搜索: one row per condition plus empty ones, up to the limit.
fn advanced<R>(ctx: &Ctx, list: &Loaded<R>) -> Markup {
    let spec = list.spec;
    let filter = &list.filter;
    let searchable = searchable(ctx, spec, &list.fields, &list.sources);
    let mut rows = filter.conditions.clone();
    let wanted = (rows.len() + 1)
        .max(list.rows_wanted)
        .min(filter::MAX_CONDITIONS);
    while rows.len() < wanted {
        rows.push(Condition::default());
    }
    let view = list.view.as_param();
    html! {
        details.advanced-search.mb-3 #advanced-search open[!filter.conditions.is_empty() || list.rows_wanted > 0] {
            summary.small.text-secondary { (ctx.t("filters.advanced")) }
            form.mt-2 method="get" action=(spec.path) {
                @if !view.is_empty() { input type="hidden" name="view" value=(view); }
                @if !filter.q.is_empty() { input type="hidden" name="q" value=(filter.q); }
                @for (name, value) in &filter.only_tab(spec).params { input type="hidden" name=(name) value=(value); }
                div #condition-rows {
                    @for (i, c) in rows.iter().enumerate() {
                        (condition_row(ctx, spec, i + 1, c, &searchable))
                    }
                }
                p.form-text { (ctx.t("filters.any_of_help")) }
                div.d-flex.flex-wrap.gap-2.align-items-center {
                    button.btn.btn-sm.btn-primary type="submit" { (ctx.t("common.search")) }
                    (add_condition_button(ctx, spec, rows.len() + 1, false))
                    @if !filter.conditions.is_empty() {
                        a.btn.btn-sm.btn-link href=(href(spec, &filter.only_tab(spec).to_query(spec), list.view)) { (ctx.t("filters.clear")) }
                    }
                }
            }
        }
    }
}

/// 添加条件: without JavaScript a submit that asks for one more row; with htmx a fetch
/// of that row. Gone at the limit.
fn add_condition_button(ctx: &Ctx, spec: &ListSpec, n: usize, oob: bool) -> Markup {
    if n > filter::MAX_CONDITIONS {
        return html! { span #add-condition hx-swap-oob=[oob.then_some("true")] {} };
    }
    html! {
        button.btn.btn-sm.btn-outline-secondary #add-condition type="submit" name="rows" value=(n)
            hx-get={(spec.path) "/condition?add=1&n=" (n)} hx-target="#condition-rows" hx-swap="beforeend"
            hx-swap-oob=[oob.then_some("true")] {
            (ctx.t("list.add_condition"))
        }
    }
}

/// One condition row: field, operator (narrowed to the field's type) and value (a
/// `<select>` of the options for a choice field).
fn condition_row(
    ctx: &Ctx,
    spec: &ListSpec,
    n: usize,
    c: &Condition,
    searchable: &[Searchable],
) -> Markup {
    let field = searchable.iter().find(|s| s.name == c.field);
    let kind = field.map(|f| f.kind);
    let ops: &[Op] = kind.map_or(&Op::ALL, FieldType::ops);
    let row_id = format!("condition-{n}");
    let refresh = format!("{}/condition", spec.path);
    let vals = format!(r#"{{"n":"{n}"}}"#);
    let choice = field.filter(|f| f.kind.is_choice() && !f.options.is_empty());
    let op = Op::parse(&c.op);
    html! {
        div.row.g-2.mb-2.condition id=(row_id) {
            div.col-sm-4 {
                label.visually-hidden for={"f-f" (n)} { (ctx.t("filters.field")) }
                select.form-select.form-select-sm id={"f-f" (n)} name={"f" (n)}
                    hx-get=(refresh) hx-trigger="change" hx-target={"#" (row_id)} hx-swap="outerHTML"
                    hx-include={"#" (row_id)} hx-vals=(vals) {
                    option value="" { (ctx.t("filters.choose_field")) }
                    @for s in searchable {
                        option value=(s.name) selected[s.name == c.field] { (s.label) }
                    }
                }
            }
            div.col-sm-3 {
                label.visually-hidden for={"f-o" (n)} { (ctx.t("filters.operator")) }
                select.form-select.form-select-sm id={"f-o" (n)} name={"o" (n)}
                    hx-get=[choice.map(|_| refresh.as_str())] hx-trigger=[choice.map(|_| "change")]
                    hx-target=[choice.map(|_| format!("#{row_id}"))] hx-swap=[choice.map(|_| "outerHTML")]
                    hx-include=[choice.map(|_| format!("#{row_id}"))] hx-vals=[choice.map(|_| vals.as_str())] {
                    @for op in ops {
                        option value=(op.as_str()) selected[op.as_str() == c.op] {
                            (op_label(ctx, *op, kind))
                        }
                    }
                }
            }
            div.col-sm-5 {
                label.visually-hidden for={"f-v" (n)} { (ctx.t("filters.value")) }
                @if let Some(f) = choice {
                    @let chosen = filter::split_values(&c.value);
                    @let many = op == Some(Op::AnyOf);
                    select.form-select.form-select-sm id={"f-v" (n)} name={"v" (n)} multiple[many]
                        size=[many.then_some(f.options.len().clamp(2, 6))] {
                        @if !many { option value="" { (ctx.t("fields.choose")) } }
                        @for (value, label) in &f.options {
                            option value=(value) selected[chosen.contains(value)] { (label) }
                        }
                    }
                } @else {
                    input.form-control.form-control-sm id={"f-v" (n)} name={"v" (n)} value=(c.value)
                        type=(if kind == Some(FieldType::Date) { "date" } else { "text" });
                }
            }
        }
    }
}

/// GET `…/condition` — one condition row for the chosen field (htmx swaps it in when the
/// field changes, so the operators and the value control fit the field), or with `add=1`
/// a new empty row `n` and the add button for the next.
pub async fn condition(
    ctx: &Ctx,
    db: &DbPool,
    spec: &'static ListSpec,
    raw: &str,
) -> AppResult<Markup> {
    let params: HashMap<String, String> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let n = params
        .get("n")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, filter::MAX_CONDITIONS);
    let get = |p: &str| {
        // A multiple choice sends its values one by one.
        url::form_urlencoded::parse(raw.as_bytes())
            .filter(|(k, _)| *k == format!("{p}{n}"))
            .map(|(_, v)| v.into_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut c = Condition {
        field: get("f"),
        op: get("o"),
        value: get("v"),
    };
    let mut tx = TenantTx::begin(db, ctx.tenant).await?;
    let fields = super::fields_of(tx.reads(), spec).await?;
    let mut sources = Sources::default();
    if let Some(source) = crate::listing::field_source(spec, &c.field) {
        sources.fetch(&mut tx, source).await?;
    }
    tx.commit().await?;
    let searchable = searchable(ctx, spec, &fields, &sources);
    if params.get("add").is_some_and(|a| a == "1") {
        return Ok(html! {
            (condition_row(ctx, spec, n, &Condition::default(), &searchable))
            (add_condition_button(ctx, spec, n + 1, true))
        });
    }
    // Keep the operator only when it fits the new field.
    if let Some(s) = searchable.iter().find(|s| s.name == c.field)
        && !s.kind.ops().iter().any(|o| o.as_str() == c.op)
    {
        c.op = s.kind.ops()[0].as_str().to_owned();
    }
    Ok(condition_row(ctx, spec, n, &c, &searchable))
}

fn op_label(ctx: &Ctx, op: Op, kind: Option<FieldType>) -> String {
    match (op, kind) {
        (Op::Before, Some(FieldType::Number | FieldType::Money)) => ctx.t("filters.op_less"),
        (Op::After, Some(FieldType::Number | FieldType::Money)) => ctx.t("filters.op_greater"),
        _ => ctx.t(&format!("filters.op_{}", op.as_str())),
    }
}

fn problem_text(ctx: &Ctx, p: &Problem) -> String {
    let (key, i) = match p {
        Problem::UnknownField(i) => ("filters.problem_field", i),
        Problem::BadOperator(i) => ("filters.problem_operator", i),
        Problem::BadValue(i) => ("filters.problem_value", i),
    };
    ctx.locale.tf(key, &[("n", &(i + 1).to_string())])
}

/// 批量操作: what to act on (the checked rows, this page, everything that matches), the
/// module's own actions and the list's generic ones. Row checkboxes join the form through
/// `form="bulk"`.
fn bulk_bar<R: Row>(ctx: &Ctx, list: &Loaded<R>, extra: Markup) -> Markup {
    let spec = list.spec;
    let count = count_text(ctx, list.count);
    html! {
        form.d-flex.flex-wrap.gap-2.align-items-center #bulk method="post" action={(spec.path) "/bulk"} {
            (csrf_field(&ctx.csrf))
            input type="hidden" name="query" value=(list.filter.to_query(spec));
            input type="hidden" name="view" value=(list.view.as_param());
            input type="hidden" name="back" value=(list.back);
            @for r in &list.rows { input type="hidden" name="page_id" value=(r.id()); }
            label.visually-hidden for="f-bulk-selection" { (ctx.t("list.bulk_what")) }
            select.form-select.form-select-sm.w-auto #f-bulk-selection name="selection" {
                option value="checked" { (ctx.t("list.bulk_checked")) }
                option value="page" { (ctx.locale.tf("list.bulk_page", &[("n", &list.rows.len().to_string())])) }
                option value="all" { (ctx.locale.tf("list.bulk_all", &[("count", &count)])) }
            }
            (extra)
            @if !spec.bulk.is_empty() {
                details.bulk-more #bulk-more {
                    summary.btn.btn-sm.btn-outline-secondary { (ctx.t("list.bulk_more")) }
                    div.card.card-body.mt-1.shadow-sm.d-flex.flex-column.gap-2 {
                        @for b in spec.bulk {
                            div.d-flex.gap-2.align-items-center {
                                @match b.choice {
                                    BulkChoice::Source { source, field, none } => {
                                        label.visually-hidden for={"f-bulk-" (field)} { (ctx.t(b.label)) }
                                        select.form-select.form-select-sm id={"f-bulk-" (field)} name=(field) {
                                            @if let Some(none) = none { option value="" { (ctx.t(none)) } }
                                            @for (id, name) in list.sources.rows(source) {
                                                option value=(id) { (name) }
                                            }
                                        }
                                    }
                                    BulkChoice::Fixed { options, field } => {
                                        label.visually-hidden for={"f-bulk-" (field)} { (ctx.t(b.label)) }
                                        select.form-select.form-select-sm id={"f-bulk-" (field)} name=(field) {
                                            @for (code, key) in options { option value=(code) { (ctx.t(key)) } }
                                        }
                                    }
                                    BulkChoice::Nothing => {}
                                }
                                button.btn.btn-sm.text-nowrap
                                    .btn-outline-danger[matches!(b.choice, BulkChoice::Nothing)]
                                    .btn-outline-primary[!matches!(b.choice, BulkChoice::Nothing)]
                                    type="submit" name="action" value=(b.action) formnovalidate
                                    data-bulk=(b.action) {
                                    (ctx.t(b.label))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// 显示列: which optional columns the list shows, remembered per user and list.
fn column_chooser<R>(ctx: &Ctx, list: &Loaded<R>, back: &str) -> Markup {
    let spec = list.spec;
    let all: Vec<(String, String)> = spec
        .columns
        .iter()
        .map(|c| (c.key.to_owned(), ctx.t(c.label)))
        .chain(
            list.fields
                .iter()
                .map(|f| (f.input_name(), f.label.clone())),
        )
        .collect();
    html! {
        details.column-chooser.ms-auto #column-chooser {
            summary.btn.btn-sm.btn-outline-secondary { (ctx.t("customers.columns")) }
            form.card.card-body.mt-1.shadow-sm method="post" action={(spec.path) "/columns"} {
                (csrf_field(&ctx.csrf))
                input type="hidden" name="back" value=(back);
                @for (col, label) in &all {
                    div.form-check {
                        input.form-check-input type="checkbox" name="col" value=(col) id={"col-" (col)}
                            checked[list.columns.contains(col)];
                        label.form-check-label for={"col-" (col)} { (label) }
                    }
                }
                div.d-flex.gap-2.mt-2 {
                    button.btn.btn-sm.btn-primary type="submit" { (ctx.t("common.save")) }
                    button.btn.btn-sm.btn-link type="submit" name="reset" value="1" { (ctx.t("customers.columns_reset")) }
                }
            }
        }
    }
}

/// `text` for a query string value.
pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn counts_group_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
