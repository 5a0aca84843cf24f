//! The list machinery every module's list page is built on (客户一览, 销售机会, and the
//! tasks, quotes and orders lists after them).
//!
//! A module declares its list in one [`ListSpec`]: its table, the fields one can search
//! ([`FieldDef`]: name, locale key, type, SQL expression, select options), its columns
//! ([`ColumnDef`], with their sort keys), its quick filters ([`QuickDef`]) and extra query
//! parameters, tabs and bulk actions. It then gets the rest from here:
//!
//! - [`filter`]: the view as a query string (`q`, `quick`, conditions `f1/o1/v1…`, `sort`,
//!   `dir`) and its compilation into SQL conditions, with problems reported, not fatal;
//! - [`query`]: keyset pages forward and backward in any sort order (pinyin order for
//!   names through an ICU collation on the sort key only), the row count capped at
//!   [`query::COUNT_CAP`], the ids of all matching rows for bulk actions;
//! - [`prefs`]: saved filters (快速过滤管理) and the column choice, both per user and per
//!   list;
//! - [`views`]: the page (toolbar, quick-filter panel, advanced search, table with sort
//!   links and pages, column chooser, bulk bar) and the condition-row fragment;
//! - [`bulk`]: what a bulk action acts on (the checked rows, this page, or everything that
//!   matches), its confirmation page and its flash message.
//!
//! Visibility is not decided here: every query goes through
//! [`Scope::owned`](crate::visibility::Scope::owned) on the list's table.

pub mod bulk;
pub mod filter;
pub mod prefs;
pub mod query;
pub mod routes;
pub mod sql;
pub mod text;
pub mod views;

use std::collections::HashMap;

use diesel::{QueryableByName, pg::Pg, sql_types::BigInt, sql_types::Text};

use crate::{
    custom_fields::{self as cf, Entity, Field},
    db::{Reads, TenantTx},
    error::AppResult,
    i18n::Locale,
    ids::UserId,
    listing::{
        filter::{FieldType, ListFilter, Op, Problem},
        query::{Count, Cursor},
        sql::Sql,
    },
    visibility::{Scope, View},
    web::{ctx::Ctx, layout::Module},
};

/// Rows per page.
pub const PAGE: i64 = 50;

/// A list as its module declares it.
pub struct ListSpec {
    /// The key of the list's saved filters and column choices (`customers`).
    pub key: &'static str,
    /// The list page (`/customers`); its helpers live under it (`/customers/filters`,
    /// `/customers/columns`, `/customers/condition`, `/customers/bulk`).
    pub path: &'static str,
    /// The left-menu module the pages belong to.
    pub module: Module,
    /// Locale key of the page title.
    pub title: &'static str,
    /// The table, as named in SQL (every row has `tenant_id`, `id`, `owner_id`,
    /// `visibility` and `custom`).
    pub table: &'static str,
    /// The select list that the row type reads by name.
    pub select: &'static str,
    /// The entity whose custom fields belong to the rows, if they have any (every row
    /// reads a `custom` column; `'{}'::jsonb` without).
    pub entity: Option<Entity>,
    /// Ids and names in the markup (tests and styles use them).
    pub dom: Dom,
    /// The search box: the conditions of "name contains" for a normalised term.
    pub name_search: fn(&str) -> Vec<Sql>,
    /// The searchable built-in fields, in the order the advanced search offers them.
    pub fields: &'static [FieldDef],
    /// The first column, always shown (the record's name, linking to it).
    pub name_column: ColumnDef,
    /// The optional columns, in display order.
    pub columns: &'static [ColumnDef],
    /// The columns shown until a user chooses.
    pub default_columns: &'static [&'static str],
    /// The sort key of an unsorted list (a column key).
    pub default_sort: &'static str,
    /// The built-in quick filters, in panel order.
    pub quick: &'static [QuickDef],
    /// Further query parameters the list understands (a tag, an amount…).
    pub params: &'static [ParamDef],
    /// Tabs over the list (跟踪中 / 已经成功 / 失败 / 全部), if any.
    pub tabs: Option<Tabs>,
    /// The bulk actions besides the module's own (tags).
    pub bulk: &'static [BulkDef],
    /// Locale keys of the list's texts.
    pub texts: Texts,
    /// The `exports.entity` of "export this view", if the list exports.
    pub export: Option<&'static str>,
}

