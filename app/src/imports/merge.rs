//! One chunk of an import, merged in one transaction over tokio-postgres (diesel-async
//! cannot run `COPY`, diesel-async #158): staging by `COPY`, the set-based merge for the
//! duplicate policy, the refused rows, undo snapshots, the done-mark and the counters.
//!
//! Several chunks of one import are merged at once. The first occurrence of each key in a
//! chunk is claimed in `import_keys` (a unique index) before the chunk looks for existing
//! records; a chunk that claims a key another chunk in flight holds waits until that one
//! commits (or rolls back), and its lookup, a later statement under READ COMMITTED, then
//! sees the other's record. The claim statements run in file order ([`ClaimOrder`]), so
//! an earlier chunk always claims a shared key first: the outcome is the one of merging
//! the chunks one after another. Within a statement claims are taken in key order, and a
//! chunk waits on nothing after its claim but the imports row, which it updates in its
//! last statement (read without a lock before): no deadlock. Claims are released just
//! before commit.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use anyhow::Context;
use bytes::Bytes;
use futures::SinkExt;
use tokio_postgres::{Client, IsolationLevel, NoTls, Transaction};

use super::{Import, run::Chunk};
use crate::{i18n::Locale, ids::TenantId};

/// Connects as the app role for `COPY`.
pub(super) async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connecting for the import")?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::warn!(error = %err, "import connection closed");
        }
    });
    Ok(client)
}

const COMPANY_STAGE: &str = "CREATE TEMP TABLE import_stage (
        row_no bigint, name text, phone text, email text, website text, address text,
        introduction text, category_id bigint, owner_id bigint, visibility text, custom jsonb
    ) ON COMMIT DROP";

const CONTACT_STAGE: &str = "CREATE TEMP TABLE import_stage (
        row_no bigint, company_name text, name text, title text, phone text, mobile text,
        email text, qq text, wechat text, other_im text, weibo text, custom jsonb
    ) ON COMMIT DROP";

/// Keys each staged company and numbers repeats of a key within the chunk.
const COMPANY_KEYED: &str = "CREATE TEMP TABLE import_keyed ON COMMIT DROP AS
    WITH k AS MATERIALIZED (SELECT s.*, kehu_company_key(s.name) AS key FROM import_stage s)
    SELECT k.*, row_number() OVER (PARTITION BY k.key ORDER BY k.row_no) AS nth,
           NULL::bigint AS existing_id
      FROM k";

/// Finds each staged contact's company by name and keys the contact by company and name.
const CONTACT_KEYED: &str = "CREATE TEMP TABLE import_keyed ON COMMIT DROP AS
    WITH k AS MATERIALIZED (
        SELECT s.*, lower(btrim(s.name)) AS name_key,
               (SELECT min(c.id) FROM companies c
                 WHERE c.tenant_id = $1 AND c.name_key = kehu_company_key(s.company_name)) AS company_id
          FROM import_stage s)
    SELECT k.*, k.company_id || ':' || k.name_key AS key,
           row_number() OVER (PARTITION BY k.company_id, k.name_key ORDER BY k.row_no) AS nth,
           NULL::bigint AS existing_id
      FROM k";

/// Claims the keys of the chunk's first occurrences (see migration 000020), in key order.
/// No `ON CONFLICT`: claims are released before commit, so a conflict left over would be
/// a bug, and it fails loudly instead of letting a key be created twice.
const CLAIM: &str = "INSERT INTO import_keys (tenant_id, import_id, key)
    SELECT DISTINCT $1::bigint, $2::bigint, key FROM import_keyed
     WHERE key IS NOT NULL AND nth = 1 ORDER BY 3
    RETURNING key";

/// The existing record of each first occurrence, looked up after the claim, so that a
/// chunk that held the same key and has committed since is seen.
const COMPANY_EXISTING: &str = "UPDATE import_keyed k SET existing_id =
    (SELECT min(c.id) FROM companies c WHERE c.tenant_id = $1 AND c.name_key = k.key)
    WHERE k.nth = 1";

const CONTACT_EXISTING: &str = "UPDATE import_keyed k SET existing_id =
    (SELECT min(ct.id) FROM contacts ct
      WHERE ct.tenant_id = $1 AND ct.company_id = k.company_id
        AND lower(btrim(ct.name)) = k.name_key)
    WHERE k.nth = 1 AND k.company_id IS NOT NULL";

/// Releases the chunk's claims just before it commits.
const RELEASE: &str = "DELETE FROM import_keys
    WHERE tenant_id = $1 AND import_id = $2 AND key = ANY($3::text[])";

