//! Companies: queries and writes. Reads go through a [`Scope`] so nobody sees what they
//! may not; every function filters on the transaction's tenant explicitly.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, Bool, Text},
};
use diesel_async::RunQueryDsl;

use crate::{
    customers::visibility::Scope,
    db::TenantTx,
    error::AppResult,
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
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
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

/// One page of the company list.
pub struct ListQuery<'a> {
    /// "Name contains" term; empty for none.
    pub name_contains: &'a str,
    /// Keyset cursor: only companies with a smaller id.
    pub before: Option<CompanyId>,
    /// Only companies with this tag.
    pub tag: Option<crate::ids::TagId>,
    /// Page size.
    pub limit: i64,
}

/// Visible companies, newest first, one keyset page.
pub async fn list(tx: &mut TenantTx, scope: &Scope, q: ListQuery<'_>) -> AppResult<Vec<Company>> {
    let tenant = tx.tenant();
    let mut query = companies::table
        .filter(companies::tenant_id.eq(tenant))
        .filter(scope.companies())
        .select(Company::as_select())
        .order(companies::id.desc())
        .limit(q.limit)
        .into_boxed();
    if let Some(before) = q.before {
        query = query.filter(companies::id.lt(before));
    }
    if let Some(tag) = q.tag {
        use crate::schema::company_tags;
        query = query.filter(
            companies::id.eq_any(
                company_tags::table
                    .filter(
                        company_tags::tenant_id
                            .eq(tenant)
                            .and(company_tags::tag_id.eq(tag)),
                    )
                    .select(company_tags::company_id),
            ),
        );
    }
    let term = search_text(tx, q.name_contains).await?;
    if !term.is_empty() {
        let grams = term_grams(&term);
        if term.chars().count() <= 2 {
            // Exact: a name contains a 1- or 2-character term iff its grams include it.
            // The planner walks the newest rows until it has a page (fast for common
            // terms such as 北京).
            query = query.filter(companies::name_grams.contains(grams));
        } else {
            // The gram index through kehu_company_name_matches (migration
            // 000015_search_perf: under RLS the planner cannot use `@>` on an index).
            let pattern = format!("%{}%", escape_like(&term));
            query = query.filter(
                diesel::dsl::sql::<Bool>("companies.id IN (SELECT kehu_company_name_matches(")
                    .bind::<Array<Text>, _>(grams)
                    .sql(", ")
                    .bind::<Text, _>(pattern)
                    .sql("))"),
            );
        }
    }
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
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes a company (and, through the cascades later issues add, everything under it).
pub async fn delete(tx: &mut TenantTx, id: CompanyId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::delete(companies::table)
        .filter(companies::tenant_id.eq(tenant).and(companies::id.eq(id)))
        .execute(&mut **tx)
        .await?;
    Ok(())
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
