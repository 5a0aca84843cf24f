//! 工作桌面, the home page. Later modules add their panels here.

use maud::{Markup, html};
use poem::handler;

use crate::{
    auth::ctx::Ctx,
    web::layout::{self, Module},
};

/// GET /
#[handler]
pub async fn index(ctx: Ctx) -> Markup {
    let content = html! {
        p.lead { (ctx.locale.tf("home.welcome", &[("name", &ctx.name), ("company", &ctx.tenant_name)])) }
        div.row.g-3 {
            div.col-lg-6 {
                section.card.h-100 {
                    div.card-header { (ctx.t("home.activity")) }
                    div.card-body.empty-state { (ctx.t("home.activity_empty")) }
                }
            }
            div.col-lg-6 {
                section.card.h-100 {
                    div.card-header { (ctx.t("home.tasks")) }
                    div.card-body.empty-state { (ctx.t("home.tasks_empty")) }
                }
            }
            @if ctx.is_admin() {
                div.col-12 {
                    section.card {
                        div.card-header { (ctx.t("home.getting_started")) }
                        div.card-body {
                            p { (ctx.t("home.invite_hint")) }
                            a.btn.btn-primary href="/admin/users/invite" { (ctx.t("users.invite")) }
                        }
                    }
                }
            }
        }
    };
    layout::page(&ctx, Module::Home, "/", &ctx.t("menu.home"), content)
}
