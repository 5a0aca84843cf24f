//! GET /opportunities/board — the kanban board: the visible tracking opportunities as
//! columns by (active) stage in pipeline order, each with its count and total amount.
//! A card moves to another stage by dragging (SortableJS, vendored; `static/board.js`
//! submits the card's own move form through htmx and swaps in the new board, so counts
//! and totals follow) or, without JavaScript, with the card's 移动 form. Each column shows
//! its newest [`CARDS_SHOWN`] cards; `?stage=<id>&before=<id>` pages through one column.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::AppResult,
    ids::{OpportunityId, StageId},
    money,
    opportunities::{
        model::{self, Card},
        pipeline::{self, Pipeline, Stage},
        views,
    },
    state::State,
    users::model::{self as users, User},
    web::{
        ctx::Ctx,
        layout::{self, Module},
    },
};

/// Cards per column.
pub const CARDS_SHOWN: i64 = 50;

/// The board's URL for a view.
pub fn href(view: View) -> String {
    match view.as_param() {
        p if p.is_empty() => "/opportunities/board".to_owned(),
        p => format!("/opportunities/board?view={p}"),
    }
}

/// Query of the board.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    /// An admin's view (`public`, `user-<id>`).
    view: Option<String>,
    /// Only this column (the "more" pages).
    stage: Option<i64>,
    /// Keyset cursor within that column.
    before: Option<i64>,
}

/// One column as drawn.
struct Column<'a> {
    stage: &'a Stage,
    count: i64,
    total: i64,
    cards: Vec<Card>,
}

/// What the board needs besides its columns.
struct Board<'a> {
    view: View,
    scope: &'a Scope,
    pipeline: &'a Pipeline,
    /// Paging through one column.
    paging: Option<StageId>,
}

/// GET /opportunities/board
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<Params>,
) -> AppResult<Markup> {
    let view = View::parse(params.view.as_deref());
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let people = if ctx.is_admin() {
        users::list(&mut tx).await?
    } else {
        vec![]
    };
    let board = render(
        &mut tx,
        &ctx,
        view,
        params
            .stage
            .map(|s| (StageId(s), params.before.map(OpportunityId))),
    )
    .await?;
    tx.commit().await?;
    let content = html! {
        div.d-flex.flex-wrap.gap-2.mb-3.align-items-end {
            a.btn.btn-primary href="/opportunities/new" { (ctx.t("opportunities.new")) }
            @if ctx.is_admin() {
                (view_switch(&ctx, view, &people))
            }
        }
        (board)
        script src="/static/vendor/Sortable.min.js" defer {}
        script src="/static/board.js" defer {}
    };
    Ok(layout::page(
        &ctx,
        Module::Opportunities,
        "/opportunities/board",
        &ctx.t("opportunities.board_title"),
        content,
    ))
}

/// The board alone, as htmx swaps it in after a move.
pub async fn fragment(ctx: &Ctx, state: &State, view: View) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let board = render(&mut tx, ctx, view, None).await?;
    tx.commit().await?;
    Ok(board)
}

async fn render(
    tx: &mut TenantTx,
    ctx: &Ctx,
    view: View,
    paging: Option<(StageId, Option<OpportunityId>)>,
) -> AppResult<Markup> {
    let scope = Scope::resolve(tx, ctx, view).await?;
    let pipeline = pipeline::load(tx, ctx.locale).await?;
    let totals = model::stage_totals(tx, &scope).await?;
    let stages: Vec<Stage> = pipeline.active().cloned().collect();
    let mut columns = Vec::new();
    for stage in stages
        .iter()
        .filter(|s| paging.is_none_or(|(p, _)| p == s.id))
    {
        let (count, total) = totals
            .iter()
            .find(|(s, _, _)| *s == stage.id)
            .map_or((0, 0), |(_, c, t)| (*c, *t));
        let before = paging.and_then(|(_, b)| b);
        let cards = model::cards(tx, &scope, stage.id, before, CARDS_SHOWN + 1).await?;
        columns.push(Column {
            stage,
            count,
            total,
            cards,
        });
    }
    let board = Board {
        view,
        scope: &scope,
        pipeline: &pipeline,
        paging: paging.map(|(s, _)| s),
    };
    Ok(draw(ctx, &board, &columns))
}

