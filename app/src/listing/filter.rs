//! What a list shows: tabs, quick filters (快速过滤), the name search, multi-condition
//! search with operators, further parameters and the sort order, parsed from the query
//! string and compiled into SQL conditions on the list's table. Visibility is not decided
//! here: every query also goes through [`crate::visibility::Scope`].
//!
//! Conditions travel as `f1=name&o1=contains&v1=北京`, `f2=cf_7&o2=after&v2=2026-01-01`…
//! so a filtered view is a plain URL that can be bookmarked, saved and exported.

use chrono::NaiveDate;

use crate::{
    custom_fields::{Field, Kind},
    listing::{
        FieldDef, How, ListSpec, Lookups, Options, QuickArgs,
        sql::Sql,
        text::{escape_like, search_text},
    },
};

/// Most conditions in one search.
pub const MAX_CONDITIONS: usize = 8;

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
    /// An amount of money (typed in yuan).
    Money,
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
            Self::Number | Self::Money | Self::Date => {
                &[Op::Equals, Op::Before, Op::After, Op::Empty, Op::NotEmpty]
            }
            Self::Choice | Self::Choices => &[Op::Equals, Op::AnyOf, Op::Empty, Op::NotEmpty],
        }
    }

    /// True when the value is picked from options.
    pub fn is_choice(self) -> bool {
        matches!(self, Self::Choice | Self::Choices)
    }
}

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

/// Everything that selects and orders the rows of a list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Name contains.
    pub q: String,
    /// A built-in quick filter of the list.
    pub quick: Option<&'static str>,
    /// The list's further parameters that are set, in declaration order (the tab too).
    pub params: Vec<(&'static str, String)>,
    /// Multi-condition search.
    pub conditions: Vec<Condition>,
    /// The sort column; empty for the list's default.
    pub sort: String,
    /// Ascending instead of the sort key's default.
    pub asc: bool,
}

impl ListFilter {
    /// Parses a query string for `spec`; unknown or malformed parts are ignored, never
    /// an error.
    pub fn from_query(spec: &'static ListSpec, raw: &str) -> Self {
        let mut filter = Self::default();
        let mut conditions: Vec<(usize, Condition)> = vec![];
        let mut params: Vec<(&'static str, String)> = vec![];
        let mut dir = None;
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let value = value.trim().to_owned();
            match key.as_ref() {
                "q" => filter.q = value,
                "quick" => filter.quick = spec.quick.iter().find(|q| q.key == value).map(|q| q.key),
                "sort" => {
                    filter.sort = crate::listing::column(spec, &value)
                        .filter(|c| c.sort.is_some() && c.key != spec.default_sort)
                        .map(|c| c.key.to_owned())
                        .unwrap_or_default();
                }
                "dir" => dir = Some(value == "asc"),
                k if tab_param(spec) == Some(k) => {
                    let tabs = spec.tabs.as_ref().map_or(&[][..], |t| t.tabs);
                    params.retain(|(n, _)| *n != k);
                    if let Some((v, _, _)) = tabs.iter().find(|(v, _, _)| *v == value) {
                        params.push((tab_name(spec), (*v).to_owned()));
                    }
                }
                k if spec.params.iter().any(|p| p.name == k) => {
                    let Some(p) = spec.params.iter().find(|p| p.name == k) else {
                        continue;
                    };
                    params.retain(|(n, _)| *n != p.name);
                    if let Some(v) = (p.parse)(&value) {
                        params.push((p.name, v));
                    }
                }
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
                        // A multiple choice sends the field once per chosen value.
                        "v" if !c.value.is_empty() && !value.is_empty() => {
                            c.value = format!("{},{value}", c.value);
                        }
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
        // Declaration order, so the query string is canonical: the tab first.
        let order = |name: &str| {
            if Some(name) == tab_param(spec) {
                0
            } else {
                1 + spec.params.iter().position(|p| p.name == name).unwrap_or(0)
            }
        };
        params.sort_by_key(|(n, _)| order(n));
        filter.params = params;
        filter.asc = dir.unwrap_or_else(|| filter.default_asc(spec));
        filter
    }

    /// The direction of the sort key when nobody flipped it.
    fn default_asc(&self, spec: &'static ListSpec) -> bool {
        crate::listing::sort_key(spec, &self.sort).default_asc()
    }

    /// The query string of this filter (no cursor), for links, saving and exports.
    pub fn to_query(&self, spec: &'static ListSpec) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", &self.q);
        }
        if let Some(quick) = self.quick {
            out.append_pair("quick", quick);
        }
        for (name, value) in &self.params {
            out.append_pair(name, value);
        }
        for (i, c) in self.conditions.iter().enumerate() {
            let n = i + 1;
            out.append_pair(&format!("f{n}"), &c.field);
            out.append_pair(&format!("o{n}"), &c.op);
            if !c.value.is_empty() {
                out.append_pair(&format!("v{n}"), &c.value);
            }
        }
        if !self.sort.is_empty() {
            out.append_pair("sort", &self.sort);
        }
        if self.asc != self.default_asc(spec) {
            out.append_pair("dir", if self.asc { "asc" } else { "desc" });
        }
        out.finish()
    }

    /// The value of a parameter, if set.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The same view with `name` set to `value` (or unset for `None`).
    pub fn with_param(&self, name: &'static str, value: Option<&str>) -> Self {
        let mut out = self.clone();
        out.params.retain(|(n, _)| *n != name);
        if let Some(v) = value {
            out.params.push((name, v.to_owned()));
        }
        out
    }

    /// The tab shown (the list's default when none is chosen).
    pub fn tab(&self, spec: &ListSpec) -> Option<&str> {
        let tabs = spec.tabs.as_ref()?;
        Some(self.param(tabs.param).unwrap_or(tabs.default))
    }

    /// Only the tab of this view, as a fresh view (what "all" and the quick filters keep).
    pub fn only_tab(&self, spec: &ListSpec) -> Self {
        let mut out = Self::default();
        if let Some(tabs) = spec.tabs.as_ref()
            && let Some(value) = self.param(tabs.param)
        {
            out.params.push((tab_name(spec), value.to_owned()));
        }
        out.asc = self.asc;
        out.sort.clear();
        out
    }

    /// True when nothing but the tab narrows the list.
    pub fn is_unfiltered(&self, spec: &ListSpec) -> bool {
        self.q.is_empty()
            && self.quick.is_none()
            && self.params.iter().all(|(n, _)| Some(*n) == tab_param(spec))
            && self.conditions.is_empty()
    }
}

fn tab_param(spec: &ListSpec) -> Option<&'static str> {
    spec.tabs.as_ref().map(|t| t.param)
}

