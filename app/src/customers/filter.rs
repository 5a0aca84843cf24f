//! What the customer list shows: quick filters (快速过滤), multi-condition search, tag,
//! sort order and the keyset cursor, parsed from the query string and compiled into SQL
//! conditions on `companies`. Visibility is not decided here: every query also goes
//! through [`crate::customers::visibility::Scope`].
//!
//! Conditions travel as `f1=name&o1=contains&v1=北京`, `f2=cf_7&o2=after&v2=2026-01-01`…
//! so a filtered view is a plain URL that can be bookmarked, saved and exported.

use chrono::NaiveDate;
use diesel::{
    dsl::sql,
    prelude::*,
    sql_types::{Array, Bool, Text},
};
use unicode_normalization::UnicodeNormalization;

use crate::{
    custom_fields::{Field, Kind},
    customers::{
        model::{escape_like, term_grams},
        visibility::CompanyFilter,
    },
    ids::{CategoryId, TagId, UserId},
    schema::{companies, company_tags},
};

/// Most conditions in one search.
pub const MAX_CONDITIONS: usize = 8;

/// The built-in quick filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quick {
    /// 我的客户: owned by the user.
    Mine,
    /// 公共客户: public records.
    Public,
    /// 最近新增: created in the last 7 days.
    Recent,
    /// 30 天未跟进: nothing happened in 30 days.
    Idle,
}

impl Quick {
    /// Every quick filter, in panel order.
    pub const ALL: [Self; 4] = [Self::Mine, Self::Public, Self::Recent, Self::Idle];

    /// URL spelling and locale key suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mine => "mine",
            Self::Public => "public",
            Self::Recent => "recent",
            Self::Idle => "idle",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == raw)
    }
}

/// Sortable columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Creation order (the id).
    #[default]
    Created,
    /// Name.
    Name,
    /// Last edit.
    Updated,
    /// Last activity (edits, notes, contacts).
    Activity,
}

impl Sort {
    /// URL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Name => "name",
            Self::Updated => "updated",
            Self::Activity => "activity",
        }
    }

    fn parse(raw: &str) -> Self {
        match raw {
            "name" => Self::Name,
            "updated" => Self::Updated,
            "activity" => Self::Activity,
            _ => Self::Created,
        }
    }
}

/// Operators of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// 包含.
    Contains,
    /// 等于.
    Equals,
    /// 开头是.
    StartsWith,
    /// 为空.
    Empty,
    /// 不为空.
    NotEmpty,
    /// 早于 / 小于.
    Before,
    /// 晚于 / 大于.
    After,
    /// 属于其中之一 (comma-separated values).
    AnyOf,
}

impl Op {
    /// Every operator.
    pub const ALL: [Self; 8] = [
        Self::Contains,
        Self::Equals,
        Self::StartsWith,
        Self::Empty,
        Self::NotEmpty,
        Self::Before,
        Self::After,
        Self::AnyOf,
    ];

    /// URL spelling and locale key suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contains => "contains",
            Self::Equals => "equals",
            Self::StartsWith => "starts_with",
            Self::Empty => "empty",
            Self::NotEmpty => "not_empty",
            Self::Before => "before",
            Self::After => "after",
            Self::AnyOf => "any_of",
        }
    }

    /// Parses the URL spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == raw)
    }

    /// True when the operator takes no value.
    pub fn is_unary(self) -> bool {
        matches!(self, Self::Empty | Self::NotEmpty)
    }
}

/// The type of a searchable field, which decides its operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    Text,
    /// A number (custom fields).
    Number,
    /// A date or timestamp.
    Date,
    /// One value of a list.
    Choice,
    /// Several values of a list.
    Choices,
}

impl FieldType {
    /// The operators that make sense for this type.
    pub fn ops(self) -> &'static [Op] {
        match self {
            Self::Text => &[
                Op::Contains,
                Op::Equals,
                Op::StartsWith,
                Op::Empty,
                Op::NotEmpty,
            ],
            Self::Number | Self::Date => {
                &[Op::Equals, Op::Before, Op::After, Op::Empty, Op::NotEmpty]
            }
            Self::Choice | Self::Choices => &[Op::Equals, Op::AnyOf, Op::Empty, Op::NotEmpty],
        }
    }
}

