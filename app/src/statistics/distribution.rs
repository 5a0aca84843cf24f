//! GET /statistics/distribution — 销售时机比例图: how the visible opportunities split by
//! status, by stage and by category, as count and as amount, for everything the viewer
//! sees or (the admin's view switch) public data or one employee. A snapshot of now,
//! counted live in one scan (`GROUPING SETS`).

use maud::{Markup, html};
use poem::{
    Request, Response, handler,
    web::{Data, Query},
};
use serde_json::{Value, json};

use super::{
    Audience, Params,
    model::{self, Dimension, Slice},
    respond,
    views::{self, FormParts},
};
use crate::{db::TenantTx, error::AppResult, opportunities::pipeline, state::State, web::ctx::Ctx};

/// The statuses, in the order they are shown.
pub const STATUSES: [&str; 3] = ["tracking", "won", "lost"];

/// One row of a distribution table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The status, stage id or category id (empty: no category).
    pub key: String,
    /// What the row is called.
    pub name: String,
    /// Opportunities.
    pub count: i64,
    /// Their amount, fen.
    pub amount: i64,
}

/// The three splits.
#[derive(Clone, Debug, Default)]
pub struct Distribution {
    /// By status.
    pub by_status: Vec<Row>,
    /// By stage, in pipeline order.
    pub by_stage: Vec<Row>,
    /// By category, in the tenant's order; uncategorised last.
    pub by_category: Vec<Row>,
}

impl Distribution {
    /// Names and orders the slices.
    pub fn new(
        ctx: &Ctx,
        slices: &[Slice],
        stages: &[(i64, String)],
        categories: &[(i64, String)],
    ) -> Self {
        let of = |dimension: Dimension| slices.iter().filter(move |s| s.dimension() == dimension);
        let by_status = STATUSES
            .iter()
            .filter_map(|status| {
                of(Dimension::Status)
                    .find(|s| s.status.as_deref() == Some(status))
                    .map(|s| Row {
                        key: (*status).to_owned(),
                        name: ctx.t(&format!("statistics.status_{status}")),
                        count: s.count,
                        amount: s.amount,
                    })
            })
            .collect();
        // The tenant's list in its order, each entry with its slice if it has one.
        let named =
            |dimension: Dimension, list: &[(i64, String)], id: fn(&Slice) -> Option<i64>| {
                list.iter()
                    .filter_map(|(entry, name)| {
                        of(dimension).find(|s| id(s) == Some(*entry)).map(|s| Row {
                            key: entry.to_string(),
                            name: name.clone(),
                            count: s.count,
                            amount: s.amount,
                        })
                    })
                    .collect::<Vec<_>>()
            };
        let by_stage = named(Dimension::Stage, stages, |s| s.stage_id.map(|id| id.0));
        let mut by_category = named(Dimension::Category, categories, |s| {
            s.category_id.map(|id| id.0)
        });
        if let Some(none) = of(Dimension::Category).find(|s| s.category_id.is_none()) {
            by_category.push(Row {
                key: String::new(),
                name: ctx.t("statistics.no_category"),
                count: none.count,
                amount: none.amount,
            });
        }
        Self {
            by_status,
            by_stage,
            by_category,
        }
    }

    /// The numbers as JSON.
    pub fn to_json(&self) -> Value {
        let rows = |rows: &[Row]| {
            rows.iter()
                .map(|r| json!({ "key": r.key, "name": r.name, "count": r.count, "amount": r.amount }))
                .collect::<Vec<_>>()
        };
        json!({
            "by_status": rows(&self.by_status),
            "by_stage": rows(&self.by_stage),
            "by_category": rows(&self.by_category),
        })
    }
}

