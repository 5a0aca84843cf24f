//! GET and POST /opportunities/new — 增加销售机会. The company is typed by name (the shared
//! company field); `?company=<id>` (the button on a company's page) fills it in. Any
//! company the user can see will do: an opportunity has its own owner and visibility.

use maud::Markup;
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    custom_fields::Inputs,
    customers::{
        model as companies, picker,
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::AppResult,
    history::{self, Action},
    ids::CompanyId,
    money::DEFAULT_CURRENCY,
    opportunities::{
        form::{self, Choices, OpportunityForm, Purpose},
        model::{self, EventKind, NewOpportunity},
    },
    state::State,
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
    },
};

/// Query of the new-opportunity page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewParams {
    company: Option<i64>,
}

/// GET /opportunities/new
#[handler]
pub async fn new_form(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<NewParams>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let choices = Choices::load(&mut tx, ctx.locale).await?;
    let mut input = OpportunityForm {
        owner_id: ctx.user.to_string(),
        visibility: "private".into(),
        stage_id: choices
            .pipeline
            .first()
            .map(|s| s.id.to_string())
            .unwrap_or_default(),
        ..OpportunityForm::default()
    };
    if let Some(id) = params.company {
        let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
        if let Ok(company) = companies::find(&mut tx, &scope, CompanyId(id)).await {
            input.company = company.name;
        }
    }
    tx.commit().await?;
    Ok(form::page(
        &ctx,
        &Purpose::Create,
        &input,
        &Inputs::default(),
        &Errors::new(),
        &choices,
    ))
}

/// POST /opportunities/new
#[handler]
pub async fn create(ctx: Ctx, state: Data<&State>, body: RawForm) -> AppResult<Response> {
    let input: OpportunityForm = body.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let choices = Choices::load(&mut tx, ctx.locale).await?;
    let custom = Inputs::from_submitted(&choices.fields, body.pairs());
    let mut errors = Errors::new();
    let company = picker::resolve(&mut tx, &scope, ctx.locale, &input.company, &mut errors).await?;
    let fields = form::validate(
        &ctx,
        &scope,
        &input,
        (&custom, &serde_json::Value::Null),
        &choices,
        (ctx.user, None),
        &mut errors,
    );
    let Some(company) = company.filter(|_| errors.is_empty()) else {
        tx.rollback().await?;
        return Ok(
            form::page(&ctx, &Purpose::Create, &input, &custom, &errors, &choices)
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response(),
        );
    };
    let stage = fields.stage_id;
    let name = fields.name.clone();
    let tenant_id = tx.tenant();
    let id = model::create(
        &mut tx,
        &NewOpportunity {
            tenant_id,
            company_id: company.id,
            currency: DEFAULT_CURRENCY.to_owned(),
            created_by: ctx.user,
            fields,
        },
    )
    .await?;
    model::record(&mut tx, id, Some(ctx.user), EventKind::Created(stage)).await?;
    history::record(
        &mut tx,
        company.id,
        Some(ctx.user),
        Action::OpportunityAdded,
        &name,
        vec![],
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/opportunities/{id}")).into_response())
}
