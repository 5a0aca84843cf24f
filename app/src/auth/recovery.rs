//! Getting back into one's own account, with nobody's help:
//!
//! - 忘记密码: GET/POST /password/forgot answers with the same page and status for any
//!   address, after the same one lookup; an account that exists and is not disabled is
//!   emailed a reset link (valid an hour, in the user's language) in the background, so
//!   neither the page nor its timing tells which addresses have accounts.
//! - GET/POST /password/reset/:token: a new password through the invitation's form. Every
//!   session of the user ends, the account is unlocked, the reset is audited, and the
//!   user is signed in.
//! - The lock email ([`lock_email`]): the login that locks an account writes it, in the
//!   same transaction, with a link that unlocks the account and one that resets the
//!   password. GET /account/unlock/:token only shows a button (mail scanners open links);
//!   POST unlocks, once, audited.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    session::Session,
    web::{Data, Form, Path, RemoteAddr},
};
use serde::Deserialize;

use crate::{
    audit::{self, Action},
    auth::{
        invite::{self, Purpose, SetPasswordForm},
        login::{Account, client_ip, find_account},
        throttle,
    },
    db::TenantTx,
    error::AppResult,
    i18n::Locale,
    ids::{EmailId, TenantId, UserId},
    jobs::{SendEmail, email},
    state::State,
    users::model as users,
    web::{
        ctx::PublicCtx,
        forms::{self, Kind, Opts},
        layout,
    },
};

/// The 忘记密码 form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

fn forgot_page(ctx: &PublicCtx, email: &str, error: Option<&str>, sent: bool) -> Markup {
    layout::public(
        ctx,
        &ctx.t("forgot.title"),
        html! {
            @if sent {
                div.alert.alert-success #forgot-sent role="status" { (ctx.t("forgot.sent")) }
            }
            p { (ctx.t("forgot.intro")) }
            form method="post" action="/password/forgot" novalidate {
                (layout::csrf_field(&ctx.csrf))
                (forms::input("email", &ctx.t("field.email"), email, error,
                    Opts { kind: Kind::Email, required: true, autofocus: true, autocomplete: Some("username"), max_len: Some(254) }))
                button.btn.btn-primary.w-100 type="submit" { (ctx.t("forgot.submit")) }
            }
            p.mt-3.mb-0.text-center { a href="/login" { (ctx.t("login.link")) } }
        },
    )
}

/// GET /password/forgot
#[handler]
pub async fn forgot_form(ctx: PublicCtx) -> Markup {
    forgot_page(&ctx, "", None, false)
}

/// POST /password/forgot
#[handler]
pub async fn forgot(
    ctx: PublicCtx,
    state: Data<&State>,
    remote: &RemoteAddr,
    req: &poem::Request,
    Form(input): Form<ForgotForm>,
) -> AppResult<Response> {
    let email = forms::normalize_email(&input.email);
    if !throttle::allow_login_attempt(&state, client_ip(&state, req, remote)).await? {
        return Ok(
            forgot_page(&ctx, &email, Some(&ctx.t("login.throttled")), false)
                .with_status(StatusCode::TOO_MANY_REQUESTS)
                .into_response(),
        );
    }
    if !forms::is_valid_email(&email) {
        return Ok(
            forgot_page(&ctx, &email, Some(&ctx.t("form.invalid_email")), false)
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response(),
        );
    }
    if let Some(account) = find_account(&state, &email).await? {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(err) = send_reset_link(&state, account).await {
                tracing::warn!(error = %err, "could not write a password reset email");
            }
        });
    }
    Ok(forgot_page(&ctx, &email, None, true).into_response())
}

/// Reset emails one account gets at most: one per this many seconds (a stranger asking
/// again and again sends its owner nothing more).
const RESET_COOLDOWN_SECS: u64 = 300;

/// Writes and pushes the reset email of an account that is not disabled, unless one went
/// out in the last [`RESET_COOLDOWN_SECS`].
async fn send_reset_link(state: &State, account: Account) -> AppResult<()> {
    let key = format!("reset_sent:{}:{}", account.tenant_id, account.user_id);
    if !throttle::first_in(state, &key, RESET_COOLDOWN_SECS).await? {
        return Ok(());
    }
    let mut tx = TenantTx::begin(&state.db, account.tenant_id).await?;
    let user = users::find(&mut tx, account.user_id).await?;
    if user.status == "disabled" {
        tx.rollback().await?;
        return Ok(());
    }
    let token = invite::create_link(&mut tx, user.id, Purpose::Reset, None).await?;
    let locale = Locale::from_code(&user.locale).unwrap_or_default();
    let url = invite::url(&state.config.base_url, Purpose::Reset, &token);
    let minutes = Purpose::Reset.valid_for().num_minutes().to_string();
    let args = [
        ("name", user.name.as_str()),
        ("url", url.as_str()),
        ("minutes", minutes.as_str()),
    ];
    let id = email::enqueue(
        &mut tx,
        email::NewEmail {
            kind: "password_reset",
            to_addr: user.email.clone(),
            subject: locale.t("email.reset.subject"),
            body_text: locale.tf("email.reset.body", &args),
        },
        state.config.job_max_attempts,
    )
    .await?;
    tx.commit().await?;
    push(state, account.tenant_id, id).await;
    Ok(())
}

