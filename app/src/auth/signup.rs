//! Sign-up in two steps, so that nobody can take an address whose mail they cannot read.
//!
//! 1. GET/POST /signup: the company, the admin's name and the email address write a
//!    pending request in Kehu's own account ([`TenantId::KEHU`]) and an email, and answer
//!    "check your email". The work, the page and its status are the same whether or not
//!    the address has an account: a free address is sent the link, a taken one is told
//!    that it already has an account. A second sign-up simply sends a new link.
//! 2. GET/POST /signup/confirm/:token: the link (single use, [`VALID_HOURS`] hours) asks
//!    for the password and only then creates the company and its admin, once however often
//!    the form is sent, and signs them in. The password is chosen here, by whoever reads
//!    the mail, never by whoever filled in the first form.
//!
//! Expired requests are purged by the worker's clean-up job.

use chrono::{DateTime, Utc};
use diesel::{OptionalExtension, prelude::*};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    session::Session,
    web::{Data, Form, Path, Redirect, RemoteAddr},
};
use serde::Deserialize;

use crate::{
    auth::{
        invite::{hash_token, new_token},
        login, password, throttle,
    },
    db::TenantTx,
    error::{AppResult, is_unique_violation},
    i18n::Locale,
    ids::TenantId,
    jobs::{SendEmail, email},
    schema::signup_requests as req,
    state::State,
    users::model::{self as users, NewUser, Role},
    web::{
        ctx::{PublicCtx, SessionUser, sign_in},
        forms::{self, Errors, Kind, Opts},
        layout,
    },
};

/// How long a sign-up link works.
pub const VALID_HOURS: i64 = 24;

/// The sign-up form as submitted (step 1), and the confirmation form (step 2, which adds
/// the password and may correct the names).
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
    request_form(&ctx, &SignupForm::default(), &Errors::new(), None)
}

fn request_form(
    ctx: &PublicCtx,
    input: &SignupForm,
    errors: &Errors,
    alert: Option<&str>,
) -> Markup {
    layout::public(
        ctx,
        &ctx.t("signup.title"),
        html! {
            p.text-secondary { (ctx.t("signup.intro")) }
            (forms::form_alert(alert))
            form method="post" action="/signup" novalidate data-busy=(ctx.t("signup.busy")) {
                (layout::csrf_field(&ctx.csrf))
                (company_and_name(ctx, input, errors, true))
                (forms::input("email", &ctx.t("field.email"), &input.email, errors.get("email"),
                    Opts { kind: Kind::Email, required: true, autocomplete: Some("email"), max_len: Some(254), ..Opts::default() }))
                button.btn.btn-primary.w-100 type="submit" { (ctx.t("signup.submit")) }
            }
            p.mt-3.mb-0.text-center {
                (ctx.t("signup.have_account")) " "
                a href="/login" { (ctx.t("login.link")) }
            }
        },
    )
}

fn company_and_name(
    ctx: &PublicCtx,
    input: &SignupForm,
    errors: &Errors,
    autofocus: bool,
) -> Markup {
    html! {
        (forms::input("company", &ctx.t("field.company"), &input.company, errors.get("company"),
            Opts { required: true, autofocus, autocomplete: Some("organization"), max_len: Some(200), ..Opts::default() }))
        (forms::input("name", &ctx.t("field.your_name"), &input.name, errors.get("name"),
            Opts { required: true, autocomplete: Some("name"), max_len: Some(100), ..Opts::default() }))
    }
}

