//! Companies: queries and writes. Reads go through a [`Scope`] so nobody sees what they
//! may not; every function filters on the transaction's tenant explicitly.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::sql,
    prelude::*,
    sql_types::{BigInt, Bool, Text, Timestamptz},
};
use diesel_async::RunQueryDsl;

use crate::{
    customers::{
        filter::Sort,
        visibility::{CompanyFilter, Scope},
    },
    db::TenantTx,
    error::AppResult,
    files::DeletedFiles,
    ids::{CategoryId, CompanyId, UserId},
    schema::{companies, customer_categories},
};

/// A company as pages show it.
#[derive(Clone, Debug, Queryable, Selectable)]
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

/// Normalises a search term the way `kehu_search_text` normalises names, in SQL so both
/// sides agree.
pub async fn search_text(tx: &mut TenantTx, term: &str) -> AppResult<String> {
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = Text)]
        t: String,
    }
    let row: T = diesel::sql_query("SELECT kehu_search_text($1) AS t")
        .bind::<Text, _>(term)
        .get_result(&mut **tx)
        .await?;
    Ok(row.t)
}

/// The grams a term must contain: itself when one character long, else its bigrams.
pub fn term_grams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    match chars.len() {
        0 => vec![],
        1 => vec![text.to_owned()],
        _ => chars.windows(2).map(|w| w.iter().collect()).collect(),
    }
}

/// Where a keyset page starts: the last row of the previous page.
#[derive(Clone, Debug, PartialEq)]
pub enum Cursor {
    /// Creation order.
    Id(CompanyId),
    /// Name order.
    Name(String, CompanyId),
    /// A timestamp order (last edit or last activity).
    Time(DateTime<Utc>, CompanyId),
}

impl Cursor {
    /// The cursor after `c` in `sort` order.
    pub fn after(c: &Company, sort: Sort) -> Self {
        match sort {
            Sort::Created => Self::Id(c.id),
            Sort::Name => Self::Name(c.name.clone(), c.id),
            Sort::Updated => Self::Time(c.updated_at, c.id),
            Sort::Activity => Self::Time(c.last_activity_at, c.id),
        }
    }

    /// The URL form: `<id>` or `<id>~<value>`.
    pub fn encode(&self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Name(name, id) => format!("{id}~{name}"),
            Self::Time(at, id) => format!("{id}~{}", at.to_rfc3339()),
        }
    }

    /// Parses the URL form for `sort`; anything malformed means "first page".
    pub fn decode(raw: &str, sort: Sort) -> Option<Self> {
        let (id, value) = match raw.split_once('~') {
            Some((id, value)) => (id.trim().parse().ok().map(CompanyId)?, Some(value)),
            None => (raw.trim().parse().ok().map(CompanyId)?, None),
        };
        match (sort, value) {
            (Sort::Created, _) => Some(Self::Id(id)),
            (Sort::Name, Some(name)) => Some(Self::Name(name.to_owned(), id)),
            (Sort::Updated | Sort::Activity, Some(at)) => DateTime::parse_from_rfc3339(at)
                .ok()
                .map(|at| Self::Time(at.with_timezone(&Utc), id)),
            _ => None,
        }
    }
}

/// One page of the company list.
pub struct ListQuery {
    /// Conditions besides visibility (see `customers::filter`).
    pub filters: Vec<CompanyFilter>,
    /// Order.
    pub sort: Sort,
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
                crate::customers::filter::name_contains(&term)
            },
            sort: Sort::Created,
            asc: false,
            after: None,
            limit,
        })
    }
}

/// Visible companies matching the query, one keyset page.
pub async fn list(tx: &mut TenantTx, scope: &Scope, q: ListQuery) -> AppResult<Vec<Company>> {
    let tenant = tx.tenant();
    let mut query = companies::table
        .filter(companies::tenant_id.eq(tenant))
        .filter(scope.companies())
        .select(Company::as_select())
        .limit(q.limit)
        .into_boxed();
    for f in q.filters {
        query = query.filter(f);
    }
    let cmp = if q.asc { ">" } else { "<" };
    if let Some(after) = q.after {
        query = match after {
            Cursor::Id(id) => {
                query.filter(sql::<Bool>(&format!("companies.id {cmp} ")).bind::<BigInt, _>(id))
            }
            Cursor::Name(name, id) => query.filter(
                sql::<Bool>(&format!("(companies.name, companies.id) {cmp} ("))
                    .bind::<Text, _>(name)
                    .sql(", ")
                    .bind::<BigInt, _>(id)
                    .sql(")"),
            ),
            Cursor::Time(at, id) => {
                let column = if q.sort == Sort::Updated {
                    "companies.updated_at"
                } else {
                    "companies.last_activity_at"
                };
                query.filter(
                    sql::<Bool>(&format!("({column}, companies.id) {cmp} ("))
                        .bind::<Timestamptz, _>(at)
                        .sql(", ")
                        .bind::<BigInt, _>(id)
                        .sql(")"),
                )
            }
        };
    }
    query = match (q.sort, q.asc) {
        (Sort::Created, false) => query.order(companies::id.desc()),
        (Sort::Created, true) => query.order(companies::id.asc()),
        (Sort::Name, false) => query.order((companies::name.desc(), companies::id.desc())),
        (Sort::Name, true) => query.order((companies::name.asc(), companies::id.asc())),
        (Sort::Updated, false) => query.order((companies::updated_at.desc(), companies::id.desc())),
        (Sort::Updated, true) => query.order((companies::updated_at.asc(), companies::id.asc())),
        (Sort::Activity, false) => {
            query.order((companies::last_activity_at.desc(), companies::id.desc()))
        }
        (Sort::Activity, true) => {
            query.order((companies::last_activity_at.asc(), companies::id.asc()))
        }
    };
    Ok(query.load(&mut **tx).await?)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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
/// tags, notes and their attachment rows). Returns the company's stored files, to be
/// removed once the transaction has committed.
pub async fn delete(tx: &mut TenantTx, id: CompanyId) -> AppResult<DeletedFiles> {
    let tenant = tx.tenant();
    // Lock the company before collecting its files: a note being added concurrently has
    // either committed already (its files are collected) or fails on its foreign key.
    companies::table
        .filter(companies::tenant_id.eq(tenant).and(companies::id.eq(id)))
        .select(companies::id)
        .for_update()
        .first::<CompanyId>(&mut **tx)
        .await
        .optional()?;
    let files = crate::notes::model::company_files(tx, id).await?;
    diesel::delete(companies::table)
        .filter(companies::tenant_id.eq(tenant).and(companies::id.eq(id)))
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

#[cfg(test)]
mod tests {
    use super::{escape_like, term_grams};

    #[test]
    fn one_character_terms_use_their_unigram_and_longer_ones_their_bigrams() {
        assert_eq!(term_grams("京"), vec!["京"]);
        assert_eq!(term_grams("北京"), vec!["北京"]);
        assert_eq!(term_grams("北京市"), vec!["北京", "京市"]);
        assert!(term_grams("").is_empty());
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
