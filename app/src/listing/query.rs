//! The queries of a list: keyset pages in any sort order and either direction, the
//! capped count, and the ids of every matching row.
//!
//! Every order ends with the id, so it is total and a keyset page continues exactly
//! after (or before) the row in its cursor, however rows are added meanwhile. Three
//! shapes:
//!
//! - creation order: `id < $cursor`, on the primary key;
//! - an expression (a name in pinyin order, a date, an amount): `(key, id) < ($v, $id)`
//!   on an index of `(tenant_id, key, id)`. A text key carries its collation
//!   (`COLLATE "zh-x-icu"`) in the expression itself, so the comparison, the order and the
//!   index agree; the column keeps the database's collation for everything else;
//! - a rank (owners and categories by name, stages in pipeline order): the ids of the
//!   few owners (categories, stages) in their order are unnested, and each one's rows
//!   come, in id order, from the index on `(tenant_id, owner_id, id)` — a
//!   `LATERAL` subquery limited to a page. Sorting by a joined name would otherwise sort
//!   all of a large tenant's rows for every page.
//!
//! The count is capped: `count(*)` over a subquery with `LIMIT 10001`, so "共 10,000+ 条"
//! costs the same on a tenant of 20,000 rows as on one of 2 million.

use diesel::{
    QueryableByName, deserialize,
    pg::Pg,
    row::NamedRow,
    sql_types::{BigInt, Nullable, Text},
};
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    listing::{Cast, ListSpec, Row, SortKey, Sources, sql::Sql},
};

/// Rows counted exactly; above this the count says "10,000+".
pub const COUNT_CAP: i64 = 10_000;

/// How many rows match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// Exactly this many.
    Exact(i64),
    /// More than [`COUNT_CAP`].
    More,
    /// More than this many (a full page): a search's page does not wait for its count,
    /// which the page fetches after it has loaded (`{path}/count`, [`super::count_page`]).
    AtLeast(i64),
}

/// Where a keyset page starts: the id and the sort value of the row before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The row's id.
    pub id: i64,
    /// Its sort value (none in creation order).
    pub value: Option<String>,
}

impl Cursor {
    /// The URL form: `<id>` or `<id>~<value>`.
    pub fn encode(&self) -> String {
        match &self.value {
            None => self.id.to_string(),
            Some(v) => format!("{}~{v}", self.id),
        }
    }

    /// Parses the URL form for `sort`; anything malformed means "first page", so a
    /// hand-edited cursor never reaches the database as a bad cast.
    pub fn decode(raw: &str, sort: SortKey) -> Option<Self> {
        let (id, value) = match raw.split_once('~') {
            Some((id, value)) => (id.trim().parse().ok()?, Some(value)),
            None => (raw.trim().parse().ok()?, None),
        };
        let value = match sort {
            SortKey::Id => None,
            SortKey::Rank { .. } => Some(value?.parse::<i64>().ok()?.to_string()),
            SortKey::Expr { cast, .. } => {
                let v = value?;
                let fits = match cast {
                    Cast::Text => true,
                    Cast::Time => chrono::DateTime::parse_from_rfc3339(v).is_ok(),
                    Cast::Date => {
                        matches!(v, "infinity" | "-infinity")
                            || chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()
                    }
                    Cast::Int => v.parse::<i64>().is_ok(),
                };
                fits.then(|| v.to_owned())?.into()
            }
        };
        Some(Self { id, value })
    }
}

/// A row with its sort value, as a page query returns it.
pub struct Keyed<R> {
    /// The row.
    pub row: R,
    key: Option<String>,
}

impl<R: Row> Keyed<R> {
    /// The cursor after (or before) this row in `sort` order.
    pub fn cursor(&self, sort: SortKey) -> Cursor {
        Cursor {
            id: self.row.id(),
            value: match sort {
                SortKey::Id => None,
                _ => Some(self.key.clone().unwrap_or_default()),
            },
        }
    }
}

impl<R: QueryableByName<Pg>> QueryableByName<Pg> for Keyed<R> {
    fn build<'a>(row: &impl NamedRow<'a, Pg>) -> deserialize::Result<Self> {
        Ok(Self {
            row: R::build(row)?,
            key: NamedRow::get::<Nullable<Text>, Option<String>>(row, "kehu_sort_key")?,
        })
    }
}

