//! 自定义字段: fields a tenant admin defines per entity (company, contact or opportunity).
//!
//! Definitions live in `custom_fields`; values in the entity's `custom` jsonb column,
//! keyed by the field id, so a renamed field keeps its values. This module reads the
//! definitions, turns submitted form pairs into checked JSON values, and renders the form
//! controls, detail rows and list cells — every form, page and list uses it.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::{
    db::{Reads, TenantTx},
    error::AppResult,
    i18n::Locale,
    ids::FieldId,
    schema::custom_fields,
    web::forms::Errors,
};

/// Longest text value.
pub const TEXT_MAX: usize = 1000;

/// What a field belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    /// 公司.
    Company,
    /// 联系人.
    Contact,
    /// 销售机会.
    Opportunity,
}

impl Entity {
    /// Every entity, in the order the admin page offers them.
    pub const ALL: [Self; 3] = [Self::Company, Self::Contact, Self::Opportunity];
}

impl Entity {
    /// The database and URL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Contact => "contact",
            Self::Opportunity => "opportunity",
        }
    }

    /// Parses the URL spelling; anything unknown is `Company`.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "contact" => Self::Contact,
            "opportunity" => Self::Opportunity,
            _ => Self::Company,
        }
    }
}

/// The type of a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// A calendar date.
    Date,
    /// One of the options.
    Select,
    /// Any of the options.
    MultiSelect,
}

impl Kind {
    /// Every kind, in the order the admin form offers them.
    pub const ALL: [Self; 5] = [
        Self::Text,
        Self::Number,
        Self::Date,
        Self::Select,
        Self::MultiSelect,
    ];

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Select => "select",
            Self::MultiSelect => "multiselect",
        }
    }

    /// Parses the database spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// True for kinds whose values come from a list of options.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Select | Self::MultiSelect)
    }
}

/// A field definition.
#[derive(Clone, Debug)]
pub struct Field {
    /// Id; also the key of the value in `custom`.
    pub id: FieldId,
    /// Company or contact.
    pub entity: Entity,
    /// The label users see.
    pub label: String,
    /// Value type.
    pub kind: Kind,
    /// Choices of select fields.
    pub options: Vec<String>,
    /// Must be filled.
    pub required: bool,
}

impl Field {
    /// The key of the value in the `custom` column.
    pub fn key(&self) -> String {
        self.id.to_string()
    }

    /// The name of the form control (and list column).
    pub fn input_name(&self) -> String {
        format!("cf_{}", self.id)
    }
}

type Row = (FieldId, String, String, String, Vec<Option<String>>, bool);

fn from_row((id, entity, label, kind, options, required): Row) -> Field {
    Field {
        id,
        entity: Entity::parse(&entity),
        label,
        kind: Kind::parse(&kind).unwrap_or(Kind::Text),
        options: options.into_iter().flatten().collect(),
        required,
    }
}