fn tab_name(spec: &ListSpec) -> &'static str {
    tab_param(spec).unwrap_or("tab")
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

/// The tab value that also keeps only the signed-in user's own rows.
pub const MINE_TAB: &str = "mine";

/// Compiles the filter into SQL conditions; problems are reported, not fatal (the
/// faulty condition is left out).
pub fn compile(
    spec: &ListSpec,
    filter: &ListFilter,
    normalised_q: &str,
    look: &Lookups<'_>,
) -> (Vec<Sql>, Vec<Problem>) {
    let mut out: Vec<Sql> = vec![];
    let mut problems = vec![];
    if !normalised_q.is_empty() {
        out.extend((spec.name_search)(normalised_q));
    }
    if let Some(tabs) = spec.tabs.as_ref() {
        let value = filter.tab(spec).unwrap_or(tabs.default);
        if let Some((_, _, Some(sql))) = tabs.tabs.iter().find(|(v, _, _)| *v == value) {
            out.push(Sql::new(*sql));
        }
        // The tab `mine` keeps the signed-in user's own rows (我的未完成任务).
        if value == MINE_TAB {
            out.push(Sql::new(format!("{}.owner_id = ", spec.table)).int(look.me.0));
        }
    }
    if let Some(quick) = filter
        .quick
        .and_then(|k| spec.quick.iter().find(|q| q.key == k))
    {
        let args = QuickArgs {
            me: look.me,
            time_zone: look.time_zone,
            filter,
        };
        out.extend((quick.sql)(&args));
    }
    for (name, value) in &filter.params {
        if let Some(compile) = spec
            .params
            .iter()
            .find(|p| p.name == *name)
            .and_then(|p| p.sql)
        {
            out.push(compile(value));
        }
    }
    for (i, c) in filter.conditions.iter().enumerate() {
        match condition(spec, c, look) {
            Ok(mut parts) => out.append(&mut parts),
            Err(make) => problems.push(make(i)),
        }
    }
    (out, problems)
}

/// A condition's SQL, or the problem (made with the condition's index).
pub type Compiled = Result<Vec<Sql>, fn(usize) -> Problem>;

