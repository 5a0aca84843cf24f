//! 个人设置: the signed-in user's profile and language.

use maud::{Markup, html};
use poem::handler;

use crate::web::{
    ctx::Ctx,
    layout::{self, Module},
};

/// GET /account
#[handler]
pub async fn profile(ctx: Ctx) -> Markup {
    let content = html! {
        dl.row.profile {
            dt.col-sm-3 { (ctx.t("field.name")) }
            dd.col-sm-9 { (ctx.name) }
            dt.col-sm-3 { (ctx.t("field.email")) }
            dd.col-sm-9 { (ctx.email) }
            dt.col-sm-3 { (ctx.t("field.role")) }
            dd.col-sm-9 { (ctx.t(ctx.role.label_key())) }
            dt.col-sm-3 { (ctx.t("field.company")) }
            dd.col-sm-9 { (ctx.tenant_name) }
            dt.col-sm-3 { (ctx.t("field.language")) }
            dd.col-sm-9 { (layout::language_switch(ctx.locale, &ctx.csrf)) }
        }
    };
    layout::page(
        &ctx,
        Module::Account,
        "/account",
        &ctx.t("tab.profile"),
        content,
    )
}
