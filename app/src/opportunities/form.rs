//! The opportunity form shared by 增加 and 修改: what was submitted, the choices of its
//! selects, the checks, the markup, and the field-by-field diff an edit records.

use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    custom_fields::{self as cf, Entity, Field, Inputs},
    customers::{picker, visibility::Scope},
    db::TenantTx,
    error::AppResult,
    history::Diff,
    i18n::Locale,
    ids::{OpportunityCategoryId, OpportunityId, StageId, UserId},
    money,
    opportunities::{
        model::{Opportunity, OpportunityFields},
        pipeline::{self, Pipeline},
    },
    users::model::{self as users, User},
    web::{
        ctx::Ctx,
        forms::{self, Errors, Opts},
        layout::{self, Module, csrf_field},
    },
};

/// Longest name.
pub const NAME_MAX: usize = 200;
/// Longest 简介.
pub const DESCRIPTION_MAX: usize = 5000;

/// The form as submitted (every value as typed, so it can be shown again).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OpportunityForm {
    /// The company's name (create only).
    pub company: String,
    /// Name.
    pub name: String,
    /// 简介.
    pub description: String,
    /// Amount as typed.
    pub amount: String,
    /// 分类 id or empty.
    pub category_id: String,
    /// Stage id.
    pub stage_id: String,
    /// `YYYY-MM-DD` or empty.
    pub expected_close: String,
    /// Owner id.
    pub owner_id: String,
    /// `public` or `private`.
    pub visibility: String,
}

impl OpportunityForm {
    /// The form showing a stored opportunity.
    pub fn from_opportunity(o: &Opportunity) -> Self {
        Self {
            company: String::new(),
            name: o.name.clone(),
            description: o.description.clone(),
            amount: money::to_input(o.amount),
            category_id: o.category_id.map(|c| c.to_string()).unwrap_or_default(),
            stage_id: o.stage_id.to_string(),
            expected_close: o
                .expected_close
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            owner_id: o.owner_id.to_string(),
            visibility: o.visibility.clone(),
        }
    }
}

/// Choices for the select fields, and the custom fields.
pub struct Choices {
    /// The pipeline (retired stages too, for names).
    pub pipeline: Pipeline,
    /// 分类.
    pub categories: Vec<(OpportunityCategoryId, String)>,
    /// The tenant's users.
    pub people: Vec<User>,
    /// Custom fields of opportunities.
    pub fields: Vec<Field>,
}

impl Choices {
    /// Loads them (writing the default pipeline if the tenant has none).
    pub async fn load(tx: &mut TenantTx, locale: Locale) -> AppResult<Self> {
        Ok(Self {
            pipeline: pipeline::load(tx, locale).await?,
            categories: pipeline::categories(tx).await?,
            people: users::list(tx).await?,
            fields: cf::of_entity(tx.reads(), Entity::Opportunity).await?,
        })
    }

    /// A category's name (empty for none).
    pub fn category(&self, id: Option<OpportunityCategoryId>) -> &str {
        id.and_then(|id| self.categories.iter().find(|(c, _)| *c == id))
            .map_or("", |(_, name)| name.as_str())
    }

    /// A user's name.
    pub fn person(&self, id: UserId) -> &str {
        self.people
            .iter()
            .find(|u| u.id == id)
            .map_or("", |u| u.name.as_str())
    }
}

/// What the form is for.
pub enum Purpose<'a> {
    /// 增加销售机会.
    Create,
    /// 修改: the opportunity and its company's name.
    Edit(OpportunityId, &'a str),
}