/// POST /signup
#[handler]
pub async fn submit(
    ctx: PublicCtx,
    state: Data<&State>,
    remote: &RemoteAddr,
    req: &poem::Request,
    Form(input): Form<SignupForm>,
) -> AppResult<Response> {
    let locale = ctx.locale;
    let ip = login::client_ip(&state, req, remote);
    // Sign-ups share the login throttle per minute, and have a daily allowance per IP, so
    // that Kehu cannot be used to mail arbitrary addresses in bulk.
    if !throttle::allow_login_attempt(&state, ip).await? {
        return Ok(too_many(&ctx, &input, "login.throttled"));
    }
    let mut errors = Errors::new();
    let company = forms::check_text(&mut errors, locale, "company", &input.company, 200);
    let name = forms::check_text(&mut errors, locale, "name", &input.name, 100);
    let email = forms::normalize_email(&input.email);
    if !forms::is_valid_email(&email) {
        errors.add(locale, "email", "form.invalid_email");
    }
    if !errors.is_empty() {
        return Ok(invalid(request_form(&ctx, &input, &errors, None)));
    }
    if !throttle::allow_daily(
        &state,
        "signup:ip",
        &throttle::ip_bucket(ip),
        state.config.signup_ip_limit_per_day,
    )
    .await?
    {
        return Ok(too_many(&ctx, &input, "signup.ip_limited"));
    }
    // A daily allowance per address too: asking again and again sends its owner nothing
    // more, and the page does not change.
    if throttle::allow_daily(&state, "signup:address", &email, PER_ADDRESS_PER_DAY).await? {
        let taken = login::find_account(&state, &email).await?.is_some();
        let (token, hash) = new_token();
        let mut tx = TenantTx::begin(&state.db, TenantId::KEHU).await?;
        diesel::insert_into(req::table)
            .values((
                req::tenant_id.eq(TenantId::KEHU),
                req::token_hash.eq(hash),
                req::email.eq(&email),
                req::company.eq(&company),
                req::name.eq(&name),
                req::locale.eq(locale.code()),
                req::expires_at.eq(Utc::now() + chrono::Duration::hours(VALID_HOURS)),
            ))
            .execute(&mut *tx)
            .await?;
        let mail = if taken {
            taken_email(locale, &state.config.base_url, &company, &email)
        } else {
            link_email(
                locale,
                &state.config.base_url,
                &name,
                &company,
                &email,
                &token,
            )
        };
        let email_id = email::enqueue(&mut tx, mail, state.config.job_max_attempts).await?;
        email::commit_and_push(tx, &state.queues, email_id).await?;
    }
    Ok(sent_page(&ctx, &email).into_response())
}

/// Sign-up emails one address gets per day at most.
const PER_ADDRESS_PER_DAY: u32 = 10;

fn sent_page(ctx: &PublicCtx, email: &str) -> Markup {
    let hours = VALID_HOURS.to_string();
    layout::public(
        ctx,
        &ctx.t("signup.sent_title"),
        html! {
            div.alert.alert-success #signup-sent role="status" {
                (ctx.locale.tf("signup.sent", &[("email", email), ("hours", &hours)]))
            }
            p.text-secondary { (ctx.t("signup.sent_hint")) }
            a.btn.btn-outline-secondary.w-100 href="/signup" { (ctx.t("signup.again")) }
        },
    )
}

fn too_many(ctx: &PublicCtx, input: &SignupForm, key: &str) -> Response {
    request_form(ctx, input, &Errors::new(), Some(&ctx.t(key)))
        .with_status(StatusCode::TOO_MANY_REQUESTS)
        .into_response()
}

fn invalid(page: Markup) -> Response {
    page.with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()
}

/// A pending request, as its link finds it.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = req)]
struct Request {
    email: String,
    company: String,
    name: String,
    locale: String,
    expires_at: DateTime<Utc>,
}

/// The request of a token, expired or not.
async fn find(tx: &mut TenantTx, token: &str) -> AppResult<Option<Request>> {
    Ok(req::table
        .filter(req::tenant_id.eq(TenantId::KEHU))
        .filter(req::token_hash.eq(hash_token(token)))
        .select(Request::as_select())
        .first(&mut **tx)
        .await
        .optional()?)
}

/// GET /signup/confirm/:token
#[handler]
pub async fn confirm_form(
    ctx: PublicCtx,
    state: Data<&State>,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, TenantId::KEHU).await?;
    let found = find(&mut tx, &token).await?;
    tx.rollback().await?;
    Ok(match usable(&ctx, found) {
        Ok(request) => {
            let input = SignupForm {
                company: request.company.clone(),
                name: request.name.clone(),
                ..SignupForm::default()
            };
            confirm_page(&ctx, &token, &request, &input, &Errors::new()).into_response()
        }
        Err(page) => *page,
    })
}

/// The request if its link still works, or the page that says why not.
fn usable(ctx: &PublicCtx, found: Option<Request>) -> Result<Request, Box<Response>> {
    match found {
        Some(request) if request.expires_at > Utc::now() => Ok(request),
        Some(_) => Err(Box::new(link_page(ctx, "expired", StatusCode::GONE))),
        None => Err(Box::new(link_page(ctx, "invalid", StatusCode::NOT_FOUND))),
    }
}