/// Ids and names in a list's markup.
pub struct Dom {
    /// The search form's id and class (`customer-search`).
    pub search: &'static str,
    /// The table's id (`companies`).
    pub table: &'static str,
    /// Row ids are `<row>-<id>` (`company-7`).
    pub row: &'static str,
    /// The checkbox name of a selected row (`company_id`).
    pub id_field: &'static str,
}

/// Locale keys of a list's own texts.
pub struct Texts {
    /// The "new record" button.
    pub new: &'static str,
    /// Where the button goes.
    pub new_href: &'static str,
    /// The search box's placeholder.
    pub search: &'static str,
    /// An empty list.
    pub empty: &'static str,
    /// Nothing matches.
    pub no_match: &'static str,
    /// "%{count} 家客户": a number of rows.
    pub counted: &'static str,
    /// "客户": the rows, uncounted.
    pub noun: &'static str,
    /// The "all" quick filter.
    pub all: &'static str,
    /// 快速过滤管理 without saved filters.
    pub filters_empty: &'static str,
    /// The warning on the confirmation of a bulk delete.
    pub delete_warning: &'static str,
}

/// A searchable field.
pub struct FieldDef {
    /// The name in the query string.
    pub name: &'static str,
    /// Locale key of the label.
    pub label: &'static str,
    /// The type, which decides the operators.
    pub kind: FieldType,
    /// The SQL expression of the value (`companies.phone`).
    pub sql: &'static str,
    /// The value can be NULL ("is empty" is then `IS NULL`, else never true).
    pub nullable: bool,
    /// How a condition on it is compiled.
    pub how: How,
}

/// How a condition on a field becomes SQL.
pub enum How {
    /// Text operators on the expression (case-insensitive).
    Text,
    /// The record's name: the list's gram search, rechecked on the normalised name.
    Name,
    /// One of the options; the expression is the chosen value (an id or a code).
    Choice(Options),
    /// A timestamp, compared by the tenant's days.
    Day,
    /// A calendar date.
    Date,
    /// An amount in fen, typed in yuan.
    Money,
    /// The module compiles it.
    Special {
        /// The named rows its values resolve against.
        source: Option<Source>,
        /// The compiler (the operator fits the field's type; the value is trimmed and,
        /// unless the operator is unary, not empty).
        compile: SpecialCompiler,
    },
}

