//! 导入客户 / 导入联系人: spreadsheets and CSV files into companies or contacts.
//!
//! The flow (DESIGN.md §4): upload ([`routes`]) → the file is stored and its header row
//! and first rows are read ([`read`], [`sniff`]) → mapping screen with suggestions →
//! preview with validation errors and duplicate counts → the `imports` row is queued →
//! the worker ([`run`]) streams the file in chunks, each chunk one transaction: `COPY`
//! into a temporary staging table, a set-based merge, the chunk's errors, undo
//! snapshots, its done-mark and the counters. Progress, cancel, undo, summary and the
//! error report are read from the row.

pub mod fields;
pub mod history;
mod merge;
pub mod read;
pub mod report;
pub mod routes;
pub mod run;
pub mod sniff;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{ImportId, UserId},
    schema::imports,
};

/// Rows merged per chunk (one transaction each).
pub const CHUNK_ROWS: usize = 5_000;

/// An import as pages and the worker see it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = imports)]
pub struct Import {
    /// Id.
    pub id: ImportId,
    /// Who started it.
    pub requested_by: UserId,
    /// `company` or `contact`.
    pub entity: String,
    /// `xlsx`, `xls`, `ods` or `csv`.
    pub format: String,
    /// The uploaded file in the file store.
    pub file_key: String,
    /// The uploaded file's name.
    pub file_name: String,
    /// Its size.
    pub size_bytes: i64,
    /// The header row.
    pub headers: serde_json::Value,
    /// The first rows: `[[row_no, [cells…]], …]`.
    pub sample: serde_json::Value,
    /// One field key per column (`""`: not imported).
    pub mapping: serde_json::Value,
    /// Visibility of created companies.
    pub visibility: String,
    /// Owner of created companies.
    pub owner_id: Option<UserId>,
    /// `skip`, `update` or `create`.
    pub on_duplicate: String,
    /// Language of error reasons.
    pub locale: String,
    /// See the migration.
    pub status: String,
    /// The user asked to stop.
    pub cancel_requested: bool,
    /// Estimated data rows.
    pub rows_total: Option<i64>,
    /// Rows read and handled.
    pub rows_done: i64,
    /// Records created.
    pub created_count: i64,
    /// Records updated.
    pub updated_count: i64,
    /// Rows that matched an existing record or an earlier row.
    pub duplicate_count: i64,
    /// Rows refused.
    pub error_count: i64,
    /// Attempts so far.
    pub attempts: i32,
    /// Attempts before it fails for good.
    pub max_attempts: i32,
    /// Why the last attempt failed (or why the file cannot be read).
    pub last_error: Option<String>,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// First run started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished, failed, cancelled or undone.
    pub finished_at: Option<DateTime<Utc>>,
    /// Who asked for the undo.
    pub undone_by: Option<UserId>,
}

impl Import {
    /// The header row as strings.
    pub fn header_row(&self) -> Vec<String> {
        serde_json::from_value(self.headers.clone()).unwrap_or_default()
    }

    /// The mapping as field keys, one per column.
    pub fn mapping_keys(&self) -> Vec<String> {
        serde_json::from_value(self.mapping.clone()).unwrap_or_default()
    }

    /// The sample rows.
    pub fn sample_rows(&self) -> Vec<(u64, Vec<String>)> {
        serde_json::from_value(self.sample.clone()).unwrap_or_default()
    }

    /// Still being worked on (the progress page polls).
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "running" | "undoing")
    }

    /// Has a summary (it ran, at least partly).
    pub fn has_run(&self) -> bool {
        matches!(
            self.status.as_str(),
            "done" | "failed" | "cancelled" | "undone" | "undoing"
        ) || self.rows_done > 0
    }
}

/// What a new (draft) import is.
pub struct NewImport<'a> {
    /// `company` or `contact`.
    pub entity: &'a str,
    /// The format.
    pub format: read::Format,
    /// Where the file is.
    pub file_key: &'a str,
    /// The file's name.
    pub file_name: &'a str,
    /// Its size.
    pub size_bytes: i64,
    /// Header row.
    pub headers: &'a [String],
    /// First rows.
    pub sample: &'a [(u64, Vec<String>)],
    /// Suggested mapping.
    pub mapping: &'a [String],
    /// Estimated rows.
    pub rows_total: Option<i64>,
    /// Visibility chosen on upload.
    pub visibility: &'a str,
    /// Owner chosen on upload.
    pub owner_id: UserId,
    /// Error language.
    pub locale: &'a str,
}

