//! What an import leaves in 最新动态: one tenant event when it ends having run, one when
//! it is undone (migration 000038). Both are written by the worker in the transaction
//! that records the outcome, and at most once per import and action (a unique key), so
//! an outcome recorded again after a crash adds nothing.
//!
//! The companies themselves get no row each: their history finds these events through
//! `companies.import_id` and `import_undo` ([`crate::history::of_company`]), which costs
//! the import nothing.

use diesel::sql_types::{BigInt, Bool};
use diesel_async::RunQueryDsl;

use crate::{db::TenantTx, error::AppResult, ids::ImportId, web::ctx::Ctx};

/// Who may see imports, their pages and their feed entries: admins (an import is a tool
/// over the whole tenant's data).
pub fn may_see(ctx: &Ctx) -> bool {
    ctx.is_admin()
}

/// Records that the import ended having run, by the person who started it, with its
/// final counts. `always`: also when it wrote nothing (a finished import; a cancelled or
/// failed one is only news when it left records behind).
pub async fn record_run(tx: &mut TenantTx, import: ImportId, always: bool) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::sql_query(
        "INSERT INTO tenant_events
                (tenant_id, actor_id, action, import_id, entity, created_count, updated_count)
         SELECT tenant_id, requested_by, 'imported', id, entity, created_count, updated_count
           FROM imports
          WHERE tenant_id = $1 AND id = $2 AND ($3 OR created_count + updated_count > 0)
         ON CONFLICT DO NOTHING",
    )
    .bind::<BigInt, _>(tenant.0)
    .bind::<BigInt, _>(import.0)
    .bind::<Bool, _>(always)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records that the import was undone, by the person who asked for the undo: the
/// records it had created are gone and those it had updated are restored.
pub async fn record_undone(tx: &mut TenantTx, import: ImportId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::sql_query(
        "INSERT INTO tenant_events
                (tenant_id, actor_id, action, import_id, entity, created_count, updated_count)
         SELECT i.tenant_id, coalesce(i.undone_by, i.requested_by), 'import_undone', i.id,
                i.entity, i.created_count,
                (SELECT count(*) FROM import_undo u
                  WHERE u.tenant_id = i.tenant_id AND u.import_id = i.id)
           FROM imports i
          WHERE i.tenant_id = $1 AND i.id = $2
         ON CONFLICT DO NOTHING",
    )
    .bind::<BigInt, _>(tenant.0)
    .bind::<BigInt, _>(import.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
