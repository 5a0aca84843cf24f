//! 行内编辑: the detail page's fields edit in place. The pencil next to a value asks
//! htmx for a one-field form; saving checks the field with the same rules as the full
//! form, records the change in the history, and swaps the new value back in.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Path, Query},
};

use crate::{
    custom_fields::{self as cf, Field, Inputs},
    customers::{
        form::{self, Choices, CompanyForm},
        model::{self, Company},
    },
    db::TenantTx,
    error::AppResult,
    history::{self, Action},
    ids::{CompanyId, UserId},
    state::State,
    visibility::Scope,
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
        inline::{self, InlineParams},
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
    inline::custom_field(&choices.fields, name)
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

impl inline::Editable for Company {
    type Choices = Choices;
    type Form = CompanyForm;
    type Fields = model::CompanyFields;

    async fn managed(tx: &mut TenantTx, ctx: &Ctx, id: i64) -> AppResult<(Scope, Self)> {
        form::managed(tx, ctx, CompanyId(id)).await
    }

    async fn choices(tx: &mut TenantTx, _: &Ctx) -> AppResult<Choices> {
        form::choices(tx).await
    }

    async fn store(
        tx: &mut TenantTx,
        ctx: &Ctx,
        choices: &Choices,
        old: &Self,
        fields: &Self::Fields,
    ) -> AppResult<()> {
        model::update(tx, old.id, fields).await?;
        let changes = form::changes(choices, old, fields);
        if !changes.is_empty() {
            history::record(
                tx,
                old.id,
                Some(ctx.user),
                Action::Updated,
                "",
                changes.into_changes(),
            )
            .await?;
        }
        Ok(())
    }

    async fn reload(tx: &mut TenantTx, scope: &Scope, old: &Self) -> AppResult<Self> {
        model::find(tx, scope, old.id).await
    }

    fn fields(choices: &Choices) -> &[Field] {
        &choices.fields
    }

    fn custom(&self) -> &serde_json::Value {
        &self.custom
    }

    fn owner(&self) -> UserId {
        self.owner_id
    }

    fn label(ctx: &Ctx, choices: &Choices, name: &str) -> Option<String> {
        label(ctx, choices, name)
    }

    fn form(&self) -> CompanyForm {
        CompanyForm::from_company(self)
    }

    fn set(input: &mut CompanyForm, name: &str, value: String) {
        match name {
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
    }

    fn validate(
        &self,
        ctx: &Ctx,
        scope: &Scope,
        (input, inputs): (&CompanyForm, &Inputs),
        choices: &Choices,
        errors: &mut Errors,
    ) -> Self::Fields {
        form::validate(
            ctx,
            scope,
            input,
            (inputs, &self.custom),
            choices,
            self.owner_id,
            errors,
        )
    }

    fn value_cell(&self, ctx: &Ctx, choices: &Choices, name: &str, manage: bool) -> Markup {
        value_cell(ctx, self, choices, name, manage)
    }

    fn editor(
        &self,
        ctx: &Ctx,
        choices: &Choices,
        name: &str,
        (input, inputs): (&CompanyForm, &Inputs),
        errors: &Errors,
    ) -> Markup {
        editor(ctx, self.id, choices, name, input, inputs, errors)
    }
}

/// GET /customers/:id/inline?field=… — the editor for one field.
#[handler]
pub async fn edit(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
    Query(params): Query<InlineParams>,
) -> AppResult<Markup> {
    inline::edit::<Company>(&ctx, &state.db, id.0, &params).await
}

/// POST /customers/:id/inline — saves one field.
#[handler]
pub async fn save(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
    body: RawForm,
) -> AppResult<Markup> {
    inline::save::<Company>(&ctx, &state.db, id.0, &body).await
}
