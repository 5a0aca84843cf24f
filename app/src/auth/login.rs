//! Sign-in. Three wrong passwords in a row lock the account for `LOGIN_LOCK_MINUTES`;
//! its owner is emailed at once, with a link that unlocks it and one that resets the
//! password (see `recovery`), and an admin can unlock it too. A lock stops password
//! logins only: the owner's open sessions go on, so a stranger who knows the address
//! cannot throw anybody out. A wrong password, a locked account and an email without an
//! account all answer alike: same message, same status code and the same argon2 work,
//! so nobody can probe which emails exist or which accounts are locked.

use std::net::IpAddr;

use diesel::{OptionalExtension, QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    session::Session,
    web::{Data, Form, Redirect, RemoteAddr},
};
use serde::Deserialize;

use crate::{
    audit::{self, Action},
    auth::{password, recovery, throttle},
    db::TenantTx,
    error::AppResult,
    ids::{TenantId, UserId},
    state::State,
    users::model as users,
    web::{
        ctx::{PublicCtx, SessionUser, sign_in},
        forms::{self, Kind, Opts},
        layout,
    },
};

/// Wrong passwords in a row that lock an account.
pub const LOCK_AFTER: i32 = 3;

/// The login form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
}

/// GET /login
#[handler]
pub async fn show(ctx: PublicCtx) -> Markup {
    form(&ctx, "", None)
}

fn form(ctx: &PublicCtx, email: &str, alert: Option<&str>) -> Markup {
    layout::public(
        ctx,
        &ctx.t("login.title"),
        html! {
            (forms::form_alert(alert))
            form method="post" action="/login" novalidate {
                (layout::csrf_field(&ctx.csrf))
                (forms::input("email", &ctx.t("field.email"), email, None,
                    Opts { kind: Kind::Email, required: true, autofocus: email.is_empty(), autocomplete: Some("username"), max_len: Some(254) }))
                (forms::input("password", &ctx.t("field.password"), "", None,
                    Opts { kind: Kind::Password, required: true, autofocus: !email.is_empty(), autocomplete: Some("current-password"), max_len: Some(128) }))
                button.btn.btn-primary.w-100 type="submit" { (ctx.t("login.submit")) }
            }
            p.mt-3.mb-0.text-center {
                a #forgot href="/password/forgot" { (ctx.t("login.forgot")) }
            }
            p.mt-2.mb-0.text-center {
                (ctx.t("login.no_account")) " "
                a href="/signup" { (ctx.t("signup.link")) }
            }
        },
    )
}

/// What a login attempt came to.
#[derive(Debug)]
enum Outcome {
    SignedIn(SessionUser, String),
    Invalid,
    Locked,
    Disabled,
}

/// POST /login
#[handler]
pub async fn submit(
    ctx: PublicCtx,
    state: Data<&State>,
    session: &Session,
    remote: &RemoteAddr,
    req: &poem::Request,
    Form(input): Form<LoginForm>,
) -> AppResult<Response> {
    let email = forms::normalize_email(&input.email);
    let ip = client_ip(&state, req, remote);
    if !throttle::allow_login_attempt(&state, ip).await? {
        let page = form(&ctx, &email, Some(&ctx.t("login.throttled")));
        return Ok(page
            .with_status(StatusCode::TOO_MANY_REQUESTS)
            .into_response());
    }

    let outcome = attempt(&state, &email, input.password).await?;
    let message = match outcome {
        Outcome::SignedIn(user, locale) => {
            sign_in(session, user);
            return Ok(Redirect::see_other("/")
                .with_header(
                    poem::http::header::SET_COOKIE,
                    crate::web::lang_cookie(&locale),
                )
                .into_response());
        }
        Outcome::Invalid | Outcome::Locked => ctx.t("login.invalid"),
        Outcome::Disabled => ctx.t("login.disabled"),
    };
    Ok(form(&ctx, &email, Some(&message))
        .with_status(StatusCode::UNAUTHORIZED)
        .into_response())
}

