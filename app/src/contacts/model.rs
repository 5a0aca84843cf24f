//! Contacts: queries and writes, always through the company's visibility scope.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Bool, Text},
};
use diesel_async::RunQueryDsl;

use crate::{
    customers::{
        model::{Company, escape_like, term_grams},
        visibility::Scope,
    },
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, ContactId, UserId},
    schema::{companies, contacts},
};

/// A contact as pages show it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// The company.
    pub company_id: CompanyId,
    /// Name.
    pub name: String,
    /// 职位.
    pub title: String,
    /// Phone.
    pub phone: String,
    /// Mobile.
    pub mobile: String,
    /// Email.
    pub email: String,
    /// QQ.
    pub qq: String,
    /// WeChat.
    pub wechat: String,
    /// Other chat handles.
    pub other_im: String,
    /// 微博.
    pub weibo: String,
    /// Custom field values by field id.
    pub custom: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// The editable fields of a contact.
#[derive(Clone, Debug)]
pub struct ContactFields {
    /// The company.
    pub company_id: CompanyId,
    /// Name.
    pub name: String,
    /// 职位.
    pub title: String,
    /// Phone.
    pub phone: String,
    /// Mobile.
    pub mobile: String,
    /// Email.
    pub email: String,
    /// QQ.
    pub qq: String,
    /// WeChat.
    pub wechat: String,
    /// Other chat handles.
    pub other_im: String,
    /// 微博.
    pub weibo: String,
    /// Custom field values, checked by `custom_fields::validate`.
    pub custom: serde_json::Value,
}

/// A condition on one custom field of contacts: text contains the value, a multi-select
/// holds it, anything else equals it.
pub struct CustomMatch {
    /// The field.
    pub field: crate::custom_fields::Field,
    /// The value looked for.
    pub value: String,
}

/// Visible contacts, newest first, one keyset page, with their company's name.
pub async fn list(
    tx: &mut TenantTx,
    scope: &Scope,
    name_contains: &str,
    custom: Option<&CustomMatch>,
    before: Option<ContactId>,
    limit: i64,
) -> AppResult<Vec<(Contact, String)>> {
    let tenant = tx.tenant();
    // A contact is visible when its company is: a semi-join on the visible companies.
    let visible = scope.company_ids(tenant);
    let mut query = contacts::table
        .filter(contacts::tenant_id.eq(tenant))
        .filter(contacts::company_id.eq_any(visible))
        .select(Contact::as_select())
        .order(contacts::id.desc())
        .limit(limit)
        .into_boxed::<diesel::pg::Pg>();
    if let Some(before) = before {
        query = query.filter(contacts::id.lt(before));
    }
    if let Some(m) = custom {
        use crate::custom_fields::Kind;
        // The key is the field's numeric id, never user text.
        let key = m.field.id.0;
        let value = m.value.trim().to_owned();
        query = match m.field.kind {
            Kind::Text => query.filter(
                diesel::dsl::sql::<Bool>(&format!("lower(contacts.custom->>'{key}') LIKE "))
                    .bind::<Text, _>(format!("%{}%", escape_like(&value.to_lowercase()))),
            ),
            Kind::MultiSelect => query.filter(
                diesel::dsl::sql::<Bool>(&format!("(contacts.custom->'{key}') ? "))
                    .bind::<Text, _>(value),
            ),
            Kind::Number | Kind::Date | Kind::Select => query.filter(
                diesel::dsl::sql::<Bool>(&format!("(contacts.custom->>'{key}') = "))
                    .bind::<Text, _>(value),
            ),
        };
    }
    let term = crate::customers::model::search_text(tx, name_contains).await?;
    if !term.is_empty() {
        let pattern = format!("%{}%", escape_like(&term));
        query = query
            .filter(contacts::name_grams.contains(term_grams(&term)))
            .filter(
                diesel::dsl::sql::<Bool>("kehu_search_text(contacts.name) LIKE ")
                    .bind::<Text, _>(pattern),
            );
    }
    let rows: Vec<Contact> = query.load(&mut **tx).await?;
    let ids: Vec<CompanyId> = rows.iter().map(|c| c.company_id).collect();
    let names: HashMap<CompanyId, String> = companies::table
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::id.eq_any(ids)),
        )
        .select((companies::id, companies::name))
        .load::<(CompanyId, String)>(&mut **tx)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|c| {
            let name = names.get(&c.company_id).cloned().unwrap_or_default();
            (c, name)
        })
        .collect())
}

/// A visible contact with its company, or `NotFound` (also when its company is not visible).
pub async fn find(
    tx: &mut TenantTx,
    scope: &Scope,
    id: ContactId,
) -> AppResult<(Contact, Company)> {
    let tenant = tx.tenant();
    let contact: Contact = contacts::table
        .filter(contacts::tenant_id.eq(tenant).and(contacts::id.eq(id)))
        .select(Contact::as_select())
        .first(&mut **tx)
        .await?;
    let company = crate::customers::model::find(tx, scope, contact.company_id).await?;
    Ok((contact, company))
}

/// The contacts of a company the caller already found visible, by name.
pub async fn of_company(tx: &mut TenantTx, company: CompanyId) -> AppResult<Vec<Contact>> {
    let tenant = tx.tenant();
    Ok(contacts::table
        .filter(
            contacts::tenant_id
                .eq(tenant)
                .and(contacts::company_id.eq(company)),
        )
        .order((contacts::name.asc(), contacts::id.asc()))
        .select(Contact::as_select())
        .load(&mut **tx)
        .await?)
}

/// Inserts a contact.
pub async fn create(
    tx: &mut TenantTx,
    f: &ContactFields,
    created_by: UserId,
) -> AppResult<ContactId> {
    let tenant = tx.tenant();
    Ok(diesel::insert_into(contacts::table)
        .values((
            contacts::tenant_id.eq(tenant),
            contacts::company_id.eq(f.company_id),
            contacts::name.eq(&f.name),
            contacts::title.eq(&f.title),
            contacts::phone.eq(&f.phone),
            contacts::mobile.eq(&f.mobile),
            contacts::email.eq(&f.email),
            contacts::qq.eq(&f.qq),
            contacts::wechat.eq(&f.wechat),
            contacts::other_im.eq(&f.other_im),
            contacts::weibo.eq(&f.weibo),
            contacts::custom.eq(&f.custom),
            contacts::created_by.eq(created_by),
        ))
        .returning(contacts::id)
        .get_result(&mut **tx)
        .await?)
}

/// Updates a contact.
pub async fn update(tx: &mut TenantTx, id: ContactId, f: &ContactFields) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(contacts::table)
        .filter(contacts::tenant_id.eq(tenant).and(contacts::id.eq(id)))
        .set((
            contacts::company_id.eq(f.company_id),
            contacts::name.eq(&f.name),
            contacts::title.eq(&f.title),
            contacts::phone.eq(&f.phone),
            contacts::mobile.eq(&f.mobile),
            contacts::email.eq(&f.email),
            contacts::qq.eq(&f.qq),
            contacts::wechat.eq(&f.wechat),
            contacts::other_im.eq(&f.other_im),
            contacts::weibo.eq(&f.weibo),
            contacts::custom.eq(&f.custom),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes a contact.
pub async fn delete(tx: &mut TenantTx, id: ContactId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::delete(contacts::table)
        .filter(contacts::tenant_id.eq(tenant).and(contacts::id.eq(id)))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