/// One page to read.
pub struct Page<'a> {
    /// The list.
    pub spec: &'a ListSpec,
    /// Visibility and the view's conditions (the tenant is added here).
    pub conditions: Vec<Sql>,
    /// The order.
    pub sort: SortKey,
    /// Ascending.
    pub asc: bool,
    /// For a rank sort: the ids in ascending order.
    pub ranks: Vec<i64>,
    /// The row the page starts after (forward) or ends before (backward).
    pub cursor: Option<Cursor>,
    /// Read the rows before the cursor, nearest first.
    pub backward: bool,
    /// Most rows.
    pub limit: i64,
}

/// The ids of a rank sort, in ascending order ("none", 0, first when there is one).
pub fn ranks(sort: SortKey, sources: &Sources) -> Vec<i64> {
    match sort {
        SortKey::Rank { source, none, .. } => none
            .then_some(0)
            .into_iter()
            .chain(sources.rows(source).iter().map(|(id, _)| *id))
            .collect(),
        _ => vec![],
    }
}

fn tenant_and(spec: &ListSpec, tenant: i64, conditions: Vec<Sql>) -> Sql {
    Sql::all(
        std::iter::once(Sql::new(format!("{}.tenant_id = ", spec.table)).int(tenant))
            .chain(conditions),
    )
}

/// The sort value as text, as the cursor carries it.
fn key_text(sql: &str, cast: Cast) -> String {
    match cast {
        Cast::Time => {
            format!("to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        }
        _ => format!("({sql})::text"),
    }
}

fn bound(cast: Cast) -> &'static str {
    match cast {
        Cast::Text => "",
        Cast::Time => "::timestamptz",
        Cast::Date => "::date",
        Cast::Int => "::bigint",
    }
}

/// One page of rows of `p.spec`, in the page's order (backward pages nearest first).
pub async fn page<R: Row>(tx: &mut TenantTx, p: &Page<'_>) -> AppResult<Vec<Keyed<R>>> {
    let table = p.spec.table;
    // The direction rows are read in.
    let up = p.asc != p.backward;
    let (dir, cmp) = if up { ("ASC", ">") } else { ("DESC", "<") };
    let mut conditions = p.conditions.clone();
    let query = match p.sort {
        SortKey::Id => {
            if let Some(c) = &p.cursor {
                conditions.push(Sql::new(format!("{table}.id {cmp} ")).int(c.id));
            }
            Sql::new(format!(
                "SELECT {}, NULL::text AS kehu_sort_key FROM {table} WHERE ",
                p.spec.select
            ))
            .push(tenant_and(p.spec, tx.tenant().0, conditions))
            .sql(format!(" ORDER BY {table}.id {dir} LIMIT {}", p.limit))
        }
        SortKey::Expr { sql, cast, .. } => {
            if let Some(c) = &p.cursor {
                conditions.push(
                    Sql::new(format!("({sql}, {table}.id) {cmp} ("))
                        .text(c.value.clone().unwrap_or_default())
                        .sql(format!("{}, ", bound(cast)))
                        .int(c.id)
                        .sql(")"),
                );
            }
            Sql::new(format!(
                "SELECT {}, {} AS kehu_sort_key FROM {table} WHERE ",
                p.spec.select,
                key_text(sql, cast)
            ))
            .push(tenant_and(p.spec, tx.tenant().0, conditions))
            .sql(format!(
                " ORDER BY {sql} {dir}, {table}.id {dir} LIMIT {}",
                p.limit
            ))
        }
        SortKey::Rank { sql, .. } => {
            let mut ranks = p.ranks.clone();
            if !up {
                ranks.reverse();
            }
            // The cursor's rank in this order; a value that is gone means "from the start".
            let at = p.cursor.as_ref().and_then(|c| {
                let v: i64 = c.value.as_deref()?.parse().ok()?;
                let pos = ranks.iter().position(|r| *r == v)? as i64 + 1;
                Some((pos, c.id))
            });
            if let Some((pos, id)) = at {
                conditions.push(
                    Sql::new("(kehu_rank.pos > ")
                        .int(pos)
                        .sql(format!(" OR {table}.id {cmp} "))
                        .int(id)
                        .sql(")"),
                );
            }
            conditions.push(Sql::new(format!("{sql} = kehu_rank.val")));
            let mut q = Sql::new(format!(
                "SELECT {}, kehu_rank.val::text AS kehu_sort_key \
                 FROM unnest(",
                p.spec.select
            ))
            .ints(ranks)
            .sql(format!(
                "::bigint[]) WITH ORDINALITY AS kehu_rank(val, pos) \
                 CROSS JOIN LATERAL (SELECT {table}.* FROM {table} WHERE "
            ))
            .push(tenant_and(p.spec, tx.tenant().0, conditions))
            .sql(format!(
                " ORDER BY {table}.id {dir} LIMIT {}) AS {table}",
                p.limit
            ));
            if let Some((pos, _)) = at {
                q = q.sql(" WHERE kehu_rank.pos >= ").int(pos);
            }
            q.sql(format!(
                " ORDER BY kehu_rank.pos, {table}.id {dir} LIMIT {}",
                p.limit
            ))
        }
    };
    Ok(query.query().load(&mut **tx).await?)
}

/// Rows of `spec` that meet `conditions` (visibility included), in `sort` order after
/// `cursor`: the page query for callers without a page (exports, autocomplete), which
/// loads what a rank sort needs itself.
pub async fn rows<R: Row>(
    tx: &mut TenantTx,
    spec: &ListSpec,
    conditions: Vec<Sql>,
    (sort, asc): (SortKey, bool),
    cursor: Option<Cursor>,
    limit: i64,
) -> AppResult<Vec<Keyed<R>>> {
    let mut sources = Sources::default();
    if let SortKey::Rank { source, .. } = sort {
        sources.fetch(tx, source).await?;
    }
    page(
        tx,
        &Page {
            spec,
            conditions,
            sort,
            asc,
            ranks: ranks(sort, &sources),
            cursor,
            backward: false,
            limit,
        },
    )
    .await
}

/// How many rows of `spec` meet `conditions` (visibility included), exact up to
/// [`COUNT_CAP`].
pub async fn count(tx: &mut TenantTx, spec: &ListSpec, conditions: Vec<Sql>) -> AppResult<Count> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let table = spec.table;
    let row: N = Sql::new(format!(
        "SELECT count(*) AS n FROM (SELECT 1 FROM {table} WHERE "
    ))
    .push(tenant_and(spec, tx.tenant().0, conditions))
    .sql(format!(" LIMIT {}) kehu_capped", COUNT_CAP + 1))
    .query()
    .get_result(&mut **tx)
    .await?;
    Ok(if row.n > COUNT_CAP {
        Count::More
    } else {
        Count::Exact(row.n)
    })
}

