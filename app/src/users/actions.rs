//! Row actions on a user: unlock, disable, enable, re-send the invitation. Each is a POST
//! that answers an htmx request with the updated row and a plain form post with a redirect.

use maud::Markup;
use poem::{
    IntoResponse, Response, handler,
    web::{Data, Path, Redirect},
};
use serde_json::json;

use crate::{
    audit::{self, Action},
    db::TenantTx,
    error::{AppError, AppResult},
    ids::UserId,
    state::State,
    users::{list::row, model as users},
    web::{ctx::AdminCtx, is_htmx},
};

async fn respond(
    ctx: &AdminCtx,
    state: &State,
    mut tx: TenantTx,
    id: UserId,
    htmx: bool,
) -> AppResult<Response> {
    if !htmx {
        tx.commit().await?;
        return Ok(Redirect::see_other("/admin/users").into_response());
    }
    let user = users::find(&mut tx, id)
        .await?
        .with_lock_in_force(state.config.login_lock);
    let manager = match user.reports_to {
        Some(m) => Some(users::find(&mut tx, m).await?.name),
        None => None,
    };
    tx.commit().await?;
    let html: Markup = row(ctx, &user, manager.as_deref());
    Ok(html.into_response())
}

/// POST /admin/users/:id/unlock
#[handler]
pub async fn unlock(
    ctx: AdminCtx,
    state: Data<&State>,
    req: &poem::Request,
    Path(id): Path<UserId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let user = users::find(&mut tx, id).await?;
    if user.locked_at.is_some() {
        users::unlock(&mut tx, id).await?;
        audit::record(
            &mut tx,
            Some(ctx.user),
            Action::UserUnlocked,
            Some(id),
            json!({}),
        )
        .await?;
    }
    respond(&ctx, &state, tx, id, is_htmx(req)).await
}

/// POST /admin/users/:id/disable — ends every session of the user.
#[handler]
pub async fn disable(
    ctx: AdminCtx,
    state: Data<&State>,
    req: &poem::Request,
    Path(id): Path<UserId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    users::lock_admin_changes(&mut tx).await?;
    let user = users::find(&mut tx, id).await?;
    // Admins cannot lock themselves out, and the tenant keeps at least one active admin
    // (two admins disabling each other at once: the second one is refused).
    if id == ctx.user
        || (user.role == users::Role::Admin && users::other_active_admins(&mut tx, id).await? == 0)
    {
        return Err(AppError::Forbidden);
    }
    if user.status != "disabled" {
        users::set_status(&mut tx, id, "disabled").await?;
        audit::record(
            &mut tx,
            Some(ctx.user),
            Action::UserDisabled,
            Some(id),
            json!({ "from": user.status }),
        )
        .await?;
    }
    respond(&ctx, &state, tx, id, is_htmx(req)).await
}

/// POST /admin/users/:id/enable
#[handler]
pub async fn enable(
    ctx: AdminCtx,
    state: Data<&State>,
    req: &poem::Request,
    Path(id): Path<UserId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let user = users::find(&mut tx, id).await?;
    if user.status == "disabled" {
        // A user who never set a password or confirmed the address goes back to "invited".
        let status = if user.password_hash_set && user.email_confirmed {
            "active"
        } else {
            "invited"
        };
        users::set_status(&mut tx, id, status).await?;
        audit::record(
            &mut tx,
            Some(ctx.user),
            Action::UserEnabled,
            Some(id),
            json!({ "to": status }),
        )
        .await?;
    }
    respond(&ctx, &state, tx, id, is_htmx(req)).await
}

/// POST /admin/users/:id/reinvite — a new link; the old one stops working.
#[handler]
pub async fn reinvite(
    ctx: AdminCtx,
    state: Data<&State>,
    remote: &poem::web::RemoteAddr,
    req: &poem::Request,
    Path(id): Path<UserId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let user = users::find(&mut tx, id).await?;
    if user.status != "invited" {
        return Err(AppError::NotFound);
    }
    let ip = crate::auth::login::client_ip(&state, req, remote);
    if !super::form::allow_adding(&ctx, &state, &mut tx, ip).await? {
        tx.rollback().await?;
        return Err(AppError::TooManyRequests);
    }
    audit::record(
        &mut tx,
        Some(ctx.user),
        Action::UserInvited,
        Some(id),
        json!({ "resent": true }),
    )
    .await?;
    super::form::send_link(&ctx, &state, tx, &user).await?;
    let tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    respond(&ctx, &state, tx, id, is_htmx(req)).await
}
