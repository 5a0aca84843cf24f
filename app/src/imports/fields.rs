//! What a file column can be imported into, and the check of one file row against the
//! mapping: either a line for the staging `COPY` or the reasons the row is refused.
//!
//! Rows are checked in the worker, as they stream out of the file, with the same limits
//! as the forms and the table constraints, so the set-based merge never meets a value
//! PostgreSQL would refuse (one bad value would otherwise fail a whole chunk).

use std::collections::HashMap;

use crate::{
    custom_fields::{self as cf, Field},
    i18n::Locale,
    ids::{CategoryId, UserId},
    web::forms::{self, Errors},
};

/// A built-in field a column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The mapping key (as [`super::sniff::suggest`] names it).
    pub key: &'static str,
    /// Locale key of its label.
    pub label: &'static str,
    /// Longest value, in characters.
    pub max: usize,
    /// Every row must have it.
    pub required: bool,
}

const fn t(key: &'static str, label: &'static str, max: usize, required: bool) -> Target {
    Target {
        key,
        label,
        max,
        required,
    }
}

/// The company fields, in staging-column order (after `row_no`).
pub const COMPANY: [Target; 9] = [
    t("name", "company.name", 200, true),
    t("phone", "company.phone", 50, false),
    t("email", "field.email", 254, false),
    t("website", "company.website", 300, false),
    t("address", "company.address", 300, false),
    t("introduction", "company.introduction", 5000, false),
    t("category", "company.category", 200, false),
    t("owner", "company.owner", 254, false),
    t("visibility", "company.visibility", 20, false),
];

/// The contact fields, in staging-column order (after `row_no`).
pub const CONTACT: [Target; 10] = [
    t("company", "contact.company", 200, true),
    t("name", "field.name", 100, true),
    t("title", "contact.title", 100, false),
    t("phone", "company.phone", 50, false),
    t("mobile", "contact.mobile", 50, false),
    t("email", "field.email", 254, false),
    t("qq", "contact.qq", 50, false),
    t("wechat", "contact.wechat", 100, false),
    t("other_im", "contact.other_im", 200, false),
    t("weibo", "contact.weibo", 200, false),
];

/// The built-in targets of `entity` (`company` or `contact`).
pub fn targets(entity: &str) -> &'static [Target] {
    if entity == "contact" {
        &CONTACT
    } else {
        &COMPANY
    }
}

/// What one file column goes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A built-in field, by index into [`targets`].
    Builtin(usize),
    /// A custom field, by index into the entity's fields.
    Custom(usize),
}

/// The mapping resolved against the targets and the tenant's custom fields: one slot
/// per file column (`None`: not imported). Unknown keys are dropped.
pub fn resolve(entity: &str, keys: &[String], fields: &[Field]) -> Vec<Option<Slot>> {
    let builtins = targets(entity);
    keys.iter()
        .map(|key| {
            if let Some(i) = builtins.iter().position(|t| t.key == key) {
                return Some(Slot::Builtin(i));
            }
            fields
                .iter()
                .position(|f| f.input_name() == *key)
                .map(Slot::Custom)
        })
        .collect()
}

/// Names the tenant's categories and people can be written as, for the category and
/// owner columns (matched without regard to case).
#[derive(Clone, Debug, Default)]
pub struct Lookups {
    /// Category name (lower case) → id.
    pub categories: HashMap<String, CategoryId>,
    /// User name or email (lower case) → id.
    pub people: HashMap<String, UserId>,
}

/// The checks of one import: mapping, fields, lookups and the error language.
pub struct Checker<'a> {
    /// `company` or `contact`.
    pub entity: &'a str,
    /// One slot per file column.
    pub slots: &'a [Option<Slot>],
    /// The entity's custom fields.
    pub fields: &'a [Field],
    /// The file's header row (for error reports).
    pub headers: &'a [String],
    /// Names of categories and people.
    pub lookups: &'a Lookups,
    /// Language of the reasons.
    pub locale: Locale,
}