/// The account an email signs in to.
#[derive(QueryableByName)]
pub struct Account {
    /// Its tenant.
    #[diesel(sql_type = BigInt)]
    pub tenant_id: TenantId,
    /// Its user.
    #[diesel(sql_type = BigInt)]
    pub user_id: UserId,
}

/// The account of `email` (normalized), in any tenant: there is no session to say which.
pub async fn find_account(state: &State, email: &str) -> AppResult<Option<Account>> {
    let mut conn = state.db.get().await?;
    Ok(
        diesel::sql_query("SELECT tenant_id, user_id FROM kehu_find_account($1)")
            .bind::<diesel::sql_types::Text, _>(email)
            .get_result(&mut conn)
            .await
            .optional()?,
    )
}

async fn attempt(state: &State, email: &str, password: String) -> AppResult<Outcome> {
    let account = find_account(state, email).await?;

    let Some(account) = account else {
        // No such account: do the same hashing work.
        password::verify(password, None).await;
        return Ok(Outcome::Invalid);
    };

    let mut tx = TenantTx::begin(&state.db, account.tenant_id).await?;
    let mut facts = users::login_facts(&mut tx, account.user_id).await?;
    let matched = password::verify(password, facts.password_hash.clone()).await;
    // A lock ends by itself once its time is up (by the database's clock, and only
    // once: concurrent attempts after the expiry do not each get a fresh three).
    if facts.locked_at.is_some()
        && users::unlock_if_expired(&mut tx, facts.id, state.config.login_lock).await?
    {
        audit::record(
            &mut tx,
            None,
            Action::UserUnlocked,
            Some(facts.id),
            serde_json::json!({ "reason": "expired" }),
        )
        .await?;
        facts.locked_at = None;
    }
    let mut lock_email = None;
    let outcome = if facts.locked_at.is_some() {
        Outcome::Locked
    } else if matched && facts.status == "active" {
        users::record_successful_login(&mut tx, facts.id).await?;
        let locale = users::find(&mut tx, facts.id).await?.locale;
        Outcome::SignedIn(
            SessionUser {
                tenant: account.tenant_id,
                user: facts.id,
                epoch: facts.session_epoch,
                first: facts.first_sign_in_at.is_none(),
            },
            locale,
        )
    } else if matched && facts.status == "disabled" {
        Outcome::Disabled
    } else {
        let (failed, locked_now) =
            users::record_failed_login(&mut tx, facts.id, LOCK_AFTER).await?;
        if locked_now {
            audit::record(
                &mut tx,
                None,
                Action::UserLocked,
                Some(facts.id),
                serde_json::json!({ "reason": "failed_logins", "count": LOCK_AFTER }),
            )
            .await?;
            if facts.status == "active" {
                lock_email = Some(recovery::lock_email(&mut tx, state, facts.id).await?);
            }
        }
        // Also "locked" for an attempt that raced with the one that locked the account.
        if failed >= LOCK_AFTER {
            Outcome::Locked
        } else {
            Outcome::Invalid
        }
    };
    tx.commit().await?;
    if let Some(email) = lock_email {
        recovery::push_lock_email(state, account.tenant_id, email).await;
    }
    Ok(outcome)
}

/// The client's address: the socket peer, or, when `TRUST_PROXY_HEADERS` says a trusted
/// proxy is in front, the last `X-Forwarded-For` entry (the one that proxy appended; the
/// entries before it are whatever the client sent).
pub fn client_ip(state: &State, req: &poem::Request, remote: &RemoteAddr) -> Option<IpAddr> {
    if state.config.trust_proxy_headers
        && let Some(forwarded) = req.header("x-forwarded-for")
        && let Some(last) = forwarded.rsplit(',').next()
        && let Ok(ip) = last.trim().parse()
    {
        return Some(ip);
    }
    remote.as_socket_addr().map(|a| a.ip())
}
