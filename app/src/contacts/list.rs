//! GET /contacts — 联系人列表: visible contacts with their company, newest first, keyset
//! pages of 50, "name contains" search.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    contacts::model,
    custom_fields::{self as cf, Entity},
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::AppResult,
    ids::ContactId,
    state::State,
    web::{
        ctx::Ctx,
        layout::{self, Module},
    },
};

const PAGE: i64 = 50;

/// The list's query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    q: String,
    /// A custom field (`cf_<id>`) and the value it must hold.
    cf: String,
    cv: String,
    // Text, so an empty `before=` means "first page" instead of a 400.
    before: String,
}

/// GET /contacts
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<Params>,
) -> AppResult<Markup> {
    let before: Option<i64> = params.before.trim().parse().ok();
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let fields = cf::of_entity(tx.reads(), Entity::Contact).await?;
    let custom = fields
        .iter()
        .find(|f| f.input_name() == params.cf)
        .filter(|_| !params.cv.trim().is_empty())
        .map(|f| model::CustomMatch {
            field: f.clone(),
            value: params.cv.clone(),
        });
    let mut rows = model::list(
        &mut tx,
        &scope,
        params.q.trim(),
        custom.as_ref(),
        before.map(ContactId),
        PAGE + 1,
    )
    .await?;
    tx.commit().await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let next = more.then(|| rows.last().map(|(c, _)| c.id)).flatten();
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &params.q)
        .append_pair("cf", &params.cf)
        .append_pair("cv", &params.cv)
        .finish();
    let content = html! {
        div.d-flex.flex-wrap.gap-2.mb-3.align-items-end {
            a.btn.btn-primary href="/contacts/new" { (ctx.t("contacts.new")) }
            form.d-flex.gap-2.ms-auto.customer-search method="get" action="/contacts" role="search" {
                label.visually-hidden for="f-q" { (ctx.t("contacts.name_contains")) }
                input.form-control #f-q type="search" name="q" value=(params.q) placeholder=(ctx.t("contacts.name_contains"));
                @if !fields.is_empty() {
                    label.visually-hidden for="f-cf" { (ctx.t("filters.field")) }
                    select.form-select.w-auto #f-cf name="cf" {
                        option value="" { (ctx.t("filters.choose_field")) }
                        @for f in &fields {
                            option value=(f.input_name()) selected[f.input_name() == params.cf] { (f.label) }
                        }
                    }
                    label.visually-hidden for="f-cv" { (ctx.t("filters.value")) }
                    input.form-control.w-auto #f-cv name="cv" value=(params.cv) placeholder=(ctx.t("filters.value"));
                }
                button.btn.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("common.search")) }
            }
        }
        @if !rows.is_empty() {
            div.d-flex.justify-content-end.mb-2 {
                (crate::exports::routes::form(&ctx, "contact", &q, ""))
            }
        }
        @if rows.is_empty() {
            div.empty-state {
                @if params.q.trim().is_empty() && custom.is_none() && before.is_none() {
                    p { (ctx.t("contacts.empty")) }
                } @else {
                    p { (ctx.t("contacts.no_match")) }
                }
            }
        } @else {
            div.table-responsive {
                table.table.table-hover.align-middle #contacts {
                    thead {
                        tr {
                            th scope="col" { (ctx.t("field.name")) }
                            th scope="col" { (ctx.t("contact.company")) }
                            th scope="col" { (ctx.t("contact.title")) }
                            th scope="col" { (ctx.t("contact.mobile")) }
                            th scope="col" { (ctx.t("company.phone")) }
                            th scope="col" { (ctx.t("field.email")) }
                            @for f in &fields { th scope="col" data-col=(f.input_name()) { (f.label) } }
                        }
                    }
                    tbody {
                        @for (c, company) in &rows {
                            tr id={"contact-" (c.id)} {
                                td { a href={"/contacts/" (c.id)} { (c.name) } }
                                td { a href={"/customers/" (c.company_id)} { (company) } }
                                td { (c.title) }
                                td { (c.mobile) }
                                td { (c.phone) }
                                td { (c.email) }
                                @for f in &fields { td data-col=(f.input_name()) { (cf::text_of(f, &c.custom)) } }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                a.btn.btn-outline-secondary href={"/contacts?before=" (next) "&" (q)} { (ctx.t("common.next_page")) }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/contacts",
        &ctx.t("contacts.title"),
        content,
    ))
}
