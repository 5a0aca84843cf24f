//! 行内编辑, the mechanism detail pages share: each fact is a `dd#inline-<field>` whose
//! pencil asks htmx for a one-field form (GET `<record>/inline?field=…`); the form posts
//! to `<record>/inline` and the response (the new value, or the form again with its
//! error, as 200 so htmx swaps it) replaces the cell. A record type implements
//! [`Editable`] (its value text, control, rules and save); [`edit`] and [`save`] are the
//! flow every record shares.

use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    custom_fields::{Field, Inputs},
    db::{DbPool, TenantTx},
    error::{AppError, AppResult},
    ids::UserId,
    visibility::Scope,
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
    },
};

/// A fact's value with (for whoever may edit it) the pencil that opens its editor.
/// `base` is the record's page (`/customers/7`), `class` extra classes of the value.
///
/// The pencil is a link to the record's full edit form at the field (`/customers/7/edit#f-phone`):
/// without JavaScript it goes there; with it, htmx takes the click and fetches the
/// one-field editor instead.
pub fn cell(
    ctx: &Ctx,
    base: &str,
    (name, label): (&str, &str),
    text: &str,
    manage: bool,
    class: &str,
) -> Markup {
    html! {
        span class={"inline-value " (class)} { @if text.is_empty() { "—" } @else { (text) } }
        @if manage {
            a.btn.btn-sm.btn-link.py-0.inline-edit href={(base) "/edit#f-" (name)}
                hx-get={(base) "/inline?field=" (name)}
                hx-target={"#inline-" (name)}
                aria-label=(ctx.locale.tf("customers.inline_edit", &[("field", label)])) {}
        }
    }
}

/// The one-field form around `control` (which shows its own error), with Save and a
/// Cancel that brings the value back.
pub fn editor(ctx: &Ctx, base: &str, name: &str, control: Markup) -> Markup {
    html! {
        form.inline-form hx-post={(base) "/inline"} hx-target={"#inline-" (name)} {
            input type="hidden" name="field" value=(name);
            (control)
            div.d-flex.gap-2.mt-1 {
                button.btn.btn-sm.btn-primary type="submit" { (ctx.t("common.save")) }
                button.btn.btn-sm.btn-link type="button"
                    hx-get={(base) "/inline?cancel=1&field=" (name)}
                    hx-target={"#inline-" (name)} { (ctx.t("common.cancel")) }
            }
        }
    }
}

/// The submitted field's name and value.
pub fn submitted(body: &RawForm) -> (String, String) {
    let value_of = |key: &str| {
        body.pairs()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let name = value_of("field");
    let value = value_of(&name);
    (name, value)
}

/// The custom field whose input is called `name`.
pub fn custom_field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.input_name() == name)
}

/// Query of the inline editor: the field, and `cancel` for its value back.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InlineParams {
    field: String,
    cancel: Option<String>,
}

/// A record whose facts edit in place: what the shared GET and POST need of it.
pub trait Editable: Sized + Send + Sync {
    /// The options and custom fields its forms need.
    type Choices: Send + Sync;
    /// Its form as typed.
    type Form: Send + Sync;
    /// Its checked fields.
    type Fields: Send + Sync;