fn condition(spec: &ListSpec, c: &Condition, look: &Lookups<'_>) -> Compiled {
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
        return custom(spec.table, field, op, value).map(|s| vec![s]);
    }
    let Some(def) = spec.fields.iter().find(|f| f.name == c.field) else {
        return Err(Problem::UnknownField);
    };
    if !def.kind.ops().contains(&op) {
        return Err(Problem::BadOperator);
    }
    builtin(spec, def, op, value, look)
}

/// "Is empty" and "is not empty" of a built-in field: `IS NULL` when it can be NULL,
/// else never and always.
fn presence(def: &FieldDef, op: Op) -> Sql {
    match (def.nullable, op) {
        (true, Op::Empty) => Sql::new(format!("{} IS NULL", def.sql)),
        (true, _) => Sql::new(format!("{} IS NOT NULL", def.sql)),
        (false, Op::Empty) => Sql::new("FALSE"),
        (false, _) => Sql::new("TRUE"),
    }
}

fn builtin(spec: &ListSpec, def: &FieldDef, op: Op, value: &str, look: &Lookups<'_>) -> Compiled {
    let one = |s: Sql| Ok(vec![s]);
    match &def.how {
        How::Name => {
            let term = search_text(value);
            let recheck = |cmp: &str, bound: String| {
                Sql::new(format!("kehu_search_text({}) {cmp} ", def.sql)).text(bound)
            };
            match op {
                Op::Contains => Ok((spec.name_search)(&term)),
                Op::StartsWith => {
                    let mut parts = (spec.name_search)(&term);
                    parts.push(recheck("LIKE", format!("{}%", escape_like(&term))));
                    Ok(parts)
                }
                Op::Equals => {
                    let mut parts = (spec.name_search)(&term);
                    parts.push(recheck("=", term));
                    Ok(parts)
                }
                _ => one(presence(def, op)),
            }
        }
        How::Text => one(text_condition(def.sql, op, value)),
        How::Choice(_) if op.is_unary() => one(presence(def, op)),
        How::Choice(Options::Source(source)) => {
            let ids = resolve(value, op, look.sources.rows(*source))?;
            one(Sql::new(format!("{} = ANY(", def.sql)).ints(ids).sql(")"))
        }
        How::Choice(Options::Fixed(options)) => {
            let codes: Vec<String> = values_for(op, value)
                .iter()
                .filter_map(|v| {
                    options
                        .iter()
                        .find(|(code, key)| v == code || *v == look.locale.t(key))
                        .map(|(code, _)| (*code).to_owned())
                })
                .collect();
            if codes.is_empty() {
                return Err(Problem::BadValue);
            }
            one(Sql::new(format!("{} = ANY(", def.sql))
                .texts(codes)
                .sql(")"))
        }
        How::Day if op.is_unary() => one(presence(def, op)),
        How::Day => {
            let day = parse_date(value)?;
            // The day in the tenant's time zone: [day 00:00, next day 00:00).
            let next = day
                .succ_opt()
                .ok_or(Problem::BadValue as fn(usize) -> Problem)?;
            let at = |sql: Sql, d: NaiveDate| {
                sql.text(d.to_string())
                    .sql("::date::timestamp AT TIME ZONE ")
                    .text(look.time_zone.to_owned())
                    .sql(")")
            };
            let column = def.sql;
            one(match op {
                Op::Before => at(Sql::new(format!("{column} < (")), day),
                Op::After => at(Sql::new(format!("{column} >= (")), next),
                _ => at(
                    at(Sql::new(format!("{column} >= (")), day).sql(format!(" AND {column} < (")),
                    next,
                ),
            })
        }
        How::Date if op.is_unary() => one(presence(def, op)),
        How::Date => {
            let day = parse_date(value)?;
            one(Sql::new(format!("{} {} ", def.sql, compare(op)))
                .text(day.to_string())
                .sql("::date"))
        }
        How::Money if op.is_unary() => one(presence(def, op)),
        How::Money => {
            let fen = parse_money(value).ok_or(Problem::BadValue as fn(usize) -> Problem)?;
            one(Sql::new(format!("{} {} ", def.sql, compare(op))).int(fen))
        }
        How::Special { compile, .. } => compile(op, value, look).map(|s| vec![s]),
    }
}

/// `<`, `>` or `=` for before, after and equals.
fn compare(op: Op) -> &'static str {
    match op {
        Op::Before => "<",
        Op::After => ">",
        _ => "=",
    }
}