/// A module's compiler of a condition: its SQL, or the problem (made with the
/// condition's number).
pub type SpecialCompiler = fn(Op, &str, &Lookups<'_>) -> Result<Sql, fn(usize) -> Problem>;

/// Where a choice field's options come from.
#[derive(Clone, Copy)]
pub enum Options {
    /// Named rows of a table (categories, users, stages, tags).
    Source(Source),
    /// Fixed codes with locale keys (visibility, status).
    Fixed(&'static [(&'static str, &'static str)]),
}

/// Named rows of the tenant, for choices, cells and rank sorts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// A name for the loaded set.
    pub key: &'static str,
    /// `SELECT id, name … WHERE tenant_id = $1` in the order the options and the rank sort
    /// use.
    pub sql: &'static str,
}

/// A choice field: one of `options`, the value at `sql`.
pub const fn choice(
    name: &'static str,
    label: &'static str,
    sql: &'static str,
    nullable: bool,
    options: Options,
) -> FieldDef {
    FieldDef {
        name,
        label,
        kind: FieldType::Choice,
        sql,
        nullable,
        how: How::Choice(options),
    }
}

/// A column shown from `source` and sorted by the rank of its id there.
pub const fn ranked(
    key: &'static str,
    label: &'static str,
    sql: &'static str,
    source: Source,
    none: bool,
) -> ColumnDef {
    ColumnDef {
        key,
        label,
        sort: Some(SortKey::Rank { sql, source, none }),
        source: Some(source),
        class: None,
    }
}

/// The tenant's users in pinyin order.
pub const PEOPLE: Source = Source {
    key: "people",
    sql: "SELECT id, name FROM users WHERE tenant_id = $1 ORDER BY name COLLATE \"zh-x-icu\", id",
};

/// Users records can be given to (not the disabled ones), in pinyin order.
pub const ACTIVE_PEOPLE: Source = Source {
    key: "active_people",
    sql: "SELECT id, name FROM users WHERE tenant_id = $1 AND status <> 'disabled' \
          ORDER BY name COLLATE \"zh-x-icu\", id",
};

/// A column of the table.
pub struct ColumnDef {
    /// The key (`owner`; custom fields are `cf_<id>`).
    pub key: &'static str,
    /// Locale key of the header.
    pub label: &'static str,
    /// How it sorts, if it does.
    pub sort: Option<SortKey>,
    /// The named rows its cells show (loaded when the column is shown).
    pub source: Option<Source>,
    /// A class on its cells.
    pub class: Option<&'static str>,
}

/// How a column sorts. Every order ends with the id, so it is total and keyset pages
/// neither skip nor repeat rows.
#[derive(Clone, Copy)]
pub enum SortKey {
    /// Creation order: the id alone.
    Id,
    /// An SQL expression of the row; text keys carry their collation (`COLLATE
    /// "zh-x-icu"` for pinyin order), nullable ones a `coalesce`, so the index on the same
    /// expression serves the keyset.
    Expr {
        /// The expression.
        sql: &'static str,
        /// Its type, for the cursor.
        cast: Cast,
        /// Ascending unless the user flips it.
        asc: bool,
    },
    /// By the rank of an id column in a [`Source`]'s order (owners and categories by
    /// name in pinyin order, stages in pipeline order): each value's rows come from the
    /// index on (tenant_id, column, id), so a large tenant sorts as fast as by date.
    Rank {
        /// The id expression (`coalesce(companies.category_id, 0)`: 0 is "none").
        sql: &'static str,
        /// The order of the ids.
        source: Source,
        /// Rows without a value (id 0) exist and come first.
        none: bool,
    },
}

impl SortKey {
    /// The direction of a fresh sort by this key.
    pub fn default_asc(self) -> bool {
        match self {
            Self::Id => false,
            Self::Expr { asc, .. } => asc,
            Self::Rank { .. } => true,
        }
    }
}

/// The type of a sort expression, as the cursor carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cast {
    /// Text.
    Text,
    /// A timestamp.
    Time,
    /// A date (`infinity` for none).
    Date,
    /// A number.
    Int,
}

/// A built-in quick filter.
pub struct QuickDef {
    /// The `quick` value.
    pub key: &'static str,
    /// Locale key of the button.
    pub label: &'static str,
    /// The condition; `None` when it cannot apply (a missing amount).
    pub sql: fn(&QuickArgs<'_>) -> Option<Sql>,
    /// A value it takes from the query string, typed next to its button.
    pub input: Option<QuickInput>,
}

/// The value a quick filter takes (an amount).
pub struct QuickInput {
    /// The query parameter (declared in [`ListSpec::params`]).
    pub param: &'static str,
    /// Locale key of its label.
    pub label: &'static str,
}

/// What a quick filter is compiled with.
pub struct QuickArgs<'a> {
    /// The signed-in user.
    pub me: UserId,
    /// The tenant's time zone name.
    pub time_zone: &'a str,
    /// The whole view (for the parameters).
    pub filter: &'a ListFilter,
}

/// A further query parameter.
pub struct ParamDef {
    /// Its name.
    pub name: &'static str,
    /// Its canonical form, or `None` when malformed (then it is ignored).
    pub parse: fn(&str) -> Option<String>,
    /// Its condition, if it filters by itself.
    pub sql: Option<fn(&str) -> Sql>,
}