/// Lets the chunks of one load claim their keys in the order they were read (the chunk
/// read `seq`-th claims after the one read before it has claimed), and stops the load.
pub(super) struct ClaimOrder {
    turn: tokio::sync::watch::Sender<u64>,
}

impl ClaimOrder {
    pub(super) fn new() -> Self {
        Self {
            turn: tokio::sync::watch::Sender::new(0),
        }
    }

    async fn wait(&self, seq: u64) {
        let _ = self.turn.subscribe().wait_for(|turn| *turn >= seq).await;
    }

    fn pass(&self, seq: u64) {
        self.turn.send_if_modified(|turn| {
            let behind = *turn <= seq;
            if behind {
                *turn = seq + 1;
            }
            behind
        });
    }

    /// Stops the load: nobody waits for a turn any more, and [`Self::stopped`] says so.
    pub(super) fn stop(&self) {
        self.turn.send_replace(u64::MAX);
    }

    pub(super) fn stopped(&self) -> bool {
        *self.turn.borrow() == u64::MAX
    }
}

/// Milliseconds spent in each step of a chunk, for the debug log.
struct Laps {
    at: Instant,
    out: String,
}

impl Laps {
    fn new() -> Self {
        Self {
            at: Instant::now(),
            out: String::new(),
        }
    }

    fn lap(&mut self, step: &str) {
        let now = Instant::now();
        let _ = write!(self.out, " {step}={}", (now - self.at).as_millis());
        self.at = now;
    }
}

/// Merges one chunk in one transaction. `false` when the import was cancelled (nothing
/// of this chunk is written).
pub(super) async fn merge_chunk(
    client: &mut Client,
    tenant: TenantId,
    import: &Import,
    mut chunk: Chunk,
    (order, seq): (&ClaimOrder, u64),
    lease: Duration,
    locale: Locale,
) -> anyhow::Result<bool> {
    let t = tenant.0;
    let i = import.id.0;
    let mut laps = Laps::new();
    let tx = begin(client, t).await?;
    if cancel_requested(&tx, t, i).await? {
        order.pass(seq);
        tx.rollback().await?;
        return Ok(false);
    }
    let contact = import.entity == "contact";
    stage(&tx, contact, std::mem::take(&mut chunk.copy)).await?;
    laps.lap("stage");
    if contact {
        tx.execute(CONTACT_KEYED, &[&t]).await?;
    } else {
        tx.execute(COMPANY_KEYED, &[]).await?;
    }
    laps.lap("key");
    order.wait(seq).await;
    let claimed = tx.query(CLAIM, &[&t, &i]).await;
    order.pass(seq);
    let claimed: Vec<String> = claimed?.iter().map(|row| row.get(0)).collect();
    laps.lap("claim");
    let existing = if contact {
        CONTACT_EXISTING
    } else {
        COMPANY_EXISTING
    };
    tx.execute(existing, &[&t]).await?;
    laps.lap("existing");

    let mut refused = std::mem::take(&mut chunk.refused);
    if contact {
        refused.extend(without_company(&tx, import, locale).await?);
    }
    let created = insert_new(&tx, import, contact, t).await?;
    laps.lap("insert");
    let updated = if import.on_duplicate == "update" {
        update_existing(&tx, contact, t, i).await?
    } else {
        0
    };
    laps.lap("update");
    let counts = Counts {
        created,
        updated,
        duplicates: count_duplicates(&tx, contact).await?,
        errors: refused.len() as i64,
    };
    record_refused(&tx, t, i, refused).await?;
    tx.execute(RELEASE, &[&t, &i, &claimed]).await?;
    laps.lap("release");
    mark_done(&tx, t, i, &chunk, &counts, lease).await?;
    tx.commit().await?;
    laps.lap("rest");
    tracing::debug!(import = i, chunk = chunk.no, rows = chunk.rows, laps = %laps.out, "import chunk merged");
    Ok(true)
}

/// What one chunk added to the import's counters.
struct Counts {
    created: u64,
    updated: u64,
    duplicates: i64,
    errors: i64,
}

/// Starts the chunk's transaction, bound to the tenant.
async fn begin(client: &mut Client, t: i64) -> anyhow::Result<Transaction<'_>> {
    // The claims rely on each statement seeing what committed before it.
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    tx.execute(
        "SELECT set_config('app.tenant_id', $1, true)",
        &[&t.to_string()],
    )
    .await?;
    Ok(tx)
}

/// True once someone asked to cancel the import.
async fn cancel_requested(tx: &Transaction<'_>, t: i64, i: i64) -> anyhow::Result<bool> {
    Ok(tx
        .query_one(
            "SELECT cancel_requested FROM imports WHERE tenant_id = $1 AND id = $2",
            &[&t, &i],
        )
        .await?
        .get(0))
}

