//! Create, invite and edit a user. The three share one form; creating also takes a
//! password, inviting emails a link instead, editing cannot change the email.
//!
//! Addresses are unique across Kehu, so adding one must not tell whether another company
//! uses it: every added or invited user waits, `invited`, until the person behind the
//! address confirms it through an emailed link (migration 000055). An address that has
//! an account elsewhere gets the same waiting user, the same work and the same redirect,
//! and its owner is emailed that someone tried to add it instead of a link. Adding and inviting have daily allowances per tenant (smaller in a tenant's
//! first week) and per IP, so Kehu cannot be used to mail arbitrary addresses in bulk.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Redirect, RemoteAddr},
};
use serde::Deserialize;
use serde_json::json;

use crate::{
    audit::{self, Action},
    auth::{invite as invitation, login, password, throttle},
    db::TenantTx,
    error::{AppResult, is_unique_violation},
    ids::{TenantId, UserId},
    jobs::email,
    state::State,
    users::model::{self as users, NewUser, Role, User},
    web::{
        ctx::{AdminCtx, Ctx},
        forms::{self, Errors, Kind, Opts},
        layout::{self, Module, csrf_field},
    },
};

/// Which form this is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Invite,
    Edit(UserId),
}

/// The user form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserForm {
    name: String,
    email: String,
    role: String,
    reports_to: String,
    password: String,
}

fn render(ctx: &Ctx, mode: Mode, input: &UserForm, errors: &Errors, others: &[User]) -> Markup {
    let (title, action, submit) = match mode {
        Mode::Create => (
            ctx.t("users.create"),
            "/admin/users/new".to_owned(),
            ctx.t("common.save"),
        ),
        Mode::Invite => (
            ctx.t("users.invite"),
            "/admin/users/invite".to_owned(),
            ctx.t("users.send_invite"),
        ),
        Mode::Edit(id) => (
            ctx.t("users.edit"),
            format!("/admin/users/{id}"),
            ctx.t("common.save"),
        ),
    };
    let roles: Vec<(String, String)> = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), ctx.t(r.label_key())))
        .collect();
    let mut managers = vec![(String::new(), ctx.t("users.no_manager"))];
    managers.extend(
        others
            .iter()
            .filter(|u| Mode::Edit(u.id) != mode && u.status != "disabled")
            .map(|u| (u.id.to_string(), format!("{} <{}>", u.name, u.email))),
    );
    let content = html! {
        (forms::form_alert(errors.get(LIMIT)))
        form.user-form method="post" action=(action) novalidate {
            (csrf_field(&ctx.csrf))
            div.form-actions.mb-3 {
                button.btn.btn-primary type="submit" { (submit) }
                a.btn.btn-link href="/admin/users" { (ctx.t("common.cancel")) }
            }
            @if mode == Mode::Invite { p.text-secondary { (ctx.t("users.invite_intro")) } }
            @if mode == Mode::Create { p.text-secondary { (ctx.t("users.create_intro")) } }
            fieldset.form-section {
                legend.h6 { (ctx.t("users.section_account")) }
                (forms::input("name", &ctx.t("field.name"), &input.name, errors.get("name"),
                    Opts { required: true, autofocus: true, max_len: Some(100), ..Opts::default() }))
                @if let Mode::Edit(_) = mode {
                    div.mb-3 {
                        label.form-label for="f-email-ro" { (ctx.t("field.email")) }
                        input.form-control-plaintext #f-email-ro readonly value=(input.email);
                    }
                } @else {
                    (forms::input("email", &ctx.t("field.email"), &input.email, errors.get("email"),
                        Opts { kind: Kind::Email, required: true, max_len: Some(254), autocomplete: Some("off"), ..Opts::default() }))
                }
                @if mode == Mode::Create {
                    (forms::input("password", &ctx.t("field.initial_password"), "", errors.get("password"),
                        Opts { kind: Kind::Password, required: true, autocomplete: Some("new-password"), max_len: Some(128), ..Opts::default() }))
                    p.form-text.mt-n2 { (ctx.t("password.hint")) }
                }
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("users.section_org")) }
                (forms::select("role", &ctx.t("field.role"), &roles, &input.role, errors.get("role")))
                (forms::select("reports_to", &ctx.t("field.reports_to"), &managers, &input.reports_to, errors.get("reports_to")))
            }
        }
    };
    layout::page(ctx, Module::Settings, "/admin/users", &title, content)
}

