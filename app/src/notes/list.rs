//! GET /customers/:id/notes and /opportunities/:id/notes — the notes of one record on a
//! page of their own: older pages of the timeline, and where the add-note form comes
//! back with its errors.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Path, Query},
};
use serde::Deserialize;

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::AppResult,
    ids::NoteId,
    notes::{Draft, Host, HostKind, Timeline, views},
    state::State,
    web::{ctx::Ctx, layout},
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
    show(ctx, &state, HostKind::Company, id, params).await
}

/// GET /opportunities/:id/notes
#[handler]
pub async fn index_of_opportunity(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
    Query(params): Query<Params>,
) -> AppResult<Markup> {
    show(ctx, &state, HostKind::Opportunity, id, params).await
}

async fn show(
    ctx: Ctx,
    state: &State,
    kind: HostKind,
    id: i64,
    params: Params,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let host = Host::find(&mut tx, &scope, kind, id).await?;
    let timeline = Timeline::load(&mut tx, &ctx, &scope, &host, params.before.map(NoteId)).await?;
    tx.commit().await?;
    Ok(page(&ctx, &host, &timeline, &Draft::default()))
}

/// The notes section of `host` in the layout, with a way back to the record.
pub fn page(ctx: &Ctx, host: &Host, timeline: &Timeline, draft: &Draft) -> Markup {
    let content = html! {
        p { a href=(host.path()) { "← " (host.name) } }
        (views::section(ctx, host, timeline, draft))
    };
    layout::page(
        ctx,
        host.module(),
        host.tab(),
        &ctx.locale.tf("notes.page_title", &[("name", &host.name)]),
        content,
    )
}