/// The built-in searchable fields: (URL name, locale key, type).
pub const BUILTIN: [(&str, &str, FieldType); 12] = [
    ("name", "company.name", FieldType::Text),
    ("phone", "company.phone", FieldType::Text),
    ("email", "field.email", FieldType::Text),
    ("website", "company.website", FieldType::Text),
    ("address", "company.address", FieldType::Text),
    ("introduction", "company.introduction", FieldType::Text),
    ("category", "company.category", FieldType::Choice),
    ("owner", "company.owner", FieldType::Choice),
    ("visibility", "company.visibility", FieldType::Choice),
    ("tag", "tags.title", FieldType::Choices),
    ("created", "company.created_at", FieldType::Date),
    ("updated", "company.updated_at", FieldType::Date),
];

/// The type of a custom field for searching.
pub fn custom_type(kind: Kind) -> FieldType {
    match kind {
        Kind::Text => FieldType::Text,
        Kind::Number => FieldType::Number,
        Kind::Date => FieldType::Date,
        Kind::Select => FieldType::Choice,
        Kind::MultiSelect => FieldType::Choices,
    }
}

/// One condition as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Condition {
    /// A built-in name or `cf_<id>`.
    pub field: String,
    /// An [`Op`] spelling.
    pub op: String,
    /// The value; comma-separated for "any of".
    pub value: String,
}

/// Everything that selects and orders the rows of the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Name contains.
    pub q: String,
    /// A built-in quick filter.
    pub quick: Option<Quick>,
    /// Only companies with this tag.
    pub tag: Option<TagId>,
    /// Multi-condition search.
    pub conditions: Vec<Condition>,
    /// Order.
    pub sort: Sort,
    /// Ascending instead of the default (descending for dates, ascending for names).
    pub asc: bool,
}

impl ListFilter {
    /// Parses a query string; unknown or malformed parts are ignored, never an error.
    pub fn from_query(raw: &str) -> Self {
        let mut filter = Self::default();
        let mut conditions: Vec<(usize, Condition)> = vec![];
        let mut dir = None;
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let value = value.trim().to_owned();
            match key.as_ref() {
                "q" => filter.q = value,
                "quick" => filter.quick = Quick::parse(&value),
                "tag" => filter.tag = value.parse().ok().map(TagId),
                "sort" => filter.sort = Sort::parse(&value),
                "dir" => dir = Some(value == "asc"),
                k => {
                    let Some((part, n)) = k
                        .split_at_checked(1)
                        .and_then(|(p, n)| Some((p, n.parse::<usize>().ok()?)))
                    else {
                        continue;
                    };
                    if !(1..=MAX_CONDITIONS).contains(&n) {
                        continue;
                    }
                    let at = match conditions.iter().position(|(i, _)| *i == n) {
                        Some(at) => at,
                        None => {
                            conditions.push((n, Condition::default()));
                            conditions.len() - 1
                        }
                    };
                    let c = &mut conditions[at].1;
                    match part {
                        "f" => c.field = value,
                        "o" => c.op = value,
                        "v" => c.value = value,
                        _ => {}
                    }
                }
            }
        }
        conditions.sort_by_key(|(i, _)| *i);
        filter.conditions = conditions
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| !c.field.is_empty() && !c.op.is_empty())
            .collect();
        filter.asc = dir.unwrap_or(filter.sort == Sort::Name);
        filter
    }

    /// The query string of this filter (no cursor), for links, saving and exports.
    pub fn to_query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", &self.q);
        }
        if let Some(quick) = self.quick {
            out.append_pair("quick", quick.as_str());
        }
        if let Some(tag) = self.tag {
            out.append_pair("tag", &tag.to_string());
        }
        for (i, c) in self.conditions.iter().enumerate() {
            let n = i + 1;
            out.append_pair(&format!("f{n}"), &c.field);
            out.append_pair(&format!("o{n}"), &c.op);
            if !c.value.is_empty() {
                out.append_pair(&format!("v{n}"), &c.value);
            }
        }
        if self.sort != Sort::Created {
            out.append_pair("sort", self.sort.as_str());
        }
        if self.asc != (self.sort == Sort::Name) {
            out.append_pair("dir", if self.asc { "asc" } else { "desc" });
        }
        out.finish()
    }

    /// True when a tag filter or a tag condition needs the tenant's tag names.
    pub fn uses_tags(&self) -> bool {
        self.tag.is_some() || self.conditions.iter().any(|c| c.field == "tag")
    }

    /// True when nothing narrows the list.
    pub fn is_unfiltered(&self) -> bool {
        self.q.is_empty()
            && self.quick.is_none()
            && self.tag.is_none()
            && self.conditions.is_empty()
    }
}