/// Creates the staging table and `COPY`s the chunk's lines into it.
async fn stage(tx: &Transaction<'_>, contact: bool, copy: Vec<u8>) -> anyhow::Result<()> {
    tx.batch_execute(if contact {
        CONTACT_STAGE
    } else {
        COMPANY_STAGE
    })
    .await?;
    let columns = if contact {
        "row_no, company_name, name, title, phone, mobile, email, qq, wechat, other_im, weibo, custom"
    } else {
        "row_no, name, phone, email, website, address, introduction, category_id, owner_id, visibility, custom"
    };
    let sink = tx
        .copy_in::<_, Bytes>(&format!("COPY import_stage ({columns}) FROM STDIN"))
        .await?;
    futures::pin_mut!(sink);
    sink.send(Bytes::from(copy)).await?;
    sink.finish().await?;
    Ok(())
}

/// The refusals of staged contacts whose company does not exist.
async fn without_company(
    tx: &Transaction<'_>,
    import: &Import,
    locale: Locale,
) -> anyhow::Result<Vec<(i64, String, String)>> {
    let column = import
        .mapping_keys()
        .iter()
        .position(|k| k == "company")
        .and_then(|c| import.header_row().get(c).cloned())
        .unwrap_or_default();
    let message = locale.t("imports.err_no_company");
    let mut refused = Vec::new();
    for row in tx
        .query(
            "SELECT row_no, company_name FROM import_keyed WHERE company_id IS NULL ORDER BY row_no",
            &[],
        )
        .await?
    {
        let name: String = row.get(1);
        refused.push((row.get(0), column.clone(), message.replace("%{name}", &name)));
    }
    Ok(refused)
}

/// The staged rows that can be merged at all: contacts need their company.
fn matchable(contact: bool) -> &'static str {
    if contact {
        "company_id IS NOT NULL"
    } else {
        "true"
    }
}

/// Inserts the rows the duplicate policy creates; returns how many.
async fn insert_new(
    tx: &Transaction<'_>,
    import: &Import,
    contact: bool,
    t: i64,
) -> anyhow::Result<u64> {
    let i = import.id.0;
    let by = import.requested_by.0;
    let owner = import.owner_id.unwrap_or(import.requested_by).0;
    let matchable = matchable(contact);
    let new_rows = match import.on_duplicate.as_str() {
        "create" => matchable.to_owned(),
        _ => format!("{matchable} AND existing_id IS NULL AND nth = 1"),
    };
    let created = if contact {
        tx.execute(
            &format!(
                "INSERT INTO contacts (tenant_id, company_id, name, title, phone, mobile, email, qq,
                        wechat, other_im, weibo, custom, created_by, import_id)
                 SELECT $1, company_id, name, coalesce(title, ''), coalesce(phone, ''),
                        coalesce(mobile, ''), coalesce(email, ''), coalesce(qq, ''),
                        coalesce(wechat, ''), coalesce(other_im, ''), coalesce(weibo, ''),
                        coalesce(custom, '{{}}'), $2, $3
                   FROM import_keyed WHERE {new_rows} ORDER BY row_no"
            ),
            &[&t, &by, &i],
        )
        .await?
    } else {
        tx.execute(
            &format!(
                "INSERT INTO companies (tenant_id, name, phone, email, website, address,
                        introduction, category_id, owner_id, visibility, custom, created_by, import_id)
                 SELECT $1, name, coalesce(phone, ''), coalesce(email, ''), coalesce(website, ''),
                        coalesce(address, ''), coalesce(introduction, ''), category_id,
                        coalesce(owner_id, $2), coalesce(visibility, $3), coalesce(custom, '{{}}'),
                        $4, $5
                   FROM import_keyed WHERE {new_rows} ORDER BY row_no"
            ),
            &[&t, &owner, &import.visibility, &by, &i],
        )
        .await?
    };
    Ok(created)
}

