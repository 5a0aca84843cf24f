//! Tag pages and actions: GET /tags, tagging one company, untagging, bulk tagging.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Form, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    customers::{
        form::managed,
        list::CUSTOMERS,
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action},
    ids::{CompanyId, TagId},
    listing::bulk::{self as lb, BulkRequest, Picked},
    state::State,
    tags::model::{self, MAX_LEN},
    web::{
        ctx::Ctx,
        forms::RawForm,
        layout::{self, Module},
    },
};

/// GET /tags — 标签列表: every tag with how many visible companies carry it.
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let rows = model::counts(&mut tx, &scope).await?;
    tx.commit().await?;
    let content = html! {
        @if rows.is_empty() {
            p.empty-state { (ctx.t("tags.empty")) }
        } @else {
            table.table.table-sm.align-middle.narrow-form #tags {
                thead { tr { th scope="col" { (ctx.t("tags.name")) } th.text-end scope="col" { (ctx.t("tags.count")) } } }
                tbody {
                    @for (id, name, n) in &rows {
                        tr id={"tag-" (id)} {
                            td { a href={"/customers?tag=" (id)} { span.badge.text-bg-info { (name) } } }
                            td.text-end.tag-count { (n) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/tags",
        &ctx.t("tags.title"),
        content,
    ))
}

/// A tag name as typed: trimmed, 1 to [`MAX_LEN`] characters.
fn tag_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    (!name.is_empty() && name.chars().count() <= MAX_LEN).then(|| name.to_owned())
}

/// The tag form of one company.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TagForm {
    name: String,
}

/// POST /customers/:id/tags — adds a tag (created if new) to one company.
#[handler]
pub async fn tag_one(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
    Form(input): Form<TagForm>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, company) = managed(&mut tx, &ctx, CompanyId(id)).await?;
    if let Some(name) = tag_name(&input.name) {
        let tag = model::ensure(&mut tx, &name).await?;
        model::add(&mut tx, &[company.id], tag).await?;
        history::record(
            &mut tx,
            company.id,
            Some(ctx.user),
            Action::Tagged,
            &name,
            vec![],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/customers/{}", company.id)).into_response())
}

/// The untag form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UntagForm {
    tag_id: i64,
}

/// POST /customers/:id/untag — removes a tag from one company.
#[handler]
pub async fn untag_one(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
    Form(input): Form<UntagForm>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, company) = managed(&mut tx, &ctx, CompanyId(id)).await?;
    // Removing a tag that is gone already is a no-op, not an error.
    if let Some((tag, name)) =
        crate::users::model::not_found_is_none(model::find(&mut tx, TagId(input.tag_id)).await)?
    {
        model::remove(&mut tx, &[company.id], tag).await?;
        history::record(
            &mut tx,
            company.id,
            Some(ctx.user),
            Action::Untagged,
            &name,
            vec![],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/customers/{}", company.id)).into_response())
}

/// POST /customers/bulk-tag — adds or removes a tag on the selected companies (the bulk
/// bar's selection: checked rows, this page or all that match). Companies the user may
/// not change are left alone; the list says what was done.
#[handler]
pub async fn bulk(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    let spec = &CUSTOMERS;
    let req = BulkRequest::parse(spec, &form);
    let remove = req.value("op") == Some("remove");
    let Some(name) = tag_name(req.value("tag").unwrap_or_default()) else {
        return Ok(req.refuse(&ctx, spec, ctx.t("list.tag_missing")));
    };
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let picked = req.pick(&mut tx, &ctx, spec, &scope).await?;
    if let Some(refused) = req.refuse_picked(&ctx, spec, &picked) {
        tx.commit().await?;
        return Ok(refused);
    }
    let Picked::Rows(ids) = picked else {
        return Err(AppError::BadRequest);
    };
    let (allowed, skipped) = lb::manageable(&mut tx, spec, &scope, &ids).await?;
    if allowed.is_empty() {
        tx.commit().await?;
        return Ok(req.refuse(&ctx, spec, ctx.t("list.bulk_not_yours")));
    }
    let allowed: Vec<CompanyId> = allowed.into_iter().map(|(id, _)| CompanyId(id)).collect();
    let action = if remove {
        let Some(tag) = model::by_name(&mut tx, &name).await? else {
            tx.commit().await?;
            return Ok(req.refuse(
                &ctx,
                spec,
                ctx.locale.tf("list.tag_unknown", &[("name", &name)]),
            ));
        };
        model::remove(&mut tx, &allowed, tag).await?;
        Action::Untagged
    } else {
        let tag = model::ensure(&mut tx, &name).await?;
        model::add(&mut tx, &allowed, tag).await?;
        Action::Tagged
    };
    for company in &allowed {
        history::record(&mut tx, *company, Some(ctx.user), action, &name, vec![]).await?;
    }
    tx.commit().await?;
    let what = lb::counted(&ctx, spec, allowed.len());
    let key = if remove {
        "list.tag_removed"
    } else {
        "list.tag_added"
    };
    let text = ctx.locale.tf(key, &[("what", &what), ("name", &name)]);
    Ok(req.done(&ctx, spec, lb::with_skipped(&ctx, text, skipped)))
}
