//! GET /customers — 客户一览: visible companies in keyset pages of 50, with quick
//! filters (built-in and saved), name search, multi-condition search, tag filter,
//! sortable columns, a column chooser and, for admins, the switch between all data,
//! public data and one employee's data.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    Request, handler,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    auth::ctx::Ctx,
    custom_fields::{self as cf, Entity, Field},
    customers::{
        filter::{
            self, BUILTIN, Condition, FieldType, ListFilter, Lookups, Op, Problem, Quick, Sort,
        },
        model::{self, Company, Cursor, ListQuery},
        prefs::{self, SavedFilter},
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::AppResult,
    ids::{CategoryId, CompanyId, TagId, UserId},
    schema::contacts,
    state::State,
    tags::model as tags,
    users::model as users,
    web::layout::{self, Module, csrf_field},
};

/// Rows per page.
pub const PAGE: i64 = 50;

/// The optional columns, in display order: (key, locale key).
const COLUMNS: [(&str, &str); 12] = [
    ("contact", "customers.main_contact"),
    ("phone", "company.phone"),
    ("email", "field.email"),
    ("category", "company.category"),
    ("tags", "tags.title"),
    ("owner", "company.owner"),
    ("visibility", "company.visibility"),
    ("website", "company.website"),
    ("address", "company.address"),
    ("created", "company.created_at"),
    ("updated", "company.updated_at"),
    ("activity", "company.last_activity_at"),
];

/// Shown until a user chooses.
const DEFAULT_COLUMNS: [&str; 6] = ["contact", "phone", "email", "category", "tags", "owner"];

/// Columns that sort, and their order.
const SORTABLE: [(&str, Sort); 3] = [
    ("created", Sort::Created),
    ("updated", Sort::Updated),
    ("activity", Sort::Activity),
];

/// Everything the page needs besides the rows.
struct Lists {
    people: Vec<users::User>,
    categories: Vec<(CategoryId, String)>,
    tags: Vec<(TagId, String)>,
    fields: Vec<Field>,
    saved: Vec<SavedFilter>,
    columns: Vec<String>,
}

