//! GET /admin/jobs: the tenant's background jobs (for now the email outbox) with their
//! status, attempts and, for failures, the reason.

use maud::{Markup, html};
use poem::{handler, web::Data};

use crate::{
    db::TenantTx,
    error::AppResult,
    jobs::email,
    state::State,
    web::{
        ctx::AdminCtx,
        layout::{self, Module},
    },
};

/// GET /admin/jobs
#[handler]
pub async fn index(ctx: AdminCtx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = email::recent(&mut tx, 100).await?;
    tx.commit().await?;
    let content = html! {
        p.text-secondary { (ctx.t("jobs.intro")) }
        @if rows.is_empty() {
            p.empty-state { (ctx.t("jobs.empty")) }
        } @else {
            div.table-responsive {
                table.table.table-sm.align-middle #jobs {
                    thead {
                        tr {
                            th scope="col" { (ctx.t("jobs.created")) }
                            th scope="col" { (ctx.t("jobs.kind")) }
                            th scope="col" { (ctx.t("jobs.to")) }
                            th scope="col" { (ctx.t("field.status")) }
                            th scope="col" { (ctx.t("jobs.attempts")) }
                            th scope="col" { (ctx.t("jobs.error")) }
                        }
                    }
                    tbody {
                        @for r in &rows {
                            tr data-status=(r.status) {
                                td.text-nowrap { (ctx.datetime(r.created_at)) }
                                td { (ctx.t(&format!("jobs.kind_{}", r.kind))) }
                                td { (r.to_addr) }
                                td { span class={"badge " (badge(&r.status))} { (ctx.t(&format!("jobs.status_{}", r.status))) } }
                                td { (r.attempts) " / " (r.max_attempts) }
                                td.small.text-danger { (r.last_error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Settings,
        "/admin/jobs",
        &ctx.t("tab.jobs"),
        content,
    ))
}

fn badge(status: &str) -> &'static str {
    match status {
        "sent" => "text-bg-success",
        "failed" => "text-bg-danger",
        "running" => "text-bg-primary",
        _ => "text-bg-secondary",
    }
}