fn draw(ctx: &Ctx, board: &Board<'_>, columns: &[Column<'_>]) -> Markup {
    let view = board.view.as_param();
    html! {
        div #board.board data-view=(view) {
            @if board.paging.is_some() {
                p { a href=(href(board.view)) { "← " (ctx.t("opportunities.board_all")) } }
            }
            @if columns.is_empty() {
                p.empty-state { (ctx.t("opportunities.no_stages")) }
            }
            div.board-columns {
                @for column in columns {
                    section.board-column data-stage=(column.stage.id) aria-labelledby={"stage-title-" (column.stage.id)} {
                        header.board-column-header {
                            div.d-flex.justify-content-between.align-items-baseline.gap-2 {
                                h2.h6.mb-0 id={"stage-title-" (column.stage.id)} { (column.stage.name) }
                                span.small.text-secondary.text-nowrap { (column.stage.probability) "%" }
                            }
                            div.d-flex.justify-content-between.small.mt-1 {
                                span.board-count data-count=(column.count) {
                                    (ctx.locale.tf("opportunities.board_count", &[("count", &column.count.to_string())]))
                                }
                                span.board-total.fw-semibold data-total=(column.total) {
                                    (money::format(ctx.locale, column.total, money::DEFAULT_CURRENCY))
                                }
                            }
                        }
                        ol.board-cards data-stage=(column.stage.id) {
                            @for card in column.cards.iter().take(CARDS_SHOWN as usize) {
                                (draw_card(ctx, board, card, &view))
                            }
                        }
                        @if column.cards.is_empty() {
                            p.board-empty.small.text-secondary.mb-0 { (ctx.t("opportunities.board_empty")) }
                        }
                        @if column.cards.len() as i64 > CARDS_SHOWN {
                            @let last = column.cards[CARDS_SHOWN as usize - 1].opportunity.id;
                            a.board-more.small href={"/opportunities/board?stage=" (column.stage.id) "&before=" (last)
                                @if !view.is_empty() { "&view=" (view) } } {
                                (ctx.t("opportunities.board_more"))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn draw_card(ctx: &Ctx, board: &Board<'_>, card: &Card, view: &str) -> Markup {
    let o = &card.opportunity;
    let manage = board.scope.can_manage(o.owner_id);
    html! {
        li.board-card.board-card-locked[!manage] data-id=(o.id) {
            a.board-card-name.fw-semibold href={"/opportunities/" (o.id)} { (o.name) }
            div.small.text-secondary.board-card-company { (card.company_name) }
            div.d-flex.justify-content-between.small.mt-1 {
                span.board-card-amount { (money::format(ctx.locale, o.amount, &o.currency)) }
                span.board-card-owner { (card.owner_name) }
            }
            @if let Some(date) = o.expected_close {
                div.small.text-secondary.board-card-close {
                    (ctx.t("opportunities.expected_close")) (ctx.t("history.separator")) (date.format("%Y-%m-%d"))
                }
            }
            @if manage {
                details.board-card-menu.mt-1 {
                    summary.small { (ctx.t("opportunities.move_to")) }
                    div.mt-1 { (views::stage_form(ctx, o, board.pipeline, Some(view))) }
                }
            }
        }
    }
}

/// The admin's view switch: everything, public records, or one employee's.
fn view_switch(ctx: &Ctx, view: View, people: &[User]) -> Markup {
    html! {
        form.d-flex.gap-2.ms-auto #board-view method="get" action="/opportunities/board" {
            label.visually-hidden for="f-view" { (ctx.t("customers.view")) }
            select.form-select #f-view name="view" {
                option value="" selected[view == View::All] { (ctx.t("customers.view_all")) }
                option value="public" selected[view == View::Public] { (ctx.t("customers.view_public")) }
                @for u in people {
                    option value=(View::Employee(u.id).as_param()) selected[view == View::Employee(u.id)] { (u.name) }
                }
            }
            button.btn.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("opportunities.show")) }
        }
    }
}
