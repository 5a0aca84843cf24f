//! GET /admin/audit: account events, newest first, 50 per page (keyset by id).

use std::collections::HashMap;

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    audit,
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    state::State,
    users::model as users,
    web::{
        ctx::AdminCtx,
        layout::{self, Module},
    },
};

const PAGE: i64 = 50;

/// Paging parameters.
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    before: Option<i64>,
}

/// GET /admin/audit
#[handler]
pub async fn index(
    ctx: AdminCtx,
    state: Data<&State>,
    Query(paging): Query<Paging>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let entries = audit::page(&mut tx, paging.before, PAGE).await?;
    let names: HashMap<UserId, String> = users::list(&mut tx)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    tx.commit().await?;
    let name = |id: Option<UserId>| -> String {
        match id {
            Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
            None => ctx.t("audit.system"),
        }
    };
    let content = html! {
        @if entries.is_empty() {
            p.empty-state { (ctx.t("audit.empty")) }
        } @else {
            div.table-responsive {
                table.table.table-sm.align-middle #audit {
                    thead {
                        tr {
                            th scope="col" { (ctx.t("audit.when")) }
                            th scope="col" { (ctx.t("audit.actor")) }
                            th scope="col" { (ctx.t("audit.action")) }
                            th scope="col" { (ctx.t("audit.target")) }
                            th scope="col" { (ctx.t("audit.detail")) }
                        }
                    }
                    tbody {
                        @for e in &entries {
                            tr data-action=(e.action) {
                                td.text-nowrap { (ctx.datetime(e.created_at)) }
                                td { (name(e.actor_id)) }
                                td { (ctx.t(&format!("audit.{}", e.action))) }
                                td { @if e.target_user_id.is_some() { (name(e.target_user_id)) } }
                                td.small.text-secondary { (detail(&ctx, &e.detail)) }
                            }
                        }
                    }
                }
            }
            @if entries.len() as i64 == PAGE {
                @if let Some(last) = entries.last() {
                    a.btn.btn-outline-secondary href={"/admin/audit?before=" (last.id)} { (ctx.t("common.older")) }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Settings,
        "/admin/audit",
        &ctx.t("tab.audit"),
        content,
    ))
}

/// Renders role changes readably; other details as compact key=value pairs.
fn detail(ctx: &AdminCtx, detail: &serde_json::Value) -> String {
    let Some(map) = detail.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v.as_str() {
                Some(s) if matches!(k.as_str(), "from" | "to" | "role") => users::Role::parse(s)
                    .map(|r| ctx.t(r.label_key()))
                    .unwrap_or_else(|| s.to_owned()),
                Some(s) => s.to_owned(),
                None => v.to_string(),
            };
            format!("{k}: {v}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
