//! 行内编辑 on the opportunity page (the shared `web::inline` mechanism): amount, owner,
//! category, expected close, visibility, description, name and custom fields edit in
//! place, checked by the same rules as the edit form and recorded the same way.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Path, Query},
};

use crate::{
    custom_fields::{self as cf, Field, Inputs},
    db::TenantTx,
    error::AppResult,
    ids::{OpportunityId, UserId},
    opportunities::{
        form::{self, Choices, OpportunityForm},
        managed,
        model::{self, Opportunity},
        views,
    },
    state::State,
    visibility::Scope,
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
        inline::{self, InlineParams},
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
    inline::custom_field(&choices.fields, name)
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

impl inline::Editable for Opportunity {
    type Choices = Choices;
    type Form = OpportunityForm;
    type Fields = model::OpportunityFields;

    async fn managed(tx: &mut TenantTx, ctx: &Ctx, id: i64) -> AppResult<(Scope, Self)> {
        managed(tx, ctx, OpportunityId(id)).await
    }

    async fn choices(tx: &mut TenantTx, ctx: &Ctx) -> AppResult<Choices> {
        Choices::load(tx, ctx.locale).await
    }

    async fn store(
        tx: &mut TenantTx,
        ctx: &Ctx,
        choices: &Choices,
        old: &Self,
        fields: &Self::Fields,
    ) -> AppResult<()> {
        crate::opportunities::edit::save(tx, ctx, choices, old, fields).await
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

    fn form(&self) -> OpportunityForm {
        OpportunityForm::from_opportunity(self)
    }

    fn set(input: &mut OpportunityForm, name: &str, value: String) {
        match name {
            "amount" => input.amount = value,
            "owner_id" => input.owner_id = value,
            "category_id" => input.category_id = value,
            "expected_close" => input.expected_close = value,
            "visibility" => input.visibility = value,
            "name" => input.name = value,
            "description" => input.description = value,
            _ => {}
        }
    }

    fn validate(
        &self,
        ctx: &Ctx,
        scope: &Scope,
        (input, inputs): (&OpportunityForm, &Inputs),
        choices: &Choices,
        errors: &mut Errors,
    ) -> Self::Fields {
        form::validate(
            ctx,
            scope,
            input,
            (inputs, &self.custom),
            choices,
            (self.owner_id, Some(self.stage_id)),
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
        form: (&OpportunityForm, &Inputs),
        errors: &Errors,
    ) -> Markup {
        editor(ctx, self, choices, name, form, errors)
    }
}

/// GET /opportunities/:id/inline?field=… — the editor for one field.
#[handler]
pub async fn edit(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    Query(params): Query<InlineParams>,
) -> AppResult<Markup> {
    inline::edit::<Opportunity>(&ctx, &state.db, id.0, &params).await
}

/// POST /opportunities/:id/inline — saves one field.
#[handler]
pub async fn save(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
    body: RawForm,
) -> AppResult<Markup> {
    inline::save::<Opportunity>(&ctx, &state.db, id.0, &body).await
}
