//! GET /statistics/ranking — 销售排行榜: for a period (this month, last month, this
//! quarter, this year or from–to dates, in the tenant's time zone), every employee in
//! the viewer's scope ranked by won amount, with their won count, the opportunities they
//! track now (跟踪中: count and amount) and the new ones of the period; a bar chart beside
//! the table, `?format=json` for the numbers and `?format=xlsx` for a download of the
//! table (small, so written in the request).
//!
//! Employees "in scope" are everyone whose visible opportunities count, plus, with no
//! figures yet, the active employees the viewer's scope names: everyone for an admin,
//! the team for a manager, themselves for a member.

use chrono::NaiveDate;
use maud::{Markup, html};
use poem::{
    IntoResponse, Request, Response, handler,
    http::header,
    web::{Data, Query},
};
use rust_xlsxwriter::{Format, Workbook};
use serde_json::{Value, json};

use super::{
    Audience, Params, Span,
    model::{self, Figures},
    respond, views,
};
use crate::{
    customers::visibility::{Scope, View},
    error::{AppError, AppResult},
    exports::write::neutralise,
    ids::UserId,
    notes::download::content_disposition,
    state::State,
    web::ctx::Ctx,
};

/// One line of the ranking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1 for the highest won amount; equal amounts share a rank.
    pub rank: usize,
    /// The employee.
    pub name: String,
    /// Their figures.
    pub figures: Figures,
}

/// The ranking of a period.
#[derive(Clone, Debug)]
pub struct Ranking {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Best first.
    pub lines: Vec<Line>,
}

impl Ranking {
    /// Ranks the figures, adding the employees the scope names who have none.
    pub fn new(audience: &Audience, span: &Span, figures: Vec<Figures>) -> Self {
        let named: Vec<UserId> = match &audience.scope {
            Scope::Admin(View::All) => audience
                .people
                .iter()
                .filter(|u| u.status == "active")
                .map(|u| u.id)
                .collect(),
            Scope::Admin(View::Public) => vec![],
            Scope::Admin(View::Employee(id)) => vec![*id],
            Scope::Owners(owners) => audience
                .people
                .iter()
                .filter(|u| u.status == "active" && owners.contains(&u.id))
                .map(|u| u.id)
                .collect(),
        };
        let mut all = figures;
        for id in named {
            let in_team = audience.team_members().is_none_or(|t| t.contains(&id));
            if in_team && !all.iter().any(|f| f.owner_id == id) {
                all.push(Figures::none(id));
            }
        }
        let mut lines: Vec<Line> = all
            .into_iter()
            .map(|figures| Line {
                rank: 0,
                name: audience.name_of(figures.owner_id),
                figures,
            })
            .collect();
        lines.sort_by(|a, b| {
            b.figures
                .won_amount
                .cmp(&a.figures.won_amount)
                .then(b.figures.won_count.cmp(&a.figures.won_count))
                .then(b.figures.new_amount.cmp(&a.figures.new_amount))
                .then_with(|| a.name.cmp(&b.name))
                .then(a.figures.owner_id.cmp(&b.figures.owner_id))
        });
        for i in 0..lines.len() {
            lines[i].rank =
                if i > 0 && lines[i - 1].figures.won_amount == lines[i].figures.won_amount {
                    lines[i - 1].rank
                } else {
                    i + 1
                };
        }
        Self {
            from: span.from,
            to: span.to,
            lines,
        }
    }

    /// The numbers as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "rows": self.lines.iter().map(|l| json!({
                "rank": l.rank,
                "user_id": l.figures.owner_id,
                "name": l.name,
                "won_count": l.figures.won_count,
                "won_amount": l.figures.won_amount,
                "lost_count": l.figures.lost_count,
                "open_count": l.figures.open_count,
                "open_amount": l.figures.open_amount,
                "new_count": l.figures.new_count,
                "new_amount": l.figures.new_amount,
            })).collect::<Vec<_>>(),
        })
    }
}

/// GET /statistics/ranking
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
    Query(params): Query<Params>,
) -> AppResult<Response> {
    let (mut tx, span, audience) = super::open(&state.db, &ctx, &params).await?;
    let figures = model::ranking(
        &mut tx,
        &audience.scope.rule(),
        audience.team_members(),
        span.from,
        span.to,
    )
    .await?;
    tx.commit().await?;
    let ranking = Ranking::new(&audience, &span, figures);
    if params.format == "xlsx" {
        return xlsx(&ctx, &ranking);
    }
    let fragment = fragment(&ctx, &audience, &span, &ranking);
    let title = ctx.t("statistics.ranking_title");
    Ok(respond(
        req,
        &params,
        || ranking.to_json(),
        fragment,
        |f| views::page(&ctx, "/statistics/ranking", &title, f),
    ))
}

