//! Runs one export: claims the row, counts the view, reads it page by page as the user
//! who asked, writes the file on a blocking thread (rows arrive over a bounded channel, so
//! memory stays flat however large the export), stores it and records the outcome.
//!
//! A page travels to the writer as [`Rows`]: every cell's text in one buffer, so a page of
//! 2,000 rows costs a handful of allocations instead of one per cell. An xlsx worksheet
//! holds 1,048,575 data rows; longer exports continue on a second (third…) worksheet with
//! the header row repeated.

use std::{
    collections::HashMap, fmt::Write as _, io::Write, path::Path, sync::Arc, time::Duration,
};

use anyhow::Context;
use chrono::format::{Item, StrftimeItems};
use diesel::{dsl::count_star, pg::Pg, prelude::*, sql_types::Bool, sql_types::Text};
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use serde_json::Value;

use super::Export;
use crate::{
    contacts::model as contacts,
    custom_fields::{self as cf, Entity, Field},
    customers::{
        list::{CUSTOMERS, main_contacts},
        model::{self as companies, escape_like, term_grams},
    },
    db::{DbPool, TenantTx},
    files::{FileKey, FileStore},
    i18n::Locale,
    ids::{CategoryId, CompanyId, ContactId, TenantId, UserId},
    jobs::RunExport,
    listing::{
        self, ListSpec, Row, SortKey, Sources,
        filter::ListFilter,
        query::{self, Cursor},
        sql::Sql,
    },
    money,
    opportunities::list::{self as opportunity_list, OPPORTUNITIES},
    schema::{
        company_tags, contacts as contact_table, tags as tag_table, tenants, users as user_table,
    },
    tags::model as tags,
    users::model as users,
    visibility::{Scope, View},
};

/// Rows read per query (and per progress update).
const PAGE: i64 = 2000;

/// Pages buffered between the reader and the writer.
const CHANNEL_PAGES: usize = 2;

/// Data rows one xlsx worksheet holds: 1,048,576 rows less the header.
pub const SHEET_ROWS: u32 = 1_048_575;

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
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
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

/// A page of rows on its way to the writer: the text of every cell, row after row, in
/// one buffer, and where each cell ends.
#[derive(Debug)]
pub struct Rows {
    text: String,
    ends: Vec<usize>,
    width: usize,
}

impl Rows {
    /// An empty page of rows `width` cells wide, with room for about `rows` rows.
    pub fn new(width: usize, rows: usize) -> Self {
        Self {
            text: String::with_capacity(rows * width * 12),
            ends: Vec::with_capacity(rows * width),
            width: width.max(1),
        }
    }

