//! GET and POST /opportunities/:id/delete — 删除销售时机: asks first, saying that it is
//! irreversible and what goes with it (its notes, their files and its history), then
//! removes it all in one transaction and the files from the file store after the commit.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Path, Redirect},
};

use crate::{
    db::TenantTx,
    error::AppResult,
    history::{self, Action},
    ids::OpportunityId,
    notes::{self, Host},
    opportunities::{managed, model},
    state::State,
    web::{
        ctx::Ctx,
        layout::{self, Module},
    },
};

/// GET /opportunities/:id/delete
#[handler]
pub async fn confirm(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, o) = managed(&mut tx, &ctx, id).await?;
    let (notes, files) = notes::model::count(&mut tx, &Host::of_opportunity(&o)).await?;
    tx.commit().await?;
    let content = html! {
        div.alert.alert-danger role="alert" {
            p.mb-2 { strong { (ctx.locale.tf("opportunities.delete_confirm", &[("name", &o.name)])) } }
            p.mb-2 #delete-contents {
                (ctx.locale.tf("opportunities.delete_contents", &[
                    ("notes", &notes.to_string()),
                    ("files", &files.to_string()),
                ]))
            }
            p.mb-0 { (ctx.t("opportunities.delete_warning")) }
        }
        (layout::confirm_delete_form(
            &ctx,
            &format!("/opportunities/{}/delete", o.id),
            &ctx.t("opportunities.delete_submit"),
            &format!("/opportunities/{}", o.id),
        ))
    };
    Ok(layout::page(
        &ctx,
        Module::Opportunities,
        "/opportunities",
        &ctx.t("opportunities.delete_title"),
        content,
    ))
}

/// POST /opportunities/:id/delete — back to its company's page.
#[handler]
pub async fn delete(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<OpportunityId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, o) = managed(&mut tx, &ctx, id).await?;
    let files = model::delete(&mut tx, o.id).await?;
    history::record(
        &mut tx,
        o.company_id,
        Some(ctx.user),
        Action::OpportunityDeleted,
        &o.name,
        vec![],
    )
    .await?;
    tx.commit().await?;
    files.remove(&state.files).await;
    Ok(
        Redirect::see_other(format!("/customers/{}#company-opportunities", o.company_id))
            .into_response(),
    )
}
