//! GET and POST /customers/:id/notes/:note_id/delete — asks, then deletes a note with its
//! files. Its author and whoever manages the company may; others get 403.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Path, Redirect},
};

use crate::{
    auth::ctx::Ctx,
    customers::{
        model::{self as companies, Company},
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::{AppError, AppResult},
    ids::{CompanyId, NoteId},
    notes::{
        may_delete,
        model::{self, Note},
        views::attachment_link,
    },
    state::State,
    web::layout::{self, Module},
};

/// The note, if the user may see its company (else 404) and delete it (else 403).
async fn deletable(
    tx: &mut TenantTx,
    ctx: &Ctx,
    company: CompanyId,
    note: NoteId,
) -> AppResult<(Company, Note)> {
    let scope = Scope::resolve(tx, ctx, View::All).await?;
    let company = companies::find(tx, &scope, company).await?;
    let note = model::find(tx, company.id, note).await?;
    if !may_delete(ctx.user, scope.can_manage(company.owner_id), &note) {
        return Err(AppError::Forbidden);
    }
    Ok((company, note))
}

/// GET /customers/:id/notes/:note_id/delete
#[handler]
pub async fn confirm(
    ctx: Ctx,
    state: Data<&State>,
    Path((id, note_id)): Path<(i64, i64)>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (company, note) = deletable(&mut tx, &ctx, CompanyId(id), NoteId(note_id)).await?;
    tx.commit().await?;
    let content = html! {
        div.alert.alert-danger role="alert" {
            p.mb-2 { strong { (ctx.locale.tf("notes.delete_confirm", &[("name", &company.name)])) } }
            p.mb-0 { (ctx.t("notes.delete_warning")) }
        }
        figure.border.rounded.p-3.mb-3 {
            figcaption.small.text-secondary.mb-1 {
                (note.author_name) " · " (ctx.datetime(note.created_at))
            }
            @if !note.body.is_empty() { div.note-body { (note.body) } }
            @if !note.attachments.is_empty() {
                ul.list-unstyled.mb-0.mt-1 {
                    @for file in &note.attachments { li { (attachment_link(company.id, file)) } }
                }
            }
        }
        (layout::confirm_delete_form(
            &ctx,
            &format!("/customers/{}/notes/{}/delete", company.id, note.id),
            &ctx.t("notes.delete_submit"),
            &format!("/customers/{}#note-{}", company.id, note.id),
        ))
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/customers",
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
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (company, note) = deletable(&mut tx, &ctx, CompanyId(id), NoteId(note_id)).await?;
    let files = model::delete(&mut tx, company.id, note.id).await?;
    let subject = note
        .body
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    crate::history::record(
        &mut tx,
        company.id,
        Some(ctx.user),
        crate::history::Action::NoteDeleted,
        &subject,
        vec![],
    )
    .await?;
    tx.commit().await?;
    files.remove(&state.files).await;
    Ok(Redirect::see_other(format!("/customers/{}#company-notes", company.id)).into_response())
}