/// What names in condition values resolve against.
pub struct Lookups<'a> {
    /// The signed-in user (for "mine").
    pub me: UserId,
    /// The tenant's time zone name, for date conditions on timestamps.
    pub time_zone: &'a str,
    /// Categories.
    pub categories: &'a [(CategoryId, String)],
    /// Users by name.
    pub people: &'a [(UserId, String)],
    /// Tags.
    pub tags: &'a [(TagId, String)],
    /// Custom fields of companies.
    pub fields: &'a [Field],
    /// Localised names of "public" and "private".
    pub visibility_names: [(&'static str, String); 2],
}

/// A condition that cannot be compiled, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The field does not exist.
    UnknownField(usize),
    /// The operator does not apply to the field.
    BadOperator(usize),
    /// The value is missing or malformed.
    BadValue(usize),
}

/// Splits an "any of" value: commas, Chinese commas, 、 and newlines.
pub fn split_values(value: &str) -> Vec<String> {
    value
        .split([',', '，', '、', '\n', ';', '；'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Compiles the filter into SQL conditions; problems are reported, not fatal (the
/// faulty condition is left out).
pub fn compile(
    filter: &ListFilter,
    normalised_q: &str,
    look: &Lookups<'_>,
) -> (Vec<CompanyFilter>, Vec<Problem>) {
    let mut out: Vec<CompanyFilter> = vec![];
    let mut problems = vec![];
    if !normalised_q.is_empty() {
        out.extend(name_contains(normalised_q));
    }
    match filter.quick {
        Some(Quick::Mine) => out.push(Box::new(companies::owner_id.eq(look.me))),
        Some(Quick::Public) => out.push(Box::new(companies::visibility.eq("public"))),
        Some(Quick::Recent) => out.push(Box::new(sql::<Bool>(
            "companies.created_at > now() - interval '7 days'",
        ))),
        Some(Quick::Idle) => out.push(Box::new(sql::<Bool>(
            "companies.last_activity_at < now() - interval '30 days'",
        ))),
        None => {}
    }
    if let Some(tag) = filter.tag {
        out.push(with_tags(vec![tag]));
    }
    for (i, c) in filter.conditions.iter().enumerate() {
        match condition(c, look) {
            Ok(mut parts) => out.append(&mut parts),
            Err(make) => problems.push(make(i)),
        }
    }
    (out, problems)
}

/// The name-contains conditions for an already normalised term.
///
/// A term of 1 or 2 characters is exactly "the name's grams include it", so the grams
/// filter alone decides, and the planner walks the newest rows until it has a page. A
/// longer term goes through `kehu_company_name_matches` (migration 000015): under forced
/// RLS the planner cannot use `@>` as an index condition (it is not leakproof), so the
/// function runs the indexed gram search for the transaction's tenant only, with the
/// LIKE recheck of the order.
pub fn name_contains(term: &str) -> Vec<CompanyFilter> {
    let grams = term_grams(term);
    if term.chars().count() <= 2 {
        return vec![Box::new(companies::name_grams.contains(grams))];
    }
    let pattern = format!("%{}%", escape_like(term));
    vec![Box::new(
        sql::<Bool>("companies.id IN (SELECT kehu_company_name_matches(")
            .bind::<Array<Text>, _>(grams)
            .sql(", ")
            .bind::<Text, _>(pattern)
            .sql("))"),
    )]
}

fn with_tags(tags: Vec<TagId>) -> CompanyFilter {
    Box::new(
        companies::id.eq_any(
            company_tags::table
                .filter(company_tags::tenant_id.eq(companies::tenant_id))
                .filter(company_tags::tag_id.eq_any(tags))
                .select(company_tags::company_id),
        ),
    )
}

type Compiled = Result<Vec<CompanyFilter>, fn(usize) -> Problem>;

fn condition(c: &Condition, look: &Lookups<'_>) -> Compiled {
    let Some(op) = Op::parse(&c.op) else {
        return Err(Problem::BadOperator);
    };
    let value = c.value.trim();
    if !op.is_unary() && value.is_empty() {
        return Err(Problem::BadValue);
    }
    if let Some(id) = c.field.strip_prefix("cf_") {
        let field = look
            .fields
            .iter()
            .find(|f| f.id.to_string() == id)
            .ok_or(Problem::UnknownField as fn(usize) -> Problem)?;
        return custom(field, op, value);
    }
    let Some((name, _, kind)) = BUILTIN.iter().find(|(n, _, _)| *n == c.field) else {
        return Err(Problem::UnknownField);
    };
    if !kind.ops().contains(&op) {
        return Err(Problem::BadOperator);
    }
    let one = |f: CompanyFilter| Ok(vec![f]);
    match *name {
        "name" => match op {
            Op::Contains => Ok(name_contains(&search_text(value))),
            Op::StartsWith => {
                let term = search_text(value);
                let mut parts = name_contains(&term);
                parts.push(Box::new(
                    sql::<Bool>("kehu_search_text(companies.name) LIKE ")
                        .bind::<Text, _>(format!("{}%", escape_like(&term))),
                ));
                Ok(parts)
            }
            Op::Equals => {
                let term = search_text(value);
                let mut parts = name_contains(&term);
                parts.push(Box::new(
                    sql::<Bool>("kehu_search_text(companies.name) = ").bind::<Text, _>(term),
                ));
                Ok(parts)
            }
            Op::Empty => one(Box::new(sql::<Bool>("FALSE"))),
            _ => one(Box::new(sql::<Bool>("TRUE"))),
        },
        "phone" | "email" | "website" | "address" | "introduction" => {
            one(text_condition(&format!("companies.{name}"), op, value))
        }
        "category" => {
            let ids = match op {
                Op::Empty => return one(Box::new(companies::category_id.is_null())),
                Op::NotEmpty => return one(Box::new(companies::category_id.is_not_null())),
                _ => resolve(value, op, look.categories)?,
            };
            one(Box::new(
                companies::category_id.eq_any(ids).assume_not_null(),
            ))
        }
        "owner" => match op {
            Op::Empty => one(Box::new(sql::<Bool>("FALSE"))),
            Op::NotEmpty => one(Box::new(sql::<Bool>("TRUE"))),
            _ => one(Box::new(companies::owner_id.eq_any(resolve(
                value,
                op,
                look.people,
            )?))),
        },
        "visibility" => {
            let codes: Vec<&str> = values_for(op, value)
                .iter()
                .filter_map(|v| {
                    look.visibility_names
                        .iter()
                        .find(|(code, label)| v == code || v == label)
                        .map(|(code, _)| *code)
                })
                .collect();
            match op {
                Op::Empty => one(Box::new(sql::<Bool>("FALSE"))),
                Op::NotEmpty => one(Box::new(sql::<Bool>("TRUE"))),
                _ if codes.is_empty() => Err(Problem::BadValue),
                _ => one(Box::new(companies::visibility.eq_any(codes))),
            }
        }
        "tag" => match op {
            Op::Empty => one(Box::new(sql::<Bool>(
                "NOT EXISTS (SELECT 1 FROM company_tags t WHERE t.tenant_id = companies.tenant_id AND t.company_id = companies.id)",
            ))),
            Op::NotEmpty => one(Box::new(sql::<Bool>(
                "EXISTS (SELECT 1 FROM company_tags t WHERE t.tenant_id = companies.tenant_id AND t.company_id = companies.id)",
            ))),
            _ => one(with_tags(resolve(value, op, look.tags)?)),
        },
        "created" | "updated" => {
            let column = if *name == "created" {
                "companies.created_at"
            } else {
                "companies.updated_at"
            };
            match op {
                Op::Empty => one(Box::new(sql::<Bool>("FALSE"))),
                Op::NotEmpty => one(Box::new(sql::<Bool>("TRUE"))),
                _ => {
                    let day = parse_date(value)?;
                    // The day in the tenant's time zone: [day 00:00, next day 00:00).
                    let next = day
                        .succ_opt()
                        .ok_or(Problem::BadValue as fn(usize) -> Problem)?;
                    let expr: CompanyFilter = match op {
                        Op::Before => Box::new(
                            sql::<Bool>(&format!("{column} < ("))
                                .bind::<Text, _>(day.to_string())
                                .sql("::date::timestamp AT TIME ZONE ")
                                .bind::<Text, _>(look.time_zone.to_owned())
                                .sql(")"),
                        ),
                        Op::After => Box::new(
                            sql::<Bool>(&format!("{column} >= ("))
                                .bind::<Text, _>(next.to_string())
                                .sql("::date::timestamp AT TIME ZONE ")
                                .bind::<Text, _>(look.time_zone.to_owned())
                                .sql(")"),
                        ),
                        _ => Box::new(
                            sql::<Bool>(&format!("{column} >= ("))
                                .bind::<Text, _>(day.to_string())
                                .sql("::date::timestamp AT TIME ZONE ")
                                .bind::<Text, _>(look.time_zone.to_owned())
                                .sql(&format!(") AND {column} < ("))
                                .bind::<Text, _>(next.to_string())
                                .sql("::date::timestamp AT TIME ZONE ")
                                .bind::<Text, _>(look.time_zone.to_owned())
                                .sql(")"),
                        ),
                    };
                    one(expr)
                }
            }
        }
        _ => Err(Problem::UnknownField),
    }
}

/// The values a choice operator looks for: one for "equals", a list for "any of".
fn values_for(op: Op, value: &str) -> Vec<String> {
    match op {
        Op::AnyOf => split_values(value),
        _ => vec![value.trim().to_owned()],
    }
}

/// Ids of the named entries (case-insensitive); an unknown name is a bad value.
fn resolve<I: Copy>(
    value: &str,
    op: Op,
    entries: &[(I, String)],
) -> Result<Vec<I>, fn(usize) -> Problem> {
    let mut ids = vec![];
    for v in values_for(op, value) {
        let lower = v.to_lowercase();
        let found: Vec<I> = entries
            .iter()
            .filter(|(_, name)| name.to_lowercase() == lower)
            .map(|(id, _)| *id)
            .collect();
        if found.is_empty() {
            return Err(Problem::BadValue);
        }
        ids.extend(found);
    }
    Ok(ids)
}

fn parse_date(value: &str) -> Result<NaiveDate, fn(usize) -> Problem> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| Problem::BadValue as fn(usize) -> Problem)
}

/// NFKC, lower case, no white space: what `kehu_search_text` does in SQL.
pub fn search_text(value: &str) -> String {
    value
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// A text condition on an SQL text expression (a column or `custom->>'id'`).
fn text_condition(column: &str, op: Op, value: &str) -> CompanyFilter {
    let lowered = value.to_lowercase();
    match op {
        Op::Contains => Box::new(
            sql::<Bool>(&format!("lower({column}) LIKE "))
                .bind::<Text, _>(format!("%{}%", escape_like(&lowered))),
        ),
        Op::StartsWith => Box::new(
            sql::<Bool>(&format!("lower({column}) LIKE "))
                .bind::<Text, _>(format!("{}%", escape_like(&lowered))),
        ),
        Op::Equals => {
            Box::new(sql::<Bool>(&format!("lower({column}) = ")).bind::<Text, _>(lowered))
        }
        Op::Empty => Box::new(sql::<Bool>(&format!("coalesce({column}, '') = ''"))),
        _ => Box::new(sql::<Bool>(&format!("coalesce({column}, '') <> ''"))),
    }
}

/// A condition on a custom field's value in `custom`.
fn custom(field: &Field, op: Op, value: &str) -> Compiled {
    let kind = custom_type(field.kind);
    if !kind.ops().contains(&op) {
        return Err(Problem::BadOperator);
    }
    // The key is a number we generated, never user text.
    let key = field.id.0;
    let text = format!("(companies.custom->>'{key}')");
    let one = |f: CompanyFilter| Ok(vec![f]);
    if op == Op::Empty {
        return one(Box::new(sql::<Bool>(&format!(
            "coalesce(companies.custom->'{key}', 'null'::jsonb) IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb)"
        ))));
    }
    if op == Op::NotEmpty {
        return one(Box::new(sql::<Bool>(&format!(
            "coalesce(companies.custom->'{key}', 'null'::jsonb) NOT IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb)"
        ))));
    }
    match field.kind {
        Kind::Text => one(text_condition(&text, op, value)),
        Kind::Number => {
            let number: f64 = value
                .replace([',', '，'], "")
                .parse()
                .map_err(|_| Problem::BadValue as fn(usize) -> Problem)?;
            if !number.is_finite() {
                return Err(Problem::BadValue);
            }
            let cmp = match op {
                Op::Before => "<",
                Op::After => ">",
                _ => "=",
            };
            one(Box::new(
                sql::<Bool>(&format!(
                    "(CASE WHEN jsonb_typeof(companies.custom->'{key}') = 'number' THEN {text}::numeric END) {cmp} "
                ))
                .bind::<Text, _>(number.to_string())
                .sql("::numeric"),
            ))
        }
        Kind::Date => {
            let day = parse_date(value)?;
            let cmp = match op {
                Op::Before => "<",
                Op::After => ">",
                _ => "=",
            };
            // Stored as YYYY-MM-DD, which orders like the dates themselves.
            one(Box::new(
                sql::<Bool>(&format!("{text} {cmp} ")).bind::<Text, _>(day.to_string()),
            ))
        }
        Kind::Select => one(Box::new(
            sql::<Bool>(&format!("{text} = ANY("))
                .bind::<Array<Text>, _>(values_for(op, value))
                .sql(")"),
        )),
        Kind::MultiSelect => one(Box::new(
            sql::<Bool>(&format!("(companies.custom->'{key}') ?| "))
                .bind::<Array<Text>, _>(values_for(op, value)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{ListFilter, Quick, Sort, split_values};

    #[test]
    fn a_filter_round_trips_through_its_query_string() {
        let raw = "q=%E5%8C%97%E4%BA%AC&quick=mine&f2=cf_7&o2=after&v2=2026-01-01&f1=name&o1=contains&v1=%E7%A7%91%E6%8A%80&sort=name&dir=desc&before=99";
        let filter = ListFilter::from_query(raw);
        assert_eq!(filter.q, "北京");
        assert_eq!(filter.quick, Some(Quick::Mine));
        assert_eq!(filter.sort, Sort::Name);
        assert!(!filter.asc);
        assert_eq!(filter.conditions.len(), 2);
        assert_eq!(
            filter.conditions[0].field, "name",
            "ordered by their number"
        );
        assert_eq!(filter.conditions[1].value, "2026-01-01");
        assert_eq!(ListFilter::from_query(&filter.to_query()), filter);
        assert!(ListFilter::from_query("").is_unfiltered());
        assert!(ListFilter::from_query("f99=name&o99=contains&v99=x").is_unfiltered());
    }

    #[test]
    fn any_of_values_split_on_western_and_chinese_separators() {
        assert_eq!(split_values("甲, 乙，丙、丁\n"), ["甲", "乙", "丙", "丁"]);
    }
}