struct Valid {
    name: String,
    email: String,
    role: Role,
    reports_to: Option<UserId>,
}

async fn validate(
    ctx: &Ctx,
    tx: &mut TenantTx,
    mode: Mode,
    input: &UserForm,
    errors: &mut Errors,
) -> AppResult<Valid> {
    let locale = ctx.locale;
    let name = forms::check_text(errors, locale, "name", &input.name, 100);
    let email = forms::normalize_email(&input.email);
    if !matches!(mode, Mode::Edit(_)) && !forms::is_valid_email(&email) {
        errors.add(locale, "email", "form.invalid_email");
    }
    let role = Role::parse(&input.role).unwrap_or_else(|| {
        errors.add(locale, "role", "form.invalid_choice");
        Role::Member
    });
    let reports_to = match input.reports_to.trim() {
        "" => None,
        raw => match raw.parse::<i64>().map(UserId) {
            // The manager must be a user of this tenant; `find` is tenant-scoped.
            Ok(id) if users::not_found_is_none(users::find(tx, id).await)?.is_some() => Some(id),
            _ => {
                errors.add(locale, "reports_to", "form.invalid_choice");
                None
            }
        },
    };
    if let (Mode::Edit(user), Some(manager)) = (mode, reports_to)
        && users::would_cycle(tx, user, manager).await?
    {
        errors.add(locale, "reports_to", "users.manager_cycle");
    }
    if mode == Mode::Create
        && let Err(e) = password::check_policy(&input.password, &[&email, &name])
    {
        errors.add(locale, "password", e.key());
    }
    Ok(Valid {
        name,
        email,
        role,
        reports_to,
    })
}

fn invalid(ctx: &Ctx, mode: Mode, input: &UserForm, errors: &Errors, others: &[User]) -> Response {
    render(ctx, mode, input, errors, others)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()
}

/// GET /admin/users/new
#[handler]
pub async fn new_form(ctx: AdminCtx, state: Data<&State>) -> AppResult<Markup> {
    blank(&ctx, &state, Mode::Create).await
}

/// GET /admin/users/invite
#[handler]
pub async fn invite_form(ctx: AdminCtx, state: Data<&State>) -> AppResult<Markup> {
    blank(&ctx, &state, Mode::Invite).await
}

async fn blank(ctx: &Ctx, state: &State, mode: Mode) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let others = users::list(&mut tx).await?;
    tx.commit().await?;
    let input = UserForm {
        role: Role::Member.as_str().to_owned(),
        ..UserForm::default()
    };
    Ok(render(ctx, mode, &input, &Errors::new(), &others))
}

/// POST /admin/users/new
#[handler]
pub async fn create(
    ctx: AdminCtx,
    state: Data<&State>,
    remote: &RemoteAddr,
    req: &poem::Request,
    Form(input): Form<UserForm>,
) -> AppResult<Response> {
    let ip = login::client_ip(&state, req, remote);
    insert(&ctx, &state, Mode::Create, input, ip).await
}

/// POST /admin/users/invite
#[handler]
pub async fn invite(
    ctx: AdminCtx,
    state: Data<&State>,
    remote: &RemoteAddr,
    req: &poem::Request,
    Form(input): Form<UserForm>,
) -> AppResult<Response> {
    let ip = login::client_ip(&state, req, remote);
    insert(&ctx, &state, Mode::Invite, input, ip).await
}

/// The error key of a form refused for the daily allowance.
const LIMIT: &str = "_limit";

