//! The HTTP toolkit every handler uses: the signed-in context, the layout, forms, flash
//! messages, inline editing, request helpers and the security middleware. The route table
//! is in [`crate::routes`].

pub mod ctx;
pub mod error_pages;
pub mod flash;
pub mod forms;
pub mod inline;
pub mod layout;
pub mod security;
pub mod session_store;

use poem::Request;

use crate::i18n::LANG_COOKIE;

/// True for requests made by htmx (which want a fragment, not a page).
pub fn is_htmx(req: &Request) -> bool {
    req.header("HX-Request").is_some() && req.header("HX-Boosted").is_none()
}

/// The language cookie, set at login and on every switch so that error pages and the
/// login page speak the user's language.
pub fn lang_cookie(code: &str) -> String {
    format!("{LANG_COOKIE}={code}; Path=/; Max-Age=31536000; SameSite=Lax")
}