async fn push(state: &State, tenant_id: TenantId, email_id: EmailId) {
    state
        .queues
        .push_email(SendEmail {
            tenant_id,
            email_id,
        })
        .await;
}

/// Writes, in the transaction that locked `user`'s account, the email that tells them,
/// with a link that unlocks it and one that resets the password. The caller pushes the
/// returned email after commit.
pub async fn lock_email(tx: &mut TenantTx, state: &State, user: UserId) -> AppResult<EmailId> {
    let user = users::find(tx, user).await?;
    let base = &state.config.base_url;
    let unlock_token = invite::create_link(tx, user.id, Purpose::Unlock, None).await?;
    let reset_token = invite::create_link(tx, user.id, Purpose::Reset, None).await?;
    let unlock_url = invite::url(base, Purpose::Unlock, &unlock_token);
    let reset_url = invite::url(base, Purpose::Reset, &reset_token);
    let minutes = (state.config.login_lock.as_secs() / 60).to_string();
    let locale = Locale::from_code(&user.locale).unwrap_or_default();
    let args = [
        ("name", user.name.as_str()),
        ("minutes", minutes.as_str()),
        ("unlock_url", unlock_url.as_str()),
        ("reset_url", reset_url.as_str()),
    ];
    email::enqueue(
        tx,
        email::NewEmail {
            kind: "account_locked",
            to_addr: user.email.clone(),
            subject: locale.t("email.locked.subject"),
            body_text: locale.tf("email.locked.body", &args),
        },
        state.config.job_max_attempts,
    )
    .await
}

/// Pushes the lock email after its transaction committed.
pub async fn push_lock_email(state: &State, tenant: TenantId, email: EmailId) {
    push(state, tenant, email).await;
}

/// GET /password/reset/:token
#[handler]
pub async fn reset_form(
    ctx: PublicCtx,
    state: Data<&State>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    invite::show_set_password(&ctx, &state, &token, Purpose::Reset).await
}

/// POST /password/reset/:token
#[handler]
pub async fn reset(
    ctx: PublicCtx,
    state: Data<&State>,
    session: &Session,
    Path(token): Path<String>,
    Form(input): Form<SetPasswordForm>,
) -> AppResult<Response> {
    invite::set_password(&ctx, &state, session, &token, Purpose::Reset, input).await
}

/// GET /account/unlock/:token — what the link will do, and a button to do it.
#[handler]
pub async fn unlock_form(
    ctx: PublicCtx,
    state: Data<&State>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let Some(link) = invite::open(&state, &token, Purpose::Unlock).await? else {
        return Ok(invite::invalid_link(&ctx, Purpose::Unlock));
    };
    let page = layout::public(
        &ctx,
        &ctx.t("unlock.title"),
        html! {
            p { (ctx.tf_name("unlock.intro", &link.user.name)) }
            form method="post" action={(Purpose::Unlock.path()) (token)} {
                (layout::csrf_field(&ctx.csrf))
                div.mb-3 {
                    label.form-label for="f-email-ro" { (ctx.t("field.email")) }
                    input.form-control-plaintext #f-email-ro type="text" readonly value=(link.user.email);
                }
                button.btn.btn-primary.w-100 #unlock type="submit" { (ctx.t("unlock.submit")) }
            }
        },
    );
    link.tx.commit().await?;
    Ok(page.into_response())
}

/// POST /account/unlock/:token
#[handler]
pub async fn unlock(
    ctx: PublicCtx,
    state: Data<&State>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let Some(mut link) = invite::open(&state, &token, Purpose::Unlock).await? else {
        return Ok(invite::invalid_link(&ctx, Purpose::Unlock));
    };
    link.mark_used().await?;
    let user = link.user.id;
    // A lock that ended meanwhile (its time, an admin) is not ended twice in the log.
    if link.user.locked_at.is_some() {
        users::unlock(&mut link.tx, user).await?;
        audit::record(
            &mut link.tx,
            Some(user),
            Action::UserUnlocked,
            Some(user),
            serde_json::json!({ "via": "email" }),
        )
        .await?;
    }
    link.tx.commit().await?;
    Ok(layout::public(
        &ctx,
        &ctx.t("unlock.done_title"),
        html! {
            div.alert.alert-success #unlocked role="status" { (ctx.t("unlock.done")) }
            a.btn.btn-primary href="/login" { (ctx.t("login.link")) }
        },
    )
    .into_response())
}