    /// Appends a cell (rows fill left to right, then the next row starts).
    pub fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.end_cell();
    }

    /// Ends the cell whose text was written straight into `self.text`.
    fn end_cell(&mut self) {
        self.ends.push(self.text.len());
    }

    /// Complete rows.
    pub fn len(&self) -> usize {
        self.ends.len() / self.width
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cells of row `row`.
    pub fn row(&self, row: usize) -> impl Iterator<Item = &str> {
        let first = row * self.width;
        (first..first + self.width).map(move |i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.text[start..self.ends[i]]
        })
    }
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
    // The requester's time zone (their own, else the tenant's), as their pages use: the
    // view's date conditions, the dates in the cells and the file name's date.
    let (tenant_zone, own_zone): (String, Option<String>) = tenants::table
        .inner_join(user_table::table)
        .filter(tenants::id.eq(tenant))
        .filter(user_table::id.eq(user.id))
        .select((tenants::time_zone, user_table::time_zone))
        .first(&mut *tx)
        .await?;
    let time_zone = own_zone.unwrap_or(tenant_zone);
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let entity = match export.entity.as_str() {
        "contact" => Entity::Contact,
        "opportunity" => Entity::Opportunity,
        _ => Entity::Company,
    };
    let fields = cf::of_entity(tx.reads(), entity).await?;
    // The view's conditions, compiled once as the list page compiles them.
    let conditions = match list_of(&export.entity) {
        Some(spec) => {
            let filter = ListFilter::from_query(spec, &export.query);
            let conditions =
                listing::compiled(&mut tx, spec, &scope, &filter, user.id, &time_zone, locale)
                    .await?;
            Some((spec, filter, conditions))
        }
        None => None,
    };
    let context = Arc::new(Context_ {
        locale,
        tz,
        people: users::list(&mut tx)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect(),
        categories: companies::categories(&mut tx).await?,
        sources: if entity == Entity::Opportunity {
            let mut sources = Sources::default();
            sources.fetch(&mut tx, opportunity_list::STAGES).await?;
            sources.fetch(&mut tx, opportunity_list::CATEGORIES).await?;
            sources
        } else {
            Sources::default()
        },
        fields,
    });
    tx.commit().await?;

    let path = std::env::temp_dir().join(format!(
        "kehu-export-{}.{}",
        uuid::Uuid::new_v4(),
        export.format
    ));
    let (headers, sheet) = match entity {
        Entity::Company => (company_headers(&context), locale.t("exports.sheet_company")),
        Entity::Contact => (contact_headers(&context), locale.t("exports.sheet_contact")),
        Entity::Opportunity => (
            opportunity_headers(&context),
            locale.t("exports.sheet_opportunity"),
        ),
    };
    let kinds = column_kinds(
        match entity {
            Entity::Company => &COMPANY_COLUMNS[..],
            Entity::Contact => &CONTACT_COLUMNS[..],
            Entity::Opportunity => &OPPORTUNITY_COLUMNS[..],
        },
        &context.fields,
    );
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Rows>(CHANNEL_PAGES);
    let writer = {
        let path = path.clone();
        let format = export.format.clone();
        tokio::task::spawn_blocking(move || {
            let pages = std::iter::from_fn(|| receiver.blocking_recv());
            if format == "csv" {
                write_csv(&path, &headers, &kinds, pages)
            } else {
                write_xlsx(&path, &sheet, (&headers, &kinds), pages, SHEET_ROWS)
            }
        })
    };
    // The total is counted alongside the first pages (its own transaction), so it costs
    // no wall time; a failed count only leaves the total unknown.
    let count = async {
        let counted = match &conditions {
            Some((spec, _, conditions)) => count_view(db, tenant, spec, conditions.clone()).await,
            None => count_contacts(db, tenant, export, &scope, &context).await,
        };
        let stored = async {
            let total = counted?;
            let mut tx = TenantTx::begin(db, tenant).await?;
            super::set_total(&mut tx, export.id, total).await?;
            tx.commit().await?;
            anyhow::Ok(())
        };
        if let Err(err) = stored.await {
            tracing::warn!(export = %export.id, error = %format!("{err:#}"), "could not count the export's rows");
        }
    };
    let read = async {
        if entity == Entity::Contact {
            return read_contacts(db, tenant, export, &scope, &context, sender).await;
        }
        let (_, filter, conditions) = conditions.clone().context("the view's conditions")?;
        let view = (&filter, conditions);
        match entity {
            Entity::Opportunity => {
                read_opportunities(db, tenant, export.id, view, &context, sender).await
            }
            _ => read_companies(db, tenant, export.id, view, &context, sender).await,
        }
    };
    let ((), read) = tokio::join!(count, read);
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
    people: Vec<(UserId, String)>,
    categories: Vec<(CategoryId, String)>,
    /// Stages and categories of opportunities.
    sources: Sources,
    fields: Vec<Field>,
}

/// The list an export's entity is a view of (contacts have their own simple list).
pub fn list_of(entity: &str) -> Option<&'static ListSpec> {
    match entity {
        "company" => Some(&CUSTOMERS),
        "opportunity" => Some(&OPPORTUNITIES),
        _ => None,
    }
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

/// Opportunity columns: (locale key) then the custom fields.
const OPPORTUNITY_COLUMNS: [&str; 11] = [
    "opportunities.name",
    "opportunities.company",
    "opportunities.amount",
    "opportunities.status",
    "opportunities.stage",
    "opportunities.category",
    "opportunities.expected_close",
    "opportunities.owner",
    "opportunities.visibility",
    "opportunities.created_at",
    "opportunities.closed_at",
];

/// What a column's cells are: the xlsx writer stores numbers and dates as such (so a
/// spreadsheet can sum and sort them), and the CSV writer leaves numbers as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CellKind {
    /// Text (also a cell of another kind whose text does not parse as one).
    #[default]
    Text,
    /// A number, as `12.5` or `-3`.
    Number,
    /// A date, as `2026-11-23`.
    Date,
}

