//! The worker side of an import: claim the row, stream the file in chunks, merge each
//! chunk in one transaction, record the outcome. Undo runs here too.
//!
//! Nothing lost, nothing doubled: chunk `n` is always the same rows of the same stored
//! file (rows `n × CHUNK_ROWS ..`), and its rows, errors, undo snapshots, counters and
//! its `import_chunks` done-mark commit together. A retry, a second worker holding an
//! expired lease, or a worker killed mid-chunk re-reads the file and skips the chunks
//! already marked; two workers racing on one chunk collide on the done-mark's key and
//! the loser rolls back.
//!
//! Chunks are merged on `IMPORT_CONNECTIONS` connections at once (most of the work is the
//! database's: generated columns and indexes). Chunks may therefore commit out of order;
//! the done-marks don't care, and a duplicate key in two chunks in flight is settled by the
//! claims in [`super::merge`].
//!
//! The chunk transaction uses tokio-postgres, because diesel-async cannot run `COPY`
//! (diesel-async #158). It sets the tenant the same way as [`TenantTx`], so RLS applies.

use std::{
    collections::HashSet,
    ops::ControlFlow,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{
    CHUNK_ROWS, Import,
    fields::{self, Checker, Lookups},
    history,
    merge::{self, ClaimOrder},
    read::{self, Format, Limits},
};
use crate::{
    custom_fields::{self as cf, Entity},
    customers::model as companies,
    db::{DbPool, TenantTx},
    files::{FileKey, FileStore},
    i18n::Locale,
    ids::{ImportId, TenantId},
    jobs::RunImport,
    schema::{import_chunks, imports, note_attachments},
    users::model as users,
};

/// What the worker needs to run imports.
pub struct Env<'a> {
    /// App-role pool (claims, outcomes).
    pub db: &'a DbPool,
    /// App-role URL for the `COPY` connection.
    pub database_url: &'a str,
    /// Where the uploaded files are.
    pub files: &'a FileStore,
    /// How long a claim holds without progress.
    pub lease: Duration,
    /// Chunks merged at once, each on its own connection.
    pub connections: usize,
}