/// A refused row: the columns at fault and the reasons.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// The file's header of the (first) column at fault, or "" for the row as a whole.
    pub column: String,
    /// Every reason, joined.
    pub reason: String,
}

impl Checker<'_> {
    /// Checks `cells` and, when the row is good, appends its staging line (PostgreSQL
    /// `COPY` text format: tab-separated, `\N` for "no value") to `out`.
    pub fn check(&self, row_no: u64, cells: &[String], out: &mut Vec<u8>) -> Result<(), Refusal> {
        let builtins = targets(self.entity);
        let mut values: Vec<Option<String>> = vec![None; builtins.len()];
        let mut custom_pairs: Vec<(String, String)> = vec![];
        let mut mapped_fields: Vec<Field> = vec![];
        let mut problems: Vec<(usize, String)> = vec![];
        for (col, slot) in self.slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            let raw = cells.get(col).map_or("", |c| c.trim());
            // PostgreSQL text cannot hold NUL; no real spreadsheet cell has one.
            if raw.contains('\0') {
                let header = self.headers.get(col).map_or("", String::as_str);
                problems.push((
                    col,
                    self.locale.tf("imports.err_invalid", &[("field", header)]),
                ));
                continue;
            }
            match *slot {
                Slot::Builtin(i) => {
                    if raw.is_empty() {
                        continue;
                    }
                    let target = builtins[i];
                    match self.builtin(target, raw) {
                        Ok(v) => values[i] = Some(v),
                        Err(reason) => problems.push((col, reason)),
                    }
                }
                Slot::Custom(i) => {
                    let Some(field) = self.fields.get(i) else {
                        continue;
                    };
                    if !mapped_fields.iter().any(|f| f.id == field.id) {
                        mapped_fields.push(field.clone());
                    }
                    let name = field.input_name();
                    if field.kind == cf::Kind::MultiSelect {
                        for part in raw.split([',', '，', ';', '；', '、', '|']) {
                            custom_pairs.push((name.clone(), part.trim().to_owned()));
                        }
                    } else {
                        custom_pairs.push((name, raw.to_owned()));
                    }
                }
            }
        }
        for (i, target) in builtins.iter().enumerate() {
            if target.required && values[i].is_none() {
                let col = self.slots.iter().position(|s| *s == Some(Slot::Builtin(i)));
                let reason = self.locale.tf(
                    "imports.err_required",
                    &[("field", &self.locale.t(target.label))],
                );
                problems.push((col.unwrap_or(usize::MAX), reason));
            }
        }
        let custom = if mapped_fields.is_empty() {
            None
        } else {
            let inputs = cf::Inputs::from_submitted(&mapped_fields, &custom_pairs);
            let mut errors = Errors::new();
            let value = cf::validate(
                self.locale,
                &mapped_fields,
                &inputs,
                &serde_json::Value::Null,
                &mut errors,
            );
            for f in &mapped_fields {
                if let Some(message) = errors.get(&f.input_name()) {
                    let col = self.slots.iter().position(
                        |s| matches!(s, Some(Slot::Custom(i)) if self.fields[*i].id == f.id),
                    );
                    problems.push((col.unwrap_or(usize::MAX), format!("{}: {message}", f.label)));
                }
            }
            (!value.is_empty()).then(|| serde_json::Value::Object(value).to_string())
        };
        if !problems.is_empty() {
            problems.sort_by_key(|(col, _)| *col);
            let column = problems
                .first()
                .and_then(|(col, _)| self.headers.get(*col))
                .cloned()
                .unwrap_or_default();
            let reason = problems
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Refusal { column, reason });
        }
        out.extend_from_slice(row_no.to_string().as_bytes());
        for v in values.iter().chain(std::iter::once(&custom)) {
            out.push(b'\t');
            match v {
                Some(v) => copy_escape(v, out),
                None => out.extend_from_slice(b"\\N"),
            }
        }
        out.push(b'\n');
        Ok(())
    }

    /// The value of a built-in field, or why it is refused.
    fn builtin(&self, target: Target, raw: &str) -> Result<String, String> {
        let locale = self.locale;
        if raw.chars().count() > target.max {
            return Err(locale.tf(
                "imports.err_too_long",
                &[
                    ("field", &locale.t(target.label)),
                    ("max", &target.max.to_string()),
                ],
            ));
        }
        match target.key {
            "email" => {
                let email = forms::normalize_email(raw);
                if forms::is_valid_email(&email) {
                    Ok(email)
                } else {
                    Err(locale.tf("imports.err_email", &[("value", raw)]))
                }
            }
            "category" => self
                .lookups
                .categories
                .get(&raw.to_lowercase())
                .map(|id| id.to_string())
                .ok_or_else(|| locale.tf("imports.err_category", &[("value", raw)])),
            "owner" => self
                .lookups
                .people
                .get(&raw.to_lowercase())
                .map(|id| id.to_string())
                .ok_or_else(|| locale.tf("imports.err_owner", &[("value", raw)])),
            "visibility" => visibility_of(raw)
                .map(str::to_owned)
                .ok_or_else(|| locale.tf("imports.err_visibility", &[("value", raw)])),
            _ => Ok(raw.to_owned()),
        }
    }
}

