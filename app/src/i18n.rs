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

#[cfg(test)]
mod tests {
    use super::Locale;

    /// A key is missing when rust-i18n hands back the key (or `locale.key`) itself.
    fn missing(locale: Locale, key: &str) -> bool {
        let text = locale.t(key);
        text == key || text.ends_with(key)
    }

    /// Every string literal in the sources that looks like a locale key.
    fn keys_in_sources() -> Vec<String> {
        const PREFIXES: &[&str] = &[
            "app.",
            "customers.",
            "contacts.",
            "categories.",
            "tags.",
            "fields.",
            "history.",
            "filters.",
            "exports.",
            "imports.",
            "notes.",
            "opportunities.",
            "contact.",
            "company.",
            "visibility.",
            "menu.",
            "tab.",
            "nav.",
            "common.",
            "role.",
            "status.",
            "field.",
            "form.",
            "password.",
            "login.",
            "signup.",
            "invite.",
            "home.",
            "users.",
            "account.",
            "audit.",
            "jobs.",
            "email.",
            "error.",
            "import_errors.",
            "statistics.",
            "list.",
            "targets.",
            "money.",
            "tasks.",
            "calendar.",
        ];
        let mut keys = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("read src").flatten() {
                    stack.push(entry.path());
                }
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("read source");
            for literal in source.split('"').skip(1).step_by(2) {
                let is_key = PREFIXES.iter().any(|p| literal.starts_with(p))
                    && literal.len() > 4
                    && literal.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                    })
                    && !literal.ends_with('.');
                if is_key {
                    keys.push(literal.to_owned());
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn every_key_used_in_the_code_exists_in_every_language() {
        let mut keys = keys_in_sources();
        assert!(keys.len() > 50, "the scan found too few keys: {keys:?}");
        // Keys built at run time.
        for action in [
            "user_locked",
            "user_unlocked",
            "role_changed",
            "manager_changed",
            "user_disabled",
            "user_enabled",
            "user_created",
            "user_invited",
            "password_reset",
            "password_changed",
        ] {
            keys.push(format!("audit.{action}"));
        }
        for status in ["queued", "running", "sent", "failed"] {
            keys.push(format!("jobs.status_{status}"));
        }
        for status in ["tracking", "won", "lost"] {
            keys.push(format!("opportunities.status_{status}"));
        }
        for status in ["won", "lost"] {
            keys.push(format!("opportunities.closed_{status}"));
        }
        for list in [
            "categories",
            "opportunities.categories",
            "opportunities.lost_reasons",
        ] {
            for text in [
                "new_name",
                "add",
                "empty",
                "rename",
                "confirm_delete",
                "taken",
            ] {
                keys.push(format!("{list}.{text}"));
            }
        }
        // The history's import events, from `history::imports_of`.
        for action in ["imported", "import_updated", "import_undone"] {
            keys.push(format!("history.{action}"));
        }
        // The feed's tenant events, from `history::tenant_sentence`.
        for (action, entities) in [
            ("imported", &["company", "contact"][..]),
            ("import_undone", &["company", "contact"][..]),
            ("exported", &["company", "contact", "opportunity"][..]),
        ] {
            for entity in entities {
                for one in ["", "_one"] {
                    keys.push(format!("history.{action}_{entity}{one}"));
                }
            }
        }
        for also in ["updated", "restored"] {
            for entity in ["company", "contact"] {
                keys.push(format!("history.import_also_{also}_{entity}"));
            }
        }
        for visibility in ["public", "private"] {
            keys.push(format!("visibility.{visibility}"));
        }
        for month in 1..=12 {
            keys.push(format!("targets.m{month}"));
        }
        for kind in ["welcome", "invitation", "user_confirm"] {
            keys.push(format!("jobs.kind_{kind}"));
        }
        let absent: Vec<String> = Locale::ALL
            .iter()
            .flat_map(|&l| {
                keys.iter()
                    .filter(move |k| missing(l, k))
                    .map(move |k| format!("{}: {k}", l.code()))
            })
            .collect();
        assert!(absent.is_empty(), "missing translations: {absent:#?}");
    }

    #[test]
    fn chinese_is_the_default_and_english_is_available() {
        assert_eq!(Locale::default(), Locale::ZhCn);
        assert_eq!(Locale::ZhCn.t("login.title"), "登录");
        assert_eq!(Locale::En.t("login.title"), "Sign in");
        assert!(missing(Locale::En, "no.such.key"));
        assert_eq!(
            Locale::En.tf("home.welcome", &[("name", "Li"), ("company", "ACME")]),
            "Welcome back to ACME's workspace, Li."
        );
    }
}