/// Snapshots the existing records for undo, then updates them from the file; returns
/// how many were updated.
async fn update_existing(
    tx: &Transaction<'_>,
    contact: bool,
    t: i64,
    i: i64,
) -> anyhow::Result<u64> {
    let (table, snapshot, set) = if contact {
        (
            "contacts",
            "jsonb_build_object('title', r.title, 'phone', r.phone, 'mobile', r.mobile,
                'email', r.email, 'qq', r.qq, 'wechat', r.wechat, 'other_im', r.other_im,
                'weibo', r.weibo, 'custom', r.custom)",
            "title = coalesce(k.title, r.title), phone = coalesce(k.phone, r.phone),
             mobile = coalesce(k.mobile, r.mobile), email = coalesce(k.email, r.email),
             qq = coalesce(k.qq, r.qq), wechat = coalesce(k.wechat, r.wechat),
             other_im = coalesce(k.other_im, r.other_im), weibo = coalesce(k.weibo, r.weibo),
             custom = r.custom || coalesce(k.custom, '{}')",
        )
    } else {
        (
            "companies",
            "jsonb_build_object('phone', r.phone, 'email', r.email, 'website', r.website,
                'address', r.address, 'introduction', r.introduction,
                'category_id', r.category_id, 'owner_id', r.owner_id,
                'visibility', r.visibility, 'custom', r.custom)",
            "phone = coalesce(k.phone, r.phone), email = coalesce(k.email, r.email),
             website = coalesce(k.website, r.website), address = coalesce(k.address, r.address),
             introduction = coalesce(k.introduction, r.introduction),
             category_id = coalesce(k.category_id, r.category_id),
             owner_id = coalesce(k.owner_id, r.owner_id),
             visibility = coalesce(k.visibility, r.visibility),
             custom = r.custom || coalesce(k.custom, '{}'),
             last_activity_at = now(), updated_at = now()",
        )
    };
    // What this import created itself is removed by undo, not restored. The snapshot is
    // also how a company's history finds the imports that updated it (`history`): no
    // event row per company.
    tx.execute(
        &format!(
            "INSERT INTO import_undo (tenant_id, import_id, record_id, before)
             SELECT $1, $2, r.id, {snapshot}
               FROM {table} r JOIN import_keyed k ON r.id = k.existing_id
              WHERE r.tenant_id = $1 AND k.nth = 1
                AND r.import_id IS DISTINCT FROM $2
             ON CONFLICT DO NOTHING"
        ),
        &[&t, &i],
    )
    .await?;
    Ok(tx
        .execute(
            &format!(
                "UPDATE {table} r SET {set}
                   FROM import_keyed k
                  WHERE r.tenant_id = $1 AND r.id = k.existing_id AND k.nth = 1"
            ),
            &[&t],
        )
        .await?)
}

/// The staged rows that repeat a record that exists or a row earlier in the chunk.
async fn count_duplicates(tx: &Transaction<'_>, contact: bool) -> anyhow::Result<i64> {
    let matchable = matchable(contact);
    Ok(tx
        .query_one(
            &format!(
                "SELECT count(*) FROM import_keyed
                  WHERE {matchable} AND (existing_id IS NOT NULL OR nth > 1)"
            ),
            &[],
        )
        .await?
        .get(0))
}

/// Writes the refused rows (row, column, reason) to the error report.
async fn record_refused(
    tx: &Transaction<'_>,
    t: i64,
    i: i64,
    refused: Vec<(i64, String, String)>,
) -> anyhow::Result<()> {
    if refused.is_empty() {
        return Ok(());
    }
    let (rows, (columns, reasons)): (Vec<i64>, (Vec<String>, Vec<String>)) =
        refused.into_iter().map(|(r, c, m)| (r, (c, m))).unzip();
    tx.execute(
        "INSERT INTO import_errors (tenant_id, import_id, row_no, column_name, reason)
         SELECT $1, $2, r, c, m FROM unnest($3::bigint[], $4::text[], $5::text[]) AS u(r, c, m)
         ON CONFLICT DO NOTHING",
        &[&t, &i, &rows, &columns, &reasons],
    )
    .await?;
    Ok(())
}

/// Marks the chunk done and adds its counts to the import, renewing the lease.
async fn mark_done(
    tx: &Transaction<'_>,
    t: i64,
    i: i64,
    chunk: &Chunk,
    counts: &Counts,
    lease: Duration,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO import_chunks (tenant_id, import_id, chunk_no, rows) VALUES ($1, $2, $3, $4)",
        &[&t, &i, &chunk.no, &chunk.rows],
    )
    .await?;
    tx.execute(
        "UPDATE imports SET rows_done = rows_done + $3, created_count = created_count + $4,
                updated_count = updated_count + $5, duplicate_count = duplicate_count + $6,
                error_count = error_count + $8, lease_until = now() + make_interval(secs => $7)
          WHERE tenant_id = $1 AND id = $2",
        &[
            &t,
            &i,
            &i64::from(chunk.rows),
            &(counts.created as i64),
            &(counts.updated as i64),
            &counts.duplicates,
            &lease.as_secs_f64(),
            &counts.errors,
        ],
    )
    .await?;
    Ok(())
}
