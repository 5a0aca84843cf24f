//! Flash messages: the one way an action tells the user what it did ("已为 5 家客户添加
//! 标签") or why it did nothing, on the page it redirects to.
//!
//! The message lives in the server-side session (Redis, like the rest of the session)
//! from the POST until the next full page shows it, once: the layout takes it out. htmx
//! fragments leave it in place, so it waits for the page. It holds the finished text in
//! the user's language, never a template filled with anything at display time.

use maud::{Markup, html};
use poem::session::Session;
use serde::{Deserialize, Serialize};

use crate::web::ctx::Ctx;

const KEY: &str = "flash";

/// A message for the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// `success`, `warning` or `danger` (Bootstrap's alert kinds).
    pub kind: String,
    /// The text.
    pub text: String,
}

/// The request's session, as [`Ctx`] carries it for flash messages.
#[derive(Clone, Default)]
pub struct Slot(Option<Session>);

impl Slot {
    /// The session of a request.
    pub fn new(session: Option<Session>) -> Self {
        Self(session)
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flash::Slot")
    }
}

fn set(ctx: &Ctx, kind: &str, text: String) {
    if let Some(session) = &ctx.flash.0 {
        session.set(
            KEY,
            Flash {
                kind: kind.to_owned(),
                text,
            },
        );
    }
}

/// Tells the next page that something worked.
pub fn success(ctx: &Ctx, text: String) {
    set(ctx, "success", text);
}

/// Tells the next page that nothing (or not everything) was done, and why.
pub fn warning(ctx: &Ctx, text: String) {
    set(ctx, "warning", text);
}

/// Tells the next page that the action failed.
pub fn error(ctx: &Ctx, text: String) {
    set(ctx, "danger", text);
}

/// The waiting message, removed from the session.
pub fn take(ctx: &Ctx) -> Option<Flash> {
    let session = ctx.flash.0.as_ref()?;
    let flash = session.get::<Flash>(KEY)?;
    session.remove(KEY);
    Some(flash)
}

/// The message at the top of the content.
pub fn render(flash: &Flash) -> Markup {
    let kind = match flash.kind.as_str() {
        "success" => "success",
        "danger" => "danger",
        _ => "warning",
    };
    html! {
        div #flash class={"alert alert-" (kind)} role=(if kind == "success" { "status" } else { "alert" }) data-kind=(kind) {
            (flash.text)
        }
    }
}
