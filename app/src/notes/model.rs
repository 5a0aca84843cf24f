//! Notes and their attachments: queries and writes. Callers have already found the
//! record through its visibility scope (a [`Host`]); every query here also filters on the
//! transaction's tenant and on that company (and opportunity) explicitly.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::{AppError, AppResult},
    files::{DeletedFiles, FileKey},
    ids::{AttachmentId, CompanyId, NoteId, OpportunityId, UserId},
    notes::Host,
    schema::{note_attachments, notes, opportunities, users},
};

/// The file-store area of note attachments (`t/<tenant>/notes/<uuid>`).
pub const FILE_AREA: &str = "notes";

/// A note as the timeline shows it.
#[derive(Clone, Debug)]
pub struct Note {
    /// Id.
    pub id: NoteId,
    /// The text; empty when the note is only its attachments.
    pub body: String,
    /// Who wrote it.
    pub author_id: UserId,
    /// The author's display name.
    pub author_name: String,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// The opportunity it was written on, with its name.
    pub opportunity: Option<(OpportunityId, String)>,
    /// Its files, oldest first.
    pub attachments: Vec<Attachment>,
}

/// A file attached to a note.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = note_attachments)]
pub struct Attachment {
    /// Id.
    pub id: AttachmentId,
    /// The note it belongs to.
    pub note_id: NoteId,
    /// Display name (sanitised).
    pub file_name: String,
    /// The media type the uploader's browser named (sanitised).
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Where the file is in the file store.
    pub storage_key: String,
}

/// A new attachment, already stored in the file store under `key`.
#[derive(Clone, Debug)]
pub struct NewAttachment {
    /// Display name (sanitised).
    pub file_name: String,
    /// Media type (sanitised).
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Where it is stored.
    pub key: FileKey,
}

/// A note row with its author's name and its opportunity's.
type NoteRow = (
    NoteId,
    String,
    UserId,
    String,
    DateTime<Utc>,
    Option<OpportunityId>,
    Option<String>,
);

