//! The company field of forms that belong to a company (contacts, opportunities): the
//! company is typed by name; while typing, htmx fills a `<datalist>` with matching
//! visible companies (GET /customers/autocomplete), so the browser offers them natively
//! and the form still works without JavaScript. On submit, [`resolve`] turns the typed
//! name into a visible company or a field error.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    customers::{
        model::{self as companies, Company, ListQuery},
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::AppResult,
    i18n::Locale,
    state::State,
    web::{ctx::Ctx, forms::Errors},
};

/// The form field's name.
pub const FIELD: &str = "company";

/// The labelled company input with its datalist, help text and error; a task's company
/// is optional.
pub fn field(
    locale: Locale,
    label: &str,
    value: &str,
    error: Option<&str>,
    (autofocus, required): (bool, bool),
) -> Markup {
    html! {
        div.mb-3 {
            label.form-label for="f-company" {
                (label)
                @if required { span.text-danger aria-hidden="true" { " *" } }
            }
            input.form-control.is-invalid[error.is_some()] #f-company name=(FIELD) type="text"
                value=(value) required[required] autofocus[autofocus]
                maxlength="200" autocomplete="off" list="company-options"
                hx-get="/customers/autocomplete" hx-trigger="input changed delay:250ms, focus"
                hx-target="#company-options"
                aria-describedby="f-company-help f-company-error";
            datalist #company-options {}
            div.form-text #f-company-help { (locale.t("contacts.company_help")) }
            @if let Some(error) = error {
                div.invalid-feedback #f-company-error { (error) }
            }
        }
    }
}

/// The visible company a typed name means, or `None` with the reason under the field
/// (required, or no such visible company).
pub async fn resolve(
    tx: &mut TenantTx,
    scope: &Scope,
    locale: Locale,
    typed: &str,
    errors: &mut Errors,
) -> AppResult<Option<Company>> {
    match companies::resolve_by_name(tx, scope, typed).await? {
        Some(id) => Ok(Some(companies::find(tx, scope, id).await?)),
        None if typed.trim().is_empty() => {
            errors.add(locale, FIELD, "form.required");
            Ok(None)
        }
        None => {
            errors.add(locale, FIELD, "contacts.company_unknown");
            Ok(None)
        }
    }
}

/// Query of the company autocomplete.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AutocompleteParams {
    company: String,
}

/// GET /customers/autocomplete?company=… — `<option>`s of up to 10 visible companies
/// whose name contains the typed text, for the datalist of [`field`].
#[handler]
pub async fn autocomplete(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<AutocompleteParams>,
) -> AppResult<Markup> {
    let term = params.company.trim();
    if term.is_empty() {
        return Ok(html! {});
    }
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let query = ListQuery::search(&mut tx, term, 10).await?;
    let found = companies::list(&mut tx, &scope, query).await?;
    tx.commit().await?;
    Ok(html! {
        @for c in &found {
            option value=(c.name) {}
        }
    })
}
