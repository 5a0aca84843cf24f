//! Tag pages and actions: GET /tags, tagging one company, untagging, bulk tagging.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Form, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    auth::ctx::Ctx,
    customers::{
        form::managed,
        model as companies,
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action},
    ids::{CompanyId, TagId},
    state::State,
    tags::model::{self, MAX_LEN},
    web::layout::{self, Module},
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

/// POST /customers/bulk-tag — adds or removes a tag on the selected companies. The form
/// repeats `company_id`, so the body is parsed here rather than into a struct. Companies
/// the user may not change are left alone.
#[handler]
pub async fn bulk(ctx: Ctx, state: Data<&State>, body: String) -> AppResult<Response> {
    let mut ids = Vec::new();
    let (mut name, mut op) = (String::new(), String::new());
    for (key, value) in url::form_urlencoded::parse(body.as_bytes()) {
        match key.as_ref() {
            "company_id" => ids.extend(value.parse().ok().map(CompanyId)),
            "tag" => name = value.into_owned(),
            "op" => op = value.into_owned(),
            _ => {}
        }
    }
    let Some(name) = tag_name(&name) else {
        return Ok(Redirect::see_other("/customers").into_response());
    };
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let mut allowed = Vec::new();
    for id in ids.into_iter().take(500) {
        match companies::find(&mut tx, &scope, id).await {
            Ok(c) if scope.can_manage(c.owner_id) => allowed.push(c.id),
            Ok(_) | Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    if !allowed.is_empty() {
        let action = if op == "remove" {
            let Some(tag) = model::by_name(&mut tx, &name).await? else {
                tx.commit().await?;
                return Ok(Redirect::see_other("/customers").into_response());
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
    }
    tx.commit().await?;
    Ok(Redirect::see_other("/customers").into_response())
}