impl CellKind {
    /// The kind of a custom field's cells.
    pub fn of(kind: cf::Kind) -> Self {
        match kind {
            cf::Kind::Number => Self::Number,
            cf::Kind::Date => Self::Date,
            cf::Kind::Text | cf::Kind::Select | cf::Kind::MultiSelect => Self::Text,
        }
    }
}

/// The kinds of an export's columns: the built-in columns (by locale key) are text but
/// for the expected close date, then each custom field by its kind.
fn column_kinds(builtin: &[&str], fields: &[Field]) -> Vec<CellKind> {
    builtin
        .iter()
        .map(|key| match *key {
            "opportunities.expected_close" => CellKind::Date,
            _ => CellKind::Text,
        })
        .chain(fields.iter().map(|f| CellKind::of(f.kind)))
        .collect()
}

/// A number cell's value: finite numbers only.
fn number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date cell's value, for the years a spreadsheet's dates cover (1900–9999).
fn excel_date(cell: &str) -> Option<rust_xlsxwriter::ExcelDateTime> {
    use chrono::Datelike;
    let day = chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d").ok()?;
    let year = u16::try_from(day.year()).ok().filter(|y| *y >= 1900)?;
    rust_xlsxwriter::ExcelDateTime::from_ymd(year, day.month() as u8, day.day() as u8).ok()
}

fn opportunity_headers(c: &Context_) -> Vec<String> {
    OPPORTUNITY_COLUMNS
        .iter()
        .map(|k| c.locale.t(k))
        .chain(c.fields.iter().map(|f| f.label.clone()))
        .collect()
}

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

/// The `strftime` pattern of [`Locale::datetime`], parsed once for a whole export.
fn datetime_items(locale: Locale) -> Vec<Item<'static>> {
    let pattern = match locale {
        Locale::ZhCn => "%Y年%m月%d日 %H:%M",
        Locale::En => "%b %-d, %Y %H:%M",
    };
    StrftimeItems::new(pattern).collect()
}

/// Appends what [`cf::text_of`] returns for `value` (the field's entry in `custom`).
fn push_custom_text(out: &mut String, value: Option<&Value>) {
    fn plain(out: &mut String, v: &Value) {
        match v {
            Value::String(s) => out.push_str(s),
            Value::Null => {}
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }
    match value {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('、');
                }
                plain(out, item);
            }
        }
        Some(v) => plain(out, v),
        None => {}
    }
}

async fn normalised_term(db: &DbPool, tenant: TenantId, term: &str) -> anyhow::Result<String> {
    let mut tx = TenantTx::begin(db, tenant).await?;
    let q = companies::search_text(&mut tx, term).await?;
    tx.commit().await?;
    Ok(q)
}

/// Rows in a list view: its conditions, without order or page.
async fn count_view(
    db: &DbPool,
    tenant: TenantId,
    spec: &ListSpec,
    conditions: Vec<Sql>,
) -> anyhow::Result<i64> {
    let mut tx = TenantTx::begin(db, tenant).await?;
    let n = query::count_exact(&mut tx, spec, conditions).await?;
    tx.commit().await?;
    Ok(n)
}

/// What a page of rows is read with besides the rows (the companies' tags and main
/// contacts), in the page's transaction.
type Extras<R, E> = for<'a> fn(&'a mut TenantTx, &'a [R]) -> BoxFuture<'a, anyhow::Result<E>>;

/// The reading task (its result is the number of rows read) and the pages it sends.
type Fetching<R, E> = (
    tokio::task::JoinHandle<anyhow::Result<i64>>,
    tokio::sync::mpsc::Receiver<(Vec<R>, E)>,
);

/// A page of companies' tags and main contacts, by company.
type CompanyExtras = (HashMap<CompanyId, String>, HashMap<CompanyId, String>);

