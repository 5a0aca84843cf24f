//! 行内编辑 on the opportunity page (the shared `web::inline` mechanism): amount, owner,
//! category, expected close, visibility, description, name and custom fields edit in
//! place, checked by the same rules as the edit form and recorded the same way.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Path, Query},
};
use serde::Deserialize;

use crate::{
    auth::ctx::Ctx,
    custom_fields::{self as cf, Field, Inputs},
    db::TenantTx,
    error::{AppError, AppResult},
    ids::OpportunityId,
    opportunities::{
        form::{self, Choices, OpportunityForm},
        managed,
        model::{self, Opportunity},
        views,
    },
    state::State,
    web::{
        forms::{Errors, RawForm},
        inline,
    },
};

/// The built-in fields that edit in place: (form name, locale key).
pub const FIELDS: [(&str, &str); 7] = [
    ("amount", "opportunities.amount"),
    ("owner_id", "opportunities.owner"),
    ("category_id", "opportunities.category"),
    ("expected_close", "opportunities.expected_close"),
    ("visibility", "opportunities.visibility"),
    ("name", "opportunities.name"),
    ("description", "opportunities.description"),
];

/// The facts as `dt`/`dd` rows, each editable in place when `manage`.
pub fn facts(ctx: &Ctx, o: &Opportunity, choices: &Choices, manage: bool) -> Markup {
    html! {
        @for (name, key) in FIELDS {
            dt.col-sm-3 { (ctx.t(key)) }
            dd.col-sm-9 id={"inline-" (name)} { (value_cell(ctx, o, choices, name, manage)) }
        }
        @for f in &choices.fields {
            @let name = f.input_name();
            dt.col-sm-3 { (f.label) }
            dd.col-sm-9 id={"inline-" (name)} data-field=(name) { (value_cell(ctx, o, choices, &name, manage)) }
        }
    }
}

fn custom_field<'a>(choices: &'a Choices, name: &str) -> Option<&'a Field> {
    choices.fields.iter().find(|f| f.input_name() == name)
}

fn label(ctx: &Ctx, choices: &Choices, name: &str) -> Option<String> {
    if let Some((_, key)) = FIELDS.iter().find(|(n, _)| *n == name) {
        return Some(ctx.t(key));
    }
    custom_field(choices, name).map(|f| f.label.clone())
}

fn display(ctx: &Ctx, o: &Opportunity, choices: &Choices, name: &str) -> String {
    match name {
        "amount" => views::amount(ctx, o),
        "owner_id" => choices.person(o.owner_id).to_owned(),
        "category_id" => choices.category(o.category_id).to_owned(),
        "expected_close" => o
            .expected_close
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        "visibility" => ctx.t(&format!("visibility.{}", o.visibility)),
        "name" => o.name.clone(),
        "description" => o.description.clone(),
        other => custom_field(choices, other)
            .map(|f| cf::text_of(f, &o.custom))
            .unwrap_or_default(),
    }
}

fn value_cell(ctx: &Ctx, o: &Opportunity, choices: &Choices, name: &str, manage: bool) -> Markup {
    let label = label(ctx, choices, name).unwrap_or_default();
    let class = match name {
        "description" => "opportunity-description",
        "amount" => "opportunity-amount",
        _ => "",
    };
    inline::cell(
        ctx,
        &format!("/opportunities/{}", o.id),
        (name, &label),
        &display(ctx, o, choices, name),
        manage,
        class,
    )
}