/// GET /statistics/distribution
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
    Query(params): Query<Params>,
) -> AppResult<Response> {
    let status = STATUSES.into_iter().find(|s| *s == params.status);
    let by_amount = params.measure == "amount";
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let audience = Audience::resolve(&mut tx, &ctx, &params).await?;
    let slices = model::distribution(&mut tx, &audience.scope.rule(), status).await?;
    let stages: Vec<(i64, String)> = pipeline::load(&mut tx, ctx.locale)
        .await?
        .stages
        .into_iter()
        .map(|s| (s.id.0, s.name))
        .collect();
    let categories: Vec<(i64, String)> = pipeline::categories(&mut tx)
        .await?
        .into_iter()
        .map(|(id, name)| (id.0, name))
        .collect();
    tx.commit().await?;
    let distribution = Distribution::new(&ctx, &slices, &stages, &categories);
    let fragment = fragment(&ctx, &audience, status, by_amount, &distribution);
    let title = ctx.t("statistics.distribution_title");
    Ok(respond(
        req,
        &params,
        || distribution.to_json(),
        fragment,
        |f| views::page(&ctx, "/statistics/distribution", &title, f),
    ))
}

fn fragment(
    ctx: &Ctx,
    audience: &Audience,
    status: Option<&str>,
    by_amount: bool,
    distribution: &Distribution,
) -> Markup {
    let extra = html! {
        div {
            label.form-label.small.mb-1 for="f-status" { (ctx.t("statistics.status")) }
            select.form-select.form-select-sm #f-status name="status" {
                option value="" selected[status.is_none()] { (ctx.t("statistics.status_all")) }
                @for s in STATUSES {
                    option value=(s) selected[status == Some(s)] { (ctx.t(&format!("statistics.status_{s}"))) }
                }
            }
        }
        div {
            label.form-label.small.mb-1 for="f-measure" { (ctx.t("statistics.measure")) }
            select.form-select.form-select-sm #f-measure name="measure" {
                option value="count" selected[!by_amount] { (ctx.t("statistics.by_count")) }
                option value="amount" selected[by_amount] { (ctx.t("statistics.by_amount")) }
            }
        }
    };
    let form = views::filters(
        ctx,
        audience,
        FormParts {
            action: "/statistics/distribution",
            span: None,
            teams: false,
            extra,
        },
    );
    let empty = distribution.by_status.is_empty();
    views::body(
        "distribution",
        html! {
            (form)
            @if empty {
                p.empty-state #stats-empty { (ctx.t("statistics.empty")) }
            } @else {
                (split(ctx, "status", "statistics.by_status", &distribution.by_status, by_amount))
                (split(ctx, "stage", "statistics.by_stage", &distribution.by_stage, by_amount))
                (split(ctx, "category", "statistics.by_category", &distribution.by_category, by_amount))
            }
        },
    )
}

/// One split: its donut beside its table.
fn split(ctx: &Ctx, id: &str, title_key: &str, rows: &[Row], by_amount: bool) -> Markup {
    let title = ctx.t(title_key);
    let measure = ctx.t(if by_amount {
        "statistics.by_amount"
    } else {
        "statistics.by_count"
    });
    let slices: Vec<(String, f64)> = rows
        .iter()
        .map(|r| {
            let value = if by_amount {
                views::yuan(r.amount)
            } else {
                r.count as f64
            };
            (r.name.clone(), value)
        })
        .collect();
    let total_count: i64 = rows.iter().map(|r| r.count).sum();
    let total_amount: i64 = rows.iter().map(|r| r.amount).sum();
    let chart_title = format!("{title} · {measure}");
    html! {
        section.card.mb-3 id={"split-" (id)} {
            div.card-header { (title) }
            div.card-body.row.g-3 {
                div.col-lg-6 {
                    (views::chart(&format!("chart-{id}"), &chart_title, &views::donut(&slices)))
                }
                div.col-lg-6 {
                    table.table.table-sm.stats-table id={"table-" (id)} {
                        thead { tr {
                            th scope="col" { (title) }
                            th.text-end scope="col" { (ctx.t("statistics.count")) }
                            th.text-end scope="col" { (ctx.t("statistics.amount")) }
                        } }
                        tbody {
                            @for r in rows {
                                tr data-key=(r.key) {
                                    td { (r.name) }
                                    td.text-end.num data-value=(r.count) { (r.count) }
                                    td.text-end.num data-value=(r.amount) { (views::money(ctx, r.amount)) }
                                }
                            }
                        }
                        tfoot { tr {
                            th scope="row" { (ctx.t("statistics.total")) }
                            td.text-end.num { (total_count) }
                            td.text-end.num { (views::money(ctx, total_amount)) }
                        } }
                    }
                }
            }
        }
    }
}