/// Tabs over a list, as a query parameter.
pub struct Tabs {
    /// The parameter.
    pub param: &'static str,
    /// The tab without the parameter.
    pub default: &'static str,
    /// (value, locale key, condition or `None` for all).
    pub tabs: &'static [(&'static str, &'static str, Option<&'static str>)],
}

/// A bulk action of the generic bar: a value to choose and a button.
pub struct BulkDef {
    /// The `action` value.
    pub action: &'static str,
    /// Locale key of the button.
    pub label: &'static str,
    /// What is chosen with it.
    pub choice: BulkChoice,
}

/// The value a bulk action sets.
#[derive(Clone, Copy)]
pub enum BulkChoice {
    /// A row of a source (a new owner, a category); `none` offers "no value".
    Source {
        /// The rows.
        source: Source,
        /// The form field.
        field: &'static str,
        /// Locale key of "no value", if allowed.
        none: Option<&'static str>,
    },
    /// A fixed code (visibility).
    Fixed {
        /// The codes and their locale keys.
        options: &'static [(&'static str, &'static str)],
        /// The form field.
        field: &'static str,
    },
    /// Nothing (delete).
    Nothing,
}

/// The bulk actions of a list of owned records: a new owner (one of `people`), a
/// category of `categories` (or none, labelled `no_category`), a visibility, deletion.
pub const fn owner_category_visibility_delete(
    people: Source,
    categories: Source,
    no_category: &'static str,
) -> [BulkDef; 4] {
    [
        BulkDef {
            action: "owner",
            label: "list.bulk_owner",
            choice: BulkChoice::Source {
                source: people,
                field: "owner_id",
                none: None,
            },
        },
        BulkDef {
            action: "category",
            label: "list.bulk_category",
            choice: BulkChoice::Source {
                source: categories,
                field: "category_id",
                none: Some(no_category),
            },
        },
        BulkDef {
            action: "visibility",
            label: "list.bulk_visibility",
            choice: BulkChoice::Fixed {
                options: VISIBILITY,
                field: "visibility",
            },
        },
        BulkDef {
            action: "delete",
            label: "list.bulk_delete",
            choice: BulkChoice::Nothing,
        },
    ]
}

/// The visibility codes and their labels.
pub const VISIBILITY: &[(&str, &str)] = &[
    ("private", "visibility.private"),
    ("public", "visibility.public"),
];

/// The named rows loaded for a page, by [`Source::key`].
#[derive(Debug, Default)]
pub struct Sources(HashMap<&'static str, Vec<(i64, String)>>);

impl Sources {
    /// Loads `source` unless it is loaded.
    pub async fn fetch(&mut self, tx: &mut TenantTx, source: Source) -> AppResult<()> {
        self.fetch_all(tx.reads(), [source]).await
    }

    /// Loads those of `sources` that are not loaded, pipelined.
    pub async fn fetch_all(
        &mut self,
        db: Reads<'_>,
        sources: impl IntoIterator<Item = Source>,
    ) -> AppResult<()> {
        use diesel_async::RunQueryDsl;
        #[derive(QueryableByName)]
        struct Named {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Text)]
            name: String,
        }
        let mut missing: Vec<Source> = Vec::new();
        for source in sources {
            if !self.0.contains_key(source.key) && !missing.iter().any(|m| m.key == source.key) {
                missing.push(source);
            }
        }
        let loads = missing.iter().map(|source| {
            diesel::sql_query(source.sql)
                .bind::<BigInt, _>(db.tenant())
                .load::<Named>(&mut db.conn())
        });
        let loaded = futures::future::try_join_all(loads).await?;
        for (source, rows) in missing.into_iter().zip(loaded) {
            self.0.insert(
                source.key,
                rows.into_iter().map(|r| (r.id, r.name)).collect(),
            );
        }
        Ok(())
    }

    /// The rows of a loaded source (empty when not loaded).
    pub fn rows(&self, source: Source) -> &[(i64, String)] {
        self.0.get(source.key).map_or(&[], Vec::as_slice)
    }

    /// The name of `id` in `source`, or "".
    pub fn name(&self, source: Source, id: i64) -> &str {
        self.rows(source)
            .iter()
            .find(|(i, _)| *i == id)
            .map_or("", |(_, n)| n.as_str())
    }
}

