//! The nightly clean-up (the worker's `cleanup` cron job), so that nothing is left behind
//! in storage:
//!
//! - account links (invitations, resets, unlocks) and sign-up requests whose time is up
//!   are purged, and Kehu's own emails (tenant 0's sign-up links) a day after sending;
//! - import uploads never started (drafts older than [`DRAFT_AGE`]) are deleted with their
//!   rows, then their files;
//! - files that no row references (an attachment whose delete crashed before its file
//!   went, an upload whose request failed) are removed once older than [`FILE_GRACE`]:
//!   an upload writes its file before its row commits, so a younger file may be one whose
//!   row is on its way.
//!
//! Every step deletes only what nothing needs, rows before their files, so a run that is
//! killed halfway leaves nothing broken and the next run finishes it; a second run
//! changes nothing.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Integer, Text, Timestamptz},
};
use diesel_async::RunQueryDsl;
use futures::TryStreamExt;

use crate::{
    db::{DbPool, TenantTx},
    files::{FileKey, FileStore},
    ids::TenantId,
};

/// How old an import draft must be before it goes.
pub const DRAFT_AGE: Duration = Duration::days(1);

/// How old an unreferenced file must be before it goes.
pub const FILE_GRACE: Duration = Duration::hours(24);

/// Import drafts deleted per round.
const DRAFT_BATCH: i32 = 500;

/// Files checked per tenant query.
const FILE_BATCH: usize = 1000;

/// Which column references the files of each area. A file of an area not listed here is
/// never removed.
const REFERENCES: &[(&str, &str, &str)] = &[
    ("notes", "note_attachments", "storage_key"),
    ("imports", "imports", "file_key"),
    ("exports", "exports", "file_key"),
];

/// What one run removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Expired account links.
    pub links: i64,
    /// Expired sign-up requests.
    pub signups: i64,
    /// Kehu's own emails (tenant 0) sent or failed over a day ago.
    pub kehu_emails: i64,
    /// Import drafts never started.
    pub import_drafts: usize,
    /// Files no row references.
    pub orphan_files: usize,
}

/// One run as of `now`.
pub async fn run(db: &DbPool, files: &FileStore, now: DateTime<Utc>) -> anyhow::Result<Report> {
    let Purged {
        links,
        signups,
        kehu_emails,
    } = purge_links(db, now).await?;
    let import_drafts = remove_import_drafts(db, files, now - DRAFT_AGE).await?;
    let orphan_files = remove_orphan_files(db, files, now - FILE_GRACE).await?;
    Ok(Report {
        links,
        signups,
        kehu_emails,
        import_drafts,
        orphan_files,
    })
}

#[derive(QueryableByName)]
struct Purged {
    #[diesel(sql_type = BigInt)]
    links: i64,
    #[diesel(sql_type = BigInt)]
    signups: i64,
    #[diesel(sql_type = BigInt)]
    kehu_emails: i64,
}

/// Deletes expired account links and sign-up requests, and Kehu's old own emails.
async fn purge_links(db: &DbPool, now: DateTime<Utc>) -> anyhow::Result<Purged> {
    let mut conn = db.get().await?;
    Ok(
        diesel::sql_query("SELECT links, signups, kehu_emails FROM kehu_purge_expired_links($1)")
            .bind::<Timestamptz, _>(now)
            .get_result(&mut conn)
            .await?,
    )
}

#[derive(QueryableByName)]
struct Stale {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    key: String,
}

/// Deletes import drafts created before `before`, each tenant's in its own transaction,
/// then their files.
async fn remove_import_drafts(
    db: &DbPool,
    files: &FileStore,
    before: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut removed = 0;
    loop {
        let stale: Vec<Stale> = {
            let mut conn = db.get().await?;
            diesel::sql_query("SELECT tenant_id, id FROM kehu_stale_import_drafts($1, $2)")
                .bind::<Timestamptz, _>(before)
                .bind::<Integer, _>(DRAFT_BATCH)
                .load(&mut conn)
                .await?
        };
        let round = stale.len();
        for (tenant, ids) in by_tenant(stale.into_iter().map(|s| (s.tenant_id, s.id))) {
            let mut tx = TenantTx::begin(db, tenant).await?;
            // Still a draft: it may have been started since the list was read.
            let keys: Vec<Key> = diesel::sql_query(
                "DELETE FROM imports WHERE tenant_id = $1 AND id = ANY($2) AND status = 'draft' \
                 RETURNING file_key AS key",
            )
            .bind::<BigInt, _>(tenant)
            .bind::<Array<BigInt>, _>(&ids)
            .load(&mut *tx)
            .await?;
            tx.commit().await?;
            removed += keys.len();
            let keys: Vec<FileKey> = keys
                .iter()
                .filter_map(|k| FileKey::parse(tenant, "imports", &k.key).ok())
                .collect();
            files.delete_logged(&keys).await;
        }
        if round < DRAFT_BATCH as usize {
            return Ok(removed);
        }
    }
}

/// Removes the files older than `before` that no row of their tenant references.
async fn remove_orphan_files(
    db: &DbPool,
    files: &FileStore,
    before: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut removed = 0;
    let mut listed = std::pin::pin!(files.list().try_filter(|(_, area, _, modified)| {
        let wanted = *modified < before && REFERENCES.iter().any(|(a, _, _)| a == area);
        std::future::ready(wanted)
    }));
    let mut batch: BTreeMap<(TenantId, String), Vec<FileKey>> = BTreeMap::new();
    let mut pending = 0;
    while let Some((tenant, area, key, _)) = listed.try_next().await? {
        batch.entry((tenant, area)).or_default().push(key);
        pending += 1;
        if pending >= FILE_BATCH {
            removed += remove_unreferenced(db, files, std::mem::take(&mut batch)).await?;
            pending = 0;
        }
    }
    removed += remove_unreferenced(db, files, batch).await?;
    Ok(removed)
}

/// Of each tenant's and area's keys, removes those no row references.
async fn remove_unreferenced(
    db: &DbPool,
    files: &FileStore,
    batch: BTreeMap<(TenantId, String), Vec<FileKey>>,
) -> anyhow::Result<usize> {
    let mut removed = 0;
    for ((tenant, area), keys) in batch {
        let Some((_, table, column)) = REFERENCES.iter().find(|(a, _, _)| *a == area) else {
            continue;
        };
        let raw: Vec<&str> = keys.iter().map(FileKey::as_str).collect();
        let mut tx = TenantTx::begin(db, tenant).await?;
        let orphans: Vec<Key> = diesel::sql_query(format!(
            "SELECT k AS key FROM unnest($2::text[]) k \
              WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.tenant_id = $1 AND r.{column} = k)"
        ))
        .bind::<BigInt, _>(tenant)
        .bind::<Array<Text>, _>(&raw)
        .load(&mut *tx)
        .await?;
        tx.rollback().await?;
        let orphans: HashSet<String> = orphans.into_iter().map(|o| o.key).collect();
        let orphans: Vec<FileKey> = keys
            .into_iter()
            .filter(|k| orphans.contains(k.as_str()))
            .collect();
        removed += orphans.len();
        files.delete_logged(&orphans).await;
    }
    Ok(removed)
}

/// Groups (tenant, id) pairs by tenant.
fn by_tenant(rows: impl Iterator<Item = (TenantId, i64)>) -> BTreeMap<TenantId, Vec<i64>> {
    let mut grouped: BTreeMap<TenantId, Vec<i64>> = BTreeMap::new();
    for (tenant, id) in rows {
        grouped.entry(tenant).or_default().push(id);
    }
    grouped
}
