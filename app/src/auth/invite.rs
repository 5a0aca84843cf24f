//! Account links (the `invitations` table): an emailed, single-use, expiring link that
//! lets an invited user set their first password ([`Purpose::Invite`]), a user who forgot
//! theirs set a new one ([`Purpose::Reset`], see `recovery`), or the owner of a locked
//! account unlock it ([`Purpose::Unlock`]).
//!
//! Only a SHA-256 of the token is stored. Whoever follows the link has no session, so the
//! tenant is found by the token through a SECURITY DEFINER function that reveals nothing
//! else; the link's purpose, use and expiry are checked again under a row lock.

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
    audit::{self, Action},
    auth::password,
    db::TenantTx,
    error::AppResult,
    ids::{InvitationId, TenantId, UserId},
    schema::invitations,
    state::State,
    users::model as users,
    web::{
        ctx::{PublicCtx, SessionUser, sign_in},
        forms::{self, Errors, Kind, Opts},
        layout,
    },
};

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Set the first password of an invited user.
    Invite,
    /// Set a new password after "forgot password".
    Reset,
    /// Unlock an account that wrong passwords locked.
    Unlock,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "invite",
            Self::Reset => "reset",
            Self::Unlock => "unlock",
        }
    }

    /// How long a link works.
    pub fn valid_for(self) -> chrono::Duration {
        match self {
            Self::Invite => chrono::Duration::days(7),
            Self::Reset => chrono::Duration::hours(1),
            Self::Unlock => chrono::Duration::days(1),
        }
    }

    /// The path the link opens, without its token.
    pub fn path(self) -> &'static str {
        match self {
            Self::Invite => "/invite/",
            Self::Reset => "/password/reset/",
            Self::Unlock => "/account/unlock/",
        }
    }

    /// The locale section of its pages (`invite.title`, `reset.title`, …).
    fn texts(self) -> &'static str {
        match self {
            Self::Invite => "invite",
            Self::Reset => "reset",
            Self::Unlock => "unlock",
        }
    }
}

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
    create_link(tx, user, Purpose::Invite, Some(invited_by)).await
}

/// Writes a link of `purpose` for `user` (asked for by `by`, or by nobody in the tenant)
/// and returns its token. A new invitation replaces an earlier unused one; reset and
/// unlock links do not replace each other (a stranger asking for one must not kill the
/// one its owner is about to use), and using any link closes the user's others.
pub async fn create_link(
    tx: &mut TenantTx,
    user: UserId,
    purpose: Purpose,
    by: Option<UserId>,
) -> AppResult<String> {
    let tenant = tx.tenant();
    let (token, hash) = new_token();
    if purpose == Purpose::Invite {
        diesel::update(invitations::table)
            .filter(
                invitations::tenant_id
                    .eq(tenant)
                    .and(invitations::user_id.eq(user)),
            )
            .filter(invitations::purpose.eq(purpose.as_str()))
            .filter(invitations::used_at.is_null())
            .set(invitations::expires_at.eq(diesel::dsl::now))
            .execute(&mut **tx)
            .await?;
    }
    diesel::insert_into(invitations::table)
        .values((
            invitations::tenant_id.eq(tenant),
            invitations::user_id.eq(user),
            invitations::token_hash.eq(hash),
            invitations::invited_by.eq(by),
            invitations::purpose.eq(purpose.as_str()),
            invitations::expires_at.eq(chrono::Utc::now() + purpose.valid_for()),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(token)
}

/// The full URL of a link.
pub fn url(base_url: &str, purpose: Purpose, token: &str) -> String {
    format!("{base_url}{}{token}", purpose.path())
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = BigInt)]
    invitation_id: InvitationId,
}

/// An open link with its user, inside a transaction of the user's tenant that holds the
/// link's row lock.
pub struct Open {
    /// The tenant's transaction.
    pub tx: TenantTx,
    /// The link's row.
    pub invitation: InvitationId,
    /// Whose link it is.
    pub user: users::User,
}

