//! GET /opportunities/:id — 查看销售时机详细: amount, created time, owner, status, stage,
//! description and custom fields (editable in place), the 跟踪 / 成功 / 失败 buttons at
//! the top right, the stage/status history, the notes with their files, and the tasks
//! section that the tasks module fills.

use maud::{Markup, html};
use poem::{
    handler,
    web::{Data, Path},
};

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::AppResult,
    ids::OpportunityId,
    notes::{self, Host, Timeline},
    opportunities::{
        form::Choices,
        inline,
        model::{self, Opportunity},
        pipeline,
        views::{self, LostForm},
    },
    state::State,
    web::{
        ctx::Ctx,
        layout::{self, Module},
    },
};

/// How many history rows the page shows.
pub const HISTORY_SHOWN: i64 = 100;

/// Everything the page shows besides the opportunity.
pub struct Detail {
    /// Who may change it.
    pub manage: bool,
    /// Its company's name.
    pub company_name: String,
    /// The name of its lost reason.
    pub lost_reason: Option<String>,
    /// Select choices and custom fields.
    pub choices: Choices,
    /// Its history.
    pub events: Vec<model::Event>,
    /// Its notes.
    pub notes: Timeline,
    /// Its tasks section.
    pub tasks: Markup,
}

impl Detail {
    /// Loads them for a visible opportunity.
    pub async fn load(
        tx: &mut TenantTx,
        ctx: &Ctx,
        scope: &Scope,
        o: &Opportunity,
    ) -> AppResult<Self> {
        let lost_reason = match o.lost_reason_id {
            Some(id) => pipeline::lost_reasons(tx)
                .await?
                .into_iter()
                .find(|(r, _)| *r == id)
                .map(|(_, name)| name),
            None => None,
        };
        Ok(Self {
            manage: scope.can_manage(o.owner_id),
            company_name: model::company_name(tx, o.company_id).await?,
            lost_reason,
            choices: Choices::load(tx, ctx.locale).await?,
            events: model::events(tx, o.id, HISTORY_SHOWN).await?,
            notes: Timeline::load(tx, ctx, scope, &Host::of_opportunity(o), None).await?,
            tasks: crate::tasks::section::render(
                tx,
                ctx,
                scope,
                crate::tasks::model::Link {
                    company: Some(o.company_id),
                    opportunity: Some(o.id),
                },
            )
            .await?,
        })
    }
}

/// GET /opportunities/:id
#[handler]
pub async fn show(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let o = model::find(&mut tx, &scope, id).await?;
    let detail = Detail::load(&mut tx, &ctx, &scope, &o).await?;
    tx.commit().await?;
    Ok(page(&ctx, &o, &detail, None))
}

/// The detail page, with the 失败 form open when `lost` is given.
pub fn page(ctx: &Ctx, o: &Opportunity, d: &Detail, lost: Option<&LostForm<'_>>) -> Markup {
    let content = html! {
        div.d-flex.flex-wrap.justify-content-between.align-items-start.gap-3.mb-3.opportunity-header {
            div {
                div.text-secondary.mb-2 {
                    (ctx.t("opportunities.company")) (ctx.t("history.separator"))
                    a #opportunity-company href={"/customers/" (o.company_id)} { (d.company_name) }
                }
                @if d.manage {
                    div.d-flex.gap-2 {
                        a.btn.btn-sm.btn-primary href={"/opportunities/" (o.id) "/edit"} { (ctx.t("common.edit")) }
                        a.btn.btn-sm.btn-outline-danger href={"/opportunities/" (o.id) "/delete"} { (ctx.t("common.delete")) }
                    }
                }
            }
            (views::status_card(ctx, o, d.lost_reason.as_deref(), d.manage, lost))
        }
        div.row.g-3 {
            div.col-lg-7 {
                section.card #opportunity-facts {
                    div.card-header { (ctx.t("opportunities.section_basic")) }
                    div.card-body {
                        dl.row.mb-0.opportunity-facts {
                            dt.col-sm-3 { (ctx.t("opportunities.stage")) }
                            dd.col-sm-9 #opportunity-stage {
                                @if d.manage {
                                    (views::stage_form(ctx, o, &d.choices.pipeline, None))
                                } @else {
                                    (d.choices.pipeline.name(o.stage_id))
                                }
                            }
                            dt.col-sm-3 { (ctx.t("opportunities.created_at")) }
                            dd.col-sm-9 #opportunity-created {
                                time datetime=(o.created_at.to_rfc3339()) { (ctx.datetime(o.created_at)) }
                            }
                            (inline::facts(ctx, o, &d.choices, d.manage))
                        }
                    }
                }
                div.mt-3 { (d.tasks) }
            }
            div.col-lg-5 {
                (notes::views::section(ctx, &Host::of_opportunity(o), &d.notes, &Default::default()))
            }
        }
        (views::history(ctx, &d.events, &d.choices.pipeline))
    };
    layout::page(
        ctx,
        Module::Opportunities,
        "/opportunities",
        &o.name,
        content,
    )
}