/// One page of a record's notes, newest first, with authors and attachments; also
/// returns whether an older page exists. A company's page has its opportunities' notes.
pub async fn timeline(
    tx: &mut TenantTx,
    host: &Host,
    before: Option<NoteId>,
    limit: i64,
) -> AppResult<(Vec<Note>, bool)> {
    let tenant = tx.tenant();
    let mut query = notes::table
        .inner_join(
            users::table.on(users::tenant_id
                .eq(notes::tenant_id)
                .and(users::id.eq(notes::author_id))),
        )
        .left_join(
            opportunities::table.on(opportunities::tenant_id
                .eq(notes::tenant_id)
                .and(opportunities::id.nullable().eq(notes::opportunity_id))),
        )
        .filter(
            notes::tenant_id
                .eq(tenant)
                .and(notes::company_id.eq(host.company)),
        )
        .select((
            notes::id,
            notes::body,
            notes::author_id,
            users::name,
            notes::created_at,
            notes::opportunity_id,
            opportunities::name.nullable(),
        ))
        .order(notes::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(opportunity) = host.opportunity {
        query = query.filter(notes::opportunity_id.eq(opportunity));
    }
    if let Some(before) = before {
        query = query.filter(notes::id.lt(before));
    }
    let mut rows: Vec<NoteRow> = query.load(&mut **tx).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let ids: Vec<NoteId> = rows.iter().map(|r| r.0).collect();
    let files: Vec<Attachment> = note_attachments::table
        .filter(
            note_attachments::tenant_id
                .eq(tenant)
                .and(note_attachments::company_id.eq(host.company))
                .and(note_attachments::note_id.eq_any(ids)),
        )
        .select(Attachment::as_select())
        .order(note_attachments::id.asc())
        .load(&mut **tx)
        .await?;
    let notes = rows
        .into_iter()
        .map(|row| {
            let id = row.0;
            let attachments = files.iter().filter(|f| f.note_id == id).cloned().collect();
            note(row, attachments)
        })
        .collect();
    Ok((notes, more))
}

fn note(
    (id, body, author_id, author_name, created_at, opportunity, opportunity_name): NoteRow,
    attachments: Vec<Attachment>,
) -> Note {
    Note {
        id,
        body,
        author_id,
        author_name,
        created_at,
        opportunity: opportunity.map(|o| (o, opportunity_name.unwrap_or_default())),
        attachments,
    }
}

/// Adds a note with its (already stored) attachments. A record deleted meanwhile gives
/// `NotFound`.
pub async fn create(
    tx: &mut TenantTx,
    host: &Host,
    body: &str,
    author: UserId,
    files: &[NewAttachment],
) -> AppResult<NoteId> {
    let tenant = tx.tenant();
    let company = host.company;
    let id: NoteId = diesel::insert_into(notes::table)
        .values((
            notes::tenant_id.eq(tenant),
            notes::company_id.eq(company),
            notes::opportunity_id.eq(host.opportunity),
            notes::body.eq(body),
            notes::author_id.eq(author),
        ))
        .returning(notes::id)
        .get_result(&mut **tx)
        .await
        .map_err(record_gone)?;
    let rows: Vec<_> = files
        .iter()
        .map(|f| {
            (
                note_attachments::tenant_id.eq(tenant),
                note_attachments::note_id.eq(id),
                note_attachments::company_id.eq(company),
                note_attachments::file_name.eq(&f.file_name),
                note_attachments::content_type.eq(&f.content_type),
                note_attachments::size_bytes.eq(f.size_bytes),
                note_attachments::storage_key.eq(f.key.as_str()),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(note_attachments::table)
            .values(rows)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// A foreign-key violation while adding a note means its record was just deleted.
fn record_gone(err: diesel::result::Error) -> AppError {
    match err {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        ) => AppError::NotFound,
        other => other.into(),
    }
}

/// A note of the record, or `NotFound`.
pub async fn find(tx: &mut TenantTx, host: &Host, id: NoteId) -> AppResult<Note> {
    let tenant = tx.tenant();
    let mut query = notes::table
        .inner_join(
            users::table.on(users::tenant_id
                .eq(notes::tenant_id)
                .and(users::id.eq(notes::author_id))),
        )
        .left_join(
            opportunities::table.on(opportunities::tenant_id
                .eq(notes::tenant_id)
                .and(opportunities::id.nullable().eq(notes::opportunity_id))),
        )
        .filter(
            notes::tenant_id
                .eq(tenant)
                .and(notes::company_id.eq(host.company))
                .and(notes::id.eq(id)),
        )
        .select((
            notes::id,
            notes::body,
            notes::author_id,
            users::name,
            notes::created_at,
            notes::opportunity_id,
            opportunities::name.nullable(),
        ))
        .into_boxed();
    if let Some(opportunity) = host.opportunity {
        query = query.filter(notes::opportunity_id.eq(opportunity));
    }
    let row: NoteRow = query.first(&mut **tx).await?;
    let attachments = note_attachments::table
        .filter(
            note_attachments::tenant_id
                .eq(tenant)
                .and(note_attachments::note_id.eq(id)),
        )
        .select(Attachment::as_select())
        .order(note_attachments::id.asc())
        .load(&mut **tx)
        .await?;
    Ok(note(row, attachments))
}

/// Deletes a note (its attachment rows go with it) and returns its files, to be removed
/// from the file store once the transaction has committed. The caller found the note
/// through [`find`] with the same host.
pub async fn delete(tx: &mut TenantTx, host: &Host, id: NoteId) -> AppResult<DeletedFiles> {
    let tenant = tx.tenant();
    let company = host.company;
    let keys: Vec<String> = diesel::delete(note_attachments::table)
        .filter(
            note_attachments::tenant_id
                .eq(tenant)
                .and(note_attachments::company_id.eq(company))
                .and(note_attachments::note_id.eq(id)),
        )
        .returning(note_attachments::storage_key)
        .get_results(&mut **tx)
        .await?;
    diesel::delete(notes::table)
        .filter(
            notes::tenant_id
                .eq(tenant)
                .and(notes::company_id.eq(company))
                .and(notes::id.eq(id)),
        )
        .execute(&mut **tx)
        .await?;
    Ok(deleted_files(tx, keys))
}

/// An attachment of the record's notes, or `NotFound`.
pub async fn find_attachment(
    tx: &mut TenantTx,
    host: &Host,
    id: AttachmentId,
) -> AppResult<Attachment> {
    let tenant = tx.tenant();
    let mut query = note_attachments::table
        .filter(
            note_attachments::tenant_id
                .eq(tenant)
                .and(note_attachments::company_id.eq(host.company))
                .and(note_attachments::id.eq(id)),
        )
        .select(Attachment::as_select())
        .into_boxed();
    if let Some(opportunity) = host.opportunity {
        query = query.filter(
            note_attachments::note_id.eq_any(
                notes::table
                    .filter(
                        notes::tenant_id
                            .eq(tenant)
                            .and(notes::opportunity_id.eq(opportunity)),
                    )
                    .select(notes::id),
            ),
        );
    }
    Ok(query.first(&mut **tx).await?)
}

/// Every stored file of a company's notes (its opportunities' included, since their
/// attachments carry the company): what to remove from the file store after the
/// company's deletion commits. Call it after locking the company row, so no note can be
/// added to it in between.
pub async fn company_files(tx: &mut TenantTx, company: CompanyId) -> AppResult<DeletedFiles> {
    companies_files(tx, &[company]).await
}

/// Every stored file of the notes of several companies (see [`company_files`]).
pub async fn companies_files(
    tx: &mut TenantTx,
    companies: &[CompanyId],
) -> AppResult<DeletedFiles> {
    let tenant = tx.tenant();
    let keys: Vec<String> = note_attachments::table
        .filter(
            note_attachments::tenant_id
                .eq(tenant)
                .and(note_attachments::company_id.eq_any(companies)),
        )
        .select(note_attachments::storage_key)
        .load(&mut **tx)
        .await?;
    Ok(deleted_files(tx, keys))
}

/// Every stored file of an opportunity's notes: what to remove from the file store after
/// the opportunity's deletion commits. Call it after locking the opportunity row.
pub async fn opportunity_files(
    tx: &mut TenantTx,
    opportunity: OpportunityId,
) -> AppResult<DeletedFiles> {
    opportunities_files(tx, &[opportunity]).await
}

/// Every stored file of the notes of several opportunities (see [`opportunity_files`]).
pub async fn opportunities_files(
    tx: &mut TenantTx,
    opportunities: &[OpportunityId],
) -> AppResult<DeletedFiles> {
    let tenant = tx.tenant();
    let keys: Vec<String> = note_attachments::table
        .inner_join(
            notes::table.on(notes::tenant_id
                .eq(note_attachments::tenant_id)
                .and(notes::id.eq(note_attachments::note_id))),
        )
        .filter(
            note_attachments::tenant_id
                .eq(tenant)
                .and(notes::opportunity_id.eq_any(opportunities)),
        )
        .select(note_attachments::storage_key)
        .load(&mut **tx)
        .await?;
    Ok(deleted_files(tx, keys))
}

/// Checks stored keys before anything deletes them: a key that is not this tenant's note
/// key is logged and skipped, never deleted.
fn deleted_files(tx: &TenantTx, keys: Vec<String>) -> DeletedFiles {
    let tenant = tx.tenant();
    DeletedFiles::new(
        keys.iter()
            .filter_map(|raw| match FileKey::parse(tenant, FILE_AREA, raw) {
                Ok(key) => Some(key),
                Err(err) => {
                    tracing::error!(error = %err, "skipping a malformed storage key");
                    None
                }
            })
            .collect(),
    )
}

/// How many notes a record has, and how many files they carry.
pub async fn count(tx: &mut TenantTx, host: &Host) -> AppResult<(i64, i64)> {
    let tenant = tx.tenant();
    let mut notes_query = notes::table
        .filter(
            notes::tenant_id
                .eq(tenant)
                .and(notes::company_id.eq(host.company)),
        )
        .select(notes::id)
        .into_boxed();
    if let Some(opportunity) = host.opportunity {
        notes_query = notes_query.filter(notes::opportunity_id.eq(opportunity));
    }
    let ids: Vec<NoteId> = notes_query.load(&mut **tx).await?;
    let files: i64 = note_attachments::table
        .filter(
            note_attachments::tenant_id
                .eq(tenant)
                .and(note_attachments::note_id.eq_any(&ids)),
        )
        .count()
        .get_result(&mut **tx)
        .await?;
    Ok((ids.len() as i64, files))
}
