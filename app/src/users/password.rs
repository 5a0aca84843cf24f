//! Passwords set by someone signed in: an admin resetting another user's password, and
//! a user changing their own. Both end every session of the user whose password changed.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    session::Session,
    web::{Data, Form, Path, Redirect, RemoteAddr},
};
use serde::Deserialize;
use serde_json::json;

use crate::{
    audit::{self, Action},
    auth::{login, password, throttle},
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    state::State,
    users::model::{self as users, User},
    web::{
        ctx::{AdminCtx, Ctx, SessionUser, sign_in},
        forms::{self, Errors, Kind, Opts},
        layout::{self, Module, csrf_field},
    },
};

/// A password form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
}

fn fields(ctx: &Ctx, errors: &Errors, ask_current: bool) -> Markup {
    html! {
        @if ask_current {
            (forms::input("current", &ctx.t("field.current_password"), "", errors.get("current"),
                Opts { kind: Kind::Password, required: true, autofocus: true, autocomplete: Some("current-password"), max_len: Some(128) }))
        }
        (forms::input("password", &ctx.t("field.new_password"), "", errors.get("password"),
            Opts { kind: Kind::Password, required: true, autofocus: !ask_current, autocomplete: Some("new-password"), max_len: Some(128) }))
        (forms::input("confirm", &ctx.t("field.confirm_password"), "", errors.get("confirm"),
            Opts { kind: Kind::Password, required: true, autocomplete: Some("new-password"), max_len: Some(128), ..Opts::default() }))
        p.form-text { (ctx.t("password.hint")) }
    }
}

fn check_new(ctx: &Ctx, input: &PasswordForm, user: &User, errors: &mut Errors) {
    if let Err(e) = password::check_policy(&input.password, &[&user.email, &user.name]) {
        errors.add(ctx.locale, "password", e.key());
    } else if input.password != input.confirm {
        errors.add(ctx.locale, "confirm", "password.mismatch");
    }
}

fn reset_page(ctx: &Ctx, user: &User, errors: &Errors) -> Markup {
    let content = html! {
        p { (ctx.locale.tf("users.reset_intro", &[("name", &user.name), ("email", &user.email)])) }
        form.narrow-form method="post" action={"/admin/users/" (user.id) "/password"} novalidate {
            (csrf_field(&ctx.csrf))
            (fields(ctx, errors, false))
            button.btn.btn-primary type="submit" { (ctx.t("users.reset_password")) }
            a.btn.btn-link href="/admin/users" { (ctx.t("common.cancel")) }
        }
    };
    layout::page(
        ctx,
        Module::Settings,
        "/admin/users",
        &ctx.t("users.reset_password"),
        content,
    )
}

/// GET /admin/users/:id/password
#[handler]
pub async fn reset_form(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<UserId>,
) -> AppResult<Response> {
    if id == ctx.user {
        // One's own password is changed with the current one, under 个人设置.
        return Ok(Redirect::see_other("/account/password").into_response());
    }
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let user = users::find(&mut tx, id).await?;
    tx.commit().await?;
    Ok(reset_page(&ctx, &user, &Errors::new()).into_response())
}

/// POST /admin/users/:id/password
#[handler]
pub async fn reset(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<UserId>,
    Form(input): Form<PasswordForm>,
) -> AppResult<Response> {
    if id == ctx.user {
        return Ok(Redirect::see_other("/account/password").into_response());
    }
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let user = users::find(&mut tx, id).await?;
    let mut errors = Errors::new();
    check_new(&ctx, &input, &user, &mut errors);
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(reset_page(&ctx, &user, &errors)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let hash = password::hash(input.password).await?;
    users::set_password(&mut tx, id, &hash).await?;
    audit::record(
        &mut tx,
        Some(ctx.user),
        Action::PasswordReset,
        Some(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::see_other("/admin/users").into_response())
}

fn change_page(ctx: &Ctx, errors: &Errors, done: bool) -> Markup {
    let content = html! {
        @if done { (layout::notice("success", &ctx.t("account.password_changed"))) }
        form.narrow-form method="post" action="/account/password" novalidate {
            (csrf_field(&ctx.csrf))
            (fields(ctx, errors, true))
            button.btn.btn-primary type="submit" { (ctx.t("account.change_password")) }
        }
    };
    layout::page(
        ctx,
        Module::Account,
        "/account/password",
        &ctx.t("account.change_password"),
        content,
    )
}

/// GET /account/password
#[handler]
pub async fn change_form(ctx: Ctx, req: &poem::Request) -> Markup {
    change_page(&ctx, &Errors::new(), req.uri().query() == Some("done=1"))
}

/// POST /account/password — ends every other session of the user; this one continues.
#[handler]
pub async fn change(
    ctx: Ctx,
    state: Data<&State>,
    session: &Session,
    remote: &RemoteAddr,
    req: &poem::Request,
    Form(input): Form<PasswordForm>,
) -> AppResult<Response> {
    // Guessing the current password from a hijacked session is throttled like logins.
    if !throttle::allow_login_attempt(&state, login::client_ip(&state, req, remote)).await? {
        let mut errors = Errors::new();
        errors.add(ctx.locale, "current", "login.throttled");
        return Ok(change_page(&ctx, &errors, false)
            .with_status(StatusCode::TOO_MANY_REQUESTS)
            .into_response());
    }
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let facts = users::login_facts(&mut tx, ctx.user).await?;
    let user = users::find(&mut tx, ctx.user).await?;
    let mut errors = Errors::new();
    if !password::verify(input.current.clone(), facts.password_hash).await {
        errors.add(ctx.locale, "current", "account.wrong_current");
    } else {
        check_new(&ctx, &input, &user, &mut errors);
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(change_page(&ctx, &errors, false)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let hash = password::hash(input.password).await?;
    users::set_password(&mut tx, ctx.user, &hash).await?;
    audit::record(
        &mut tx,
        Some(ctx.user),
        Action::PasswordChanged,
        Some(ctx.user),
        json!({}),
    )
    .await?;
    let epoch = users::session_epoch(&mut tx, ctx.user).await?;
    tx.commit().await?;
    sign_in(
        session,
        SessionUser {
            tenant: ctx.tenant,
            user: ctx.user,
            epoch,
            first: ctx.first_session,
        },
    );
    Ok(Redirect::see_other("/account/password?done=1").into_response())
}