/// GET /customers
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>, req: &Request) -> AppResult<Markup> {
    let raw = req.uri().query().unwrap_or("");
    let filter = ListFilter::from_query(raw);
    let mut view = None;
    let mut before = String::new();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        match key.as_ref() {
            "view" => view = Some(value.into_owned()),
            "before" => before = value.into_owned(),
            _ => {}
        }
    }
    let view = View::parse(view.as_deref());
    let after = Cursor::decode(&before, filter.sort);

    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, view).await?;
    let lists = Lists {
        people: users::list(&mut tx).await?,
        categories: model::categories(&mut tx).await?,
        // Only a tag filter or condition needs the names: not loaded for plain pages.
        tags: if filter.uses_tags() {
            tags::all(&mut tx).await?
        } else {
            vec![]
        },
        fields: cf::of_entity(&mut tx, Entity::Company).await?,
        saved: prefs::usable(&mut tx, ctx.user).await?,
        columns: prefs::columns(&mut tx, ctx.user)
            .await?
            .unwrap_or_else(|| DEFAULT_COLUMNS.map(str::to_owned).to_vec()),
    };
    let people: Vec<(UserId, String)> = lists
        .people
        .iter()
        .map(|u| (u.id, u.name.clone()))
        .collect();
    let look = Lookups {
        me: ctx.user,
        time_zone: ctx.time_zone.name(),
        categories: &lists.categories,
        people: &people,
        tags: &lists.tags,
        fields: &lists.fields,
        visibility_names: [
            ("public", ctx.t("visibility.public")),
            ("private", ctx.t("visibility.private")),
        ],
    };
    let q = model::search_text(&mut tx, &filter.q).await?;
    let (filters, problems) = filter::compile(&filter, &q, &look);
    let mut rows = model::list(
        &mut tx,
        &scope,
        ListQuery {
            filters,
            sort: filter.sort,
            asc: filter.asc,
            after,
            // One more than a page tells whether a next page exists.
            limit: PAGE + 1,
        },
    )
    .await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let ids: Vec<CompanyId> = rows.iter().map(|c| c.id).collect();
    let row_tags = tags::of_companies(&mut tx, &ids).await?;
    let main_contacts = main_contacts(&mut tx, &ids).await?;
    tx.commit().await?;

    let next = more
        .then(|| rows.last().map(|c| Cursor::after(c, filter.sort).encode()))
        .flatten();
    let base = filter.to_query();
    let view_param = view.as_param();
    let with_view = |query: &str| -> String {
        match (query.is_empty(), view_param.is_empty()) {
            (_, true) => query.to_owned(),
            (true, false) => format!("view={view_param}"),
            (false, false) => format!("{query}&view={view_param}"),
        }
    };
    let names: HashMap<UserId, &str> = lists
        .people
        .iter()
        .map(|u| (u.id, u.name.as_str()))
        .collect();
    let categories: HashMap<CategoryId, &str> = lists
        .categories
        .iter()
        .map(|(id, n)| (*id, n.as_str()))
        .collect();
    let columns: Vec<&str> = lists
        .columns
        .iter()
        .map(String::as_str)
        .filter(|c| column_label(&ctx, c, &lists.fields).is_some())
        .collect();

    let content = html! {
        div.d-flex.flex-wrap.gap-2.mb-3.align-items-end {
            a.btn.btn-primary href="/customers/new" { (ctx.t("customers.new")) }
            form.d-flex.gap-2.ms-auto.customer-search #customer-search method="get" action="/customers" role="search" {
                @if ctx.is_admin() {
                    label.visually-hidden for="f-view" { (ctx.t("customers.view")) }
                    select.form-select #f-view name="view" {
                        option value="" selected[view == View::All] { (ctx.t("customers.view_all")) }
                        option value="public" selected[view == View::Public] { (ctx.t("customers.view_public")) }
                        @for u in &lists.people {
                            @let value = View::Employee(u.id).as_param();
                            option value=(value) selected[view == View::Employee(u.id)] { (u.name) }
                        }
                    }
                }
                label.visually-hidden for="f-q" { (ctx.t("customers.name_contains")) }
                input.form-control #f-q type="search" name="q" value=(filter.q)
                    placeholder=(ctx.t("customers.name_contains"));
                @if let Some(quick) = filter.quick { input type="hidden" name="quick" value=(quick.as_str()); }
                @if let Some(tag) = filter.tag { input type="hidden" name="tag" value=(tag); }
                (conditions_hidden(&filter.conditions))
                button.btn.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("common.search")) }
            }
        }
        (quick_panel(&ctx, &filter, &lists.saved, &with_view))
        (advanced(&ctx, &filter, &lists.fields, &view_param))
        @if !problems.is_empty() {
            div.alert.alert-warning #filter-problems role="alert" {
                @for p in &problems { div { (problem_text(&ctx, p)) } }
            }
        }
        @if let Some(tag) = filter.tag {
            @let tag_name = lists.tags.iter().find(|(id, _)| *id == tag).map_or("", |(_, n)| n.as_str());
            div.alert.alert-info.d-flex.align-items-center.gap-2.py-2 #tag-filter {
                (ctx.t("tags.filtered_by")) " " span.badge.text-bg-info { (tag_name) }
                @let without = ListFilter { tag: None, ..filter.clone() };
                a.ms-auto href={"/customers?" (with_view(&without.to_query()))} { (ctx.t("tags.clear_filter")) }
            }
        }
        @if rows.is_empty() {
            div.empty-state {
                @if filter.is_unfiltered() && before.is_empty() && view == View::All {
                    p { (ctx.t("customers.empty")) }
                    a.btn.btn-primary href="/customers/new" { (ctx.t("customers.new")) }
                } @else {
                    p { (ctx.t("customers.no_match")) }
                }
            }
        } @else {
            div.d-flex.flex-wrap.gap-2.mb-2.align-items-center {
                // Bulk tagging: the row checkboxes belong to this form through `form="bulk"`.
                form.d-flex.flex-wrap.gap-2.align-items-center #bulk method="post" action="/customers/bulk-tag" {
                    (csrf_field(&ctx.csrf))
                    label.form-label.mb-0.text-secondary for="f-bulk-tag" { (ctx.t("tags.bulk_label")) }
                    input.form-control.form-control-sm.w-auto #f-bulk-tag name="tag" maxlength="30" required
                        placeholder=(ctx.t("tags.name"));
                    button.btn.btn-sm.btn-outline-primary.text-nowrap type="submit" name="op" value="add" { (ctx.t("tags.add")) }
                    button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" name="op" value="remove" { (ctx.t("tags.remove")) }
                }
                (crate::exports::routes::form(&ctx, "company", &base, &view_param))
                (column_chooser(&ctx, &columns, &lists.fields, &with_view(&base)))
            }
            div.table-responsive {
                table.table.table-hover.align-middle #companies {
                    thead {
                        tr {
                            th scope="col" { span.visually-hidden { (ctx.t("tags.select")) } }
                            th scope="col" data-col="name" { (sort_link(&ctx, &filter, "name", Sort::Name, &with_view)) }
                            @for col in &columns {
                                th scope="col" data-col=(col) {
                                    @match SORTABLE.iter().find(|(c, _)| c == col) {
                                        Some((_, sort)) => (sort_link(&ctx, &filter, col, *sort, &with_view)),
                                        None => (column_label(&ctx, col, &lists.fields).unwrap_or_default()),
                                    }
                                }
                            }
                        }
                    }
                    tbody {
                        @for c in &rows {
                            tr id={"company-" (c.id)} {
                                td {
                                    input.form-check-input type="checkbox" form="bulk" name="company_id" value=(c.id)
                                        aria-label=(ctx.locale.tf("tags.select_one", &[("name", &c.name)]));
                                }
                                td { a href={"/customers/" (c.id)} { (c.name) } }
                                @for col in &columns {
                                    td data-col=(col) class=[(*col == "tags").then_some("company-tags")] {
                                        @match *col {
                                            "contact" => (main_contacts.get(&c.id).map_or("", String::as_str)),
                                            "phone" => (c.phone),
                                            "email" => (c.email),
                                            "category" => (c.category_id.and_then(|id| categories.get(&id).copied()).unwrap_or("")),
                                            "tags" => {
                                                @for (id, name) in row_tags.get(&c.id).map(Vec::as_slice).unwrap_or_default() {
                                                    a.badge.text-bg-info.me-1.text-decoration-none href={"/customers?tag=" (id)} { (name) }
                                                }
                                            }
                                            "owner" => (names.get(&c.owner_id).copied().unwrap_or("")),
                                            "visibility" => (ctx.t(&format!("visibility.{}", c.visibility))),
                                            "website" => (c.website),
                                            "address" => (c.address),
                                            "created" => (ctx.datetime(c.created_at)),
                                            "updated" => (ctx.datetime(c.updated_at)),
                                            "activity" => (ctx.datetime(c.last_activity_at)),
                                            other => (custom_cell(other, &lists.fields, c)),
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                @let query = with_view(&base);
                a.btn.btn-outline-secondary #next-page href={"/customers?" (query) @if !query.is_empty() { "&" } "before=" (urlencode(&next))} {
                    (ctx.t("common.next_page"))
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/customers",
        &ctx.t("customers.title"),
        content,
    ))
}

/// The first contact of each company (its main contact), with a way to reach them.
pub(crate) async fn main_contacts(
    tx: &mut TenantTx,
    ids: &[CompanyId],
) -> AppResult<HashMap<CompanyId, String>> {
    let tenant = tx.tenant();
    let rows: Vec<(CompanyId, String, String, String)> = contacts::table
        .filter(contacts::tenant_id.eq(tenant))
        .filter(contacts::company_id.eq_any(ids))
        .distinct_on(contacts::company_id)
        .order((contacts::company_id, contacts::id))
        .select((
            contacts::company_id,
            contacts::name,
            contacts::mobile,
            contacts::phone,
        ))
        .load(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(company, name, mobile, phone)| {
            let reach = if mobile.is_empty() { phone } else { mobile };
            let text = if reach.is_empty() {
                name
            } else {
                format!("{name} {reach}")
            };
            (company, text)
        })
        .collect())
}

fn column_label(ctx: &Ctx, col: &str, fields: &[Field]) -> Option<String> {
    if let Some((_, key)) = COLUMNS.iter().find(|(c, _)| *c == col) {
        return Some(ctx.t(key));
    }
    fields
        .iter()
        .find(|f| f.input_name() == col)
        .map(|f| f.label.clone())
}

fn custom_cell(col: &str, fields: &[Field], c: &Company) -> String {
    fields
        .iter()
        .find(|f| f.input_name() == col)
        .map(|f| cf::text_of(f, &c.custom))
        .unwrap_or_default()
}

/// A header that sorts by its column; clicking the active one flips the direction.
fn sort_link(
    ctx: &Ctx,
    filter: &ListFilter,
    col: &str,
    sort: Sort,
    with_view: &dyn Fn(&str) -> String,
) -> Markup {
    let label = if col == "name" {
        ctx.t("company.name")
    } else {
        COLUMNS
            .iter()
            .find(|(c, _)| *c == col)
            .map_or_else(String::new, |(_, key)| ctx.t(key))
    };
    let active = filter.sort == sort;
    let next = ListFilter {
        sort,
        asc: if active {
            !filter.asc
        } else {
            sort == Sort::Name
        },
        ..filter.clone()
    };
    let arrow = match (active, filter.asc) {
        (false, _) => "",
        (true, true) => " ▲",
        (true, false) => " ▼",
    };
    html! {
        a.sort-link.text-reset href={"/customers?" (with_view(&next.to_query()))}
            aria-sort=[active.then_some(if filter.asc { "ascending" } else { "descending" })] {
            (label) (arrow)
        }
    }
}

/// 快速过滤: the built-in filters, the saved ones, and the way to save the current view.
fn quick_panel(
    ctx: &Ctx,
    filter: &ListFilter,
    saved: &[SavedFilter],
    with_view: &dyn Fn(&str) -> String,
) -> Markup {
    let current = filter.to_query();
    html! {
        nav.quick-filters.d-flex.flex-wrap.gap-2.align-items-center.mb-3 #quick-filters aria-label=(ctx.t("filters.quick")) {
            span.text-secondary.small { (ctx.t("filters.quick_label")) }
            a.btn.btn-sm.btn-outline-secondary.active[filter.is_unfiltered()] href={"/customers?" (with_view(""))} { (ctx.t("filters.all")) }
            @for quick in Quick::ALL {
                @let target = ListFilter { quick: Some(quick), ..ListFilter::default() };
                a.btn.btn-sm.btn-outline-secondary.active[filter.quick == Some(quick)] data-quick=(quick.as_str())
                    href={"/customers?" (with_view(&target.to_query()))} {
                    (ctx.t(&format!("filters.quick_{}", quick.as_str())))
                }
            }
            @for f in saved {
                a.btn.btn-sm.btn-outline-primary.active[f.query == current] data-saved=(f.id)
                    href={"/customers?" (with_view(&f.query))} {
                    (f.name) @if f.shared { " ·" span.visually-hidden { (ctx.t("filters.shared_label")) } }
                }
            }
            span.ms-auto {}
            @if !filter.is_unfiltered() {
                a.btn.btn-sm.btn-link #save-filter href={"/customers/filters?query=" (urlencode(&current))} { (ctx.t("filters.save_view")) }
            }
            a.btn.btn-sm.btn-link href="/customers/filters" { (ctx.t("filters.manage")) }
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

/// The searchable fields: built-ins and custom fields, as (name, label, type).
fn searchable(ctx: &Ctx, fields: &[Field]) -> Vec<(String, String, FieldType)> {
    let mut out: Vec<(String, String, FieldType)> = BUILTIN
        .iter()
        .map(|(name, key, kind)| ((*name).to_owned(), ctx.t(key), *kind))
        .collect();
    out.extend(
        fields
            .iter()
            .map(|f| (f.input_name(), f.label.clone(), filter::custom_type(f.kind))),
    );
    out
}

/// 高级搜索: one row per condition plus an empty one, up to the limit.
fn advanced(ctx: &Ctx, filter: &ListFilter, fields: &[Field], view_param: &str) -> Markup {
    let searchable = searchable(ctx, fields);
    let mut rows = filter.conditions.clone();
    if rows.len() < filter::MAX_CONDITIONS {
        rows.push(Condition::default());
    }
    html! {
        details.advanced-search.mb-3 #advanced-search open[!filter.conditions.is_empty()] {
            summary.small.text-secondary { (ctx.t("filters.advanced")) }
            form.mt-2 method="get" action="/customers" {
                @if !view_param.is_empty() { input type="hidden" name="view" value=(view_param); }
                @if !filter.q.is_empty() { input type="hidden" name="q" value=(filter.q); }
                @for (i, c) in rows.iter().enumerate() {
                    (condition_row(ctx, i + 1, c, &searchable))
                }
                p.form-text { (ctx.t("filters.any_of_help")) }
                button.btn.btn-sm.btn-primary type="submit" { (ctx.t("common.search")) }
                @if !filter.conditions.is_empty() {
                    a.btn.btn-sm.btn-link href="/customers" { (ctx.t("filters.clear")) }
                }
            }
        }
    }
}

/// One condition row: field, operator (narrowed to the field's type) and value.
fn condition_row(
    ctx: &Ctx,
    n: usize,
    c: &Condition,
    searchable: &[(String, String, FieldType)],
) -> Markup {
    let kind = searchable
        .iter()
        .find(|(name, _, _)| *name == c.field)
        .map(|(_, _, k)| *k);
    let ops: &[Op] = kind.map_or(&Op::ALL, FieldType::ops);
    let row_id = format!("condition-{n}");
    html! {
        div.row.g-2.mb-2.condition id=(row_id) {
            div.col-sm-4 {
                label.visually-hidden for={"f-f" (n)} { (ctx.t("filters.field")) }
                select.form-select.form-select-sm id={"f-f" (n)} name={"f" (n)}
                    hx-get="/customers/condition" hx-trigger="change" hx-target={"#" (row_id)} hx-swap="outerHTML"
                    hx-include={"#" (row_id)} hx-vals=(format!(r#"{{"n":"{n}"}}"#)) {
                    option value="" { (ctx.t("filters.choose_field")) }
                    @for (name, label, _) in searchable {
                        option value=(name) selected[*name == c.field] { (label) }
                    }
                }
            }
            div.col-sm-3 {
                label.visually-hidden for={"f-o" (n)} { (ctx.t("filters.operator")) }
                select.form-select.form-select-sm id={"f-o" (n)} name={"o" (n)} {
                    @for op in ops {
                        option value=(op.as_str()) selected[op.as_str() == c.op] {
                            (op_label(ctx, *op, kind))
                        }
                    }
                }
            }
            div.col-sm-5 {
                label.visually-hidden for={"f-v" (n)} { (ctx.t("filters.value")) }
                input.form-control.form-control-sm id={"f-v" (n)} name={"v" (n)} value=(c.value)
                    type=(if kind == Some(FieldType::Date) { "date" } else { "text" });
            }
        }
    }
}

/// Query of the condition-row fragment.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConditionParams {
    n: usize,
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

/// GET /customers/condition — one condition row for the chosen field (htmx swaps it in
/// when the field changes, so the operators fit the field's type).
#[handler]
pub async fn condition(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<ConditionParams>,
) -> AppResult<Markup> {
    let n = params.n.clamp(1, filter::MAX_CONDITIONS);
    let get = |p: &str| {
        params
            .rest
            .get(&format!("{p}{n}"))
            .cloned()
            .unwrap_or_default()
    };
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let fields = cf::of_entity(&mut tx, Entity::Company).await?;
    tx.commit().await?;
    let searchable = searchable(&ctx, &fields);
    let mut c = Condition {
        field: get("f"),
        op: get("o"),
        value: get("v"),
    };
    // Keep the operator only when it fits the new field.
    if let Some((_, _, kind)) = searchable.iter().find(|(name, _, _)| *name == c.field)
        && !kind.ops().iter().any(|o| o.as_str() == c.op)
    {
        c.op = kind.ops()[0].as_str().to_owned();
    }
    Ok(condition_row(&ctx, n, &c, &searchable))
}

fn op_label(ctx: &Ctx, op: Op, kind: Option<FieldType>) -> String {
    match (op, kind) {
        (Op::Before, Some(FieldType::Number)) => ctx.t("filters.op_less"),
        (Op::After, Some(FieldType::Number)) => ctx.t("filters.op_greater"),
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

/// 显示列: which optional columns the list shows, remembered per user.
fn column_chooser(ctx: &Ctx, shown: &[&str], fields: &[Field], back: &str) -> Markup {
    let all: Vec<(String, String)> = COLUMNS
        .iter()
        .map(|(c, key)| ((*c).to_owned(), ctx.t(key)))
        .chain(fields.iter().map(|f| (f.input_name(), f.label.clone())))
        .collect();
    html! {
        details.column-chooser.ms-auto #column-chooser {
            summary.btn.btn-sm.btn-outline-secondary { (ctx.t("customers.columns")) }
            form.card.card-body.mt-1.shadow-sm method="post" action="/customers/columns" {
                (csrf_field(&ctx.csrf))
                input type="hidden" name="back" value=(back);
                @for (col, label) in &all {
                    div.form-check {
                        input.form-check-input type="checkbox" name="col" value=(col) id={"col-" (col)}
                            checked[shown.contains(&col.as_str())];
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

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
