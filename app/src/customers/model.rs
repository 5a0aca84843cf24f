//! Companies: queries and writes. Reads go through a [`Scope`] so nobody sees what they
//! may not; every function filters on the transaction's tenant explicitly.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, sql_types::Text};
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    files::DeletedFiles,
    ids::{CategoryId, CompanyId, UserId},
    listing::{
        Row,
        query::{self, Cursor},
        sql::Sql,
    },
    schema::{companies, customer_categories},
    visibility::Scope,
};

/// A company as pages show it.
#[derive(Clone, Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = companies)]
pub struct Company {
    /// Id.
    pub id: CompanyId,
    /// Name as entered.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Email.
    pub email: String,
    /// Website.
    pub website: String,
    /// Address.
    pub address: String,
    /// 简介.
    pub introduction: String,
    /// 客户分类.
    pub category_id: Option<CategoryId>,
    /// The employee responsible for it.
    pub owner_id: UserId,
    /// `public` or `private`.
    pub visibility: String,
    /// Custom field values by field id (see `custom_fields`).
    pub custom: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Last activity (edits, notes, contacts, tags).
    pub last_activity_at: DateTime<Utc>,
}

/// The columns of [`Company`], as the list machinery selects them.
pub const COLUMNS: &str = "companies.id, companies.name, companies.phone, companies.email, \
    companies.website, companies.address, companies.introduction, companies.category_id, \
    companies.owner_id, companies.visibility, companies.custom, companies.created_at, \
    companies.updated_at, companies.last_activity_at";

impl Row for Company {
    fn id(&self) -> i64 {
        self.id.0
    }

    fn label(&self) -> &str {
        &self.name
    }

    fn custom(&self) -> &serde_json::Value {
        &self.custom
    }
}

/// The editable fields of a company.
#[derive(Clone, Debug)]
pub struct CompanyFields {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// Email.
    pub email: String,
    /// Website.
    pub website: String,
    /// Address.
    pub address: String,
    /// 简介.
    pub introduction: String,
    /// 客户分类.
    pub category_id: Option<CategoryId>,
    /// Owner.
    pub owner_id: UserId,
    /// `public` or `private`.
    pub visibility: &'static str,
    /// Custom field values, checked by `custom_fields::validate`.
    pub custom: serde_json::Value,
}

pub use crate::listing::text::{escape_like, term_grams};

/// Normalises a search term the way `kehu_search_text` normalises names, in SQL so both
/// sides agree.
pub async fn search_text(tx: &mut TenantTx, term: &str) -> AppResult<String> {
    crate::listing::text::normalise(tx, term).await
}

/// The name-contains conditions for an already normalised term.
///
/// A term of 1 or 2 characters is exactly "the name's grams include it", so the grams
/// filter alone decides, and the planner walks the newest rows until it has a page. A
/// longer term goes through `kehu_company_name_matches` (migration 000015): under forced
/// RLS the planner cannot use `@>` as an index condition (it is not leakproof), so the
/// function runs the indexed gram search for the transaction's tenant only, with the
/// LIKE recheck of the order.
pub fn name_contains(term: &str) -> Vec<Sql> {
    let grams = term_grams(term);
    if term.chars().count() <= 2 {
        return vec![Sql::new("companies.name_grams @> ").texts(grams)];
    }
    let pattern = format!("%{}%", escape_like(term));
    vec![
        Sql::new("companies.id IN (SELECT kehu_company_name_matches(")
            .texts(grams)
            .sql(", ")
            .text(pattern)
            .sql("))"),
    ]
}

/// A page of companies outside the list page (autocomplete, benchmarks).
pub struct ListQuery {
    /// Conditions besides visibility.
    pub filters: Vec<Sql>,
    /// The sort column of the customer list.
    pub sort: &'static str,
    /// Ascending.
    pub asc: bool,
    /// Keyset cursor: the page starts after this row.
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: i64,
}

impl ListQuery {
    /// The first page in creation order, newest first, of companies whose name contains
    /// `term` (empty: all).
    pub async fn search(tx: &mut TenantTx, term: &str, limit: i64) -> AppResult<Self> {
        let term = search_text(tx, term).await?;
        Ok(Self {
            filters: if term.is_empty() {
                vec![]
            } else {
                name_contains(&term)
            },
            sort: "created",
            asc: false,
            after: None,
            limit,
        })
    }
}

/// Visible companies matching the query, one keyset page (the customer list's query).
pub async fn list(tx: &mut TenantTx, scope: &Scope, q: ListQuery) -> AppResult<Vec<Company>> {
    let spec = &crate::customers::list::CUSTOMERS;
    let mut conditions = vec![scope.owned(spec.table)];
    conditions.extend(q.filters);
    let sort = crate::listing::sort_key(spec, q.sort);
    let rows =
        query::rows::<Company>(tx, spec, conditions, (sort, q.asc), q.after, q.limit).await?;
    Ok(rows.into_iter().map(|k| k.row).collect())
}

/// A visible company, or `NotFound` (also when it exists but is not visible).
pub async fn find(tx: &mut TenantTx, scope: &Scope, id: CompanyId) -> AppResult<Company> {
    let tenant = tx.tenant();
    Ok(companies::table
        .filter(companies::tenant_id.eq(tenant).and(companies::id.eq(id)))
        .filter(scope.companies())
        .select(Company::as_select())
        .first(&mut **tx)
        .await?)
}