/// Reads a list view page by page on its own task, one page ahead of the caller (which
/// makes the rows into text), recording the progress; returns the task (its result is
/// the number of rows read) and the pages with their extras.
fn fetch_pages<R: Row, E: Send + 'static>(
    db: &DbPool,
    tenant: TenantId,
    id: crate::ids::ExportId,
    spec: &'static ListSpec,
    sort: (SortKey, bool),
    conditions: Vec<Sql>,
    extras: Extras<R, E>,
) -> Fetching<R, E> {
    let (pages_in, pages) = tokio::sync::mpsc::channel::<(Vec<R>, E)>(1);
    let db = db.clone();
    let fetcher = tokio::spawn(async move {
        let mut after: Option<Cursor> = None;
        let mut rows = 0i64;
        loop {
            let mut tx = TenantTx::begin(&db, tenant).await?;
            let mut keyed =
                query::rows::<R>(&mut tx, spec, conditions.clone(), sort, after.take(), PAGE)
                    .await?;
            after = keyed.last().map(|k| k.cursor(sort.0));
            let page: Vec<R> = keyed.drain(..).map(|k| k.row).collect();
            let extra = extras(&mut tx, &page).await?;
            rows += page.len() as i64;
            super::progress(&mut tx, id, rows).await?;
            tx.commit().await?;
            if page.is_empty() {
                break;
            }
            let full = page.len() as i64 == PAGE;
            if pages_in.send((page, extra)).await.is_err() || !full {
                break;
            }
        }
        anyhow::Ok(rows)
    });
    (fetcher, pages)
}

fn company_extras<'a>(
    tx: &'a mut TenantTx,
    page: &'a [companies::Company],
) -> BoxFuture<'a, anyhow::Result<CompanyExtras>> {
    Box::pin(page_extras(tx, page))
}

/// Reads the view page by page on its own task, one page ahead of the rows being made
/// into text here, so the database's work, making the text and writing the file (on the
/// writer's thread) overlap.
async fn read_companies(
    db: &DbPool,
    tenant: TenantId,
    id: crate::ids::ExportId,
    (filter, conditions): (&ListFilter, Vec<Sql>),
    c: &Arc<Context_>,
    sender: tokio::sync::mpsc::Sender<Rows>,
) -> anyhow::Result<i64> {
    let sort = (listing::sort_key(&CUSTOMERS, &filter.sort), filter.asc);
    let (fetcher, mut pages) =
        fetch_pages(db, tenant, id, &CUSTOMERS, sort, conditions, company_extras);
    let people: HashMap<UserId, &str> = c.people.iter().map(|(id, n)| (*id, n.as_str())).collect();
    let categories: HashMap<CategoryId, &str> = c
        .categories
        .iter()
        .map(|(id, n)| (*id, n.as_str()))
        .collect();
    let keys: Vec<String> = c.fields.iter().map(Field::key).collect();
    let (public, private) = (
        c.locale.t("visibility.public"),
        c.locale.t("visibility.private"),
    );
    let when = datetime_items(c.locale);
    let width = COMPANY_COLUMNS.len() + c.fields.len();
    while let Some((page, (row_tags, mains))) = pages.recv().await {
        let mut out = Rows::new(width, page.len());
        for co in &page {
            out.push(&co.name);
            out.push(mains.get(&co.id).map_or("", String::as_str));
            out.push(&co.phone);
            out.push(&co.email);
            out.push(&co.website);
            out.push(&co.address);
            out.push(&co.introduction);
            out.push(
                co.category_id
                    .and_then(|id| categories.get(&id).copied())
                    .unwrap_or_default(),
            );
            out.push(people.get(&co.owner_id).copied().unwrap_or_default());
            match co.visibility.as_str() {
                "public" => out.push(&public),
                "private" => out.push(&private),
                other => out.push(&c.locale.t(&format!("visibility.{other}"))),
            }
            out.push(row_tags.get(&co.id).map_or("", String::as_str));
            let _ = write!(
                out.text,
                "{}",
                co.created_at
                    .with_timezone(&c.tz)
                    .format_with_items(when.iter())
            );
            out.end_cell();
            for key in &keys {
                push_custom_text(&mut out.text, co.custom.get(key));
                out.end_cell();
            }
        }
        if sender.send(out).await.is_err() {
            fetcher.abort();
            anyhow::bail!("the export writer stopped");
        }
    }
    fetcher.await.context("the export reader panicked")?
}

