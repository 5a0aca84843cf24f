//! 行内编辑, the mechanism detail pages share: each fact is a `dd#inline-<field>` whose
//! pencil asks htmx for a one-field form (GET `<record>/inline?field=…`); the form posts
//! to `<record>/inline` and the response (the new value, or the form again with its
//! error, as 200 so htmx swaps it) replaces the cell. Each record type supplies the
//! value text, the control and the save; this module draws the parts they have in common.

use maud::{Markup, html};

use crate::{auth::ctx::Ctx, web::forms::RawForm};

/// A fact's value with (for whoever may edit it) the pencil that opens its editor.
/// `base` is the record's page (`/customers/7`), `class` extra classes of the value.
pub fn cell(
    ctx: &Ctx,
    base: &str,
    (name, label): (&str, &str),
    text: &str,
    manage: bool,
    class: &str,
) -> Markup {
    html! {
        span class={"inline-value " (class)} { @if text.is_empty() { "—" } @else { (text) } }
        @if manage {
            button.btn.btn-sm.btn-link.py-0.inline-edit type="button"
                hx-get={(base) "/inline?field=" (name)}
                hx-target={"#inline-" (name)}
                aria-label=(ctx.locale.tf("customers.inline_edit", &[("field", label)])) {}
        }
    }
}

/// The one-field form around `control` (which shows its own error), with Save and a
/// Cancel that brings the value back.
pub fn editor(ctx: &Ctx, base: &str, name: &str, control: Markup) -> Markup {
    html! {
        form.inline-form hx-post={(base) "/inline"} hx-target={"#inline-" (name)} {
            input type="hidden" name="field" value=(name);
            (control)
            div.d-flex.gap-2.mt-1 {
                button.btn.btn-sm.btn-primary type="submit" { (ctx.t("common.save")) }
                button.btn.btn-sm.btn-link type="button"
                    hx-get={(base) "/inline?cancel=1&field=" (name)}
                    hx-target={"#inline-" (name)} { (ctx.t("common.cancel")) }
            }
        }
    }
}

/// The submitted field's name and value.
pub fn submitted(body: &RawForm) -> (String, String) {
    let value_of = |key: &str| {
        body.pairs()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let name = value_of("field");
    let value = value_of(&name);
    (name, value)
}