impl Open {
    /// Marks the link used (in the same transaction).
    pub async fn mark_used(&mut self) -> AppResult<()> {
        let tenant = self.tx.tenant();
        diesel::update(invitations::table)
            .filter(
                invitations::tenant_id
                    .eq(tenant)
                    .and(invitations::id.eq(self.invitation)),
            )
            .set(invitations::used_at.eq(diesel::dsl::now))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

/// The unused, unexpired link of `purpose` with this token, if any, for a user who is not
/// disabled.
pub async fn open(state: &State, token: &str, purpose: Purpose) -> AppResult<Option<Open>> {
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
        .filter(invitations::purpose.eq(purpose.as_str()))
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

/// The page of a link that is unknown, used or expired.
pub fn invalid_link(ctx: &PublicCtx, purpose: Purpose) -> Response {
    let texts = purpose.texts();
    layout::public(
        ctx,
        &ctx.t(&format!("{texts}.invalid_title")),
        html! {
            p { (ctx.t(&format!("{texts}.invalid"))) }
            a.btn.btn-primary href="/login" { (ctx.t("login.link")) }
        },
    )
    .with_status(StatusCode::NOT_FOUND)
    .into_response()
}

/// The set-password form of an invitation or a reset link.
fn form(
    ctx: &PublicCtx,
    purpose: Purpose,
    token: &str,
    user: &users::User,
    errors: &Errors,
) -> Markup {
    let texts = purpose.texts();
    layout::public(
        ctx,
        &ctx.t(&format!("{texts}.title")),
        html! {
            p { (ctx.tf_name(&format!("{texts}.intro"), &user.name)) }
            form method="post" action={(purpose.path()) (token)} novalidate {
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
                button.btn.btn-primary.w-100 type="submit" { (ctx.t(&format!("{texts}.submit"))) }
            }
        },
    )
}

/// The page of an invitation for a user the admin gave a password: confirming the
/// address is all that is left.
fn confirm_form(ctx: &PublicCtx, token: &str, user: &users::User) -> Markup {
    layout::public(
        ctx,
        &ctx.t("invite.confirm_title"),
        html! {
            p { (ctx.tf_name("invite.confirm_intro", &user.name)) }
            form method="post" action={(Purpose::Invite.path()) (token)} {
                (layout::csrf_field(&ctx.csrf))
                div.mb-3 {
                    label.form-label for="f-email-ro" { (ctx.t("field.email")) }
                    input.form-control-plaintext #f-email-ro type="text" readonly value=(user.email);
                }
                button.btn.btn-primary.w-100 type="submit" autofocus { (ctx.t("invite.confirm_submit")) }
                p.form-text.mt-2 { (ctx.t("invite.confirm_then")) }
            }
        },
    )
}

/// The page of a link whose address another account took before it was confirmed; only
/// the address's owner, who followed the link, sees it.
fn taken_page(ctx: &PublicCtx) -> Response {
    layout::public(
        ctx,
        &ctx.t("invite.taken_title"),
        html! {
            p { (ctx.t("invite.taken")) }
            a.btn.btn-primary href="/login" { (ctx.t("login.link")) }
        },
    )
    .with_status(StatusCode::CONFLICT)
    .into_response()
}

/// GET /invite/:token
#[handler]
pub async fn show(
    ctx: PublicCtx,
    state: Data<&State>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    match open(&state, &token, Purpose::Invite).await? {
        Some(open) if open.user.password_hash_set => {
            let page = confirm_form(&ctx, &token, &open.user);
            open.tx.commit().await?;
            Ok(page.into_response())
        }
        Some(open) => {
            open.tx.rollback().await?;
            show_set_password(&ctx, &state, &token, Purpose::Invite).await
        }
        None => Ok(invalid_link(&ctx, Purpose::Invite)),
    }
}

/// The set-password page of a link of `purpose`.
pub async fn show_set_password(
    ctx: &PublicCtx,
    state: &State,
    token: &str,
    purpose: Purpose,
) -> AppResult<Response> {
    match open(state, token, purpose).await? {
        Some(open) => {
            let page = form(ctx, purpose, token, &open.user, &Errors::new());
            open.tx.commit().await?;
            Ok(page.into_response())
        }
        None => Ok(invalid_link(ctx, purpose)),
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
    let Some(mut link) = open(&state, &token, Purpose::Invite).await? else {
        return Ok(invalid_link(&ctx, Purpose::Invite));
    };
    if !link.user.password_hash_set {
        return set_password_with(&ctx, session, &token, link, Purpose::Invite, input).await;
    }
    // The admin gave a password: confirming the address is all that is left, and the
    // person signs in with that password.
    let user = link.user.clone();
    link.mark_used().await?;
    let Some(link) = confirm_address(link, user.id).await? else {
        return Ok(taken_page(&ctx));
    };
    link.tx.commit().await?;
    Ok(layout::public(
        &ctx,
        &ctx.t("invite.confirmed_title"),
        html! {
            p #invite-confirmed { (ctx.tf_name("invite.confirmed", &user.name)) }
            a.btn.btn-primary href="/login" autofocus { (ctx.t("login.link")) }
        },
    )
    .into_response())
}

/// Confirms the link's user's address, which takes it across Kehu; `None`, with the
/// link's transaction rolled back, when another account took the address first.
async fn confirm_address(mut link: Open, user: UserId) -> AppResult<Option<Open>> {
    match users::confirm_email(&mut link.tx, user).await {
        Ok(()) => Ok(Some(link)),
        Err(e) if crate::error::is_unique_violation(&e, "user_directory_pkey") => {
            link.tx.rollback().await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Records the sign-in, commits the link's transaction and signs the user in.
async fn sign_in_through(
    session: &Session,
    mut link: Open,
    user: &users::User,
) -> AppResult<Response> {
    let tx = &mut link.tx;
    users::record_sign_in(tx, user.id).await?;
    let epoch = users::session_epoch(tx, user.id).await?;
    let tenant = tx.tenant();
    link.tx.commit().await?;
    sign_in(
        session,
        SessionUser {
            tenant,
            user: user.id,
            epoch,
            first: user.first_sign_in_at.is_none(),
        },
    );
    Ok(Redirect::see_other("/").into_response())
}

/// Sets the password through a link of `purpose`: checks the policy (the form again with
/// the errors), stores it, which ends every session of the user and closes their open
/// links, unlocks the account, uses the link up and signs the user in. A reset is
/// audited, and so is the unlock.
pub async fn set_password(
    ctx: &PublicCtx,
    state: &State,
    session: &Session,
    token: &str,
    purpose: Purpose,
    input: SetPasswordForm,
) -> AppResult<Response> {
    let Some(link) = open(state, token, purpose).await? else {
        return Ok(invalid_link(ctx, purpose));
    };
    set_password_with(ctx, session, token, link, purpose, input).await
}

/// [`set_password`] through a link already open. An invitation also confirms the
/// address.
async fn set_password_with(
    ctx: &PublicCtx,
    session: &Session,
    token: &str,
    mut link: Open,
    purpose: Purpose,
    input: SetPasswordForm,
) -> AppResult<Response> {
    let user = link.user.clone();
    let mut errors = Errors::new();
    if let Err(e) = password::check_policy(&input.password, &[&user.email, &user.name]) {
        errors.add(ctx.locale, "password", e.key());
    } else if input.password != input.confirm {
        errors.add(ctx.locale, "confirm", "password.mismatch");
    }
    if !errors.is_empty() {
        link.tx.rollback().await?;
        return Ok(form(ctx, purpose, token, &user, &errors)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let hash = password::hash(input.password).await?;
    link.mark_used().await?;
    if purpose == Purpose::Invite {
        let Some(confirmed) = confirm_address(link, user.id).await? else {
            return Ok(taken_page(ctx));
        };
        link = confirmed;
    }
    let tx = &mut link.tx;
    users::set_password(tx, user.id, &hash).await?;
    if user.locked_at.is_some() {
        users::unlock(tx, user.id).await?;
        audit::record(
            tx,
            Some(user.id),
            Action::UserUnlocked,
            Some(user.id),
            serde_json::json!({ "via": purpose.as_str() }),
        )
        .await?;
    }
    if purpose == Purpose::Reset {
        audit::record(
            tx,
            Some(user.id),
            Action::PasswordReset,
            Some(user.id),
            serde_json::json!({ "via": "email" }),
        )
        .await?;
    }
    sign_in_through(session, link, &user).await
}