/// Reads an opportunity view as [`read_companies`] reads a customer view.
async fn read_opportunities(
    db: &DbPool,
    tenant: TenantId,
    id: crate::ids::ExportId,
    (filter, conditions): (&ListFilter, Vec<Sql>),
    c: &Arc<Context_>,
    sender: tokio::sync::mpsc::Sender<Rows>,
) -> anyhow::Result<i64> {
    fn no_extras<'a>(
        _: &'a mut TenantTx,
        _: &'a [opportunity_list::Listed],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    let sort = (listing::sort_key(&OPPORTUNITIES, &filter.sort), filter.asc);
    let (fetcher, mut pages) =
        fetch_pages(db, tenant, id, &OPPORTUNITIES, sort, conditions, no_extras);
    let people: HashMap<UserId, &str> = c.people.iter().map(|(id, n)| (*id, n.as_str())).collect();
    let keys: Vec<String> = c.fields.iter().map(Field::key).collect();
    let when = datetime_items(c.locale);
    let width = OPPORTUNITY_COLUMNS.len() + c.fields.len();
    let time = |out: &mut Rows, at: Option<chrono::DateTime<chrono::Utc>>| {
        if let Some(at) = at {
            let _ = write!(
                out.text,
                "{}",
                at.with_timezone(&c.tz).format_with_items(when.iter())
            );
        }
        out.end_cell();
    };
    while let Some((page, ())) = pages.recv().await {
        let mut out = Rows::new(width, page.len());
        for o in &page {
            out.push(&o.name);
            out.push(o.company_name.as_deref().unwrap_or_default());
            out.push(&money::format(c.locale, o.amount, &o.currency));
            out.push(&c.locale.t(&format!("opportunities.status_{}", o.status)));
            out.push(c.sources.name(opportunity_list::STAGES, o.stage_id));
            out.push(
                o.category_id
                    .map_or("", |id| c.sources.name(opportunity_list::CATEGORIES, id)),
            );
            out.push(&o.expected_close.map(|d| d.to_string()).unwrap_or_default());
            out.push(people.get(&UserId(o.owner_id)).copied().unwrap_or_default());
            out.push(&c.locale.t(&format!("visibility.{}", o.visibility)));
            time(&mut out, Some(o.created_at));
            time(&mut out, o.closed_at);
            for key in &keys {
                push_custom_text(&mut out.text, o.custom.get(key));
                out.end_cell();
            }
        }
        if sender.send(out).await.is_err() {
            fetcher.abort();
            anyhow::bail!("the export writer stopped");
        }
    }
    fetcher.await.context("the export reader panicked")?
}

/// The tags (names in name order, joined by "、", as the list shows them) and the main
/// contact (see `customers::list::main_contacts`) of a page's companies.
///
/// In creation order, the default, a page is a run of ids with few gaps, and the two are
/// read by id range: one index range scan each instead of one index probe per company
/// (2,000 probes a page), which halves the database's work per page. Rows of companies in
/// the range that are not on the page (not visible, or filtered out) are read and dropped
/// here; they never reach the file. Sparse pages (other orders, narrow filters) use the
/// id list.
async fn page_extras(
    tx: &mut TenantTx,
    page: &[companies::Company],
) -> anyhow::Result<(HashMap<CompanyId, String>, HashMap<CompanyId, String>)> {
    let ids: Vec<CompanyId> = page.iter().map(|co| co.id).collect();
    let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok((HashMap::new(), HashMap::new()));
    };
    let (lo, hi) = (*lo, *hi);
    if hi.0 - lo.0 + 1 > 2 * ids.len() as i64 {
        let tags = tags::of_companies(tx, &ids)
            .await?
            .into_iter()
            .map(|(id, names)| {
                let names: Vec<&str> = names.iter().map(|(_, n)| n.as_str()).collect();
                (id, names.join("、"))
            })
            .collect();
        return Ok((tags, main_contacts(tx, &ids).await?));
    }
    let tenant = tx.tenant();
    let rows: Vec<(CompanyId, String)> = company_tags::table
        .inner_join(
            tag_table::table.on(tag_table::tenant_id
                .eq(company_tags::tenant_id)
                .and(tag_table::id.eq(company_tags::tag_id))),
        )
        .filter(company_tags::tenant_id.eq(tenant))
        .filter(company_tags::company_id.between(lo, hi))
        .order(tag_table::name.asc())
        .select((company_tags::company_id, tag_table::name))
        .load(&mut **tx)
        .await?;
    let mut tags: HashMap<CompanyId, String> = HashMap::with_capacity(ids.len());
    for (company, name) in rows {
        let joined = tags.entry(company).or_default();
        if !joined.is_empty() {
            joined.push('、');
        }
        joined.push_str(&name);
    }
    let rows: Vec<(CompanyId, String, String, String)> = contact_table::table
        .filter(contact_table::tenant_id.eq(tenant))
        .filter(contact_table::company_id.between(lo, hi))
        .distinct_on(contact_table::company_id)
        .order((contact_table::company_id, contact_table::id))
        .select((
            contact_table::company_id,
            contact_table::name,
            contact_table::mobile,
            contact_table::phone,
        ))
        .load(&mut **tx)
        .await?;
    let mains = rows
        .into_iter()
        .map(|(company, mut name, mobile, phone)| {
            // As `main_contacts`: the name, then the mobile or else the phone.
            let reach = if mobile.is_empty() { phone } else { mobile };
            if !reach.is_empty() {
                name.push(' ');
                name.push_str(&reach);
            }
            (company, name)
        })
        .collect();
    Ok((tags, mains))
}

