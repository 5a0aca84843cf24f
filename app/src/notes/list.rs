//! GET /customers/:id/notes — the notes of one company on a page of their own: older
//! pages of the timeline, and where the add-note form comes back with its errors.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Path, Query},
};
use serde::Deserialize;

use crate::{
    auth::ctx::Ctx,
    customers::{
        model::{self as companies, Company},
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, NoteId},
    notes::{Draft, Timeline, views},
    state::State,
    web::layout::{self, Module},
};

/// Query of the notes page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    /// Keyset cursor: only notes older than this one.
    before: Option<i64>,
}

/// GET /customers/:id/notes
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
    Query(params): Query<Params>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let company = companies::find(&mut tx, &scope, CompanyId(id)).await?;
    let timeline =
        Timeline::load(&mut tx, &ctx, &scope, &company, params.before.map(NoteId)).await?;
    tx.commit().await?;
    Ok(page(&ctx, &company, &timeline, &Draft::default()))
}

/// The notes section of `company` in the layout, with a way back to the company.
pub fn page(ctx: &Ctx, company: &Company, timeline: &Timeline, draft: &Draft) -> Markup {
    let content = html! {
        p { a href={"/customers/" (company.id)} { "← " (company.name) } }
        (views::section(ctx, company.id, timeline, draft))
    };
    layout::page(
        ctx,
        Module::Customers,
        "/customers",
        &ctx.locale
            .tf("notes.page_title", &[("name", &company.name)]),
        content,
    )
}