/// The tenant's fields of `entity`, in their order.
pub async fn of_entity(db: Reads<'_>, entity: Entity) -> AppResult<Vec<Field>> {
    let tenant = db.tenant();
    let rows: Vec<Row> = custom_fields::table
        .filter(
            custom_fields::tenant_id
                .eq(tenant)
                .and(custom_fields::entity.eq(entity.as_str())),
        )
        .order((custom_fields::position.asc(), custom_fields::id.asc()))
        .select((
            custom_fields::id,
            custom_fields::entity,
            custom_fields::label,
            custom_fields::kind,
            custom_fields::options,
            custom_fields::required,
        ))
        .load(&mut db.conn())
        .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// One field of the tenant, or `NotFound`.
pub async fn find(tx: &mut TenantTx, id: FieldId) -> AppResult<Field> {
    let tenant = tx.tenant();
    let row: Row = custom_fields::table
        .filter(
            custom_fields::tenant_id
                .eq(tenant)
                .and(custom_fields::id.eq(id)),
        )
        .select((
            custom_fields::id,
            custom_fields::entity,
            custom_fields::label,
            custom_fields::kind,
            custom_fields::options,
            custom_fields::required,
        ))
        .first(&mut **tx)
        .await?;
    Ok(from_row(row))
}

/// What the form controls show: the raw strings per field id, as typed or as stored.
#[derive(Clone, Debug, Default)]
pub struct Inputs(HashMap<FieldId, Vec<String>>);

impl Inputs {
    /// The stored values of a record.
    pub fn from_stored(fields: &[Field], custom: &Value) -> Self {
        let mut map = HashMap::new();
        for f in fields {
            let values = match custom.get(f.key()) {
                Some(Value::Array(items)) => items.iter().map(plain).collect(),
                Some(Value::Null) | None => vec![],
                Some(v) => vec![plain(v)],
            };
            map.insert(f.id, values);
        }
        Self(map)
    }

    /// The submitted form pairs (`cf_<id>`, repeated for multi-select).
    pub fn from_submitted(fields: &[Field], pairs: &[(String, String)]) -> Self {
        let mut map: HashMap<FieldId, Vec<String>> = HashMap::new();
        for f in fields {
            let name = f.input_name();
            let values = pairs
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .collect();
            map.insert(f.id, values);
        }
        Self(map)
    }

    /// Replaces the values of the fields `other` holds.
    pub fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    fn of(&self, id: FieldId) -> &[String] {
        self.0.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    fn first(&self, id: FieldId) -> &str {
        self.of(id).first().map_or("", String::as_str)
    }
}

/// A JSON value as one plain string.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Checks submitted values against their definitions and returns the new `custom`
/// object. Errors go under each control's name. A select value that is no longer an
/// option is accepted only when it is the value already stored (`previous`), so removing
/// an option does not make old records uneditable.
pub fn validate(
    locale: Locale,
    fields: &[Field],
    inputs: &Inputs,
    previous: &Value,
    errors: &mut Errors,
) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        let name = f.input_name();
        let kept = Inputs::from_stored(std::slice::from_ref(f), previous);
        let allowed =
            |v: &str| f.options.iter().any(|o| o == v) || kept.of(f.id).iter().any(|k| k == v);
        let value = match f.kind {
            Kind::Text => {
                let text = inputs.first(f.id).trim();
                if text.chars().count() > TEXT_MAX {
                    errors.add(locale, name.clone(), "form.too_long");
                }
                (!text.is_empty()).then(|| Value::String(text.to_owned()))
            }
            Kind::Number => match inputs.first(f.id).trim().replace([',', '，'], "") {
                t if t.is_empty() => None,
                t => match parse_number(&t) {
                    Some(n) => Some(n),
                    None => {
                        errors.add(locale, name.clone(), "fields.invalid_number");
                        None
                    }
                },
            },
            Kind::Date => match inputs.first(f.id).trim() {
                "" => None,
                t => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
                    Ok(d) => Some(Value::String(d.format("%Y-%m-%d").to_string())),
                    Err(_) => {
                        errors.add(locale, name.clone(), "fields.invalid_date");
                        None
                    }
                },
            },
            Kind::Select => match inputs.first(f.id).trim() {
                "" => None,
                t if allowed(t) => Some(Value::String(t.to_owned())),
                _ => {
                    errors.add(locale, name.clone(), "form.invalid_choice");
                    None
                }
            },
            Kind::MultiSelect => {
                let mut chosen: Vec<Value> = vec![];
                for v in inputs.of(f.id) {
                    let v = v.trim();
                    if v.is_empty() || chosen.iter().any(|c| c == v) {
                        continue;
                    }
                    if allowed(v) {
                        chosen.push(Value::String(v.to_owned()));
                    } else {
                        errors.add(locale, name.clone(), "form.invalid_choice");
                    }
                }
                (!chosen.is_empty()).then_some(Value::Array(chosen))
            }
        };
        match value {
            Some(v) => {
                out.insert(f.key(), v);
            }
            None if f.required => errors.add(locale, name, "form.required"),
            None => {}
        }
    }
    out
}

/// A finite number as JSON: integers stay integers.
fn parse_number(text: &str) -> Option<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    let f: f64 = text.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// The value of `field` in `custom`, as one line of text (multi-select joined by "、").
pub fn text_of(field: &Field, custom: &Value) -> String {
    match custom.get(field.key()) {
        Some(Value::Array(items)) => items.iter().map(plain).collect::<Vec<_>>().join("、"),
        Some(v) => plain(v),
        None => String::new(),
    }
}