/// The whole form page.
pub fn page(
    ctx: &Ctx,
    purpose: &Purpose<'_>,
    input: &OpportunityForm,
    custom: &Inputs,
    errors: &Errors,
    choices: &Choices,
) -> Markup {
    let (title, action, cancel) = match purpose {
        Purpose::Create => (
            ctx.t("opportunities.new"),
            "/opportunities/new".to_owned(),
            "/opportunities".to_owned(),
        ),
        Purpose::Edit(id, _) => (
            ctx.t("opportunities.edit"),
            format!("/opportunities/{id}/edit"),
            format!("/opportunities/{id}"),
        ),
    };
    let content = html! {
        form.opportunity-form method="post" action=(action) novalidate {
            (csrf_field(&ctx.csrf))
            div.form-actions.mb-3 {
                button.btn.btn-primary type="submit" { (ctx.t("common.save")) }
                a.btn.btn-link href=(cancel) { (ctx.t("common.cancel")) }
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("opportunities.section_basic")) }
                @match purpose {
                    Purpose::Create => {
                        (picker::field(ctx.locale, &ctx.t("opportunities.company"), &input.company,
                            errors.get("company"), (input.company.is_empty(), true)))
                    }
                    Purpose::Edit(_, company) => {
                        div.mb-3 {
                            span.form-label.d-block { (ctx.t("opportunities.company")) }
                            span #f-company-fixed { (company) }
                        }
                    }
                }
                (forms::input("name", &ctx.t("opportunities.name"), &input.name, errors.get("name"), Opts {
                    required: true,
                    autofocus: !input.company.is_empty() || matches!(purpose, Purpose::Edit(..)),
                    max_len: Some(NAME_MAX),
                    ..Opts::default()
                }))
                (amount_input(ctx, &input.amount, errors.get("amount")))
                div.mb-3 {
                    label.form-label for="f-description" { (ctx.t("opportunities.description")) }
                    textarea.form-control.is-invalid[errors.get("description").is_some()] #f-description
                        name="description" rows="4" maxlength=(DESCRIPTION_MAX) { (input.description) }
                    @if let Some(error) = errors.get("description") { div.invalid-feedback #f-description-error { (error) } }
                }
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("opportunities.section_pipeline")) }
                (forms::select("stage_id", &ctx.t("opportunities.stage"), &stage_options(ctx, choices, &input.stage_id), &input.stage_id, errors.get("stage_id")))
                (forms::select("category_id", &ctx.t("opportunities.category"), &category_options(ctx, choices), &input.category_id, errors.get("category_id")))
                (date_input("expected_close", &ctx.t("opportunities.expected_close"), &input.expected_close, errors.get("expected_close")))
                (forms::select("owner_id", &ctx.t("opportunities.owner"), &owner_options(choices, &input.owner_id), &input.owner_id, errors.get("owner_id")))
                (forms::select("visibility", &ctx.t("opportunities.visibility"), &visibility_options(ctx), &input.visibility, errors.get("visibility")))
            }
            @if !choices.fields.is_empty() {
                fieldset.form-section #custom-fields {
                    legend.h6 { (ctx.t("fields.section")) }
                    (cf::controls(ctx.locale, &choices.fields, custom, errors))
                }
            }
        }
    };
    layout::page(
        ctx,
        Module::Opportunities,
        match purpose {
            Purpose::Create => "/opportunities/new",
            Purpose::Edit(..) => "/opportunities",
        },
        &title,
        content,
    )
}

/// The amount input: text, so `1,234.56` and `¥1234` can be typed.
pub fn amount_input(ctx: &Ctx, value: &str, error: Option<&str>) -> Markup {
    html! {
        div.mb-3 {
            label.form-label for="f-amount" { (ctx.t("opportunities.amount")) }
            div.input-group.has-validation {
                span.input-group-text { "¥" }
                input.form-control.is-invalid[error.is_some()] #f-amount name="amount" type="text"
                    inputmode="decimal" value=(value) maxlength="30" placeholder="0.00"
                    aria-describedby=(if error.is_some() { "f-amount-help f-amount-error" } else { "f-amount-help" });
                @if let Some(error) = error { div.invalid-feedback #f-amount-error { (error) } }
            }
            div.form-text #f-amount-help { (ctx.t("opportunities.amount_help")) }
        }
    }
}

/// A labelled date input with its error.
pub fn date_input(name: &str, label: &str, value: &str, error: Option<&str>) -> Markup {
    let id = format!("f-{name}");
    let error_id = format!("{id}-error");
    html! {
        div.mb-3 {
            label.form-label for=(id) { (label) }
            input.form-control.is-invalid[error.is_some()] id=(id) name=(name) type="date" value=(value)
                aria-describedby=[error.map(|_| error_id.as_str())];
            @if let Some(error) = error { div.invalid-feedback id=(error_id) { (error) } }
        }
    }
}

/// The active stages (and the current one, if retired).
pub fn stage_options(ctx: &Ctx, choices: &Choices, current: &str) -> Vec<(String, String)> {
    choices
        .pipeline
        .stages
        .iter()
        .filter(|s| !s.retired || s.id.to_string() == current)
        .map(|s| {
            (
                s.id.to_string(),
                ctx.locale.tf(
                    "opportunities.stage_option",
                    &[
                        ("name", &s.name),
                        ("probability", &s.probability.to_string()),
                    ],
                ),
            )
        })
        .collect()
}

/// No category, then the tenant's.
pub fn category_options(ctx: &Ctx, choices: &Choices) -> Vec<(String, String)> {
    let mut options = vec![(String::new(), ctx.t("opportunities.no_category"))];
    options.extend(
        choices
            .categories
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone())),
    );
    options
}