/// What names in condition values resolve against.
pub struct Lookups<'a> {
    /// The signed-in user (for "mine").
    pub me: UserId,
    /// The tenant's time zone name, for date conditions on timestamps.
    pub time_zone: &'a str,
    /// The user's language (fixed options match their labels too).
    pub locale: Locale,
    /// The loaded sources.
    pub sources: &'a Sources,
    /// The custom fields of the rows.
    pub fields: &'a [Field],
}

/// One loaded page of a list: everything the view needs besides the module's own extras.
pub struct Loaded<R> {
    /// The list.
    pub spec: &'static ListSpec,
    /// The view.
    pub filter: ListFilter,
    /// The admin's view.
    pub view: View,
    /// The scope it was read with.
    pub scope: Scope,
    /// The rows, in order.
    pub rows: Vec<R>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
    /// The cursor of the previous page, if there is one.
    pub prev: Option<String>,
    /// A page other than the first.
    pub paged: bool,
    /// How many rows match.
    pub count: Count,
    /// Conditions that were left out, and why.
    pub problems: Vec<Problem>,
    /// The user's saved filters of this list.
    pub saved: Vec<prefs::SavedFilter>,
    /// The shown optional columns.
    pub columns: Vec<String>,
    /// The custom fields of the rows.
    pub fields: Vec<Field>,
    /// The named rows the page shows.
    pub sources: Sources,
    /// Condition rows the advanced search was asked to show (添加条件 without JS).
    pub rows_wanted: usize,
    /// This page's query string (view, filters and cursor), to come back to.
    pub back: String,
}

/// A row of a list.
pub trait Row: QueryableByName<Pg> + Send + 'static {
    /// The id, for row ids, checkboxes and cursors.
    fn id(&self) -> i64;
    /// What the row is called (the checkbox's label).
    fn label(&self) -> &str;
    /// Its custom field values.
    fn custom(&self) -> &serde_json::Value;
}