/// The page of a link that is unknown or used (`invalid`) or out of date (`expired`).
fn link_page(ctx: &PublicCtx, which: &str, status: StatusCode) -> Response {
    let hours = VALID_HOURS.to_string();
    layout::public(
        ctx,
        &ctx.t(&format!("signup.{which}_title")),
        html! {
            p #signup-link-error { (ctx.locale.tf(&format!("signup.{which}"), &[("hours", &hours)])) }
            a.btn.btn-primary href="/signup" { (ctx.t("signup.again")) }
        },
    )
    .with_status(status)
    .into_response()
}

fn confirm_page(
    ctx: &PublicCtx,
    token: &str,
    request: &Request,
    input: &SignupForm,
    errors: &Errors,
) -> Markup {
    layout::public(
        ctx,
        &ctx.t("signup.confirm_title"),
        html! {
            p.text-secondary { (ctx.locale.tf("signup.confirm_intro", &[("email", &request.email)])) }
            form method="post" action={"/signup/confirm/" (token)} novalidate data-busy=(ctx.t("signup.confirm_busy")) {
                (layout::csrf_field(&ctx.csrf))
                (company_and_name(ctx, input, errors, false))
                (forms::input("password", &ctx.t("field.password"), "", errors.get("password"),
                    Opts { kind: Kind::Password, required: true, autofocus: true, autocomplete: Some("new-password"), max_len: Some(128) }))
                p.form-text.mt-n2.mb-3 { (ctx.t("password.hint")) }
                button.btn.btn-primary.w-100 type="submit" { (ctx.t("signup.confirm_submit")) }
            }
        },
    )
}

/// POST /signup/confirm/:token
#[handler]
pub async fn confirm(
    ctx: PublicCtx,
    state: Data<&State>,
    session: &Session,
    Path(token): Path<String>,
    Form(input): Form<SignupForm>,
) -> AppResult<Response> {
    let locale = ctx.locale;
    // Read without holding anything: the link is spent later, inside the new tenant's
    // transaction, so a confirmation never holds two connections.
    let mut pending = TenantTx::begin(&state.db, TenantId::KEHU).await?;
    let found = find(&mut pending, &token).await?;
    pending.rollback().await?;
    let request = match usable(&ctx, found) {
        Ok(request) => request,
        Err(page) => return Ok(*page),
    };
    let mut errors = Errors::new();
    let company = forms::check_text(&mut errors, locale, "company", &input.company, 200);
    let name = forms::check_text(&mut errors, locale, "name", &input.name, 100);
    if let Err(e) = password::check_policy(&input.password, &[&request.email, &name, &company]) {
        errors.add(locale, "password", e.key());
    }
    if !errors.is_empty() {
        return Ok(invalid(confirm_page(
            &ctx, &token, &request, &input, &errors,
        )));
    }
    let hash = password::hash(input.password.clone()).await?;
    let new = Admin {
        email: &request.email,
        name: &name,
        company: &company,
        locale: Locale::from_code(&request.locale).unwrap_or(locale),
        password_hash: &hash,
    };
    match create_tenant(&state, &token, &new).await? {
        Created::SignedUp(user) => {
            sign_in(session, user);
            Ok(Redirect::see_other("/").into_response())
        }
        Created::LinkSpent => Ok(link_page(&ctx, "invalid", StatusCode::NOT_FOUND)),
        Created::AddressTaken => {
            // The address is verified all the same: its pending requests are spent.
            let mut pending = TenantTx::begin(&state.db, TenantId::KEHU).await?;
            diesel::delete(req::table)
                .filter(req::tenant_id.eq(TenantId::KEHU))
                .filter(req::email.eq(&request.email))
                .execute(&mut *pending)
                .await?;
            pending.commit().await?;
            Ok(taken_page(&ctx, &request.email))
        }
    }
}

/// How a confirmation ended.
enum Created {
    /// The tenant and its admin exist; sign them in.
    SignedUp(SessionUser),
    /// The link was used (or ran out) since the page was read.
    LinkSpent,
    /// The address has an account by now.
    AddressTaken,
}

#[derive(diesel::QueryableByName)]
struct Taken {
    #[diesel(sql_type = diesel::sql_types::Text)]
    email: String,
}

