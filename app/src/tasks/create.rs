//! GET and POST /tasks/new — 创立任务. `?company=<id>` or `?opportunity=<id>` (the
//! buttons on their detail pages) link the task automatically ("在客户信息或者销售时机
//! 详细信息页面下创立的任务, 将自动会和当前客户或销售时机相关联"); a standalone task may
//! name a company. The link must be visible to the user.

use maud::Markup;
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    customers::{model as companies, picker},
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, OpportunityId},
    opportunities::model as opportunities,
    state::State,
    tasks::{
        form::{self, Choices, Purpose, TaskForm},
        model::{self, Link},
    },
    visibility::{Scope, View},
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
    },
};

/// Query of the new-task page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewParams {
    company: Option<i64>,
    opportunity: Option<i64>,
    /// `memo` opens the form as a 备忘录.
    kind: Option<String>,
    /// A day (`YYYY-MM-DD`) the calendar was clicked on.
    date: Option<String>,
}

/// The visible link a form names, with its name; `None` for no (or no visible) link.
async fn linked(
    tx: &mut TenantTx,
    scope: &Scope,
    company: Option<i64>,
    opportunity: Option<i64>,
) -> AppResult<Option<(Link, String)>> {
    if let Some(id) = opportunity {
        return Ok(opportunities::find(tx, scope, OpportunityId(id))
            .await
            .ok()
            .map(|o| {
                (
                    Link {
                        company: Some(o.company_id),
                        opportunity: Some(o.id),
                    },
                    o.name,
                )
            }));
    }
    if let Some(id) = company {
        return Ok(companies::find(tx, scope, CompanyId(id))
            .await
            .ok()
            .map(|c| {
                (
                    Link {
                        company: Some(c.id),
                        opportunity: None,
                    },
                    c.name,
                )
            }));
    }
    Ok(None)
}

/// GET /tasks/new
#[handler]
pub async fn new_form(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<NewParams>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let choices = Choices::load(&mut tx).await?;
    let remind = form::default_reminders(&mut tx, ctx.user).await?;
    let mut input = TaskForm::fresh(&ctx, remind);
    if params.kind.as_deref() == Some("memo") {
        input.kind = "memo".into();
    }
    if let Some(day) = params
        .date
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        input.starts_at = format!("{}T09:00", day.format("%Y-%m-%d"));
        input.due_at = format!("{}T10:00", day.format("%Y-%m-%d"));
    }
    let link = linked(&mut tx, &scope, params.company, params.opportunity).await?;
    if let Some((l, _)) = &link {
        input.company_id = l.company.map(|c| c.to_string()).unwrap_or_default();
        input.opportunity_id = l.opportunity.map(|o| o.to_string()).unwrap_or_default();
        input.back = back_of(*l);
    }
    tx.commit().await?;
    Ok(form::page(
        &ctx,
        &scope,
        &Purpose::Create(link.as_ref().map(|(_, n)| n.as_str())),
        &input,
        &Errors::new(),
        &choices,
    ))
}

/// POST /tasks/new
#[handler]
pub async fn create(ctx: Ctx, state: Data<&State>, body: RawForm) -> AppResult<Response> {
    let input: TaskForm = body.parse::<TaskForm>()?.with_reminders(body.pairs());
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let choices = Choices::load(&mut tx).await?;
    let mut errors = Errors::new();
    let fixed = linked(
        &mut tx,
        &scope,
        input.company_id.trim().parse().ok(),
        input.opportunity_id.trim().parse().ok(),
    )
    .await?;
    // A posted link the user cannot see (another tenant's id, or a tampered form) is a 404,
    // not a task saved without it.
    let posted_link =
        !input.company_id.trim().is_empty() || !input.opportunity_id.trim().is_empty();
    if posted_link && fixed.is_none() {
        return Err(crate::error::AppError::NotFound);
    }
    let link = match &fixed {
        Some((link, _)) => *link,
        None if input.company.trim().is_empty() => Link::default(),
        None => picker::resolve(&mut tx, &scope, ctx.locale, &input.company, &mut errors)
            .await?
            .map(|c| Link {
                company: Some(c.id),
                opportunity: None,
            })
            .unwrap_or_default(),
    };
    let fields = form::validate(&ctx, &scope, &input, &choices, ctx.user, &mut errors);
    let repeat = form::validate_repeat(&ctx, &input, &mut errors);
    let occurrences = match &repeat {
        Some(repeat) if errors.is_empty() => {
            match repeat.occurrences(ctx.time_zone, fields.starts_at) {
                Ok(found) => Some(found),
                Err(key) => {
                    errors.add(ctx.locale, "repeat", key);
                    None
                }
            }
        }
        _ => None,
    };
    if !errors.is_empty() {
        tx.rollback().await?;
        let purpose = Purpose::Create(fixed.as_ref().map(|(_, n)| n.as_str()));
        return Ok(
            form::page(&ctx, &scope, &purpose, &input, &errors, &choices)
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response(),
        );
    }
    let (id, created) = match &occurrences {
        Some((rule, starts)) => {
            let (_, ids) =
                model::create_series(&mut tx, &fields, link, ctx.user, (rule, starts)).await?;
            let count = ids.len().to_string();
            (
                ids[0],
                ctx.locale.tf("tasks.created_series", &[("count", &count)]),
            )
        }
        None => (
            model::create(&mut tx, &fields, link, ctx.user).await?,
            ctx.t("tasks.created"),
        ),
    };
    tx.commit().await?;
    crate::web::flash::success(&ctx, created);
    // Back to the page it was created from (decided by the link, never by the form).
    let back = match fixed {
        Some((link, _)) => back_of(link),
        None => format!("/tasks/{id}"),
    };
    Ok(Redirect::see_other(back).into_response())
}

/// The detail page a linked task was created from.
fn back_of(link: Link) -> String {
    match link {
        Link {
            opportunity: Some(o),
            ..
        } => format!("/opportunities/{o}"),
        Link {
            company: Some(c), ..
        } => format!("/customers/{c}"),
        _ => "/tasks".to_owned(),
    }
}
