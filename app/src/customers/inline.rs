//! 行内编辑: the detail page's fields edit in place. The pencil next to a value asks
//! htmx for a one-field form; saving checks the field with the same rules as the full
//! form, records the change in the history, and swaps the new value back in.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Path, Query},
};
use serde::Deserialize;

use crate::{
    auth::ctx::Ctx,
    custom_fields::{self as cf, Field, Inputs},
    customers::{
        form::{self, Choices, CompanyForm},
        model::{self, Company},
    },
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action},
    ids::CompanyId,
    state::State,
    web::{
        forms::{Errors, RawForm},
        inline,
    },
};

/// The built-in fields that edit in place: (form name, locale key).
pub const FIELDS: [(&str, &str); 8] = [
    ("phone", "company.phone"),
    ("email", "field.email"),
    ("website", "company.website"),
    ("address", "company.address"),
    ("category_id", "company.category"),
    ("owner_id", "company.owner"),
    ("visibility", "company.visibility"),
    ("introduction", "company.introduction"),
];

/// The company's facts as `dt`/`dd` rows, each value editable in place when `manage`.
pub(super) fn facts(ctx: &Ctx, company: &Company, choices: &Choices, manage: bool) -> Markup {
    html! {
        @for (name, key) in FIELDS {
            dt.col-sm-3 { (ctx.t(key)) }
            dd.col-sm-9 id={"inline-" (name)} { (value_cell(ctx, company, choices, name, manage)) }
        }
        @for f in &choices.fields {
            @let name = f.input_name();
            dt.col-sm-3 { (f.label) }
            dd.col-sm-9 id={"inline-" (name)} data-field=(name) { (value_cell(ctx, company, choices, &name, manage)) }
        }
    }
}

fn label(ctx: &Ctx, choices: &Choices, name: &str) -> Option<String> {
    if let Some((_, key)) = FIELDS.iter().find(|(n, _)| *n == name) {
        return Some(ctx.t(key));
    }
    custom_field(choices, name).map(|f| f.label.clone())
}

fn custom_field<'a>(choices: &'a Choices, name: &str) -> Option<&'a Field> {
    choices.fields.iter().find(|f| f.input_name() == name)
}

fn display(ctx: &Ctx, company: &Company, choices: &Choices, name: &str) -> String {
    match name {
        "phone" => company.phone.clone(),
        "email" => company.email.clone(),
        "website" => company.website.clone(),
        "address" => company.address.clone(),
        "introduction" => company.introduction.clone(),
        "category_id" => company
            .category_id
            .and_then(|id| choices.categories.iter().find(|(c, _)| *c == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_default(),
        "owner_id" => choices
            .people
            .iter()
            .find(|u| u.id == company.owner_id)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        "visibility" => ctx.t(&format!("visibility.{}", company.visibility)),
        other => custom_field(choices, other)
            .map(|f| cf::text_of(f, &company.custom))
            .unwrap_or_default(),
    }
}

fn value_cell(ctx: &Ctx, company: &Company, choices: &Choices, name: &str, manage: bool) -> Markup {
    let label = label(ctx, choices, name).unwrap_or_default();
    let class = if name == "introduction" {
        "company-intro"
    } else {
        ""
    };
    inline::cell(
        ctx,
        &format!("/customers/{}", company.id),
        (name, &label),
        &display(ctx, company, choices, name),
        manage,
        class,
    )
}

/// The one-field form, showing `input` (or the custom `inputs`) and its error.
fn editor(
    ctx: &Ctx,
    company: CompanyId,
    choices: &Choices,
    name: &str,
    input: &CompanyForm,
    inputs: &Inputs,
    errors: &Errors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("inline-input-{name}");
    let label = label(ctx, choices, name).unwrap_or_default();
    let text_value = match name {
        "phone" => input.phone.as_str(),
        "email" => input.email.as_str(),
        "website" => input.website.as_str(),
        "address" => input.address.as_str(),
        "introduction" => input.introduction.as_str(),
        _ => "",
    };
    let control = html! {
        @if let Some(field) = custom_field(choices, name) {
            (cf::controls(ctx.locale, std::slice::from_ref(field), inputs, errors))
        } @else {
            label.visually-hidden for=(id) { (label) }
            @match name {
                "introduction" => {
                    textarea.form-control.form-control-sm.is-invalid[error.is_some()] id=(id) name=(name) rows="3" maxlength="5000" autofocus { (text_value) }
                }
                "category_id" => {
                    select.form-select.form-select-sm id=(id) name=(name) autofocus {
                        option value="" { (ctx.t("company.no_category")) }
                        @for (cid, cname) in &choices.categories {
                            option value=(cid) selected[cid.to_string() == input.category_id] { (cname) }
                        }
                    }
                }
                "owner_id" => {
                    select.form-select.form-select-sm id=(id) name=(name) autofocus {
                        @for u in choices.people.iter().filter(|u| u.status != "disabled" || u.id.to_string() == input.owner_id) {
                            option value=(u.id) selected[u.id.to_string() == input.owner_id] { (u.name) }
                        }
                    }
                }
                "visibility" => {
                    select.form-select.form-select-sm id=(id) name=(name) autofocus {
                        @for v in ["private", "public"] {
                            option value=(v) selected[input.visibility == v] { (ctx.t(&format!("visibility.{v}"))) }
                        }
                    }
                }
                _ => {
                    input.form-control.form-control-sm.is-invalid[error.is_some()] id=(id) name=(name) type="text"
                        value=(text_value) autofocus maxlength="300";
                }
            }
            @if let Some(error) = error { div.invalid-feedback.d-block.inline-error { (error) } }
        }
    };
    inline::editor(ctx, &format!("/customers/{company}"), name, control)
}

/// Query of the inline editor.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InlineParams {
    field: String,
    cancel: Option<String>,
}

/// GET /customers/:id/inline?field=… — the editor for one field (`cancel` gives the value).
#[handler]
pub async fn edit(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
    Query(params): Query<InlineParams>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, company) = form::managed(&mut tx, &ctx, id).await?;
    let choices = form::choices(&mut tx).await?;
    tx.commit().await?;
    let name = params.field.as_str();
    if label(&ctx, &choices, name).is_none() {
        return Err(AppError::NotFound);
    }
    if params.cancel.is_some() {
        return Ok(value_cell(&ctx, &company, &choices, name, true));
    }
    let inputs = Inputs::from_stored(&choices.fields, &company.custom);
    Ok(editor(
        &ctx,
        company.id,
        &choices,
        name,
        &CompanyForm::from_company(&company),
        &inputs,
        &Errors::new(),
    ))
}

