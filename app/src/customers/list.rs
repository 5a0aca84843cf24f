//! GET /customers — 客户一览: visible companies, newest first, keyset pages of 50, with
//! "name contains" search and, for admins, the switch between all data, public data and
//! one employee's data.

use std::collections::HashMap;

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    auth::ctx::Ctx,
    customers::{
        model::{self, Company, ListQuery},
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::AppResult,
    ids::TagId,
    ids::{CompanyId, UserId},
    state::State,
    tags::model as tags,
    users::model as users,
    web::layout::csrf_field,
    web::layout::{self, Module},
};

/// Rows per page.
pub const PAGE: i64 = 50;

/// The list's query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    q: String,
    view: Option<String>,
    // Text, so an empty `before=` or `tag=` means "none" instead of a 400.
    before: String,
    tag: String,
}

/// GET /customers
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<Params>,
) -> AppResult<Markup> {
    let view = View::parse(params.view.as_deref());
    let tag_param: Option<i64> = params.tag.trim().parse().ok();
    let before: Option<i64> = params.before.trim().parse().ok();
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, view).await?;
    let rows = model::list(
        &mut tx,
        &scope,
        ListQuery {
            name_contains: params.q.trim(),
            before: before.map(CompanyId),
            tag: tag_param.map(TagId),
            // One more than a page tells whether a next page exists.
            limit: PAGE + 1,
        },
    )
    .await?;
    let people = users::list(&mut tx).await?;
    let categories: HashMap<_, _> = model::categories(&mut tx).await?.into_iter().collect();
    let ids: Vec<CompanyId> = rows.iter().map(|c| c.id).collect();
    let row_tags = tags::of_companies(&mut tx, &ids).await?;
    let filter_tag = match tag_param {
        Some(id) => users::not_found_is_none(tags::find(&mut tx, TagId(id)).await)?,
        None => None,
    };
    tx.commit().await?;
    let names: HashMap<UserId, String> = people.iter().map(|u| (u.id, u.name.clone())).collect();

    let view_param = view.as_param();
    let mut rows = rows;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let next = more.then(|| rows.last().map(|c| c.id)).flatten();
    let content = html! {
        div.d-flex.flex-wrap.gap-2.mb-3.align-items-end {
            a.btn.btn-primary href="/customers/new" { (ctx.t("customers.new")) }
            form.d-flex.gap-2.ms-auto.customer-search #customer-search method="get" action="/customers" role="search" {
                @if ctx.is_admin() {
                    label.visually-hidden for="f-view" { (ctx.t("customers.view")) }
                    select.form-select #f-view name="view" {
                        option value="" selected[view == View::All] { (ctx.t("customers.view_all")) }
                        option value="public" selected[view == View::Public] { (ctx.t("customers.view_public")) }
                        @for u in &people {
                            @let value = View::Employee(u.id).as_param();
                            option value=(value) selected[view == View::Employee(u.id)] { (u.name) }
                        }
                    }
                }
                label.visually-hidden for="f-q" { (ctx.t("customers.name_contains")) }
                input.form-control #f-q type="search" name="q" value=(params.q)
                    placeholder=(ctx.t("customers.name_contains"));
                button.btn.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("common.search")) }
            }
        }
        @if let Some((tag_id, tag_name)) = &filter_tag {
            div.alert.alert-info.d-flex.align-items-center.gap-2.py-2 #tag-filter {
                (ctx.t("tags.filtered_by")) " " span.badge.text-bg-info { (tag_name) }
                a.ms-auto href={"/customers?view=" (view_param)} { (ctx.t("tags.clear_filter")) }
                input type="hidden" form="customer-search" name="tag" value=(tag_id);
            }
        }
        @if rows.is_empty() {
            div.empty-state {
                @if params.q.trim().is_empty() && before.is_none() && view == View::All && tag_param.is_none() {
                    p { (ctx.t("customers.empty")) }
                    a.btn.btn-primary href="/customers/new" { (ctx.t("customers.new")) }
                } @else {
                    p { (ctx.t("customers.no_match")) }
                }
            }
        } @else {
            // Bulk tagging: the row checkboxes belong to this form through `form="bulk"`.
            form.d-flex.flex-wrap.gap-2.mb-2.align-items-center #bulk method="post" action="/customers/bulk-tag" {
                (csrf_field(&ctx.csrf))
                label.form-label.mb-0.text-secondary for="f-bulk-tag" { (ctx.t("tags.bulk_label")) }
                input.form-control.form-control-sm.w-auto #f-bulk-tag name="tag" maxlength="30" required
                    placeholder=(ctx.t("tags.name"));
                button.btn.btn-sm.btn-outline-primary.text-nowrap type="submit" name="op" value="add" { (ctx.t("tags.add")) }
                button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" name="op" value="remove" { (ctx.t("tags.remove")) }
            }
            div.table-responsive {
                table.table.table-hover.align-middle #companies {
                    thead {
                        tr {
                            th scope="col" { span.visually-hidden { (ctx.t("tags.select")) } }
                            th scope="col" { (ctx.t("company.name")) }
                            th scope="col" { (ctx.t("company.phone")) }
                            th scope="col" { (ctx.t("field.email")) }
                            th scope="col" { (ctx.t("company.category")) }
                            th scope="col" { (ctx.t("company.owner")) }
                            th scope="col" { (ctx.t("company.visibility")) }
                            th scope="col" { (ctx.t("tags.title")) }
                        }
                    }
                    tbody {
                        @for c in &rows {
                            (row(&ctx, c, &names, &categories, row_tags.get(&c.id).map(Vec::as_slice).unwrap_or_default()))
                        }
                    }
                }
            }
            @if let Some(next) = next {
                a.btn.btn-outline-secondary href={"/customers?before=" (next) "&q=" (urlencode(&params.q)) "&view=" (view_param) @if let Some(tag) = tag_param { "&tag=" (tag) }} {
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

fn row(
    ctx: &Ctx,
    c: &Company,
    names: &HashMap<UserId, String>,
    categories: &HashMap<crate::ids::CategoryId, String>,
    tags: &[(TagId, String)],
) -> Markup {
    html! {
        tr id={"company-" (c.id)} {
            td {
                input.form-check-input type="checkbox" form="bulk" name="company_id" value=(c.id)
                    aria-label=(ctx.locale.tf("tags.select_one", &[("name", &c.name)]));
            }
            td { a href={"/customers/" (c.id)} { (c.name) } }
            td { (c.phone) }
            td { (c.email) }
            td { (c.category_id.and_then(|id| categories.get(&id)).map_or("", String::as_str)) }
            td { (names.get(&c.owner_id).map_or("", String::as_str)) }
            td { (ctx.t(&format!("visibility.{}", c.visibility))) }
            td.company-tags {
                @for (id, name) in tags {
                    a.badge.text-bg-info.me-1.text-decoration-none href={"/customers?tag=" (id)} { (name) }
                }
            }
        }
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