/// The contact list's query string: name search, and a custom field's value.
fn contact_query(export: &Export, c: &Context_) -> (String, Option<contacts::CustomMatch>) {
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
    (q.trim().to_owned(), custom)
}

/// Contacts in the view. The conditions are those of `contacts::model::list`: keep the
/// two in step.
async fn count_contacts(
    db: &DbPool,
    tenant: TenantId,
    export: &Export,
    scope: &Scope,
    c: &Context_,
) -> anyhow::Result<i64> {
    use crate::custom_fields::Kind;
    let (q, custom) = contact_query(export, c);
    let term = normalised_term(db, tenant, &q).await?;
    let mut tx = TenantTx::begin(db, tenant).await?;
    let visible = scope.company_ids(tenant);
    let mut query = contact_table::table
        .filter(contact_table::tenant_id.eq(tenant))
        .filter(contact_table::company_id.eq_any(visible))
        .select(count_star())
        .into_boxed::<Pg>();
    if let Some(m) = &custom {
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
    if !term.is_empty() {
        let pattern = format!("%{}%", escape_like(&term));
        query = query
            .filter(contact_table::name_grams.contains(term_grams(&term)))
            .filter(
                diesel::dsl::sql::<Bool>("kehu_search_text(contacts.name) LIKE ")
                    .bind::<Text, _>(pattern),
            );
    }
    let n: i64 = query.get_result(&mut *tx).await?;
    tx.commit().await?;
    Ok(n)
}

async fn read_contacts(
    db: &DbPool,
    tenant: TenantId,
    export: &Export,
    scope: &Scope,
    c: &Context_,
    sender: tokio::sync::mpsc::Sender<Rows>,
) -> anyhow::Result<i64> {
    let (q, custom) = contact_query(export, c);
    let keys: Vec<String> = c.fields.iter().map(Field::key).collect();
    let width = CONTACT_COLUMNS.len() + c.fields.len();
    let mut before: Option<ContactId> = None;
    let mut rows = 0i64;
    loop {
        let mut tx = TenantTx::begin(db, tenant).await?;
        let page = contacts::list(&mut tx, scope, &q, custom.as_ref(), before, PAGE).await?;
        rows += page.len() as i64;
        super::progress(&mut tx, export.id, rows).await?;
        tx.commit().await?;
        let Some((last, _)) = page.last() else { break };
        before = Some(last.id);
        let full = page.len() as i64 == PAGE;
        let mut out = Rows::new(width, page.len());
        for (p, company) in &page {
            for cell in [
                &p.name,
                company,
                &p.title,
                &p.phone,
                &p.mobile,
                &p.email,
                &p.qq,
                &p.wechat,
                &p.other_im,
                &p.weibo,
            ] {
                out.push(cell);
            }
            for key in &keys {
                push_custom_text(&mut out.text, p.custom.get(key));
                out.end_cell();
            }
        }
        if sender.send(out).await.is_err() {
            anyhow::bail!("the export writer stopped");
        }
        if !full {
            break;
        }
    }
    Ok(rows)
}

/// Writes a CSV file (UTF-8 with a BOM, so that Excel reads Chinese text) of `headers`
/// and the rows of `pages`, every cell neutralised but the numbers of number columns
/// (`kinds`; a column without one is text): `-3` is a number, not a formula.
pub fn write_csv(
    path: &Path,
    headers: &[String],
    kinds: &[CellKind],
    pages: impl Iterator<Item = Rows>,
) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
    out.write_all("\u{feff}".as_bytes())?;
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(headers)?;
    for page in pages {
        for r in 0..page.len() {
            for (col, cell) in page.row(r).enumerate() {
                let kind = kinds.get(col).copied().unwrap_or_default();
                if kind == CellKind::Number && number(cell).is_some() {
                    csv.write_field(cell.as_bytes())?;
                } else {
                    csv.write_field(neutralise(cell).as_bytes())?;
                }
            }
            csv.write_record(None::<&[u8]>)?;
        }
    }
    csv.flush()?;
    Ok(())
}

