//! GET and POST /customers/:id/notes/:note_id/delete (and the same under
//! /opportunities/:id) — asks, then deletes a note with its files. Its author and whoever
//! manages the record may; others get 403.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Path, Redirect},
};

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::{AppError, AppResult},
    ids::NoteId,
    notes::{
        Host, HostKind, may_delete,
        model::{self, Note},
        views::attachment_link,
    },
    state::State,
    web::{ctx::Ctx, layout},
};

/// The note, if the user may see its record (else 404) and delete it (else 403).
async fn deletable(
    tx: &mut TenantTx,
    ctx: &Ctx,
    kind: HostKind,
    id: i64,
    note: NoteId,
) -> AppResult<(Host, Note)> {
    let scope = Scope::resolve(tx, ctx, View::All).await?;
    let host = Host::find(tx, &scope, kind, id).await?;
    let note = model::find(tx, &host, note).await?;
    if !may_delete(ctx.user, scope.can_manage(host.owner), &note) {
        return Err(AppError::Forbidden);
    }
    Ok((host, note))
}

/// GET /customers/:id/notes/:note_id/delete
#[handler]
pub async fn confirm(
    ctx: Ctx,
    state: Data<&State>,
    Path((id, note_id)): Path<(i64, i64)>,
) -> AppResult<Markup> {
    ask(ctx, &state, HostKind::Company, id, NoteId(note_id)).await
}

/// GET /opportunities/:id/notes/:note_id/delete
#[handler]
pub async fn confirm_on_opportunity(
    ctx: Ctx,
    state: Data<&State>,
    Path((id, note_id)): Path<(i64, i64)>,
) -> AppResult<Markup> {
    ask(ctx, &state, HostKind::Opportunity, id, NoteId(note_id)).await
}

async fn ask(ctx: Ctx, state: &State, kind: HostKind, id: i64, note: NoteId) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (host, note) = deletable(&mut tx, &ctx, kind, id, note).await?;
    tx.commit().await?;
    let base = host.path();
    let content = html! {
        div.alert.alert-danger role="alert" {
            p.mb-2 { strong { (ctx.locale.tf("notes.delete_confirm", &[("name", &host.name)])) } }
            p.mb-0 { (ctx.t("notes.delete_warning")) }
        }
        figure.border.rounded.p-3.mb-3 {
            figcaption.small.text-secondary.mb-1 {
                (note.author_name) " · " (ctx.datetime(note.created_at))
            }
            @if !note.body.is_empty() { div.note-body { (note.body) } }
            @if !note.attachments.is_empty() {
                ul.list-unstyled.mb-0.mt-1 {
                    @for file in &note.attachments { li { (attachment_link(&base, file)) } }
                }
            }
        }
        (layout::confirm_delete_form(
            &ctx,
            &format!("{base}/notes/{}/delete", note.id),
            &ctx.t("notes.delete_submit"),
            &format!("{base}#note-{}", note.id),
        ))
    };
    Ok(layout::page(
        &ctx,
        host.module(),
        host.tab(),
        &ctx.t("notes.delete_title"),
        content,
    ))
}

/// POST /customers/:id/notes/:note_id/delete
#[handler]
pub async fn delete(
    ctx: Ctx,
    state: Data<&State>,
    Path((id, note_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    remove(ctx, &state, HostKind::Company, id, NoteId(note_id)).await
}

/// POST /opportunities/:id/notes/:note_id/delete
#[handler]
pub async fn delete_on_opportunity(
    ctx: Ctx,
    state: Data<&State>,
    Path((id, note_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    remove(ctx, &state, HostKind::Opportunity, id, NoteId(note_id)).await
}

async fn remove(
    ctx: Ctx,
    state: &State,
    kind: HostKind,
    id: i64,
    note: NoteId,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (host, note) = deletable(&mut tx, &ctx, kind, id, note).await?;
    let files = model::delete(&mut tx, &host, note.id).await?;
    let subject = note
        .body
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    crate::history::record(
        &mut tx,
        host.company,
        Some(ctx.user),
        crate::history::Action::NoteDeleted,
        &subject,
        vec![],
    )
    .await?;
    tx.commit().await?;
    files.remove(&state.files).await;
    Ok(Redirect::see_other(format!("{}#{}", host.path(), host.section_id())).into_response())
}