fn fragment(ctx: &Ctx, audience: &Audience, span: &Span, ranking: &Ranking) -> Markup {
    let form = views::period_filters(ctx, audience, "/statistics/ranking", span);
    let query = [span.to_query(), audience.to_query()]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect::<Vec<_>>()
        .join("&");
    let title = views::with_period(ctx, "statistics.ranking_chart", span);
    let bars: Vec<(String, f64)> = ranking
        .lines
        .iter()
        .map(|l| (l.name.clone(), views::yuan(l.figures.won_amount)))
        .collect();
    views::body(
        "ranking",
        html! {
            (form)
            div.d-flex.align-items-center.mb-2 {
                p.text-secondary.small.mb-0 { (views::period_shown(ctx, span)) }
                a.btn.btn-sm.btn-outline-secondary.ms-auto #ranking-xlsx href={"/statistics/ranking?format=xlsx&" (query)} hx-boost="false" {
                    (ctx.t("statistics.export_xlsx"))
                }
            }
            @if ranking.lines.is_empty() {
                p.empty-state #stats-empty { (ctx.t("statistics.empty")) }
            } @else {
                div.row.g-3 {
                    div.col-xl-4 {
                        (views::chart("chart-ranking", &title, &views::bars(&title, &ctx.t("statistics.won_amount"), &bars)))
                    }
                    div.col-xl-8.table-responsive {
                        table.table.table-sm.table-hover.stats-table #table-ranking {
                            (views::head(ctx, &["statistics.rank", "statistics.employee"], &["statistics.won_amount", "statistics.won_count", "statistics.open_count", "statistics.open_amount", "statistics.new_count", "statistics.new_amount", "statistics.lost_count"]))
                            tbody {
                                @for l in &ranking.lines {
                                    @let f = &l.figures;
                                    tr data-user=(f.owner_id) {
                                        td { (l.rank) }
                                        td { (l.name) }
                                        td.text-end.num { (views::money(ctx, f.won_amount)) }
                                        td.text-end.num { (f.won_count) }
                                        td.text-end.num { (f.open_count) }
                                        td.text-end.num { (views::money(ctx, f.open_amount)) }
                                        td.text-end.num { (f.new_count) }
                                        td.text-end.num { (views::money(ctx, f.new_amount)) }
                                        td.text-end.num { (f.lost_count) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The table as an xlsx download: names neutralised against formula injection, amounts
/// as numbers in yuan.
fn xlsx(ctx: &Ctx, ranking: &Ranking) -> AppResult<Response> {
    let headers = [
        "statistics.rank",
        "statistics.employee",
        "statistics.won_amount",
        "statistics.won_count",
        "statistics.open_count",
        "statistics.open_amount",
        "statistics.new_count",
        "statistics.new_amount",
        "statistics.lost_count",
    ];
    let written = (|| -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(neutralise(&ctx.t("statistics.ranking_title")).as_ref())?;
        let bold = Format::new().set_bold();
        let yuan = Format::new().set_num_format("¥#,##0.00");
        for (col, key) in (0u16..).zip(headers) {
            sheet.write_string_with_format(0, col, neutralise(&ctx.t(key)).as_ref(), &bold)?;
        }
        for (row, l) in (1u32..).zip(&ranking.lines) {
            let f = &l.figures;
            sheet.write_number(row, 0, l.rank as f64)?;
            sheet.write_string(row, 1, neutralise(&l.name).as_ref())?;
            sheet.write_number_with_format(row, 2, views::yuan(f.won_amount), &yuan)?;
            sheet.write_number(row, 3, f.won_count as f64)?;
            sheet.write_number(row, 4, f.open_count as f64)?;
            sheet.write_number_with_format(row, 5, views::yuan(f.open_amount), &yuan)?;
            sheet.write_number(row, 6, f.new_count as f64)?;
            sheet.write_number_with_format(row, 7, views::yuan(f.new_amount), &yuan)?;
            sheet.write_number(row, 8, f.lost_count as f64)?;
        }
        sheet.set_column_width(1, 18)?;
        book.save_to_buffer()
    })()
    .map_err(|e| AppError::Internal(e.into()))?;
    let name = format!(
        "{}-{}-{}.xlsx",
        ctx.t("statistics.ranking_title"),
        ranking.from,
        ranking.to
    );
    Ok(Response::builder()
        .header(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .header(header::CONTENT_DISPOSITION, content_disposition(&name))
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(written)
        .into_response())
}