/// Writes an xlsx workbook (rust_xlsxwriter, constant-memory mode) of `headers` and the
/// rows of `pages`. Cells of number and date columns (`kinds`; a column without one is
/// text) are numbers and dates (`yyyy-mm-dd`) when their text parses as one; every other
/// cell is text, neutralised. A worksheet holds `sheet_rows` data rows under the bold
/// header row ([`SHEET_ROWS`] in production); the rows after that go on "`sheet` (2)",
/// "`sheet` (3)"… each with the header row again.
pub fn write_xlsx(
    path: &Path,
    sheet: &str,
    (headers, kinds): (&[String], &[CellKind]),
    pages: impl Iterator<Item = Rows>,
    sheet_rows: u32,
) -> anyhow::Result<()> {
    let sheet_rows = sheet_rows.clamp(1, SHEET_ROWS);
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let mut sheets = 0usize;
    let mut add_sheet = |workbook: &mut rust_xlsxwriter::Workbook| -> anyhow::Result<usize> {
        sheets += 1;
        let name = if sheets == 1 {
            sheet.to_owned()
        } else {
            format!("{sheet} ({sheets})")
        };
        let ws = workbook.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        for (col, header) in headers.iter().enumerate() {
            ws.write_string_with_format(0, col as u16, header, &bold)?;
            // Wide enough for the date, which a spreadsheet would otherwise show as ####.
            if kinds.get(col) == Some(&CellKind::Date) {
                ws.set_column_width(col as u16, 12)?;
            }
        }
        Ok(sheets - 1)
    };
    let mut index = add_sheet(&mut workbook)?;
    // The next row to write on the current sheet (0 is the header).
    let mut row_no: u32 = 1;
    for page in pages {
        let mut ws = workbook.worksheet_from_index(index)?;
        for r in 0..page.len() {
            if row_no > sheet_rows {
                index = add_sheet(&mut workbook)?;
                ws = workbook.worksheet_from_index(index)?;
                row_no = 1;
            }
            for (col, cell) in page.row(r).enumerate() {
                if cell.is_empty() {
                    continue;
                }
                let (c, kind) = (col as u16, kinds.get(col).copied().unwrap_or_default());
                if kind == CellKind::Number
                    && let Some(n) = number(cell)
                {
                    ws.write_number(row_no, c, n)?;
                } else if kind == CellKind::Date
                    && let Some(day) = excel_date(cell)
                {
                    ws.write_datetime_with_format(row_no, c, day, &date)?;
                } else {
                    ws.write_string(row_no, c, neutralise(cell).as_ref())?;
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
    use super::{Rows, datetime_items, file_name, neutralise, push_custom_text};
    use crate::{custom_fields as cf, i18n::Locale};

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

    #[test]
    fn rows_keep_cells_apart() {
        let mut rows = Rows::new(3, 2);
        for cell in ["北京", "", "a", "=1", "b", ""] {
            rows.push(cell);
        }
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.row(0).collect::<Vec<_>>(), ["北京", "", "a"]);
        assert_eq!(rows.row(1).collect::<Vec<_>>(), ["=1", "b", ""]);
    }

    #[test]
    fn fast_cells_match_the_list_page_text() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-04T22:05:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let tz = chrono_tz::Asia::Shanghai;
        for locale in [Locale::ZhCn, Locale::En] {
            let items = datetime_items(locale);
            assert_eq!(
                at.with_timezone(&tz)
                    .format_with_items(items.iter())
                    .to_string(),
                locale.datetime(at, tz)
            );
        }
        let field = cf::Field {
            id: crate::ids::FieldId(7),
            entity: cf::Entity::Company,
            label: "x".into(),
            kind: cf::Kind::Text,
            options: vec![],
            required: false,
        };
        for custom in [
            serde_json::json!({"7": "北京"}),
            serde_json::json!({"7": ["甲", "乙", 3]}),
            serde_json::json!({"7": 12.5}),
            serde_json::json!({"7": 3}),
            serde_json::json!({"7": null}),
            serde_json::json!({"7": true}),
            serde_json::json!({"8": "x"}),
        ] {
            let mut out = String::new();
            push_custom_text(&mut out, custom.get(field.key()));
            assert_eq!(out, cf::text_of(&field, &custom), "{custom}");
        }
    }
}
