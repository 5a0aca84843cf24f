//! Invitations: the emailed link lets an invited user set their first password.
//!
//! Only a SHA-256 of the token is stored. The invitee has no session, so the tenant is
//! found by the token through a SECURITY DEFINER function that reveals nothing else.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use diesel::{OptionalExtension, QueryableByName, prelude::*, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    session::Session,
    web::{Data, Form, Path, Redirect},
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{
    auth::{
        ctx::{PublicCtx, SessionUser, sign_in},
        password,
    },
    db::TenantTx,
    error::AppResult,
    ids::{InvitationId, TenantId, UserId},
    schema::invitations,
    state::State,
    users::model as users,
    web::{
        forms::{self, Errors, Kind, Opts},
        layout,
    },
};

/// How long an invitation link works.
pub const VALID_FOR_DAYS: i64 = 7;

/// A fresh token and the hash to store.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Writes an invitation for `user` and returns the link token.
pub async fn create(tx: &mut TenantTx, user: UserId, invited_by: UserId) -> AppResult<String> {
    let tenant = tx.tenant();
    let (token, hash) = new_token();
    // A new invitation replaces any earlier, unused one.
    diesel::update(invitations::table)
        .filter(
            invitations::tenant_id
                .eq(tenant)
                .and(invitations::user_id.eq(user)),
        )
        .filter(invitations::used_at.is_null())
        .set(invitations::expires_at.eq(diesel::dsl::now))
        .execute(&mut **tx)
        .await?;
    diesel::insert_into(invitations::table)
        .values((
            invitations::tenant_id.eq(tenant),
            invitations::user_id.eq(user),
            invitations::token_hash.eq(hash),
            invitations::invited_by.eq(invited_by),
            invitations::expires_at.eq(chrono::Utc::now() + chrono::Duration::days(VALID_FOR_DAYS)),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(token)
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = BigInt)]
    invitation_id: InvitationId,
}

/// An open invitation with its user, inside a transaction of the user's tenant.
struct Open {
    tx: TenantTx,
    invitation: InvitationId,
    user: users::User,
}

async fn open(state: &State, token: &str) -> AppResult<Option<Open>> {
    let found: Option<Found> = {
        let mut conn = state.db.get().await?;
        diesel::sql_query("SELECT tenant_id, invitation_id FROM kehu_find_invitation($1)")
            .bind::<diesel::sql_types::Text, _>(hash_token(token))
            .get_result(&mut conn)
            .await
            .optional()?
    };
    let Some(found) = found else { return Ok(None) };
    let mut tx = TenantTx::begin(&state.db, found.tenant_id).await?;
    // Checked again under the row lock: a concurrent submission of the same link may have
    // used it since the lookup above.
    let user_id: Option<UserId> = invitations::table
        .filter(
            invitations::tenant_id
                .eq(found.tenant_id)
                .and(invitations::id.eq(found.invitation_id)),
        )
        .filter(invitations::used_at.is_null())
        .filter(invitations::expires_at.gt(diesel::dsl::now))
        .select(invitations::user_id)
        .for_update()
        .first(&mut *tx)
        .await
        .optional()?;
    let Some(user_id) = user_id else {
        tx.rollback().await?;
        return Ok(None);
    };
    let user = users::find(&mut tx, user_id).await?;
    if user.status == "disabled" {
        // Release the row lock now: a dropped transaction would sit idle in the pool
        // holding it, and the next visit of this link would wait on it forever.
        tx.rollback().await?;
        return Ok(None);
    }
    Ok(Some(Open {
        tx,
        invitation: found.invitation_id,
        user,
    }))
}

fn invalid_link(ctx: &PublicCtx) -> Response {
    layout::public(
        ctx,
        &ctx.t("invite.invalid_title"),
        html! {
            p { (ctx.t("invite.invalid")) }
            a.btn.btn-primary href="/login" { (ctx.t("login.link")) }
        },
    )
    .with_status(StatusCode::NOT_FOUND)
    .into_response()
}

fn form(ctx: &PublicCtx, token: &str, user: &users::User, errors: &Errors) -> Markup {
    layout::public(
        ctx,
        &ctx.t("invite.title"),
        html! {
            p { (ctx.tf_name("invite.intro", &user.name)) }
            form method="post" action={"/invite/" (token)} novalidate {
                (layout::csrf_field(&ctx.csrf))
                div.mb-3 {
                    label.form-label for="f-email-ro" { (ctx.t("field.email")) }
                    input.form-control-plaintext #f-email-ro type="text" readonly value=(user.email);
                }
                (forms::input("password", &ctx.t("field.new_password"), "", errors.get("password"),
                    Opts { kind: Kind::Password, required: true, autofocus: true, autocomplete: Some("new-password"), max_len: Some(128) }))
                (forms::input("confirm", &ctx.t("field.confirm_password"), "", errors.get("confirm"),
                    Opts { kind: Kind::Password, required: true, autocomplete: Some("new-password"), max_len: Some(128), ..Opts::default() }))
                p.form-text { (ctx.t("password.hint")) }
                button.btn.btn-primary.w-100 type="submit" { (ctx.t("invite.submit")) }
            }
        },
    )
}

/// GET /invite/:token
#[handler]
pub async fn show(
    ctx: PublicCtx,
    state: Data<&State>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    match open(&state, &token).await? {
        Some(open) => {
            let page = form(&ctx, &token, &open.user, &Errors::new());
            open.tx.commit().await?;
            Ok(page.into_response())
        }
        None => Ok(invalid_link(&ctx)),
    }
}

/// The set-password form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetPasswordForm {
    password: String,
    confirm: String,
}

/// POST /invite/:token
#[handler]
pub async fn accept(
    ctx: PublicCtx,
    state: Data<&State>,
    session: &Session,
    Path(token): Path<String>,
    Form(input): Form<SetPasswordForm>,
) -> AppResult<Response> {
    let Some(Open {
        mut tx,
        invitation,
        user,
    }) = open(&state, &token).await?
    else {
        return Ok(invalid_link(&ctx));
    };
    let mut errors = Errors::new();
    if let Err(e) = password::check_policy(&input.password, &[&user.email, &user.name]) {
        errors.add(ctx.locale, "password", e.key());
    } else if input.password != input.confirm {
        errors.add(ctx.locale, "confirm", "password.mismatch");
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(form(&ctx, &token, &user, &errors)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let hash = password::hash(input.password).await?;
    users::set_password(&mut tx, user.id, &hash).await?;
    diesel::update(invitations::table)
        .filter(
            invitations::tenant_id
                .eq(tx.tenant())
                .and(invitations::id.eq(invitation)),
        )
        .set(invitations::used_at.eq(diesel::dsl::now))
        .execute(&mut *tx)
        .await?;
    let epoch = users::session_epoch(&mut tx, user.id).await?;
    let tenant = tx.tenant();
    tx.commit().await?;
    sign_in(
        session,
        SessionUser {
            tenant,
            user: user.id,
            epoch,
        },
    );
    Ok(Redirect::see_other("/").into_response())
}