/// POST /customers/:id/inline — saves one field; a refused value comes back in the
/// editor with its message (as 200, so htmx swaps it in).
#[handler]
pub async fn save(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
    body: RawForm,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, company) = form::managed(&mut tx, &ctx, id).await?;
    let choices = form::choices(&mut tx).await?;
    let (name, value) = inline::submitted(&body);
    if label(&ctx, &choices, &name).is_none() {
        return Err(AppError::NotFound);
    }
    let mut input = CompanyForm::from_company(&company);
    match name.as_str() {
        "phone" => input.phone = value,
        "email" => input.email = value,
        "website" => input.website = value,
        "address" => input.address = value,
        "introduction" => input.introduction = value,
        "category_id" => input.category_id = value,
        "owner_id" => input.owner_id = value,
        "visibility" => input.visibility = value,
        _ => {}
    }
    let mut inputs = Inputs::from_stored(&choices.fields, &company.custom);
    if let Some(field) = custom_field(&choices, &name) {
        inputs.merge(Inputs::from_submitted(
            std::slice::from_ref(field),
            body.pairs(),
        ));
    }
    let mut errors = Errors::new();
    let fields = form::validate(
        &ctx,
        &scope,
        &input,
        (&inputs, &company.custom),
        &choices,
        company.owner_id,
        &mut errors,
    );
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(editor(
            &ctx, company.id, &choices, &name, &input, &inputs, &errors,
        ));
    }
    model::update(&mut tx, company.id, &fields).await?;
    let changes = form::changes(&choices, &company, &fields);
    if !changes.is_empty() {
        history::record(
            &mut tx,
            company.id,
            Some(ctx.user),
            Action::Updated,
            "",
            changes.into_changes(),
        )
        .await?;
    }
    let company = model::find(&mut tx, &scope, company.id).await;
    tx.commit().await?;
    // An owner change may move the company out of the editor's reach.
    Ok(match company {
        Ok(company) => value_cell(
            &ctx,
            &company,
            &choices,
            &name,
            scope.can_manage(company.owner_id),
        ),
        Err(AppError::NotFound) => html! { span.inline-value { (ctx.t("customers.inline_gone")) } },
        Err(e) => return Err(e),
    })
}