/// Companies whose name has the same duplicate key as `name`, visible or not, oldest first.
pub async fn same_name(tx: &mut TenantTx, name: &str) -> AppResult<Vec<(CompanyId, bool, UserId)>> {
    let tenant = tx.tenant();
    let rows: Vec<(CompanyId, String, UserId)> = companies::table
        .filter(companies::tenant_id.eq(tenant))
        .filter(
            companies::name_key.eq(diesel::dsl::sql::<Text>("kehu_company_key(")
                .bind::<Text, _>(name.to_owned())
                .sql(")")),
        )
        .select((companies::id, companies::visibility, companies::owner_id))
        .order(companies::id.asc())
        .limit(5)
        .load(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, vis, owner)| (id, vis == "public", owner))
        .collect())
}

/// The visible company a typed name means: the exact name first, then the oldest with the
/// same duplicate key.
pub async fn resolve_by_name(
    tx: &mut TenantTx,
    scope: &Scope,
    name: &str,
) -> AppResult<Option<CompanyId>> {
    let tenant = tx.tenant();
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let exact: Option<CompanyId> = companies::table
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::name.eq(name)),
        )
        .filter(scope.companies())
        .select(companies::id)
        .order(companies::id.asc())
        .first(&mut **tx)
        .await
        .optional()?;
    if exact.is_some() {
        return Ok(exact);
    }
    Ok(companies::table
        .filter(companies::tenant_id.eq(tenant))
        .filter(
            companies::name_key.eq(diesel::dsl::sql::<Text>("kehu_company_key(")
                .bind::<Text, _>(name.to_owned())
                .sql(")")),
        )
        .filter(scope.companies())
        .select(companies::id)
        .order(companies::id.asc())
        .first(&mut **tx)
        .await
        .optional()?)
}

/// Serialises creating and renaming companies with the same duplicate key for the rest
/// of the transaction, so two requests cannot both find "no duplicate" and both insert.
pub async fn lock_name(tx: &mut TenantTx, name: &str) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext(kehu_company_key($2)))")
        .bind::<diesel::sql_types::Integer, _>((tenant.0 % i64::from(i32::MAX)) as i32)
        .bind::<Text, _>(name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts a company.
pub async fn create(
    tx: &mut TenantTx,
    fields: &CompanyFields,
    created_by: UserId,
) -> AppResult<CompanyId> {
    let tenant = tx.tenant();
    Ok(diesel::insert_into(companies::table)
        .values((
            companies::tenant_id.eq(tenant),
            companies::name.eq(&fields.name),
            companies::phone.eq(&fields.phone),
            companies::email.eq(&fields.email),
            companies::website.eq(&fields.website),
            companies::address.eq(&fields.address),
            companies::introduction.eq(&fields.introduction),
            companies::category_id.eq(fields.category_id),
            companies::owner_id.eq(fields.owner_id),
            companies::visibility.eq(fields.visibility),
            companies::custom.eq(&fields.custom),
            companies::created_by.eq(created_by),
        ))
        .returning(companies::id)
        .get_result(&mut **tx)
        .await?)
}

/// Updates a company's fields.
pub async fn update(tx: &mut TenantTx, id: CompanyId, fields: &CompanyFields) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(companies::table)
        .filter(companies::tenant_id.eq(tenant).and(companies::id.eq(id)))
        .set((
            companies::name.eq(&fields.name),
            companies::phone.eq(&fields.phone),
            companies::email.eq(&fields.email),
            companies::website.eq(&fields.website),
            companies::address.eq(&fields.address),
            companies::introduction.eq(&fields.introduction),
            companies::category_id.eq(fields.category_id),
            companies::owner_id.eq(fields.owner_id),
            companies::visibility.eq(fields.visibility),
            companies::custom.eq(&fields.custom),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes a company and, through the foreign-key cascades, everything under it (contacts,
/// tags, notes and their attachment rows, opportunities). Returns the company's stored
/// files, to be removed once the transaction has committed.
pub async fn delete(tx: &mut TenantTx, id: CompanyId) -> AppResult<DeletedFiles> {
    delete_many(tx, &[id]).await
}

/// Deletes companies as [`delete`] deletes one (the bulk delete).
pub async fn delete_many(tx: &mut TenantTx, ids: &[CompanyId]) -> AppResult<DeletedFiles> {
    let tenant = tx.tenant();
    // Lock the companies before collecting their files: a note being added concurrently
    // has either committed already (its files are collected) or fails on its foreign key.
    companies::table
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::id.eq_any(ids)),
        )
        .select(companies::id)
        .order(companies::id)
        .for_update()
        .load::<CompanyId>(&mut **tx)
        .await?;
    let files = crate::notes::model::companies_files(tx, ids).await?;
    diesel::delete(companies::table)
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::id.eq_any(ids)),
        )
        .execute(&mut **tx)
        .await?;
    Ok(files)
}

/// The tenant's customer categories, in their order.
pub async fn categories(tx: &mut TenantTx) -> AppResult<Vec<(CategoryId, String)>> {
    let tenant = tx.tenant();
    Ok(customer_categories::table
        .filter(customer_categories::tenant_id.eq(tenant))
        .order((
            customer_categories::position.asc(),
            customer_categories::id.asc(),
        ))
        .select((customer_categories::id, customer_categories::name))
        .load(&mut **tx)
        .await?)
}