/// Counts one new user or invitation against the tenant's and the IP's daily allowances;
/// false once either is used up.
pub(crate) async fn allow_adding(
    ctx: &Ctx,
    state: &State,
    tx: &mut TenantTx,
    ip: Option<std::net::IpAddr>,
) -> AppResult<bool> {
    let config = &state.config;
    let limit = if users::tenant_age(tx).await? < chrono::Duration::days(7) {
        config.invite_new_tenant_limit_per_day
    } else {
        config.invite_tenant_limit_per_day
    };
    Ok(
        throttle::allow_daily(state, "invite:tenant", &ctx.tenant.to_string(), limit).await?
            && throttle::allow_daily(
                state,
                "invite:ip",
                &throttle::ip_bucket(ip),
                config.invite_ip_limit_per_day,
            )
            .await?,
    )
}

async fn insert(
    ctx: &Ctx,
    state: &State,
    mode: Mode,
    input: UserForm,
    ip: Option<std::net::IpAddr>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let others = users::list(&mut tx).await?;
    let mut errors = Errors::new();
    let valid = validate(ctx, &mut tx, mode, &input, &mut errors).await?;
    // One of this company's own users: the admin sees them in the list anyway.
    if errors.is_empty() && others.iter().any(|u| u.email == valid.email) {
        errors.add(ctx.locale, "email", "users.email_in_tenant");
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(invalid(ctx, mode, &input, &errors, &others));
    }
    if !allow_adding(ctx, state, &mut tx, ip).await? {
        tx.rollback().await?;
        errors.add(ctx.locale, LIMIT, "users.limited");
        return Ok(render(ctx, mode, &input, &errors, &others)
            .with_status(StatusCode::TOO_MANY_REQUESTS)
            .into_response());
    }
    // Hashed whether or not the address is free, so both answers cost the same.
    let hash = match mode {
        Mode::Create => Some(password::hash(input.password.clone()).await?),
        _ => None,
    };
    // The user waits, `invited`, until the address is confirmed through its link: a taken
    // address gets the same waiting user as a free one.
    let created = users::create(
        &mut tx,
        NewUser {
            email: &valid.email,
            name: &valid.name,
            role: valid.role,
            reports_to: valid.reports_to,
            password_hash: hash.as_deref(),
            locale: ctx.locale.code(),
            confirmed: false,
        },
    )
    .await;
    let id = match created {
        Ok(id) => id,
        // Added to this company since the check above (two admins at once).
        Err(e) if is_unique_violation(&e, "users_tenant_email_key") => {
            tx.rollback().await?;
            errors.add(ctx.locale, "email", "users.email_in_tenant");
            return Ok(invalid(ctx, mode, &input, &errors, &others));
        }
        Err(e) => return Err(e.into()),
    };
    let action = match mode {
        Mode::Create => Action::UserCreated,
        _ => Action::UserInvited,
    };
    audit::record(
        &mut tx,
        Some(ctx.user),
        action,
        Some(id),
        json!({ "role": valid.role.as_str() }),
    )
    .await?;
    let user = users::find(&mut tx, id).await?;
    send_link(ctx, state, tx, &user).await?;
    Ok(Redirect::see_other("/admin/users").into_response())
}

/// Writes a new link for a user waiting for their address to be confirmed and commits
/// `tx`. The person behind the address gets an invitation (to set a password) or, when
/// the admin gave a password, a confirmation; when the address has an account elsewhere,
/// its owner is told instead and the link goes nowhere. Either email leaves from Kehu's
/// own outbox (tenant 0), so nothing about it is written into either company and the
/// admin's pages, 后台任务 included, look the same either way.
pub(crate) async fn send_link(
    ctx: &Ctx,
    state: &State,
    mut tx: TenantTx,
    user: &User,
) -> AppResult<()> {
    let token = invitation::create(&mut tx, user.id, ctx.user).await?;
    let taken = users::email_taken(&mut tx, &user.email).await?;
    tx.commit().await?;
    let email = if taken {
        taken_email(ctx, &state.config.base_url, &user.email)
    } else {
        link_email(ctx, &state.config.base_url, user, &token)
    };
    let mut outbox = TenantTx::begin(&state.db, TenantId::KEHU).await?;
    let email_id = email::enqueue(&mut outbox, email, state.config.job_max_attempts).await?;
    email::commit_and_push(outbox, &state.queues, email_id).await
}

