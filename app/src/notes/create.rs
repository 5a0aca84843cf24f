//! POST /customers/:id/notes and /opportunities/:id/notes — adds a note with 0..5 files
//! to a company or an opportunity the user can see.
//!
//! The upload is read before any transaction starts (a slow client must not hold a
//! database connection), then the files are stored, then the rows are written; if the
//! rows cannot be written the stored files are removed again. A refused form comes back
//! (422) with the typed text and the reason; the files must be chosen again, since
//! browsers do not let a page pre-fill a file input.

use poem::{
    Body, IntoResponse, Request, Response, handler,
    http::StatusCode,
    web::{Data, Path, Redirect},
};

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::AppResult,
    files::{DeletedFiles, FileKey},
    notes::{
        Draft, Host, HostKind, Timeline, list,
        model::{self, FILE_AREA, NewAttachment},
        upload::{self, MAX_BODY_CHARS, MAX_FILE_BYTES, MAX_FILES, MAX_REQUEST_BYTES, Problem},
        views::human_size,
    },
    state::State,
    web::ctx::Ctx,
};

/// POST /customers/:id/notes
#[handler]
pub async fn create(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
    req: &Request,
    body: Body,
) -> AppResult<Response> {
    add(ctx, &state, HostKind::Company, id, req, body).await
}

/// POST /opportunities/:id/notes
#[handler]
pub async fn create_on_opportunity(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
    req: &Request,
    body: Body,
) -> AppResult<Response> {
    add(ctx, &state, HostKind::Opportunity, id, req, body).await
}

async fn add(
    ctx: Ctx,
    state: &State,
    kind: HostKind,
    id: i64,
    req: &Request,
    body: Body,
) -> AppResult<Response> {
    // 404 before reading a byte of the upload when the record is not visible.
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    Host::find(&mut tx, &scope, kind, id).await?;
    tx.commit().await?;

    let upload = upload::read(req, body).await?;
    let text = upload.body.trim().to_owned();
    let errors = check(&ctx, &text, &upload);
    if !errors.is_empty() {
        let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
        let host = Host::find(&mut tx, &scope, kind, id).await?;
        let timeline = Timeline::load(&mut tx, &ctx, &scope, &host, None).await?;
        tx.commit().await?;
        let draft = Draft {
            body: upload.body,
            errors,
        };
        return Ok(list::page(&ctx, &host, &timeline, &draft)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }

    let mut stored = Vec::with_capacity(upload.files.len());
    for file in upload.files {
        let key = FileKey::generate(ctx.tenant, FILE_AREA);
        let size_bytes = file.bytes.len() as i64;
        if let Err(err) = state.files.put(&key, file.bytes).await {
            DeletedFiles::new(
                stored
                    .iter()
                    .map(|f: &NewAttachment| f.key.clone())
                    .collect(),
            )
            .remove(&state.files)
            .await;
            return Err(err.into());
        }
        stored.push(NewAttachment {
            file_name: file.file_name,
            content_type: file.content_type,
            size_bytes,
            key,
        });
    }
    let saved = async {
        let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
        // Still visible? (It may have been deleted or made private meanwhile.)
        let host = Host::find(&mut tx, &scope, kind, id).await?;
        let note = model::create(&mut tx, &host, &text, ctx.user, &stored).await?;
        let subject = match text.lines().find(|l| !l.trim().is_empty()) {
            Some(line) => line.trim().to_owned(),
            None => stored
                .first()
                .map(|f| f.file_name.clone())
                .unwrap_or_default(),
        };
        crate::history::record(
            &mut tx,
            host.company,
            Some(ctx.user),
            crate::history::Action::NoteAdded,
            &subject,
            vec![],
        )
        .await?;
        if let Some(opportunity) = host.opportunity {
            crate::opportunities::model::touch(&mut tx, opportunity).await?;
        }
        tx.commit().await?;
        AppResult::Ok((host, note))
    }
    .await;
    match saved {
        Ok((host, note)) => {
            Ok(Redirect::see_other(format!("{}#note-{note}", host.path())).into_response())
        }
        Err(err) => {
            DeletedFiles::new(stored.into_iter().map(|f| f.key).collect())
                .remove(&state.files)
                .await;
            Err(err)
        }
    }
}

/// The form's errors: text or a file is required, the text has a length limit, and the
/// upload's problems, each with the limit it broke.
fn check(ctx: &Ctx, text: &str, upload: &upload::Upload) -> crate::web::forms::Errors {
    let locale = ctx.locale;
    let mut errors = crate::web::forms::Errors::new();
    let size = human_size(MAX_FILE_BYTES as i64);
    let mut file_problems: Vec<String> = Vec::new();
    for problem in &upload.problems {
        file_problems.push(match problem {
            Problem::FileTooLarge(name) => locale.tf(
                "notes.file_too_large",
                &[("name", name.as_str()), ("size", size.as_str())],
            ),
            Problem::TooManyFiles => {
                locale.tf("notes.too_many_files", &[("files", &MAX_FILES.to_string())])
            }
            Problem::RequestTooLarge => locale.tf(
                "notes.request_too_large",
                &[("size", &human_size(MAX_REQUEST_BYTES as i64))],
            ),
        });
    }
    if !file_problems.is_empty() {
        errors.set("note-files", file_problems.join(" "));
    }
    if upload.body_cut || text.chars().count() > MAX_BODY_CHARS {
        errors.set(
            "note-body",
            locale.tf("notes.too_long", &[("max", &MAX_BODY_CHARS.to_string())]),
        );
    } else if text.is_empty() && upload.files.is_empty() && upload.problems.is_empty() {
        errors.add(locale, "note-body", "notes.empty_note");
    }
    errors
}
