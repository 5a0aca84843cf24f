//! Sign-up: a company name, the admin's name, email and password create a tenant and its
//! first admin, sign them in, and queue a welcome email.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    session::Session,
    web::{Data, Form, Redirect, RemoteAddr},
};
use serde::Deserialize;

use crate::{
    auth::{login, password, throttle},
    db::TenantTx,
    error::{AppResult, is_unique_violation},
    i18n::Locale,
    jobs::{SendEmail, email},
    state::State,
    users::model::{self as users, NewUser, Role},
    web::{
        ctx::{PublicCtx, SessionUser, sign_in},
        forms::{self, Errors, Kind, Opts},
        layout,
    },
};

/// The sign-up form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignupForm {
    company: String,
    name: String,
    email: String,
    password: String,
}

/// GET /signup
#[handler]
pub async fn show(ctx: PublicCtx) -> Markup {
    form(&ctx, &SignupForm::default(), &Errors::new(), None)
}

fn form(ctx: &PublicCtx, input: &SignupForm, errors: &Errors, alert: Option<&str>) -> Markup {
    layout::public(
        ctx,
        &ctx.t("signup.title"),
        html! {
            p.text-secondary { (ctx.t("signup.intro")) }
            (forms::form_alert(alert))
            form method="post" action="/signup" novalidate {
                (layout::csrf_field(&ctx.csrf))
                (forms::input("company", &ctx.t("field.company"), &input.company, errors.get("company"),
                    Opts { required: true, autofocus: true, autocomplete: Some("organization"), max_len: Some(200), ..Opts::default() }))
                (forms::input("name", &ctx.t("field.your_name"), &input.name, errors.get("name"),
                    Opts { required: true, autocomplete: Some("name"), max_len: Some(100), ..Opts::default() }))
                (forms::input("email", &ctx.t("field.email"), &input.email, errors.get("email"),
                    Opts { kind: Kind::Email, required: true, autocomplete: Some("email"), max_len: Some(254), ..Opts::default() }))
                (forms::input("password", &ctx.t("field.password"), "", errors.get("password"),
                    Opts { kind: Kind::Password, required: true, autocomplete: Some("new-password"), max_len: Some(128), ..Opts::default() }))
                p.form-text.mt-n2.mb-3 { (ctx.t("password.hint")) }
                button.btn.btn-primary.w-100 type="submit" { (ctx.t("signup.submit")) }
            }
            p.mt-3.mb-0.text-center {
                (ctx.t("signup.have_account")) " "
                a href="/login" { (ctx.t("login.link")) }
            }
        },
    )
}

/// POST /signup
#[handler]
pub async fn submit(
    ctx: PublicCtx,
    state: Data<&State>,
    session: &Session,
    remote: &RemoteAddr,
    req: &poem::Request,
    Form(input): Form<SignupForm>,
) -> AppResult<Response> {
    let locale = ctx.locale;
    let mut errors = Errors::new();
    // Sign-ups share the login throttle, so one client cannot mass-create tenants.
    if !throttle::allow_login_attempt(&state, login::client_ip(&state, req, remote)).await? {
        let page = form(&ctx, &input, &errors, Some(&ctx.t("login.throttled")));
        return Ok(page
            .with_status(StatusCode::TOO_MANY_REQUESTS)
            .into_response());
    }
    let company = forms::check_text(&mut errors, locale, "company", &input.company, 200);
    let name = forms::check_text(&mut errors, locale, "name", &input.name, 100);
    let email = forms::normalize_email(&input.email);
    if !forms::is_valid_email(&email) {
        errors.add(locale, "email", "form.invalid_email");
    }
    if let Err(e) = password::check_policy(&input.password, &[&email, &name, &company]) {
        errors.add(locale, "password", e.key());
    }
    if !errors.is_empty() {
        return Ok(invalid(&ctx, &input, &errors));
    }

    let hash = password::hash(input.password.clone()).await?;
    let mut tx = TenantTx::begin_new_tenant(&state.db).await?;
    let tenant = tx.tenant();
    users::create_tenant(&mut tx, &company).await?;
    let created = users::create(
        &mut tx,
        NewUser {
            email: &email,
            name: &name,
            role: Role::Admin,
            reports_to: None,
            password_hash: Some(&hash),
            locale: locale.code(),
        },
    )
    .await;
    let user = match created {
        Ok(user) => user,
        Err(e) if is_unique_violation(&e, "user_directory_pkey") => {
            tx.rollback().await?;
            errors.add(locale, "email", "form.email_taken");
            return Ok(invalid(&ctx, &input, &errors));
        }
        Err(e) => return Err(e.into()),
    };
    users::record_sign_in(&mut tx, user).await?;
    crate::opportunities::pipeline::create_defaults(&mut tx, locale).await?;
    let email_id = email::enqueue(
        &mut tx,
        welcome_email(locale, &state.config.base_url, &name, &company, &email),
        state.config.job_max_attempts,
    )
    .await?;
    tx.commit().await?;
    state
        .queues
        .push(SendEmail {
            tenant_id: tenant,
            email_id,
        })
        .await;

    sign_in(
        session,
        SessionUser {
            tenant,
            user,
            epoch: 0,
            first: true,
        },
    );
    Ok(Redirect::see_other("/").into_response())
}

fn invalid(ctx: &PublicCtx, input: &SignupForm, errors: &Errors) -> Response {
    form(ctx, input, errors, None)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()
}

fn welcome_email(
    locale: Locale,
    base_url: &str,
    name: &str,
    company: &str,
    to: &str,
) -> email::NewEmail {
    email::NewEmail {
        kind: "welcome",
        to_addr: to.to_owned(),
        subject: locale.tf("email.welcome.subject", &[("company", company)]),
        body_text: locale.tf(
            "email.welcome.body",
            &[
                ("name", name),
                ("company", company),
                ("url", &format!("{base_url}/login")),
            ],
        ),
    }
}
