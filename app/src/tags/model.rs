//! Tags: queries and writes.

use std::collections::HashMap;

use diesel::{prelude::*, upsert::excluded};
use diesel_async::RunQueryDsl;

use crate::{
    customers::visibility::Scope,
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, TagId},
    schema::{company_tags, tags},
};

/// Longest tag name.
pub const MAX_LEN: usize = 30;

/// The id of the tag called `name`, creating it if needed.
pub async fn ensure(tx: &mut TenantTx, name: &str) -> AppResult<TagId> {
    let tenant = tx.tenant();
    Ok(diesel::insert_into(tags::table)
        .values((tags::tenant_id.eq(tenant), tags::name.eq(name)))
        .on_conflict((tags::tenant_id, tags::name))
        .do_update()
        .set(tags::name.eq(excluded(tags::name)))
        .returning(tags::id)
        .get_result(&mut **tx)
        .await?)
}

/// The tag called `name`, if it exists.
pub async fn by_name(tx: &mut TenantTx, name: &str) -> AppResult<Option<TagId>> {
    let tenant = tx.tenant();
    Ok(tags::table
        .filter(tags::tenant_id.eq(tenant).and(tags::name.eq(name)))
        .select(tags::id)
        .first(&mut **tx)
        .await
        .optional()?)
}

/// Every tag of the tenant, by name (tag names are not secret within a tenant).
pub async fn all(tx: &mut TenantTx) -> AppResult<Vec<(TagId, String)>> {
    let tenant = tx.tenant();
    Ok(tags::table
        .filter(tags::tenant_id.eq(tenant))
        .order((tags::name.asc(), tags::id.asc()))
        .select((tags::id, tags::name))
        .limit(1000)
        .load(&mut **tx)
        .await?)
}

/// A tag by id, or `NotFound`.
pub async fn find(tx: &mut TenantTx, id: TagId) -> AppResult<(TagId, String)> {
    let tenant = tx.tenant();
    Ok(tags::table
        .filter(tags::tenant_id.eq(tenant).and(tags::id.eq(id)))
        .select((tags::id, tags::name))
        .first(&mut **tx)
        .await?)
}

/// Tags `companies` (idempotent).
pub async fn add(tx: &mut TenantTx, companies: &[CompanyId], tag: TagId) -> AppResult<()> {
    let tenant = tx.tenant();
    let rows: Vec<_> = companies
        .iter()
        .map(|c| {
            (
                company_tags::tenant_id.eq(tenant),
                company_tags::company_id.eq(*c),
                company_tags::tag_id.eq(tag),
            )
        })
        .collect();
    diesel::insert_into(company_tags::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes `tag` from `companies`.
pub async fn remove(tx: &mut TenantTx, companies: &[CompanyId], tag: TagId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::delete(company_tags::table)
        .filter(
            company_tags::tenant_id
                .eq(tenant)
                .and(company_tags::tag_id.eq(tag)),
        )
        .filter(company_tags::company_id.eq_any(companies))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The tags of each of `companies`, by name.
pub async fn of_companies(
    tx: &mut TenantTx,
    ids: &[CompanyId],
) -> AppResult<HashMap<CompanyId, Vec<(TagId, String)>>> {
    let tenant = tx.tenant();
    let rows: Vec<(CompanyId, TagId, String)> = company_tags::table
        .inner_join(
            tags::table.on(tags::tenant_id
                .eq(company_tags::tenant_id)
                .and(tags::id.eq(company_tags::tag_id))),
        )
        .filter(
            company_tags::tenant_id
                .eq(tenant)
                .and(company_tags::company_id.eq_any(ids)),
        )
        .order(tags::name.asc())
        .select((company_tags::company_id, tags::id, tags::name))
        .load(&mut **tx)
        .await?;
    let mut map: HashMap<CompanyId, Vec<(TagId, String)>> = HashMap::new();
    for (company, tag, name) in rows {
        map.entry(company).or_default().push((tag, name));
    }
    Ok(map)
}

/// The name of tag `id` if it is on a company the user can see: a tag only on hidden
/// records is as unknown as one that does not exist.
pub async fn visible_name(
    tx: &mut TenantTx,
    scope: &Scope,
    id: TagId,
) -> AppResult<Option<String>> {
    let tenant = tx.tenant();
    let visible = scope.company_ids(tenant);
    let tagged = company_tags::table
        .filter(company_tags::tenant_id.eq(tenant))
        .filter(company_tags::tag_id.eq(id))
        .filter(company_tags::company_id.eq_any(visible));
    Ok(tags::table
        .filter(tags::tenant_id.eq(tenant))
        .filter(tags::id.eq(id))
        .filter(diesel::dsl::exists(tagged))
        .select(tags::name)
        .first(&mut **tx)
        .await
        .optional()?)
}

/// The tags on companies the user can see, each with how many of those carry it: a tag
/// only on records hidden from the user is not shown, not even its name.
pub async fn counts(tx: &mut TenantTx, scope: &Scope) -> AppResult<Vec<(TagId, String, i64)>> {
    let tenant = tx.tenant();
    let all: Vec<(TagId, String)> = tags::table
        .filter(tags::tenant_id.eq(tenant))
        .order(tags::name.asc())
        .select((tags::id, tags::name))
        .load(&mut **tx)
        .await?;
    let visible = scope.company_ids(tenant);
    let counted: HashMap<TagId, i64> = company_tags::table
        .filter(company_tags::tenant_id.eq(tenant))
        .filter(company_tags::company_id.eq_any(visible))
        .group_by(company_tags::tag_id)
        .select((company_tags::tag_id, diesel::dsl::count_star()))
        .load::<(TagId, i64)>(&mut **tx)
        .await?
        .into_iter()
        .collect();
    Ok(all
        .into_iter()
        .filter_map(|(id, name)| counted.get(&id).map(|&n| (id, name, n)))
        .collect())
}
