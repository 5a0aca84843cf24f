//! [`Sql`]: a piece of SQL with its bind values, built at run time.
//!
//! The list machinery composes its queries from parts that only the declaring module
//! knows (a column's SQL expression, a custom field's key, a table name), with values the
//! user typed bound as parameters, never spliced into the text. One [`Sql`] works in two
//! places: as a boolean condition inside diesel's query builder (it is a diesel
//! expression that fits any table, see [`Sql::filter`]), and as the text and binds of a
//! hand-built query (see [`Sql::query`]), which the list pages need for keyset
//! pages over any table, the capped row count and the rank sort.

use std::borrow::Cow;

use diesel::{
    QueryResult,
    expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate},
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{Array, BigInt, Bool, Text, Untyped},
};

/// One part of an [`Sql`]: literal text, or a bound value.
#[derive(Clone, Debug, PartialEq)]
enum Part {
    Raw(Cow<'static, str>),
    Text(String),
    Texts(Vec<String>),
    Int(i64),
    Ints(Vec<i64>),
}

/// SQL text with bind values in place. Literal text must never contain user input: values
/// go through the bind methods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sql(Vec<Part>);

impl Sql {
    /// Literal SQL.
    pub fn new(raw: impl Into<Cow<'static, str>>) -> Self {
        Self(vec![Part::Raw(raw.into())])
    }

    /// Appends literal SQL.
    pub fn sql(mut self, raw: impl Into<Cow<'static, str>>) -> Self {
        self.0.push(Part::Raw(raw.into()));
        self
    }

    /// Appends a bound text value.
    pub fn text(mut self, value: impl Into<String>) -> Self {
        self.0.push(Part::Text(value.into()));
        self
    }

    /// Appends a bound `text[]` value.
    pub fn texts(mut self, values: Vec<String>) -> Self {
        self.0.push(Part::Texts(values));
        self
    }

    /// Appends a bound `bigint` value.
    pub fn int(mut self, value: i64) -> Self {
        self.0.push(Part::Int(value));
        self
    }

    /// Appends a bound `bigint[]` value.
    pub fn ints(mut self, values: Vec<i64>) -> Self {
        self.0.push(Part::Ints(values));
        self
    }

    /// Appends another piece.
    pub fn push(mut self, other: Sql) -> Self {
        self.0.extend(other.0);
        self
    }

    /// `(a) AND (b) AND …`, or `TRUE` without conditions.
    pub fn all(conditions: impl IntoIterator<Item = Sql>) -> Self {
        let mut out = Self::default();
        for (i, c) in conditions.into_iter().enumerate() {
            out = out
                .sql(if i == 0 { "(" } else { " AND (" })
                .push(c)
                .sql(")");
        }
        if out.0.is_empty() {
            Self::new("TRUE")
        } else {
            out
        }
    }

    /// The condition as a diesel filter on any table (`.filter(sql.filter())`).
    pub fn filter<QS>(self) -> Box<dyn diesel::BoxableExpression<QS, Pg, SqlType = Bool>> {
        Box::new(self)
    }

    /// A query of this text and binds, to load rows by name (`QueryableByName`).
    pub fn query(self) -> RawQuery {
        RawQuery(self)
    }
}

/// An [`Sql`] run as a whole query; rows are read by column name.
#[derive(Debug)]
pub struct RawQuery(Sql);

impl QueryFragment<Pg> for RawQuery {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl QueryId for RawQuery {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for RawQuery {
    type SqlType = Untyped;
}

impl Expression for Sql {
    type SqlType = Bool;
}

impl QueryFragment<Pg> for Sql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for part in &self.0 {
            match part {
                Part::Raw(raw) => out.push_sql(raw),
                Part::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Part::Texts(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Part::Int(v) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Ints(v) => out.push_bind_param::<Array<BigInt>, _>(v)?,
            }
        }
        Ok(())
    }
}

impl QueryId for Sql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> AppearsOnTable<QS> for Sql {}

impl<QS> SelectableExpression<QS> for Sql {}

impl<GB> ValidGrouping<GB> for Sql {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use super::Sql;

    #[test]
    fn conditions_join_with_and_and_nothing_is_true() {
        assert_eq!(Sql::all([]), Sql::new("TRUE"));
        let both = Sql::all([Sql::new("a = ").int(1), Sql::new("b")]);
        let text = diesel::debug_query::<diesel::pg::Pg, _>(&both).to_string();
        assert!(text.starts_with("(a = $1) AND (b)"), "{text}");
    }
}