/// The form controls of `fields`, showing `inputs` and the errors under each.
pub fn controls(locale: Locale, fields: &[Field], inputs: &Inputs, errors: &Errors) -> Markup {
    html! {
        @for f in fields {
            @let name = f.input_name();
            @let id = format!("f-{name}");
            @let error = errors.get(&name);
            @let error_id = format!("{id}-error");
            @if f.kind == Kind::MultiSelect {
                fieldset.mb-3 #(id) aria-describedby=[error.map(|_| error_id.as_str())] {
                    legend.form-label.fs-6 { (f.label) @if f.required { span.text-danger aria-hidden="true" { " *" } } }
                    @let chosen = inputs.of(f.id);
                    @let extra: Vec<&String> = chosen.iter().filter(|c| !f.options.contains(c)).collect();
                    @for (i, option) in f.options.iter().chain(extra).enumerate() {
                        div.form-check.form-check-inline {
                            @let option_id = format!("{id}-{i}");
                            input.form-check-input.is-invalid[error.is_some()] type="checkbox" id=(option_id) name=(name) value=(option)
                                checked[chosen.contains(option)];
                            label.form-check-label for=(option_id) { (option) }
                        }
                    }
                    @if let Some(error) = error { div.invalid-feedback.d-block id=(error_id) { (error) } }
                }
            } @else {
                div.mb-3 {
                    label.form-label for=(id) { (f.label) @if f.required { span.text-danger aria-hidden="true" { " *" } } }
                    @let value = inputs.first(f.id);
                    @match f.kind {
                        Kind::Select => {
                            select.form-select.is-invalid[error.is_some()] id=(id) name=(name) required[f.required]
                                aria-describedby=[error.map(|_| error_id.as_str())] {
                                option value="" { (locale.t("fields.choose")) }
                                @for option in &f.options {
                                    option value=(option) selected[option == value] { (option) }
                                }
                                @if !value.is_empty() && !f.options.iter().any(|o| o == value) {
                                    option value=(value) selected { (value) }
                                }
                            }
                        }
                        Kind::Date => {
                            input.form-control.is-invalid[error.is_some()] id=(id) name=(name) type="date" value=(value)
                                required[f.required] aria-describedby=[error.map(|_| error_id.as_str())];
                        }
                        Kind::Number => {
                            input.form-control.is-invalid[error.is_some()] id=(id) name=(name) type="text" inputmode="decimal"
                                value=(value) required[f.required] aria-describedby=[error.map(|_| error_id.as_str())];
                        }
                        _ => {
                            input.form-control.is-invalid[error.is_some()] id=(id) name=(name) type="text" value=(value)
                                maxlength=(TEXT_MAX) required[f.required] aria-describedby=[error.map(|_| error_id.as_str())];
                        }
                    }
                    @if let Some(error) = error { div.invalid-feedback id=(error_id) { (error) } }
                }
            }
        }
    }
}

/// Detail-page rows (`dt`/`dd`) for `fields`.
pub fn detail_rows(fields: &[Field], custom: &Value) -> Markup {
    html! {
        @for f in fields {
            @let text = text_of(f, custom);
            dt.col-sm-3 { (f.label) }
            dd.col-sm-9 data-field=(f.input_name()) { @if text.is_empty() { "—" } @else { (text) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Entity, Field, Inputs, Kind, validate};
    use crate::{i18n::Locale, ids::FieldId, web::forms::Errors};

    fn field(id: i64, kind: Kind, required: bool) -> Field {
        Field {
            id: FieldId(id),
            entity: Entity::Company,
            label: format!("f{id}"),
            kind,
            options: vec!["甲".into(), "乙".into()],
            required,
        }
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_typed_and_checked() {
        let fields = vec![
            field(1, Kind::Text, false),
            field(2, Kind::Number, false),
            field(3, Kind::Date, false),
            field(4, Kind::Select, false),
            field(5, Kind::MultiSelect, false),
        ];
        let input = pairs(&[
            ("cf_1", " 备注 "),
            ("cf_2", "1,200"),
            ("cf_3", "2026-11-23"),
            ("cf_4", "乙"),
            ("cf_5", "甲"),
            ("cf_5", "乙"),
            ("cf_5", "甲"),
        ]);
        let mut errors = Errors::new();
        let out = validate(
            Locale::ZhCn,
            &fields,
            &Inputs::from_submitted(&fields, &input),
            &json!({}),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(
            serde_json::Value::Object(out),
            json!({"1": "备注", "2": 1200, "3": "2026-11-23", "4": "乙", "5": ["甲", "乙"]})
        );
    }

    #[test]
    fn bad_values_and_missing_required_ones_are_refused() {
        let fields = vec![
            field(1, Kind::Text, true),
            field(2, Kind::Number, false),
            field(3, Kind::Date, false),
            field(4, Kind::Select, false),
        ];
        let input = pairs(&[("cf_2", "12x"), ("cf_3", "2026-02-30"), ("cf_4", "丙")]);
        let mut errors = Errors::new();
        let out = validate(
            Locale::En,
            &fields,
            &Inputs::from_submitted(&fields, &input),
            &json!({}),
            &mut errors,
        );
        for name in ["cf_1", "cf_2", "cf_3", "cf_4"] {
            assert!(errors.get(name).is_some(), "{name} has no error");
        }
        assert!(out.is_empty());
    }

    #[test]
    fn a_removed_option_still_stored_stays_valid() {
        let fields = vec![field(4, Kind::Select, false)];
        let input = pairs(&[("cf_4", "旧")]);
        let mut errors = Errors::new();
        let out = validate(
            Locale::ZhCn,
            &fields,
            &Inputs::from_submitted(&fields, &input),
            &json!({"4": "旧"}),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(out.get("4"), Some(&json!("旧")));
    }
}
