//! Languages. Simplified Chinese is the default; English is switchable per user. Every
//! string lives in `app/locales/*.yml`.

use poem::{Request, web::cookie::CookieJar};
use serde::{Deserialize, Serialize};

/// A supported UI language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Locale {
    /// 简体中文, the default.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

/// Cookie that remembers the language chosen before sign-in.
pub const LANG_COOKIE: &str = "kehu_lang";

impl Locale {
    /// Every supported locale, default first.
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// The BCP 47 code, as stored in `users.locale` and used by the locale files.
    pub fn code(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    /// The language's own name, shown in the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::ZhCn => "简体中文",
            Self::En => "English",
        }
    }

    /// Parses a code; unknown codes give `None`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The language of an anonymous request: the cookie, else the default.
    pub fn from_request(req: &Request) -> Self {
        Self::from_cookies(req.cookie())
    }

    /// The language stored in the language cookie, else the default.
    pub fn from_cookies(jar: &CookieJar) -> Self {
        jar.get(LANG_COOKIE)
            .and_then(|c| Self::from_code(c.value_str()))
            .unwrap_or_default()
    }

    /// Translates `key`.
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// Translates `key`, filling `%{name}` placeholders.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key);
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
    }

    /// Formats a timestamp for this locale in the tenant's time zone.
    pub fn datetime(self, at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
        let local = at.with_timezone(&tz);
        match self {
            Self::ZhCn => local.format("%Y年%m月%d日 %H:%M").to_string(),
            Self::En => local.format("%b %-d, %Y %H:%M").to_string(),
        }
    }
}