/// How many rows of `spec` meet `conditions`, exactly (an export's total, off the pages'
/// path).
pub async fn count_exact(
    tx: &mut TenantTx,
    spec: &ListSpec,
    conditions: Vec<Sql>,
) -> AppResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let row: N = Sql::new(format!("SELECT count(*) AS n FROM {} WHERE ", spec.table))
        .push(tenant_and(spec, tx.tenant().0, conditions))
        .query()
        .get_result(&mut **tx)
        .await?;
    Ok(row.n)
}

/// The ids of the rows that meet `conditions`, at most `cap + 1` (so the caller sees when
/// there are more than `cap`).
pub async fn ids(
    tx: &mut TenantTx,
    spec: &ListSpec,
    conditions: Vec<Sql>,
    cap: i64,
) -> AppResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let table = spec.table;
    let rows: Vec<Id> = Sql::new(format!("SELECT {table}.id AS id FROM {table} WHERE "))
        .push(tenant_and(spec, tx.tenant().0, conditions))
        .sql(format!(" ORDER BY {table}.id LIMIT {}", cap + 1))
        .query()
        .load(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[cfg(test)]
mod tests {
    use super::Cursor;
    use crate::listing::{Cast, SortKey};

    #[test]
    fn cursors_round_trip_and_malformed_ones_mean_the_first_page() {
        let time = SortKey::Expr {
            sql: "t.updated_at",
            cast: Cast::Time,
            asc: false,
        };
        let c = Cursor {
            id: 7,
            value: Some("2026-03-04T05:06:07.000008Z".into()),
        };
        assert_eq!(Cursor::decode(&c.encode(), time), Some(c));
        assert_eq!(Cursor::decode("7~yesterday", time), None);
        assert_eq!(Cursor::decode("7", time), None);
        assert_eq!(
            Cursor::decode("42", SortKey::Id),
            Some(Cursor {
                id: 42,
                value: None
            })
        );
        assert_eq!(Cursor::decode("x", SortKey::Id), None);
        let name = SortKey::Expr {
            sql: "t.name",
            cast: Cast::Text,
            asc: true,
        };
        assert_eq!(
            Cursor::decode("3~北京~甲", name),
            Some(Cursor {
                id: 3,
                value: Some("北京~甲".into())
            })
        );
    }
}