/// Writes a draft import (not queued yet).
pub async fn create(tx: &mut TenantTx, by: UserId, new: NewImport<'_>) -> AppResult<ImportId> {
    let tenant = tx.tenant();
    Ok(diesel::insert_into(imports::table)
        .values((
            imports::tenant_id.eq(tenant),
            imports::requested_by.eq(by),
            imports::entity.eq(new.entity),
            imports::format.eq(new.format.as_str()),
            imports::file_key.eq(new.file_key),
            imports::file_name.eq(new.file_name),
            imports::size_bytes.eq(new.size_bytes),
            imports::headers.eq(serde_json::json!(new.headers)),
            imports::sample.eq(serde_json::json!(new.sample)),
            imports::mapping.eq(serde_json::json!(new.mapping)),
            imports::rows_total.eq(new.rows_total),
            imports::visibility.eq(new.visibility),
            imports::owner_id.eq(new.owner_id),
            imports::locale.eq(new.locale),
        ))
        .returning(imports::id)
        .get_result(&mut **tx)
        .await?)
}

/// One import of the tenant (imports are an admin tool: any admin may see any).
pub async fn find(tx: &mut TenantTx, id: ImportId) -> AppResult<Import> {
    let tenant = tx.tenant();
    Ok(imports::table
        .filter(imports::tenant_id.eq(tenant).and(imports::id.eq(id)))
        .select(Import::as_select())
        .first(&mut **tx)
        .await?)
}

/// The newest imports.
pub async fn recent(tx: &mut TenantTx) -> AppResult<Vec<Import>> {
    let tenant = tx.tenant();
    Ok(imports::table
        .filter(imports::tenant_id.eq(tenant))
        .select(Import::as_select())
        .order(imports::id.desc())
        .limit(50)
        .load(&mut **tx)
        .await?)
}

/// The choices of the mapping screen, saved as they are submitted.
pub struct Settings<'a> {
    /// One key per column.
    pub mapping: &'a [String],
    /// Visibility of created companies.
    pub visibility: &'a str,
    /// Owner of created companies.
    pub owner_id: UserId,
    /// Duplicate policy.
    pub on_duplicate: &'a str,
}

/// Saves the mapping screen's choices on a draft; `false` when it is no longer a draft.
pub async fn save_settings(tx: &mut TenantTx, id: ImportId, s: &Settings<'_>) -> AppResult<bool> {
    let tenant = tx.tenant();
    let n = diesel::update(imports::table)
        .filter(imports::tenant_id.eq(tenant).and(imports::id.eq(id)))
        .filter(imports::status.eq("draft"))
        .set((
            imports::mapping.eq(serde_json::json!(s.mapping)),
            imports::visibility.eq(s.visibility),
            imports::owner_id.eq(s.owner_id),
            imports::on_duplicate.eq(s.on_duplicate),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(n == 1)
}

/// Moves a draft (or an undo request) to `status` for the worker; `false` when the
/// import is not in `from`.
pub async fn queue(
    tx: &mut TenantTx,
    id: ImportId,
    from: &[&str],
    status: &str,
) -> AppResult<bool> {
    let tenant = tx.tenant();
    let n = diesel::update(imports::table)
        .filter(imports::tenant_id.eq(tenant).and(imports::id.eq(id)))
        .filter(imports::status.eq_any(from))
        .set((
            imports::status.eq(status),
            imports::enqueued_at.eq(diesel::dsl::now),
            imports::attempts.eq(0),
            imports::last_error.eq(None::<String>),
            imports::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(n == 1)
}

/// Queues the undo of an import that ran, asked for by `by`; `false` when it cannot be
/// undone (still running, never run, or undone already).
pub async fn queue_undo(tx: &mut TenantTx, id: ImportId, by: UserId) -> AppResult<bool> {
    let tenant = tx.tenant();
    let queued = queue(tx, id, &["done", "cancelled", "failed"], "undoing").await?;
    if queued {
        diesel::update(imports::table)
            .filter(imports::tenant_id.eq(tenant).and(imports::id.eq(id)))
            .set(imports::undone_by.eq(by))
            .execute(&mut **tx)
            .await?;
    }
    Ok(queued)
}

/// Asks a queued or running import to stop after its current chunk.
pub async fn request_cancel(tx: &mut TenantTx, id: ImportId) -> AppResult<bool> {
    let tenant = tx.tenant();
    let n = diesel::update(imports::table)
        .filter(imports::tenant_id.eq(tenant).and(imports::id.eq(id)))
        .filter(imports::status.eq_any(["queued", "running"]))
        .set(imports::cancel_requested.eq(true))
        .execute(&mut **tx)
        .await?;
    Ok(n == 1)
}

/// Deletes a draft that was never run (its file is the caller's to remove).
pub async fn delete_draft(tx: &mut TenantTx, id: ImportId) -> AppResult<bool> {
    let tenant = tx.tenant();
    let n = diesel::delete(imports::table)
        .filter(imports::tenant_id.eq(tenant).and(imports::id.eq(id)))
        .filter(imports::status.eq("draft"))
        .execute(&mut **tx)
        .await?;
    Ok(n == 1)
}