/// The first admin of a new tenant.
struct Admin<'a> {
    email: &'a str,
    name: &'a str,
    company: &'a str,
    locale: Locale,
    password_hash: &'a str,
}

/// Spends the link and creates the tenant, its admin, its default pipeline and the welcome
/// email, in one transaction: a rollback (the address has an account by now, signed up
/// through another link or added by a company since) gives the link back.
async fn create_tenant(state: &State, token: &str, admin: &Admin<'_>) -> AppResult<Created> {
    let mut tx = TenantTx::begin_new_tenant(&state.db).await?;
    let tenant = tx.tenant();
    let taken: Option<Taken> = diesel::sql_query("SELECT email FROM kehu_take_signup_request($1)")
        .bind::<diesel::sql_types::Text, _>(hash_token(token))
        .get_result(&mut *tx)
        .await
        .optional()?;
    if taken.is_none_or(|t| t.email != admin.email) {
        tx.rollback().await?;
        return Ok(Created::LinkSpent);
    }
    users::create_tenant(&mut tx, admin.company).await?;
    let created = users::create(
        &mut tx,
        NewUser {
            email: admin.email,
            name: admin.name,
            role: Role::Admin,
            reports_to: None,
            password_hash: Some(admin.password_hash),
            locale: admin.locale.code(),
            confirmed: true,
        },
    )
    .await;
    let user = match created {
        Ok(user) => user,
        Err(e) if is_unique_violation(&e, "user_directory_pkey") => {
            tx.rollback().await?;
            return Ok(Created::AddressTaken);
        }
        Err(e) => return Err(e.into()),
    };
    users::record_sign_in(&mut tx, user).await?;
    crate::opportunities::pipeline::create_defaults(&mut tx, admin.locale).await?;
    let email_id = email::enqueue(
        &mut tx,
        welcome_email(admin.locale, &state.config.base_url, admin),
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
    Ok(Created::SignedUp(SessionUser {
        tenant,
        user,
        epoch: 0,
        first: true,
    }))
}

/// What a link of an address that has an account by now shows: only whoever reads its
/// mail gets here.
fn taken_page(ctx: &PublicCtx, email: &str) -> Response {
    layout::public(
        ctx,
        &ctx.t("signup.taken_title"),
        html! {
            p #signup-link-error { (ctx.locale.tf("signup.taken", &[("email", email)])) }
            div.d-flex.gap-2 {
                a.btn.btn-primary href="/login" { (ctx.t("login.link")) }
                a.btn.btn-outline-secondary href="/password/forgot" { (ctx.t("login.forgot")) }
            }
        },
    )
    .with_status(StatusCode::CONFLICT)
    .into_response()
}

fn link_email(
    locale: Locale,
    base_url: &str,
    name: &str,
    company: &str,
    to: &str,
    token: &str,
) -> email::NewEmail {
    let url = format!("{base_url}/signup/confirm/{token}");
    let hours = VALID_HOURS.to_string();
    let args = [
        ("name", name),
        ("company", company),
        ("url", url.as_str()),
        ("hours", hours.as_str()),
    ];
    email::NewEmail {
        kind: "signup",
        to_addr: to.to_owned(),
        subject: locale.tf("email.signup.subject", &args),
        body_text: locale.tf("email.signup.body", &args),
    }
}

fn taken_email(locale: Locale, base_url: &str, company: &str, to: &str) -> email::NewEmail {
    let login = format!("{base_url}/login");
    let forgot = format!("{base_url}/password/forgot");
    let args = [
        ("company", company),
        ("login", login.as_str()),
        ("forgot", forgot.as_str()),
    ];
    email::NewEmail {
        kind: "signup_taken",
        to_addr: to.to_owned(),
        subject: locale.t("email.signup_taken.subject"),
        body_text: locale.tf("email.signup_taken.body", &args),
    }
}

fn welcome_email(locale: Locale, base_url: &str, admin: &Admin<'_>) -> email::NewEmail {
    email::NewEmail {
        kind: "welcome",
        to_addr: admin.email.to_owned(),
        subject: locale.tf("email.welcome.subject", &[("company", admin.company)]),
        body_text: locale.tf(
            "email.welcome.body",
            &[
                ("name", admin.name),
                ("company", admin.company),
                ("url", &format!("{base_url}/login")),
            ],
        ),
    }
}