/// An amount typed in yuan (`1,234.5`, `¥1234`) as fen; `None` when it is not one.
pub fn parse_money(value: &str) -> Option<i64> {
    let cleaned: String = value
        .trim()
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' '))
        .collect();
    let (yuan, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if yuan.is_empty() && fraction.is_empty()
        || !yuan.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || yuan.len() > 15
    {
        return None;
    }
    let yuan: i64 = if yuan.is_empty() {
        0
    } else {
        yuan.parse().ok()?
    };
    let fen: i64 = format!("{fraction:0<2}").parse().ok()?;
    yuan.checked_mul(100)?.checked_add(fen)
}

/// The values a choice operator looks for: one for "equals", a list for "any of".
fn values_for(op: Op, value: &str) -> Vec<String> {
    match op {
        Op::AnyOf => split_values(value),
        _ => vec![value.trim().to_owned()],
    }
}

/// Ids of the named entries (case-insensitive); an unknown name is a bad value.
pub fn resolve(
    value: &str,
    op: Op,
    entries: &[(i64, String)],
) -> Result<Vec<i64>, fn(usize) -> Problem> {
    let mut ids = vec![];
    for v in values_for(op, value) {
        let lower = v.to_lowercase();
        let found: Vec<i64> = entries
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

/// A text condition on an SQL text expression (a column or `custom->>'id'`).
fn text_condition(column: &str, op: Op, value: &str) -> Sql {
    let lowered = value.to_lowercase();
    match op {
        Op::Contains => {
            Sql::new(format!("lower({column}) LIKE ")).text(format!("%{}%", escape_like(&lowered)))
        }
        Op::StartsWith => {
            Sql::new(format!("lower({column}) LIKE ")).text(format!("{}%", escape_like(&lowered)))
        }
        Op::Equals => Sql::new(format!("lower({column}) = ")).text(lowered),
        Op::Empty => Sql::new(format!("coalesce({column}, '') = ''")),
        _ => Sql::new(format!("coalesce({column}, '') <> ''")),
    }
}

/// A condition on a custom field's value in `<table>.custom`.
fn custom(table: &str, field: &Field, op: Op, value: &str) -> Result<Sql, fn(usize) -> Problem> {
    let kind = custom_type(field.kind);
    if !kind.ops().contains(&op) {
        return Err(Problem::BadOperator);
    }
    // The key is a number we generated, never user text.
    let key = field.id.0;
    let text = format!("({table}.custom->>'{key}')");
    if op == Op::Empty {
        return Ok(Sql::new(format!(
            "coalesce({table}.custom->'{key}', 'null'::jsonb) IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb)"
        )));
    }
    if op == Op::NotEmpty {
        return Ok(Sql::new(format!(
            "coalesce({table}.custom->'{key}', 'null'::jsonb) NOT IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb)"
        )));
    }
    match field.kind {
        Kind::Text => Ok(text_condition(&text, op, value)),
        Kind::Number => {
            let number: f64 = value
                .replace([',', '，'], "")
                .parse()
                .map_err(|_| Problem::BadValue as fn(usize) -> Problem)?;
            if !number.is_finite() {
                return Err(Problem::BadValue);
            }
            Ok(Sql::new(format!(
                "(CASE WHEN jsonb_typeof({table}.custom->'{key}') = 'number' THEN {text}::numeric END) {} ",
                compare(op)
            ))
            .text(number.to_string())
            .sql("::numeric"))
        }
        Kind::Date => {
            let day = parse_date(value)?;
            // Stored as YYYY-MM-DD, which orders like the dates themselves.
            Ok(Sql::new(format!("{text} {} ", compare(op))).text(day.to_string()))
        }
        Kind::Select => Ok(Sql::new(format!("{text} = ANY("))
            .texts(values_for(op, value))
            .sql(")")),
        Kind::MultiSelect => {
            Ok(Sql::new(format!("({table}.custom->'{key}') ?| ")).texts(values_for(op, value)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_money, split_values};

    #[test]
    fn any_of_values_split_on_western_and_chinese_separators() {
        assert_eq!(split_values("甲, 乙，丙、丁\n"), ["甲", "乙", "丙", "丁"]);
    }

    #[test]
    fn amounts_are_typed_in_yuan_and_kept_in_fen() {
        assert_eq!(parse_money("1,234.56"), Some(123_456));
        assert_eq!(parse_money("¥10000"), Some(1_000_000));
        assert_eq!(parse_money("0.5"), Some(50));
        assert_eq!(parse_money(".5"), Some(50));
        assert_eq!(parse_money("12.345"), None);
        assert_eq!(parse_money("-5"), None);
        assert_eq!(parse_money("很多"), None);
        assert_eq!(parse_money(""), None);
    }
}
