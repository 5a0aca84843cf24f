//! Form helpers: labelled inputs that keep what the user typed and show field errors.

use std::{borrow::Cow, collections::BTreeMap};

use poem::{FromRequest, Request, RequestBody};
use serde::de::DeserializeOwned;

use maud::{Markup, html};

use crate::{error::AppError, i18n::Locale, ids::UserId, users::model::User, visibility::Scope};

/// Field errors of a submitted form, by field name, already translated.
#[derive(Clone, Debug, Default)]
pub struct Errors(BTreeMap<Cow<'static, str>, String>);

impl Errors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the translated message for `key` against `field`.
    pub fn add(&mut self, locale: Locale, field: impl Into<Cow<'static, str>>, key: &str) {
        self.0.entry(field.into()).or_insert_with(|| locale.t(key));
    }

    /// Records an already translated `message` against `field`.
    pub fn set(&mut self, field: impl Into<Cow<'static, str>>, message: String) {
        self.0.entry(field.into()).or_insert(message);
    }

    /// The error of `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// True when the form was valid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A url-encoded form body kept whole: the fixed fields deserialise into a struct, and
/// the dynamic ones (custom fields, repeated checkboxes) are read from its pairs.
pub struct RawForm {
    bytes: Vec<u8>,
    pairs: Vec<(String, String)>,
}

impl RawForm {
    /// The fixed fields.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, AppError> {
        serde_urlencoded::from_bytes(&self.bytes).map_err(|_| AppError::BadRequest)
    }

    /// Every (name, value) pair in order, repeated names included.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

impl<'a> FromRequest<'a> for RawForm {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let url_encoded = req
            .content_type()
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !url_encoded {
            return Err(AppError::BadRequest.into());
        }
        let bytes = body.take()?.into_vec().await?;
        let pairs = serde_urlencoded::from_bytes(&bytes).map_err(|_| AppError::BadRequest)?;
        Ok(Self { bytes, pairs })
    }
}

/// How an input behaves.
#[derive(Clone, Copy, Default)]
pub struct Opts {
    /// `type` attribute.
    pub kind: Kind,
    /// Must be filled.
    pub required: bool,
    /// Gets focus when the page opens.
    pub autofocus: bool,
    /// `autocomplete` attribute.
    pub autocomplete: Option<&'static str>,
    /// `maxlength` attribute.
    pub max_len: Option<usize>,
}

/// Input types in use.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// Plain text.
    #[default]
    Text,
    /// Email address.
    Email,
    /// Password (never echoed back).
    Password,
    /// A whole number.
    Number,
    /// A day (`YYYY-MM-DD`).
    Date,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Email => "email",
            Self::Password => "password",
            Self::Number => "number",
            Self::Date => "date",
        }
    }
}

/// A labelled input with its error message underneath.
pub fn input(name: &str, label: &str, value: &str, error: Option<&str>, opts: Opts) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    // Passwords are never sent back to the browser.
    let value = if opts.kind == Kind::Password {
        ""
    } else {
        value
    };
    html! {
        div.mb-3 {
            label.form-label for=(id) {
                (label)
                @if opts.required { span.text-danger aria-hidden="true" { " *" } }
            }
            input.form-control.is-invalid[error.is_some()]
                id=(id) name=(name) type=(opts.kind.as_str()) value=(value)
                required[opts.required] autofocus[opts.autofocus]
                autocomplete=[opts.autocomplete]
                maxlength=[opts.max_len]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| err_id.as_str())];
            @if let Some(error) = error {
                div.invalid-feedback id=(err_id) { (error) }
            }
        }
    }
}

/// A labelled `<select>` with its error message.
pub fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    error: Option<&str>,
) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    html! {
        div.mb-3 {
            label.form-label for=(id) { (label) }
            select.form-select.is-invalid[error.is_some()] id=(id) name=(name)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| err_id.as_str())] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            @if let Some(error) = error {
                div.invalid-feedback id=(err_id) { (error) }
            }
        }
    }
}

/// A form-wide message (e.g. wrong password) shown above the fields.
pub fn form_alert(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            div.alert.alert-danger role="alert" { (message) }
        }
    }
}

/// Normalises an email address: trimmed and lower-case.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A light syntax check; the real proof is the email that arrives.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
        && !domain.contains('@')
}

/// Trims a text field and checks its length in characters.
pub fn check_text(
    errors: &mut Errors,
    locale: Locale,
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> String {
    let value = value.trim().to_owned();
    if value.is_empty() {
        errors.add(locale, field, "form.required");
    } else if value.chars().count() > max_chars {
        errors.add(locale, field, "form.too_long");
    }
    value
}

/// The owner (负责人) typed into a form: a user of the tenant (`people`) whom the editor
/// may assign records to; empty means `default`.
pub fn check_owner(
    errors: &mut Errors,
    locale: Locale,
    raw: &str,
    (people, scope): (&[User], &Scope),
    default: UserId,
) -> UserId {
    match raw.trim().parse().map(UserId) {
        Ok(id) if people.iter().any(|u| u.id == id) && scope.can_manage(id) => id,
        _ if raw.trim().is_empty() => default,
        _ => {
            errors.add(locale, "owner_id", "form.invalid_choice");
            default
        }
    }
}

/// The category (分类) chosen in a form: empty for none, else one of `categories` (ids
/// made by `id`); anything else is an error on `category_id`.
pub fn check_category<I: Copy + PartialEq>(
    errors: &mut Errors,
    locale: Locale,
    raw: &str,
    categories: &[(I, String)],
    id: fn(i64) -> I,
) -> Option<I> {
    match raw.trim() {
        "" => None,
        raw => match raw.parse().map(id) {
            Ok(id) if categories.iter().any(|(c, _)| *c == id) => Some(id),
            _ => {
                errors.add(locale, "category_id", "form.invalid_choice");
                None
            }
        },
    }
}

/// The visibility typed into a form: `public`, or `private` (also when empty).
pub fn check_visibility(errors: &mut Errors, locale: Locale, raw: &str) -> &'static str {
    match raw {
        "public" => "public",
        "private" | "" => "private",
        _ => {
            errors.add(locale, "visibility", "form.invalid_choice");
            "private"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check_accepts_real_addresses_and_refuses_junk() {
        assert!(is_valid_email("li.lei@example.com.cn"));
        assert!(!is_valid_email("li.lei"));
        assert!(!is_valid_email("a@b"));
        assert!(!is_valid_email("a b@example.com"));
        assert!(!is_valid_email("@example.com"));
        assert!(!is_valid_email("a@@example.com"));
    }
}
