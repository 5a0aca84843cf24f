//! Runs one export: claims the row, reads the view page by page as the user who asked,
//! writes the file on a blocking thread (rows arrive over a bounded channel, so memory
//! stays flat however large the export), stores it and records the outcome.

use std::{collections::HashMap, io::Write, path::PathBuf, time::Duration};

use anyhow::Context;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Export;
use crate::{
    contacts::model as contacts,
    custom_fields::{self as cf, Entity, Field},
    customers::{
        filter::{self, ListFilter, Lookups},
        list::main_contacts,
        model::{self as companies, Cursor, ListQuery},
        visibility::{Scope, View},
    },
    db::{DbPool, TenantTx},
    files::{FileKey, FileStore},
    i18n::Locale,
    ids::{CategoryId, ContactId, TagId, TenantId, UserId},
    jobs::RunExport,
    schema::tenants,
    tags::model as tags,
    users::model as users,
};

/// Rows read per query (and per progress update).
const PAGE: i64 = 2000;

/// The apalis job body: claim, produce, record. `Ok` once the outcome is recorded.
pub async fn run(
    db: &DbPool,
    files: &FileStore,
    lease: Duration,
    job: &RunExport,
) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(db, job.tenant_id).await?;
    let claimed = super::claim(&mut tx, job.export_id, lease).await?;
    tx.commit().await?;
    let Some(export) = claimed else {
        return Ok(());
    };
    let outcome = produce(db, files, job.tenant_id, &export).await;
    let mut tx = TenantTx::begin(db, job.tenant_id).await?;
    match outcome {
        Ok((rows, key, name, size)) => {
            super::finish(&mut tx, export.id, rows, key.as_str(), &name, size).await?;
        }
        Err(err) => {
            tracing::warn!(?job, error = %format!("{err:#}"), "export failed");
            super::fail(&mut tx, &export, &format!("{err:#}")).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A cell that a spreadsheet would read as a formula gets a leading apostrophe
/// (formula injection, DESIGN.md §4).
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The download name: safe characters only, with the date.
pub fn file_name(locale: Locale, entity: &str, format: &str, today: chrono::NaiveDate) -> String {
    let what = locale.t(&format!("exports.file_{entity}"));
    let safe: String = what
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("{safe}-{today}.{format}")
}

type Produced = (i64, FileKey, String, i64);

async fn produce(
    db: &DbPool,
    files: &FileStore,
    tenant: TenantId,
    export: &Export,
) -> anyhow::Result<Produced> {
    let locale = Locale::from_code(&export.locale).unwrap_or_default();
    let mut tx = TenantTx::begin(db, tenant).await?;
    let user = users::find(&mut tx, export.requested_by).await?;
    let scope =
        Scope::of_user(&mut tx, user.id, user.role, View::parse(Some(&export.view))).await?;
    let time_zone: String = tenants::table
        .filter(tenants::id.eq(tenant))
        .select(tenants::time_zone)
        .first(&mut *tx)
        .await?;
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let entity = if export.entity == "contact" {
        Entity::Contact
    } else {
        Entity::Company
    };
    let fields = cf::of_entity(&mut tx, entity).await?;
    let context = Context_ {
        locale,
        tz,
        time_zone,
        user: user.id,
        people: users::list(&mut tx)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect(),
        categories: companies::categories(&mut tx).await?,
        tags: tags::all(&mut tx).await?,
        fields,
    };
    tx.commit().await?;

    let path = std::env::temp_dir().join(format!(
        "kehu-export-{}.{}",
        uuid::Uuid::new_v4(),
        export.format
    ));
    let headers = match entity {
        Entity::Company => company_headers(&context),
        Entity::Contact => contact_headers(&context),
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<Vec<String>>>(4);
    let writer = {
        let path = path.clone();
        let format = export.format.clone();
        tokio::task::spawn_blocking(move || write_file(&format, &path, &headers, receiver))
    };
    let read = match entity {
        Entity::Company => read_companies(db, tenant, export, &scope, &context, sender).await,
        Entity::Contact => read_contacts(db, tenant, export, &scope, &context, sender).await,
    };
    let written = writer.await.context("the export writer panicked")?;
    let result = async {
        let rows = read?;
        written?;
        let key = FileKey::generate(tenant, "exports");
        let size = files.put_file(&key, &path).await? as i64;
        let name = file_name(
            locale,
            &export.entity,
            &export.format,
            chrono::Utc::now().with_timezone(&tz).date_naive(),
        );
        anyhow::Ok((rows, key, name, size))
    }
    .await;
    let _ = tokio::fs::remove_file(&path).await;
    result
}

/// What the rows are rendered with.
#[allow(non_camel_case_types)]
struct Context_ {
    locale: Locale,
    tz: chrono_tz::Tz,
    time_zone: String,
    user: UserId,
    people: Vec<(UserId, String)>,
    categories: Vec<(CategoryId, String)>,
    tags: Vec<(TagId, String)>,
    fields: Vec<Field>,
}

/// Company columns: (locale key) then the custom fields.
const COMPANY_COLUMNS: [&str; 12] = [
    "company.name",
    "customers.main_contact",
    "company.phone",
    "field.email",
    "company.website",
    "company.address",
    "company.introduction",
    "company.category",
    "company.owner",
    "company.visibility",
    "tags.title",
    "company.created_at",
];

/// Contact columns: (locale key) then the custom fields.
const CONTACT_COLUMNS: [&str; 10] = [
    "field.name",
    "contact.company",
    "contact.title",
    "company.phone",
    "contact.mobile",
    "field.email",
    "contact.qq",
    "contact.wechat",
    "contact.other_im",
    "contact.weibo",
];

fn company_headers(c: &Context_) -> Vec<String> {
    COMPANY_COLUMNS
        .iter()
        .map(|k| c.locale.t(k))
        .chain(c.fields.iter().map(|f| f.label.clone()))
        .collect()
}

fn contact_headers(c: &Context_) -> Vec<String> {
    CONTACT_COLUMNS
        .iter()
        .map(|k| c.locale.t(k))
        .chain(c.fields.iter().map(|f| f.label.clone()))
        .collect()
}

async fn read_companies(
    db: &DbPool,
    tenant: TenantId,
    export: &Export,
    scope: &Scope,
    c: &Context_,
    sender: tokio::sync::mpsc::Sender<Vec<Vec<String>>>,
) -> anyhow::Result<i64> {
    let filter = ListFilter::from_query(&export.query);
    let q = {
        let mut tx = TenantTx::begin(db, tenant).await?;
        let q = companies::search_text(&mut tx, &filter.q).await?;
        tx.commit().await?;
        q
    };
    let people: HashMap<UserId, &str> = c.people.iter().map(|(id, n)| (*id, n.as_str())).collect();
    let categories: HashMap<CategoryId, &str> = c
        .categories
        .iter()
        .map(|(id, n)| (*id, n.as_str()))
        .collect();
    let mut after: Option<Cursor> = None;
    let mut rows = 0i64;
    loop {
        let mut tx = TenantTx::begin(db, tenant).await?;
        let look = Lookups {
            me: c.user,
            time_zone: &c.time_zone,
            categories: &c.categories,
            people: &c.people,
            tags: &c.tags,
            fields: &c.fields,
            visibility_names: [
                ("public", c.locale.t("visibility.public")),
                ("private", c.locale.t("visibility.private")),
            ],
        };
        let (filters, _) = filter::compile(&filter, &q, &look);
        let page = companies::list(
            &mut tx,
            scope,
            ListQuery {
                filters,
                sort: filter.sort,
                asc: filter.asc,
                after: after.clone(),
                limit: PAGE,
            },
        )
        .await?;
        let ids: Vec<_> = page.iter().map(|co| co.id).collect();
        let row_tags = tags::of_companies(&mut tx, &ids).await?;
        let mains = main_contacts(&mut tx, &ids).await?;
        rows += page.len() as i64;
        super::progress(&mut tx, export.id, rows).await?;
        tx.commit().await?;
        let Some(last) = page.last() else { break };
        after = Some(Cursor::after(last, filter.sort));
        let full = page.len() as i64 == PAGE;
        let cells: Vec<Vec<String>> = page
            .iter()
            .map(|co| {
                let mut row = vec![
                    co.name.clone(),
                    mains.get(&co.id).cloned().unwrap_or_default(),
                    co.phone.clone(),
                    co.email.clone(),
                    co.website.clone(),
                    co.address.clone(),
                    co.introduction.clone(),
                    co.category_id
                        .and_then(|id| categories.get(&id).copied())
                        .unwrap_or_default()
                        .to_owned(),
                    people
                        .get(&co.owner_id)
                        .copied()
                        .unwrap_or_default()
                        .to_owned(),
                    c.locale.t(&format!("visibility.{}", co.visibility)),
                    row_tags
                        .get(&co.id)
                        .map(|t| {
                            t.iter()
                                .map(|(_, n)| n.as_str())
                                .collect::<Vec<_>>()
                                .join("、")
                        })
                        .unwrap_or_default(),
                    c.locale.datetime(co.created_at, c.tz),
                ];
                row.extend(c.fields.iter().map(|f| cf::text_of(f, &co.custom)));
                row
            })
            .collect();
        if sender.send(cells).await.is_err() {
            anyhow::bail!("the export writer stopped");
        }
        if !full {
            break;
        }
    }
    Ok(rows)
}

async fn read_contacts(
    db: &DbPool,
    tenant: TenantId,
    export: &Export,
    scope: &Scope,
    c: &Context_,
    sender: tokio::sync::mpsc::Sender<Vec<Vec<String>>>,
) -> anyhow::Result<i64> {
    let (mut q, mut field, mut value) = (String::new(), String::new(), String::new());
    for (k, v) in url::form_urlencoded::parse(export.query.as_bytes()) {
        match k.as_ref() {
            "q" => q = v.into_owned(),
            "cf" => field = v.into_owned(),
            "cv" => value = v.into_owned(),
            _ => {}
        }
    }
    let custom = c
        .fields
        .iter()
        .find(|f| f.input_name() == field)
        .filter(|_| !value.trim().is_empty())
        .map(|f| contacts::CustomMatch {
            field: f.clone(),
            value: value.clone(),
        });
    let mut before: Option<ContactId> = None;
    let mut rows = 0i64;
    loop {
        let mut tx = TenantTx::begin(db, tenant).await?;
        let page = contacts::list(&mut tx, scope, q.trim(), custom.as_ref(), before, PAGE).await?;
        rows += page.len() as i64;
        super::progress(&mut tx, export.id, rows).await?;
        tx.commit().await?;
        let Some((last, _)) = page.last() else { break };
        before = Some(last.id);
        let full = page.len() as i64 == PAGE;
        let cells: Vec<Vec<String>> = page
            .iter()
            .map(|(p, company)| {
                let mut row = vec![
                    p.name.clone(),
                    company.clone(),
                    p.title.clone(),
                    p.phone.clone(),
                    p.mobile.clone(),
                    p.email.clone(),
                    p.qq.clone(),
                    p.wechat.clone(),
                    p.other_im.clone(),
                    p.weibo.clone(),
                ];
                row.extend(c.fields.iter().map(|f| cf::text_of(f, &p.custom)));
                row
            })
            .collect();
        if sender.send(cells).await.is_err() {
            anyhow::bail!("the export writer stopped");
        }
        if !full {
            break;
        }
    }
    Ok(rows)
}

/// Writes the file from the pages arriving on `pages` (runs on a blocking thread).
fn write_file(
    format: &str,
    path: &PathBuf,
    headers: &[String],
    mut pages: tokio::sync::mpsc::Receiver<Vec<Vec<String>>>,
) -> anyhow::Result<()> {
    if format == "csv" {
        let file = std::fs::File::create(path)?;
        let mut out = std::io::BufWriter::new(file);
        // A BOM, so that Excel opens UTF-8 Chinese text correctly.
        out.write_all("\u{feff}".as_bytes())?;
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(headers)?;
        while let Some(page) = pages.blocking_recv() {
            for row in page {
                csv.write_record(row.iter().map(|cell| neutralise(cell).into_owned()))?;
            }
        }
        csv.flush()?;
        return Ok(());
    }
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, header, &bold)?;
    }
    let mut row_no: u32 = 1;
    while let Some(page) = pages.blocking_recv() {
        for row in page {
            if row_no >= 1_048_576 {
                anyhow::bail!("more rows than one xlsx sheet holds (1,048,575); export as CSV");
            }
            for (col, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    sheet.write_string(row_no, col as u16, neutralise(cell).as_ref())?;
                }
            }
            row_no += 1;
        }
    }
    workbook.save(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{file_name, neutralise};
    use crate::i18n::Locale;

    #[test]
    fn formulas_are_neutralised_and_names_are_safe() {
        for cell in ["=1+1", "+86 10", "-5", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(cell).starts_with('\''), "{cell:?}");
        }
        assert_eq!(neutralise("北京"), "北京");
        assert_eq!(neutralise(""), "");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        assert_eq!(
            file_name(Locale::En, "company", "xlsx", day),
            "Customers-2026-11-23.xlsx"
        );
        assert_eq!(
            file_name(Locale::ZhCn, "contact", "csv", day),
            "联系人导出-2026-11-23.csv"
        );
    }
}