/// The one-field form, showing `input` (or the custom `inputs`) and its error.
fn editor(
    ctx: &Ctx,
    o: &Opportunity,
    choices: &Choices,
    name: &str,
    (input, inputs): (&OpportunityForm, &Inputs),
    errors: &Errors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("inline-input-{name}");
    let label = label(ctx, choices, name).unwrap_or_default();
    let select = |options: Vec<(String, String)>, selected: &str| {
        html! {
            select.form-select.form-select-sm id=(id) name=(name) autofocus {
                @for (value, text) in &options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    };
    let control = html! {
        @if let Some(field) = custom_field(choices, name) {
            (cf::controls(ctx.locale, std::slice::from_ref(field), inputs, errors))
        } @else {
            label.visually-hidden for=(id) { (label) }
            @match name {
                "description" => {
                    textarea.form-control.form-control-sm.is-invalid[error.is_some()] id=(id) name=(name)
                        rows="3" maxlength=(form::DESCRIPTION_MAX) autofocus { (input.description) }
                }
                "owner_id" => { (select(form::owner_options(choices, &input.owner_id), &input.owner_id)) }
                "category_id" => { (select(form::category_options(ctx, choices), &input.category_id)) }
                "visibility" => { (select(form::visibility_options(ctx), &input.visibility)) }
                "expected_close" => {
                    input.form-control.form-control-sm.is-invalid[error.is_some()] id=(id) name=(name)
                        type="date" value=(input.expected_close) autofocus;
                }
                "amount" => {
                    input.form-control.form-control-sm.is-invalid[error.is_some()] id=(id) name=(name)
                        type="text" inputmode="decimal" value=(input.amount) maxlength="30" autofocus;
                }
                _ => {
                    input.form-control.form-control-sm.is-invalid[error.is_some()] id=(id) name=(name)
                        type="text" value=(input.name) maxlength=(form::NAME_MAX) autofocus;
                }
            }
            @if let Some(error) = error { div.invalid-feedback.d-block.inline-error { (error) } }
        }
    };
    inline::editor(ctx, &format!("/opportunities/{}", o.id), name, control)
}

/// Query of the inline editor.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InlineParams {
    field: String,
    cancel: Option<String>,
}

/// GET /opportunities/:id/inline?field=… — the editor for one field (`cancel` gives the
/// value back).
#[handler]
pub async fn edit(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    Query(params): Query<InlineParams>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, o) = managed(&mut tx, &ctx, id).await?;
    let choices = Choices::load(&mut tx, ctx.locale).await?;
    tx.commit().await?;
    let name = params.field.as_str();
    if label(&ctx, &choices, name).is_none() {
        return Err(AppError::NotFound);
    }
    if params.cancel.is_some() {
        return Ok(value_cell(&ctx, &o, &choices, name, true));
    }
    let inputs = Inputs::from_stored(&choices.fields, &o.custom);
    Ok(editor(
        &ctx,
        &o,
        &choices,
        name,
        (&OpportunityForm::from_opportunity(&o), &inputs),
        &Errors::new(),
    ))
}

/// POST /opportunities/:id/inline — saves one field; a refused value comes back in the
/// editor with its message (as 200, so htmx swaps it in).
#[handler]
pub async fn save(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    body: RawForm,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, o) = managed(&mut tx, &ctx, id).await?;
    let choices = Choices::load(&mut tx, ctx.locale).await?;
    let (name, value) = inline::submitted(&body);
    if label(&ctx, &choices, &name).is_none() {
        return Err(AppError::NotFound);
    }
    let mut input = OpportunityForm::from_opportunity(&o);
    match name.as_str() {
        "amount" => input.amount = value,
        "owner_id" => input.owner_id = value,
        "category_id" => input.category_id = value,
        "expected_close" => input.expected_close = value,
        "visibility" => input.visibility = value,
        "name" => input.name = value,
        "description" => input.description = value,
        _ => {}
    }
    let mut inputs = Inputs::from_stored(&choices.fields, &o.custom);
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
        (&inputs, &o.custom),
        &choices,
        (o.owner_id, Some(o.stage_id)),
        &mut errors,
    );
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(editor(
            &ctx,
            &o,
            &choices,
            &name,
            (&input, &inputs),
            &errors,
        ));
    }
    crate::opportunities::edit::save(&mut tx, &ctx, &choices, &o, &fields).await?;
    let updated = model::find(&mut tx, &scope, o.id).await;
    tx.commit().await?;
    // An owner or visibility change may move it out of the editor's reach.
    Ok(match updated {
        Ok(o) => value_cell(&ctx, &o, &choices, &name, scope.can_manage(o.owner_id)),
        Err(AppError::NotFound) => {
            html! { span.inline-value { (ctx.t("customers.inline_gone")) } }
        }
        Err(e) => return Err(e),
    })
}