    /// Loads the record the user may change (404 when hidden, 403 when not theirs).
    fn managed(
        tx: &mut TenantTx,
        ctx: &Ctx,
        id: i64,
    ) -> impl Future<Output = AppResult<(Scope, Self)>> + Send;
    /// Loads what its forms need.
    fn choices(
        tx: &mut TenantTx,
        ctx: &Ctx,
    ) -> impl Future<Output = AppResult<Self::Choices>> + Send;
    /// Saves checked fields and records the change in its history.
    fn store(
        tx: &mut TenantTx,
        ctx: &Ctx,
        choices: &Self::Choices,
        old: &Self,
        fields: &Self::Fields,
    ) -> impl Future<Output = AppResult<()>> + Send;
    /// Reads it again after a save (`NotFound` once it is out of the user's sight).
    fn reload(
        tx: &mut TenantTx,
        scope: &Scope,
        old: &Self,
    ) -> impl Future<Output = AppResult<Self>> + Send;
    /// Its custom fields.
    fn fields(choices: &Self::Choices) -> &[Field];
    /// Its custom field values.
    fn custom(&self) -> &serde_json::Value;
    /// Its owner.
    fn owner(&self) -> UserId;
    /// The label of a field that edits in place, `None` for any other name.
    fn label(ctx: &Ctx, choices: &Self::Choices, name: &str) -> Option<String>;
    /// Its form, filled with what is stored.
    fn form(&self) -> Self::Form;
    /// Puts a submitted built-in value into the form.
    fn set(form: &mut Self::Form, name: &str, value: String);
    /// Checks the form as the full form does.
    fn validate(
        &self,
        ctx: &Ctx,
        scope: &Scope,
        form: (&Self::Form, &Inputs),
        choices: &Self::Choices,
        errors: &mut Errors,
    ) -> Self::Fields;
    /// A field's value cell.
    fn value_cell(&self, ctx: &Ctx, choices: &Self::Choices, name: &str, manage: bool) -> Markup;
    /// A field's one-field form.
    fn editor(
        &self,
        ctx: &Ctx,
        choices: &Self::Choices,
        name: &str,
        form: (&Self::Form, &Inputs),
        errors: &Errors,
    ) -> Markup;
}

/// GET `<record>/inline?field=…`: the editor for one field (`cancel` gives the value).
pub async fn edit<R: Editable>(
    ctx: &Ctx,
    db: &DbPool,
    id: i64,
    params: &InlineParams,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(db, ctx.tenant).await?;
    let (_, record) = R::managed(&mut tx, ctx, id).await?;
    let choices = R::choices(&mut tx, ctx).await?;
    tx.commit().await?;
    let name = params.field.as_str();
    if R::label(ctx, &choices, name).is_none() {
        return Err(AppError::NotFound);
    }
    if params.cancel.is_some() {
        return Ok(record.value_cell(ctx, &choices, name, true));
    }
    let inputs = Inputs::from_stored(R::fields(&choices), record.custom());
    Ok(record.editor(
        ctx,
        &choices,
        name,
        (&record.form(), &inputs),
        &Errors::new(),
    ))
}

/// POST `<record>/inline`: saves one field; a refused value comes back in the editor with
/// its message (as 200, so htmx swaps it in).
pub async fn save<R: Editable>(
    ctx: &Ctx,
    db: &DbPool,
    id: i64,
    body: &RawForm,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(db, ctx.tenant).await?;
    let (scope, record) = R::managed(&mut tx, ctx, id).await?;
    let choices = R::choices(&mut tx, ctx).await?;
    let (name, value) = submitted(body);
    if R::label(ctx, &choices, &name).is_none() {
        return Err(AppError::NotFound);
    }
    let mut form = record.form();
    R::set(&mut form, &name, value);
    let mut inputs = Inputs::from_stored(R::fields(&choices), record.custom());
    if let Some(field) = custom_field(R::fields(&choices), &name) {
        inputs.merge(Inputs::from_submitted(
            std::slice::from_ref(field),
            body.pairs(),
        ));
    }
    let mut errors = Errors::new();
    let fields = record.validate(ctx, &scope, (&form, &inputs), &choices, &mut errors);
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(record.editor(ctx, &choices, &name, (&form, &inputs), &errors));
    }
    R::store(&mut tx, ctx, &choices, &record, &fields).await?;
    let updated = R::reload(&mut tx, &scope, &record).await;
    tx.commit().await?;
    // An owner or visibility change may move it out of the editor's reach.
    Ok(match updated {
        Ok(r) => r.value_cell(ctx, &choices, &name, scope.can_manage(r.owner())),
        Err(AppError::NotFound) => {
            html! { span.inline-value { (ctx.t("customers.inline_gone")) } }
        }
        Err(e) => return Err(e),
    })
}
