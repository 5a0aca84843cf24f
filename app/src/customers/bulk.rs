//! POST /customers/bulk — 批量操作 on companies: a new owner, category or visibility, or
//! deletion, each after a confirmation page that says how many ([`crate::listing::bulk`]).
//! Companies the user may not change are left alone and counted in the message; every
//! change is recorded in each company's history, and a deletion removes the companies'
//! note files from the file store as deleting one company does.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use poem::{IntoResponse, Response, handler, web::Data};

use crate::{
    auth::ctx::Ctx,
    customers::{list::CUSTOMERS, model},
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action, Diff},
    ids::{CategoryId, CompanyId, UserId},
    listing::bulk::{self as lb, BulkRequest, Picked},
    schema::companies,
    state::State,
    users::model as users,
    visibility::{Scope, View},
    web::forms::RawForm,
};

/// What a bulk action sets.
enum Change {
    Owner(UserId, String),
    Category(Option<CategoryId>, String),
    Visibility(&'static str, String),
    Delete,
}

impl Change {
    /// The locale keys of its question and of its message when done.
    fn keys(&self) -> (&'static str, &'static str) {
        match self {
            Self::Owner(..) => ("list.bulk_owner_confirm", "list.bulk_owner_done"),
            Self::Category(..) => ("list.bulk_category_confirm", "list.bulk_category_done"),
            Self::Visibility(..) => ("list.bulk_visibility_confirm", "list.bulk_visibility_done"),
            Self::Delete => ("list.bulk_delete_confirm", "list.bulk_delete_done"),
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::Owner(_, n) | Self::Category(_, n) | Self::Visibility(_, n) => n,
            Self::Delete => "",
        }
    }
}

/// Reads the value the action sets; `None` for a value the user may not choose.
async fn change(
    tx: &mut TenantTx,
    ctx: &Ctx,
    scope: &Scope,
    req: &BulkRequest,
) -> AppResult<Option<Change>> {
    Ok(match req.action.as_str() {
        "owner" => {
            let id = req
                .value("owner_id")
                .and_then(|v| v.parse().ok())
                .map(UserId);
            let people = users::list(tx).await?;
            id.and_then(|id| people.into_iter().find(|u| u.id == id))
                .filter(|u| u.status != "disabled" && scope.can_manage(u.id))
                .map(|u| Change::Owner(u.id, u.name))
        }
        "category" => match req.value("category_id").unwrap_or_default() {
            "" => Some(Change::Category(None, ctx.t("company.no_category"))),
            raw => {
                let id = raw.parse().ok().map(CategoryId);
                model::categories(tx)
                    .await?
                    .into_iter()
                    .find(|(c, _)| Some(*c) == id)
                    .map(|(c, n)| Change::Category(Some(c), n))
            }
        },
        "visibility" => match req.value("visibility") {
            Some("public") => Some(Change::Visibility("public", ctx.t("visibility.public"))),
            Some("private") => Some(Change::Visibility("private", ctx.t("visibility.private"))),
            _ => None,
        },
        "delete" => Some(Change::Delete),
        _ => return Err(AppError::BadRequest),
    })
}

/// POST /customers/bulk
#[handler]
pub async fn bulk(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    let spec = &CUSTOMERS;
    let req = BulkRequest::parse(spec, &form);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let picked = req.pick(&mut tx, &ctx, spec).await?;
    if let Some(refused) = req.refuse_picked(&ctx, spec, &picked) {
        tx.commit().await?;
        return Ok(refused);
    }
    let Picked::Rows(ids) = picked else {
        return Err(AppError::BadRequest);
    };
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let (allowed, skipped) = lb::manageable(&mut tx, spec, &scope, &ids).await?;
    if allowed.is_empty() {
        tx.commit().await?;
        return Ok(req.refuse(&ctx, spec, ctx.t("list.bulk_not_yours")));
    }
    let Some(change) = change(&mut tx, &ctx, &scope, &req).await? else {
        tx.commit().await?;
        return Ok(req.refuse(&ctx, spec, ctx.t("list.bulk_bad_choice")));
    };
    let what = lb::counted(&ctx, spec, allowed.len());
    let (ask, done) = change.keys();
    let args = [("what", what.as_str()), ("name", change.name())];
    if !req.confirmed {
        tx.commit().await?;
        let warning = matches!(change, Change::Delete).then(|| ctx.t("customers.delete_warning"));
        let question = ctx.locale.tf(ask, &args);
        return Ok(req
            .confirm_page(
                &ctx,
                spec,
                &question,
                warning.as_deref(),
                matches!(change, Change::Delete),
            )
            .into_response());
    }
    let ids: Vec<CompanyId> = allowed.iter().map(|(id, _)| CompanyId(*id)).collect();
    let mut files = None;
    match &change {
        Change::Delete => files = Some(model::delete_many(&mut tx, &ids).await?),
        _ => apply(&mut tx, &ctx, &ids, &change).await?,
    }
    tx.commit().await?;
    if let Some(files) = files {
        files.remove(&state.files).await;
    }
    let text = lb::with_skipped(&ctx, ctx.locale.tf(done, &args), skipped);
    Ok(req.done(&ctx, spec, text))
}

/// Sets the value on the companies and records the change in each one's history.
async fn apply(tx: &mut TenantTx, ctx: &Ctx, ids: &[CompanyId], change: &Change) -> AppResult<()> {
    let tenant = tx.tenant();
    let before: Vec<(CompanyId, UserId, Option<CategoryId>, String)> = companies::table
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::id.eq_any(ids)),
        )
        .select((
            companies::id,
            companies::owner_id,
            companies::category_id,
            companies::visibility,
        ))
        .order(companies::id)
        .for_update()
        .load(&mut **tx)
        .await?;
    let target = companies::table.filter(
        companies::tenant_id
            .eq(tenant)
            .and(companies::id.eq_any(ids)),
    );
    match change {
        Change::Owner(owner, _) => {
            diesel::update(target)
                .set(companies::owner_id.eq(owner))
                .execute(&mut **tx)
                .await?
        }
        Change::Category(category, _) => {
            diesel::update(target)
                .set(companies::category_id.eq(category))
                .execute(&mut **tx)
                .await?
        }
        Change::Visibility(visibility, _) => {
            diesel::update(target)
                .set(companies::visibility.eq(visibility))
                .execute(&mut **tx)
                .await?
        }
        Change::Delete => 0,
    };
    let people = users::list(tx).await?;
    let categories = model::categories(tx).await?;
    let person = |id: UserId| {
        people
            .iter()
            .find(|u| u.id == id)
            .map_or(String::new(), |u| u.name.clone())
    };
    let category = |id: Option<CategoryId>| {
        id.and_then(|id| categories.iter().find(|(c, _)| *c == id))
            .map_or(String::new(), |(_, n)| n.clone())
    };
    for (id, owner, old_category, visibility) in before {
        let mut diff = Diff::default();
        match change {
            Change::Owner(new, _) => diff.field("company.owner", &person(owner), &person(*new)),
            Change::Category(new, _) => {
                diff.field("company.category", &category(old_category), &category(*new))
            }
            Change::Visibility(new, _) => diff.field("company.visibility", &visibility, new),
            Change::Delete => &mut diff,
        };
        if !diff.is_empty() {
            history::record(
                tx,
                id,
                Some(ctx.user),
                Action::Updated,
                "",
                diff.into_changes(),
            )
            .await?;
        }
    }
    Ok(())
}