/// The apalis job body. `Ok` once the outcome is recorded; `Err` only when the database
/// itself failed (the reconciler pushes the job again).
pub async fn run(env: &Env<'_>, job: &RunImport) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(env.db, job.tenant_id).await?;
    let claimed = claim(&mut tx, job.import_id, env.lease).await?;
    tx.commit().await?;
    let Some(import) = claimed else {
        return Ok(());
    };
    let outcome = if import.status == "undoing" {
        undo(env, job.tenant_id, &import)
            .await
            .map(|()| Outcome::Undone)
    } else if import.cancel_requested {
        Ok(Outcome::Cancelled)
    } else {
        load(env, job.tenant_id, &import).await
    };
    let mut tx = TenantTx::begin(env.db, job.tenant_id).await?;
    let tenant = job.tenant_id;
    let this = imports::table.filter(imports::tenant_id.eq(tenant).and(imports::id.eq(import.id)));
    let finished = (
        imports::lease_until.eq(None::<DateTime<Utc>>),
        imports::finished_at.eq(diesel::dsl::now),
    );
    match outcome {
        Ok(Outcome::Done) => {
            diesel::update(this)
                .set((
                    imports::status.eq("done"),
                    imports::last_error.eq(None::<String>),
                    finished,
                ))
                .execute(&mut *tx)
                .await?;
            history::record_run(&mut tx, import.id, true).await?;
        }
        Ok(Outcome::Cancelled) => {
            diesel::update(this)
                .set((imports::status.eq("cancelled"), finished))
                .execute(&mut *tx)
                .await?;
            history::record_run(&mut tx, import.id, false).await?;
        }
        Ok(Outcome::Undone) => {
            diesel::update(this)
                .set((imports::status.eq("undone"), finished))
                .execute(&mut *tx)
                .await?;
            history::record_undone(&mut tx, import.id).await?;
        }
        Ok(Outcome::BadFile(reason)) => {
            diesel::update(this)
                .set((
                    imports::status.eq("failed"),
                    imports::last_error.eq(reason),
                    finished,
                ))
                .execute(&mut *tx)
                .await?;
            history::record_run(&mut tx, import.id, false).await?;
        }
        Err(err) => {
            tracing::warn!(?job, error = %format!("{err:#}"), "import attempt failed");
            let done = import.attempts >= import.max_attempts;
            let error: String = format!("{err:#}").chars().take(1000).collect();
            // An undo that keeps failing stays 'undoing' for the reconciler; a load goes
            // back to the queue or fails for good.
            let status = match (import.status.as_str(), done) {
                ("undoing", _) => "undoing",
                (_, true) => "failed",
                (_, false) => "queued",
            };
            diesel::update(this)
                .set((
                    imports::status.eq(status),
                    imports::last_error.eq(error),
                    imports::lease_until.eq(None::<DateTime<Utc>>),
                    imports::enqueued_at.eq(None::<DateTime<Utc>>),
                    imports::finished_at.eq((status == "failed").then(Utc::now)),
                ))
                .execute(&mut *tx)
                .await?;
            if status == "failed" {
                history::record_run(&mut tx, import.id, false).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// How one merger ended.
enum Merged {
    Done,
    Cancelled,
}

enum Outcome {
    Done,
    Cancelled,
    Undone,
    /// The file cannot be read (permanent: no retry), with the reason.
    BadFile(String),
}

/// Takes the import for `lease` when it is queued or undoing and not held, or running
/// with an expired lease (its worker died). `None` otherwise.
async fn claim(tx: &mut TenantTx, id: ImportId, lease: Duration) -> anyhow::Result<Option<Import>> {
    let tenant = tx.tenant();
    let this = imports::table.filter(imports::tenant_id.eq(tenant).and(imports::id.eq(id)));
    let found: Option<(Import, Option<DateTime<Utc>>)> = this
        .select((Import::as_select(), imports::lease_until))
        .for_update()
        .first(&mut **tx)
        .await
        .optional()?;
    let Some((mut import, lease_until)) = found else {
        return Ok(None);
    };
    let now = Utc::now();
    let free = lease_until.is_none_or(|l| l < now);
    let claimable = match import.status.as_str() {
        "queued" | "undoing" => free,
        "running" => lease_until.is_some_and(|l| l < now),
        _ => false,
    };
    if !claimable {
        return Ok(None);
    }
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let status = if import.status == "undoing" {
        "undoing"
    } else {
        "running"
    };
    diesel::update(this)
        .set((
            imports::status.eq(status),
            imports::attempts.eq(imports::attempts + 1),
            imports::lease_until.eq(until),
            imports::started_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(started_at, now())")),
        ))
        .execute(&mut **tx)
        .await?;
    import.attempts += 1;
    import.status = status.to_owned();
    Ok(Some(import))
}

/// One chunk as read from the file: its `COPY` lines and its refused rows.
pub(super) struct Chunk {
    pub(super) no: i32,
    pub(super) rows: i32,
    pub(super) copy: Vec<u8>,
    pub(super) refused: Vec<(i64, String, String)>,
}

impl Chunk {
    /// Chunk `no`, before its first row.
    fn empty(no: i32) -> Self {
        Chunk {
            no,
            rows: 0,
            copy: vec![],
            refused: vec![],
        }
    }
}

/// A temporary copy of the stored file, removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Streams the file into the tables, chunk by chunk.
async fn load(env: &Env<'_>, tenant: TenantId, import: &Import) -> anyhow::Result<Outcome> {
    let locale = Locale::from_code(&import.locale).unwrap_or_default();
    let format = Format::parse(&import.format).context("unknown import format")?;
    let (custom, lookups, done) = lookups_and_done(env, tenant, import).await?;
    let temp = fetch(env, tenant, import, format).await?;

    let (sender, receiver) = tokio::sync::mpsc::channel::<Chunk>(2);
    let reading = Reading {
        path: temp.0.clone(),
        format,
        entity: import.entity.clone(),
        mapping: import.mapping_keys(),
        headers: import.header_row(),
        custom,
        lookups,
        done,
        locale,
    };
    // Stopped when the mergers stop early (error or cancel); the reader checks every row.
    let order = Arc::new(ClaimOrder::new());
    let reader_order = order.clone();
    let reader = tokio::task::spawn_blocking(move || reading.run(sender, &reader_order));

    let chunks = Arc::new(tokio::sync::Mutex::new((receiver, 0u64)));
    let (cancelled, failed) = run_mergers(env, tenant, import, &chunks, &order, locale).await;
    // The reader stops at its next row once the mergers stop, or once nobody receives.
    drop(chunks);
    let read_result = reader.await.context("the import reader panicked")?;
    if let Some(err) = failed {
        return Err(err);
    }
    if cancelled {
        return Ok(Outcome::Cancelled);
    }
    Ok(match read_result {
        Ok(_) => Outcome::Done,
        Err(reason) => Outcome::BadFile(reason),
    })
}

/// The entity's custom fields, the names of categories and people that cells may
/// name, and the chunks an earlier attempt already merged.
async fn lookups_and_done(
    env: &Env<'_>,
    tenant: TenantId,
    import: &Import,
) -> anyhow::Result<(Vec<cf::Field>, Lookups, HashSet<i32>)> {
    let entity = if import.entity == "contact" {
        Entity::Contact
    } else {
        Entity::Company
    };
    let mut tx = TenantTx::begin(env.db, tenant).await?;
    let custom = cf::of_entity(tx.reads(), entity).await?;
    let mut lookups = Lookups::default();
    for (id, name) in companies::categories(&mut tx).await? {
        lookups.categories.insert(name.to_lowercase(), id);
    }
    for u in users::list(&mut tx).await? {
        lookups.people.entry(u.email.to_lowercase()).or_insert(u.id);
        lookups.people.entry(u.name.to_lowercase()).or_insert(u.id);
    }
    let done: HashSet<i32> = import_chunks::table
        .filter(import_chunks::tenant_id.eq(tenant))
        .filter(import_chunks::import_id.eq(import.id))
        .select(import_chunks::chunk_no)
        .load::<i32>(&mut *tx)
        .await?
        .into_iter()
        .collect();
    tx.commit().await?;
    Ok((custom, lookups, done))
}

/// Copies the stored file to a temporary file the reader can seek in.
async fn fetch(
    env: &Env<'_>,
    tenant: TenantId,
    import: &Import,
    format: Format,
) -> anyhow::Result<TempFile> {
    let key = FileKey::parse(tenant, "imports", &import.file_key)?;
    let temp = TempFile(std::env::temp_dir().join(format!(
        "kehu-import-{tenant}-{}-{}.{}",
        import.id,
        uuid::Uuid::new_v4(),
        format.as_str()
    )));
    env.files.get_to_file(&key, &temp.0).await?;
    Ok(temp)
}

/// What the reader thread needs: the file, and how to check and stage its rows.
struct Reading {
    path: PathBuf,
    format: Format,
    entity: String,
    mapping: Vec<String>,
    headers: Vec<String>,
    custom: Vec<cf::Field>,
    lookups: Lookups,
    done: HashSet<i32>,
    locale: Locale,
}

impl Reading {
    /// Reads the file (blocking) and sends each chunk not yet done, until the file ends or
    /// the load stops; `Err` is the reason the file cannot be read, for the user.
    fn run(
        self,
        sender: tokio::sync::mpsc::Sender<Chunk>,
        order: &ClaimOrder,
    ) -> Result<read::Summary, String> {
        let (done, locale) = (&self.done, self.locale);
        let slots = fields::resolve(&self.entity, &self.mapping, &self.custom);
        let checker = Checker {
            entity: &self.entity,
            slots: &slots,
            fields: &self.custom,
            headers: &self.headers,
            lookups: &self.lookups,
            locale,
        };
        let mut index: usize = 0;
        let mut current = Chunk::empty(0);
        let mut stopped = false;
        let mut on_row = |row: read::Row| {
            if order.stopped() {
                stopped = true;
                return ControlFlow::Break(());
            }
            let no = (index / CHUNK_ROWS) as i32;
            index += 1;
            if no != current.no {
                let full = std::mem::replace(&mut current, Chunk::empty(no));
                if !done.contains(&full.no) && sender.blocking_send(full).is_err() {
                    stopped = true;
                    return ControlFlow::Break(());
                }
            }
            current.rows += 1;
            if !done.contains(&no)
                && let Err(refusal) = checker.check(row.number, &row.cells, &mut current.copy)
            {
                current
                    .refused
                    .push((row.number as i64, refusal.column, refusal.reason));
            }
            ControlFlow::Continue(())
        };
        let result = read::read(
            &self.path,
            self.format,
            &Limits::default(),
            &mut |_| ControlFlow::Continue(()),
            &mut on_row,
        );
        if result.is_ok() && !stopped && current.rows > 0 && !done.contains(&current.no) {
            let _ = sender.blocking_send(current);
        }
        result.map_err(|e| e.message(locale.code()))
    }
}

/// Merges the reader's chunks on `env.connections` connections at once until they run
/// out or the load stops: (cancelled, the first error).
async fn run_mergers(
    env: &Env<'_>,
    tenant: TenantId,
    import: &Import,
    chunks: &Chunks,
    order: &Arc<ClaimOrder>,
    locale: Locale,
) -> (bool, Option<anyhow::Error>) {
    // Chunks are merged on several connections at once (the database does most of the
    // work); each merger takes the next chunk the reader made, numbered in the order
    // received, which is the order of their claims (see `merge`).
    let shared = Arc::new(import.clone());
    let mut mergers = tokio::task::JoinSet::new();
    for _ in 0..env.connections.max(1) {
        mergers.spawn(merger(
            env.database_url.to_owned(),
            tenant,
            shared.clone(),
            chunks.clone(),
            order.clone(),
            (env.lease, locale),
        ));
    }
    let mut cancelled = false;
    let mut failed = None;
    while let Some(joined) = mergers.join_next().await {
        match joined.context("an import merger panicked") {
            Ok(Ok(Merged::Done)) => {}
            Ok(Ok(Merged::Cancelled)) => cancelled = true,
            Ok(Err(err)) | Err(err) => {
                order.stop();
                failed.get_or_insert(err);
            }
        }
    }
    (cancelled, failed)
}

/// Chunks received in order, numbered.
type Chunks = Arc<tokio::sync::Mutex<(tokio::sync::mpsc::Receiver<Chunk>, u64)>>;

/// One merger on its own connection: merges the chunks it takes until there are none
/// left or the load stops; stops the load unless it ran out of chunks.
async fn merger(
    url: String,
    tenant: TenantId,
    import: Arc<Import>,
    chunks: Chunks,
    order: Arc<ClaimOrder>,
    (lease, locale): (Duration, Locale),
) -> anyhow::Result<Merged> {
    let merged = merge_chunks(&url, tenant, &import, &chunks, &order, (lease, locale)).await;
    if !matches!(merged, Ok(Merged::Done)) {
        order.stop();
    }
    merged
}

async fn merge_chunks(
    url: &str,
    tenant: TenantId,
    import: &Import,
    chunks: &Chunks,
    order: &ClaimOrder,
    (lease, locale): (Duration, Locale),
) -> anyhow::Result<Merged> {
    let mut client = merge::connect(url).await?;
    // Time spent waiting for the reader and merging: which side is the bottleneck.
    let (mut waited, mut merging) = (Duration::ZERO, Duration::ZERO);
    while !order.stopped() {
        let at = Instant::now();
        let (chunk, seq) = {
            let mut guard = chunks.lock().await;
            let (receiver, next) = &mut *guard;
            let Some(chunk) = receiver.recv().await else {
                break;
            };
            *next += 1;
            (chunk, *next - 1)
        };
        if order.stopped() {
            break;
        }
        let merged_at = Instant::now();
        waited += merged_at - at;
        let merged = merge::merge_chunk(
            &mut client,
            tenant,
            import,
            chunk,
            (order, seq),
            lease,
            locale,
        )
        .await?;
        merging += merged_at.elapsed();
        if !merged {
            return Ok(Merged::Cancelled);
        }
    }
    tracing::debug!(
        import = %import.id,
        waited_for_reader_ms = waited.as_millis() as u64,
        merging_ms = merging.as_millis() as u64,
        "import merger finished"
    );
    Ok(Merged::Done)
}

/// Removes what the import created and restores what it updated, in one transaction;
/// then deletes the removed companies' note files.
async fn undo(env: &Env<'_>, tenant: TenantId, import: &Import) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(env.db, tenant).await?;
    let t = tenant.0;
    let i = import.id.0;
    let mut keys: Vec<String> = vec![];
    if import.entity == "contact" {
        by_import(&mut tx, "UPDATE contacts r SET title = u.before->>'title', phone = u.before->>'phone',
                    mobile = u.before->>'mobile', email = u.before->>'email',
                    qq = u.before->>'qq', wechat = u.before->>'wechat',
                    other_im = u.before->>'other_im', weibo = u.before->>'weibo',
                    custom = u.before->'custom'
               FROM import_undo u
              WHERE u.tenant_id = $1 AND u.import_id = $2 AND r.tenant_id = $1 AND r.id = u.record_id", t, i).await?;
        by_import(
            &mut tx,
            "DELETE FROM contacts WHERE tenant_id = $1 AND import_id = $2",
            t,
            i,
        )
        .await?;
    } else {
        by_import(&mut tx, "UPDATE companies r SET phone = u.before->>'phone', email = u.before->>'email',
                    website = u.before->>'website', address = u.before->>'address',
                    introduction = u.before->>'introduction',
                    category_id = (SELECT cc.id FROM customer_categories cc
                                    WHERE cc.tenant_id = $1 AND cc.id = (u.before->>'category_id')::bigint),
                    owner_id = (u.before->>'owner_id')::bigint,
                    visibility = u.before->>'visibility', custom = u.before->'custom',
                    last_activity_at = now(), updated_at = now()
               FROM import_undo u
              WHERE u.tenant_id = $1 AND u.import_id = $2 AND r.tenant_id = $1 AND r.id = u.record_id", t, i).await?;
        keys = note_attachments::table
            .inner_join(
                crate::schema::companies::table.on(crate::schema::companies::tenant_id
                    .eq(note_attachments::tenant_id)
                    .and(crate::schema::companies::id.eq(note_attachments::company_id))),
            )
            .filter(note_attachments::tenant_id.eq(tenant))
            .filter(crate::schema::companies::import_id.eq(import.id.0))
            .select(note_attachments::storage_key)
            .load(&mut *tx)
            .await?;
        by_import(
            &mut tx,
            "DELETE FROM companies WHERE tenant_id = $1 AND import_id = $2",
            t,
            i,
        )
        .await?;
    }
    tx.commit().await?;
    let keys: Vec<FileKey> = keys
        .iter()
        .filter_map(|k| FileKey::parse(tenant, "notes", k).ok())
        .collect();
    env.files.delete_logged(&keys).await;
    Ok(())
}

/// Runs `sql` with the tenant as `$1` and the import as `$2`.
async fn by_import(tx: &mut TenantTx, sql: &str, t: i64, i: i64) -> anyhow::Result<usize> {
    use diesel::sql_types::BigInt;
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(t)
        .bind::<BigInt, _>(i)
        .execute(&mut **tx)
        .await?)
}

/// The first `n` records the import created, as (id, name, company name or "") for the
/// summary.
pub async fn first_created(
    tx: &mut TenantTx,
    import: &Import,
    n: i64,
) -> crate::error::AppResult<Vec<(i64, String, String)>> {
    use crate::schema::{companies, contacts};
    let tenant = tx.tenant();
    if import.entity == "contact" {
        let rows: Vec<(i64, String, String)> = contacts::table
            .inner_join(
                companies::table.on(companies::tenant_id
                    .eq(contacts::tenant_id)
                    .and(companies::id.eq(contacts::company_id))),
            )
            .filter(contacts::tenant_id.eq(tenant))
            .filter(contacts::import_id.eq(import.id.0))
            .order(contacts::id.asc())
            .limit(n)
            .select((contacts::id, contacts::name, companies::name))
            .load(&mut **tx)
            .await?;
        Ok(rows)
    } else {
        let rows: Vec<(i64, String)> = companies::table
            .filter(companies::tenant_id.eq(tenant))
            .filter(companies::import_id.eq(import.id.0))
            .order(companies::id.asc())
            .limit(n)
            .select((companies::id, companies::name))
            .load(&mut **tx)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| (id, name, String::new()))
            .collect())
    }
}