/// `public` or `private` from what a spreadsheet may say.
fn visibility_of(raw: &str) -> Option<&'static str> {
    match raw.trim().to_lowercase().as_str() {
        "public" | "公开" | "公共" | "所有人" | "全部" | "公开客户" => Some("public"),
        "private" | "私有" | "私人" | "仅负责人" | "个人" | "私有客户" => {
            Some("private")
        }
        _ => None,
    }
}

/// Appends `value` escaped for `COPY … FROM STDIN` text format.
fn copy_escape(value: &str, out: &mut Vec<u8>) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker<'a>(
        slots: &'a [Option<Slot>],
        headers: &'a [String],
        lookups: &'a Lookups,
    ) -> Checker<'a> {
        Checker {
            entity: "company",
            slots,
            fields: &[],
            headers,
            lookups,
            locale: Locale::ZhCn,
        }
    }

    #[test]
    fn a_good_row_becomes_one_escaped_copy_line_with_nulls_for_missing_values() {
        let slots = resolve(
            "company",
            &[
                "name".into(),
                "".into(),
                "phone".into(),
                "visibility".into(),
            ],
            &[],
        );
        let headers: Vec<String> = vec!["公司".into(), "x".into(), "电话".into(), "权限".into()];
        let lookups = Lookups::default();
        let mut out = vec![];
        let cells: Vec<String> = vec![
            "北京\t星辰\\科技".into(),
            "ignored".into(),
            " 010-1 ".into(),
            "公开".into(),
        ];
        checker(&slots, &headers, &lookups)
            .check(7, &cells, &mut out)
            .expect("valid");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "7\t北京\\t星辰\\\\科技\t010-1\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\tpublic\t\\N\n"
        );
    }

    #[test]
    fn a_bad_row_is_refused_with_its_column_and_every_reason() {
        let slots = resolve(
            "company",
            &["name".into(), "email".into(), "category".into()],
            &[],
        );
        let headers: Vec<String> = vec!["公司".into(), "邮箱".into(), "分类".into()];
        let lookups = Lookups::default();
        let mut out = vec![];
        let cells: Vec<String> = vec!["".into(), "not-an-email".into(), "VIP".into()];
        let refusal = checker(&slots, &headers, &lookups)
            .check(3, &cells, &mut out)
            .expect_err("invalid");
        assert_eq!(refusal.column, "公司");
        assert!(refusal.reason.contains("公司名称"), "{}", refusal.reason);
        assert!(
            refusal.reason.contains("not-an-email"),
            "{}",
            refusal.reason
        );
        assert!(refusal.reason.contains("VIP"), "{}", refusal.reason);
        assert!(out.is_empty());
    }
}