/// The email to the owner of an address with an account in another company: someone
/// tried to add it.
fn taken_email(ctx: &Ctx, base_url: &str, to: &str) -> email::NewEmail {
    let login = format!("{base_url}/login");
    let args = [
        ("inviter", ctx.name.as_str()),
        ("company", ctx.tenant_name.as_str()),
        ("email", to),
        ("login", login.as_str()),
    ];
    email::NewEmail {
        kind: "user_add_taken",
        to_addr: to.to_owned(),
        subject: ctx.locale.tf("email.user_add_taken.subject", &args),
        body_text: ctx.locale.tf("email.user_add_taken.body", &args),
    }
}

/// The email with a waiting user's link, in the admin's language: an invitation to set
/// a password, or the confirmation of a user the admin gave one.
pub fn link_email(ctx: &Ctx, base_url: &str, user: &User, token: &str) -> email::NewEmail {
    let link = invitation::url(base_url, invitation::Purpose::Invite, token);
    let days = invitation::Purpose::Invite
        .valid_for()
        .num_days()
        .to_string();
    let args = [
        ("name", user.name.as_str()),
        ("company", ctx.tenant_name.as_str()),
        ("inviter", ctx.name.as_str()),
        ("url", link.as_str()),
        ("days", days.as_str()),
    ];
    let (kind, subject, body) = if user.password_hash_set {
        (
            "user_confirm",
            "email.confirm_user.subject",
            "email.confirm_user.body",
        )
    } else {
        ("invitation", "email.invite.subject", "email.invite.body")
    };
    email::NewEmail {
        kind,
        to_addr: user.email.clone(),
        subject: ctx.locale.tf(subject, &args),
        body_text: ctx.locale.tf(body, &args),
    }
}

/// GET /admin/users/:id
#[handler]
pub async fn edit_form(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<UserId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let user = users::find(&mut tx, id).await?;
    let others = users::list(&mut tx).await?;
    tx.commit().await?;
    let input = UserForm {
        name: user.name,
        email: user.email,
        role: user.role.as_str().to_owned(),
        reports_to: user.reports_to.map(|m| m.to_string()).unwrap_or_default(),
        password: String::new(),
    };
    Ok(render(
        &ctx,
        Mode::Edit(id),
        &input,
        &Errors::new(),
        &others,
    ))
}

/// POST /admin/users/:id
#[handler]
pub async fn update(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<UserId>,
    Form(mut input): Form<UserForm>,
) -> AppResult<Response> {
    let mode = Mode::Edit(id);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    users::lock_admin_changes(&mut tx).await?;
    let user = users::find(&mut tx, id).await?;
    let others = users::list(&mut tx).await?;
    input.email = user.email.clone();
    let mut errors = Errors::new();
    let valid = validate(&ctx, &mut tx, mode, &input, &mut errors).await?;
    if user.role == Role::Admin
        && valid.role != Role::Admin
        && users::other_active_admins(&mut tx, id).await? == 0
    {
        errors.add(ctx.locale, "role", "users.last_admin");
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(invalid(&ctx, mode, &input, &errors, &others));
    }
    users::update_profile(&mut tx, id, &valid.name, valid.role, valid.reports_to).await?;
    if valid.role != user.role {
        let detail = json!({ "from": user.role.as_str(), "to": valid.role.as_str() });
        audit::record(
            &mut tx,
            Some(ctx.user),
            Action::RoleChanged,
            Some(id),
            detail,
        )
        .await?;
    }
    if valid.reports_to != user.reports_to {
        let detail = json!({ "from": user.reports_to, "to": valid.reports_to });
        audit::record(
            &mut tx,
            Some(ctx.user),
            Action::ManagerChanged,
            Some(id),
            detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other("/admin/users").into_response())
}