/// Loads a page of `spec` for the raw query string of the request.
pub async fn load<R: Row>(
    tx: &mut TenantTx,
    ctx: &Ctx,
    spec: &'static ListSpec,
    raw: &str,
) -> AppResult<Loaded<R>> {
    let filter = ListFilter::from_query(spec, raw);
    let (mut view, mut before, mut prev, mut rows_wanted) = (None, String::new(), String::new(), 0);
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        match key.as_ref() {
            "view" => view = Some(value.into_owned()),
            "before" => before = value.into_owned(),
            "prev" => prev = value.into_owned(),
            "rows" => rows_wanted = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    let prev_raw = prev;
    let view = View::parse(view.as_deref());
    let scope = Scope::resolve(tx, ctx, view).await?;
    // The user's lists settings, then the names the page shows, each batch pipelined.
    let db = tx.reads();
    let (fields, saved, chosen) = futures::try_join!(
        fields_of(db, spec),
        prefs::usable(db, spec, ctx.user),
        prefs::columns(db, spec, ctx.user),
    )?;
    let columns: Vec<String> = chosen
        .unwrap_or_else(|| {
            spec.default_columns
                .iter()
                .map(|c| (*c).to_owned())
                .collect()
        })
        .into_iter()
        .filter(|c| column(spec, c).is_some() || fields.iter().any(|f| f.input_name() == *c))
        .collect();
    let sort = sort_key(spec, &filter.sort);

    let mut wanted: Vec<Source> = Vec::new();
    if ctx.is_admin() {
        wanted.push(PEOPLE);
    }
    wanted.extend(
        columns
            .iter()
            .filter_map(|c| column(spec, c).and_then(|c| c.source)),
    );
    if let SortKey::Rank { source, .. } = sort {
        wanted.push(source);
    }
    wanted.extend(spec.bulk.iter().filter_map(|b| match b.choice {
        BulkChoice::Source { source, .. } => Some(source),
        _ => None,
    }));
    wanted.extend(
        filter
            .conditions
            .iter()
            .filter_map(|c| field_source(spec, &c.field)),
    );
    let mut sources = Sources::default();
    sources.fetch_all(db, wanted).await?;

    let q = text::normalise(tx, &filter.q).await?;
    let look = Lookups {
        me: ctx.user,
        time_zone: ctx.time_zone.name(),
        locale: ctx.locale,
        sources: &sources,
        fields: &fields,
    };
    let (mut conditions, problems) = filter::compile(spec, &filter, &q, &look);
    conditions.insert(0, scope.owned(spec.table));

    let mut page = query::Page {
        spec,
        conditions: conditions.clone(),
        sort,
        asc: filter.asc,
        ranks: query::ranks(sort, &sources),
        cursor: None,
        backward: false,
        limit: PAGE + 1,
    };
    let mut loaded = None;
    if let Some(cursor) = Cursor::decode(&prev_raw, sort) {
        // Backwards from the first row of the page after: the rows before it, nearest
        // first. When fewer than a page are left, this is the first page: shown as such.
        page.cursor = Some(cursor);
        page.backward = true;
        let mut rows = query::page::<R>(tx, &page).await?;
        if rows.len() as i64 > PAGE {
            rows.truncate(PAGE as usize);
            rows.reverse();
            let first = rows.first().map(|r| r.cursor(sort).encode());
            let last = rows.last().map(|r| r.cursor(sort).encode());
            loaded = Some((rows, last, first));
        }
        page.backward = false;
        page.cursor = None;
    }
    let (rows, next, prev) = match loaded {
        Some(found) => found,
        None => {
            page.cursor = if prev_raw.is_empty() {
                Cursor::decode(&before, sort)
            } else {
                None
            };
            let mut rows = query::page::<R>(tx, &page).await?;
            let more = rows.len() as i64 > PAGE;
            rows.truncate(PAGE as usize);
            let next = more
                .then(|| rows.last().map(|r| r.cursor(sort).encode()))
                .flatten();
            let prev = page
                .cursor
                .is_some()
                .then(|| rows.first().map(|r| r.cursor(sort).encode()))
                .flatten();
            (rows, next, prev)
        }
    };
    // A search's count costs as much as its page or far more (a 1–2 character term is a
    // filter on every row of the tenant), so a full page of results does not wait for it:
    // the page says "50+" and fetches the exact count once shown (`count_page`).
    let count = if q.is_empty() {
        query::count(tx, spec, conditions).await?
    } else if next.is_none() && prev.is_none() {
        Count::Exact(rows.len() as i64)
    } else {
        Count::AtLeast(PAGE)
    };
    let back = back_query(spec, &filter, view, &before, &prev_raw);
    Ok(Loaded {
        back,
        rows_wanted,
        spec,
        filter,
        view,
        scope,
        paged: prev.is_some(),
        rows: rows.into_iter().map(|k| k.row).collect(),
        next,
        prev,
        count,
        problems,
        saved,
        columns,
        fields,
        sources,
    })
}

/// How many rows of `spec` the view of the raw query string matches, for the count a
/// search's page fetches after loading ([`Count::AtLeast`]): the same filter, view and
/// scope as [`load`].
pub async fn count_page(
    tx: &mut TenantTx,
    ctx: &Ctx,
    spec: &'static ListSpec,
    raw: &str,
) -> AppResult<Count> {
    let filter = ListFilter::from_query(spec, raw);
    let view = url::form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == "view")
        .map(|(_, v)| v.into_owned());
    let scope = Scope::resolve(tx, ctx, View::parse(view.as_deref())).await?;
    let conditions = compiled_for(tx, ctx, spec, &scope, &filter).await?;
    query::count(tx, spec, conditions).await
}

