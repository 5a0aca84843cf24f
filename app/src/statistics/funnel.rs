//! GET /statistics/funnel — 销售漏斗: for a period and everyone in scope, one owner (the
//! admin's view) or a manager's team, each stage of the pipeline in order with the
//! opportunities that entered it in the period (from the recorded stage history: an
//! opportunity created in a stage or moved into it, once per stage and day), their
//! amount and their probability-weighted amount (amount × the stage's win probability),
//! then the opportunities won in the period.
//!
//! Conversion is stage to stage: of the entries into a stage, how many entries the next
//! stage had (for the last stage: the wins), `entered(next) / entered(this)`. It is a
//! flow over the period, not a cohort: an opportunity that skips a stage is not counted
//! in it, so a rate can exceed 100 %.

use chrono::NaiveDate;
use maud::{Markup, html};
use poem::{
    Request, Response, handler,
    web::{Data, Query},
};
use serde_json::{Value, json};

use super::{
    Audience, Params, Span,
    model::{self, StageEntries},
    respond, views,
};
use crate::{error::AppResult, ids::StageId, state::State, web::ctx::Ctx};

/// One layer of the funnel.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The stage (`None`: the won layer).
    pub stage_id: Option<StageId>,
    /// Its name.
    pub name: String,
    /// Win probability, percent (100 for won).
    pub probability: i16,
    /// Entries in the period (wins for the won layer).
    pub count: i64,
    /// Their amount, fen.
    pub amount: i64,
    /// `amount × probability / 100`, fen.
    pub weighted: i64,
    /// `count` of the next layer / `count`; `None` for the last layer or when nothing
    /// entered.
    pub conversion: Option<f64>,
}

/// The funnel of a period.
#[derive(Clone, Debug)]
pub struct Funnel {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Stages in pipeline order, then won.
    pub layers: Vec<Layer>,
}

impl Funnel {
    /// Builds the layers from the stage entries and the period's wins.
    pub fn new(ctx: &Ctx, span: &Span, stages: Vec<StageEntries>, won: (i64, i64)) -> Self {
        let mut layers: Vec<Layer> = stages
            .into_iter()
            .map(|s| Layer {
                stage_id: Some(s.stage_id),
                weighted: s.amount * i64::from(s.probability) / 100,
                name: s.name,
                probability: s.probability,
                count: s.entered,
                amount: s.amount,
                conversion: None,
            })
            .collect();
        layers.push(Layer {
            stage_id: None,
            name: ctx.t("statistics.won_layer"),
            probability: 100,
            count: won.0,
            amount: won.1,
            weighted: won.1,
            conversion: None,
        });
        for i in 0..layers.len() - 1 {
            let (this, next) = (layers[i].count, layers[i + 1].count);
            layers[i].conversion = (this > 0).then(|| next as f64 / this as f64);
        }
        Self {
            from: span.from,
            to: span.to,
            layers,
        }
    }

    /// The numbers as JSON.
    pub fn to_json(&self) -> Value {
        let (stages, won) = self.layers.split_at(self.layers.len() - 1);
        json!({
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "stages": stages.iter().map(|l| json!({
                "stage_id": l.stage_id,
                "name": l.name,
                "probability": l.probability,
                "entered": l.count,
                "amount": l.amount,
                "weighted": l.weighted,
                "conversion": l.conversion,
            })).collect::<Vec<_>>(),
            "won": won.first().map(|l| json!({ "count": l.count, "amount": l.amount })),
        })
    }
}

/// GET /statistics/funnel
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
    Query(params): Query<Params>,
) -> AppResult<Response> {
    let (mut tx, span, audience) = super::open(&state.db, &ctx, &params).await?;
    let rule = audience.scope.rule();
    let team = audience.team_members();
    let stages = model::funnel(&mut tx, &rule, team, span.from, span.to).await?;
    let owners = model::ranking(&mut tx, &rule, team, span.from, span.to).await?;
    tx.commit().await?;
    let won = owners
        .iter()
        .fold((0, 0), |(n, a), f| (n + f.won_count, a + f.won_amount));
    let funnel = Funnel::new(&ctx, &span, stages, won);
    let fragment = fragment(&ctx, &audience, &span, &funnel);
    let title = ctx.t("statistics.funnel_title");
    Ok(respond(
        req,
        &params,
        || funnel.to_json(),
        fragment,
        |f| views::page(&ctx, "/statistics/funnel", &title, f),
    ))
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn fragment(ctx: &Ctx, audience: &Audience, span: &Span, funnel: &Funnel) -> Markup {
    let form = views::period_filters(ctx, audience, "/statistics/funnel", span);
    let title = views::with_period(ctx, "statistics.funnel_chart", span);
    let layers: Vec<(String, f64)> = funnel
        .layers
        .iter()
        .map(|l| (l.name.clone(), l.count as f64))
        .collect();
    let nothing = funnel.layers.iter().all(|l| l.count == 0);
    views::body(
        "funnel",
        html! {
            (form)
            p.text-secondary.small { (views::period_shown(ctx, span)) }
            @if nothing {
                p.empty-state #stats-empty { (ctx.t("statistics.funnel_empty")) }
            } @else {
                div.row.g-3 {
                    div.col-xl-5 {
                        (views::chart("chart-funnel", &title, &views::funnel(&title, &layers)))
                    }
                    div.col-xl-7.table-responsive {
                        table.table.table-sm.stats-table #table-funnel {
                            (views::head(ctx, &["statistics.stage"], &["statistics.probability", "statistics.entered", "statistics.amount", "statistics.weighted", "statistics.conversion"]))
                            tbody {
                                @for l in &funnel.layers {
                                    tr data-stage=(l.stage_id.map_or_else(|| "won".to_owned(), |s| s.to_string())) {
                                        td { (l.name) }
                                        td.text-end.num { (l.probability) "%" }
                                        td.text-end.num { (l.count) }
                                        td.text-end.num { (views::money(ctx, l.amount)) }
                                        td.text-end.num { (views::money(ctx, l.weighted)) }
                                        td.text-end.num { (percent(l.conversion)) }
                                    }
                                }
                            }
                        }
                        p.small.text-secondary { (ctx.t("statistics.funnel_note")) }
                    }
                }
            }
        },
    )
}
