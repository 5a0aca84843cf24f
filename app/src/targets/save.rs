//! POST /targets/:id — saves one person's (`:id` is the user's) twelve monthly targets of a year. Only the months
//! whose amount changed are written, each marked as set by the person themselves or
//! assigned by the viewer; an emptied month loses its target. A refused form comes back
//! (422) with what was typed and each month's error.

use poem::{
    IntoResponse, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::{AppError, AppResult},
    ids::UserId,
    money,
    state::State,
    targets::{
        People, Who, YEARS,
        index::{Choice, Draft, Page, check_may_set, locked},
        model::{self, Change},
        views,
    },
    web::{
        ctx::Ctx,
        forms::{Errors, RawForm},
    },
};

/// The fixed field of the form (the months are `m1`..`m12`).
#[derive(Debug, Deserialize)]
struct Fixed {
    /// Which year.
    year: i32,
}

/// POST /targets/:id
#[handler]
pub async fn save(
    ctx: Ctx,
    state: Data<&State>,
    Path(person): Path<UserId>,
    req: &Request,
    form: RawForm,
) -> AppResult<Response> {
    let fixed: Fixed = form.parse()?;
    if !YEARS.contains(&fixed.year) {
        return Err(AppError::BadRequest);
    }
    let values: Vec<String> = (1..=12)
        .map(|m| {
            let name = format!("m{m}");
            form.pairs()
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();

    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let people = People::load(&mut tx, &scope, ctx.user).await?;
    check_may_set(&people, person)?;
    let stored = model::targets(&mut tx, &[person], (fixed.year, fixed.year), None).await?;

    let mut errors = Errors::new();
    let mut changes = Vec::new();
    for (i, typed) in values.iter().enumerate() {
        let month = i as u32 + 1;
        let field = format!("m{month}");
        let amount = match (!typed.trim().is_empty())
            .then(|| money::parse(typed))
            .transpose()
        {
            Ok(amount) => amount,
            Err(e) => {
                errors.add(ctx.locale, field, e.key());
                continue;
            }
        };
        let current = stored.iter().find(|t| t.month == month as i32);
        if current.map(|t| t.amount) == amount {
            continue;
        }
        if let Some(t) = current.filter(|t| locked(&ctx, t)) {
            let by = t.assigned_by.map(|by| people.name(by)).unwrap_or_default();
            errors.set(field, ctx.locale.tf("targets.locked", &[("name", by)]));
            continue;
        }
        changes.push(Change { month, amount });
    }

    if !errors.is_empty() {
        let choice = Choice {
            who: Who::Person(person),
            year: Some(fixed.year),
            month: None,
        };
        let page = Page::load(
            &mut tx,
            &ctx,
            people,
            choice,
            Some(Draft { values, errors }),
        )
        .await?;
        tx.rollback().await?;
        return Ok(views::respond(&ctx, req, &page)
            .into_response()
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let assigned_by = (person != ctx.user).then_some(ctx.user);
    model::save(&mut tx, person, fixed.year, &changes, assigned_by).await?;
    tx.commit().await?;
    Ok(
        Redirect::see_other(format!("/targets?who={person}&year={}&saved=1", fixed.year))
            .into_response(),
    )
}