/// [`compiled`] for the signed-in user of `ctx`: their id, time zone and language.
pub async fn compiled_for(
    tx: &mut TenantTx,
    ctx: &Ctx,
    spec: &'static ListSpec,
    scope: &Scope,
    filter: &ListFilter,
) -> AppResult<Vec<Sql>> {
    compiled(
        tx,
        spec,
        scope,
        filter,
        ctx.user,
        ctx.time_zone.name(),
        ctx.locale,
    )
    .await
}

/// A list's query string for coming back to a page: the view and its cursor, cleaned.
pub fn back_query(
    spec: &'static ListSpec,
    filter: &ListFilter,
    view: View,
    before: &str,
    prev: &str,
) -> String {
    let mut query = views::with_view(&filter.to_query(spec), view);
    for (key, cursor) in [("before", before), ("prev", prev)] {
        if Cursor::decode(cursor, sort_key(spec, &filter.sort)).is_some() {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(key);
            query.push('=');
            query.push_str(&views::urlencode(cursor));
        }
    }
    query
}

/// A `back` value as posted: parsed as a list query and rebuilt, so a redirect only ever
/// goes to the list with the parameters it understands.
pub fn clean_back(spec: &'static ListSpec, raw: &str) -> String {
    let filter = ListFilter::from_query(spec, raw);
    let (mut view, mut before, mut prev) = (None, String::new(), String::new());
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        match key.as_ref() {
            "view" => view = Some(value.into_owned()),
            "before" => before = value.into_owned(),
            "prev" => prev = value.into_owned(),
            _ => {}
        }
    }
    back_query(spec, &filter, View::parse(view.as_deref()), &before, &prev)
}

/// The column called `key` (the name column included).
pub fn column(spec: &'static ListSpec, key: &str) -> Option<&'static ColumnDef> {
    std::iter::once(&spec.name_column)
        .chain(spec.columns.iter())
        .find(|c| c.key == key)
}

/// The sort key of a view's `sort`, the list's default when unknown.
pub fn sort_key(spec: &'static ListSpec, sort: &str) -> SortKey {
    column(spec, sort)
        .and_then(|c| c.sort)
        .or_else(|| column(spec, spec.default_sort).and_then(|c| c.sort))
        .unwrap_or(SortKey::Id)
}

/// The source a condition on `field` needs to resolve its values.
pub fn field_source(spec: &ListSpec, field: &str) -> Option<Source> {
    spec.fields
        .iter()
        .find(|f| f.name == field)
        .and_then(|f| match f.how {
            How::Choice(Options::Source(s)) => Some(s),
            How::Special { source, .. } => source,
            _ => None,
        })
}

/// The conditions of `filter` on `spec`'s rows, visibility first, compiled as the list
/// page compiles them: exports and bulk actions act on exactly what the page showed.
pub async fn compiled(
    tx: &mut TenantTx,
    spec: &'static ListSpec,
    scope: &Scope,
    filter: &ListFilter,
    me: UserId,
    time_zone: &str,
    locale: Locale,
) -> AppResult<Vec<Sql>> {
    let fields = fields_of(tx.reads(), spec).await?;
    let mut sources = Sources::default();
    for c in &filter.conditions {
        if let Some(source) = field_source(spec, &c.field) {
            sources.fetch(tx, source).await?;
        }
    }
    let q = text::normalise(tx, &filter.q).await?;
    let look = Lookups {
        me,
        time_zone,
        locale,
        sources: &sources,
        fields: &fields,
    };
    let mut out = vec![scope.owned(spec.table)];
    out.extend(filter::compile(spec, filter, &q, &look).0);
    Ok(out)
}

/// The custom fields of `spec`'s rows (none for a list without them).
pub async fn fields_of(db: Reads<'_>, spec: &ListSpec) -> AppResult<Vec<Field>> {
    match spec.entity {
        Some(entity) => cf::of_entity(db, entity).await,
        None => Ok(vec![]),
    }
}