/// Active users (and the current owner, even if disabled).
pub fn owner_options(choices: &Choices, current: &str) -> Vec<(String, String)> {
    choices
        .people
        .iter()
        .filter(|u| u.status != "disabled" || current == u.id.to_string())
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect()
}

/// Private, public.
pub fn visibility_options(ctx: &Ctx) -> Vec<(String, String)> {
    vec![
        ("private".to_owned(), ctx.t("visibility.private")),
        ("public".to_owned(), ctx.t("visibility.public")),
    ]
}

/// Checks a submitted form (everything but the company). An empty owner means
/// `default_owner`, an empty stage the pipeline's first; custom fields come with the
/// record's stored values.
pub fn validate(
    ctx: &Ctx,
    scope: &Scope,
    input: &OpportunityForm,
    (custom, previous): (&Inputs, &serde_json::Value),
    choices: &Choices,
    (default_owner, current_stage): (UserId, Option<StageId>),
    errors: &mut Errors,
) -> OpportunityFields {
    let locale = ctx.locale;
    let name = forms::check_text(errors, locale, "name", &input.name, NAME_MAX);
    let description = input.description.trim().to_owned();
    if description.chars().count() > DESCRIPTION_MAX {
        errors.add(locale, "description", "form.too_long");
    }
    let amount = money::parse(&input.amount).unwrap_or_else(|e| {
        errors.add(locale, "amount", e.key());
        0
    });
    let category_id = forms::check_category(
        errors,
        locale,
        &input.category_id,
        &choices.categories,
        OpportunityCategoryId,
    );
    let first = choices.pipeline.first().map(|s| s.id);
    let stage_id = match input.stage_id.trim() {
        "" => current_stage.or(first),
        raw => match raw.parse().map(StageId) {
            // A retired stage stays allowed only where the record already is.
            Ok(id)
                if choices
                    .pipeline
                    .get(id)
                    .is_some_and(|s| !s.retired || Some(id) == current_stage) =>
            {
                Some(id)
            }
            _ => {
                errors.add(locale, "stage_id", "form.invalid_choice");
                current_stage.or(first)
            }
        },
    };
    let stage_id = stage_id.unwrap_or_else(|| {
        errors.add(locale, "stage_id", "opportunities.no_stages");
        StageId(0)
    });
    let expected_close = match input.expected_close.trim() {
        "" => None,
        raw => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(locale, "expected_close", "fields.invalid_date");
                None
            }
        },
    };
    let owner_id = forms::check_owner(
        errors,
        locale,
        &input.owner_id,
        (&choices.people, scope),
        default_owner,
    );
    let visibility = forms::check_visibility(errors, locale, &input.visibility);
    OpportunityFields {
        name,
        description,
        amount,
        category_id,
        stage_id,
        expected_close,
        owner_id,
        visibility: visibility.to_owned(),
        custom: serde_json::Value::Object(cf::validate(
            locale,
            &choices.fields,
            custom,
            previous,
            errors,
        )),
    }
}

/// What an edit changed besides the stage (which has its own history row), with names
/// instead of ids, amounts formatted and custom fields by label.
pub fn changes(ctx: &Ctx, choices: &Choices, old: &Opportunity, new: &OpportunityFields) -> Diff {
    let date = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let amount = |a: i64| money::format(ctx.locale, a, &old.currency);
    let mut diff = Diff::default();
    diff.field("opportunities.name", &old.name, &new.name)
        .field(
            "opportunities.description",
            &old.description,
            &new.description,
        )
        .field(
            "opportunities.amount",
            &amount(old.amount),
            &amount(new.amount),
        )
        .field(
            "opportunities.category",
            choices.category(old.category_id),
            choices.category(new.category_id),
        )
        .field(
            "opportunities.expected_close",
            &date(old.expected_close),
            &date(new.expected_close),
        )
        .field(
            "opportunities.owner",
            choices.person(old.owner_id),
            choices.person(new.owner_id),
        )
        .field("opportunities.visibility", &old.visibility, &new.visibility);
    for f in &choices.fields {
        diff.custom(
            &f.label,
            &cf::text_of(f, &old.custom),
            &cf::text_of(f, &new.custom),
        );
    }
    diff
}
