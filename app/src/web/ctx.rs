//! The signed-in context. A handler that touches tenant data takes [`Ctx`] (or
//! [`AdminCtx`]) and cannot compile without it; the tenant comes only from the
//! server-side session.
//!
//! The session's record of who signed in ([`SessionUser`], [`sign_in`], [`sign_out`]) is
//! kept here too, since [`Ctx`] is read from it.

use poem::{FromRequest, Request, RequestBody, session::Session, web::CsrfToken};
use serde::{Deserialize, Serialize};

use crate::{
    db::TenantTx,
    error::AppError,
    i18n::Locale,
    ids::{TenantId, UserId},
    state::State,
    users::model::{self as users, Role},
};

/// Session key holding [`SessionUser`].
const SESSION_KEY: &str = "auth";

/// What the session stores about the signed-in user.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionUser {
    /// The user's tenant.
    pub tenant: TenantId,
    /// The user.
    pub user: UserId,
    /// `users.session_epoch` at sign-in; a bump ends the session.
    pub epoch: i32,
    /// The user's first session ever (the home page greets them as new).
    #[serde(default)]
    pub first: bool,
}

/// Where a session keeps when it was signed in (Unix milliseconds): it ends
/// `SESSION_MAX_DAYS` later, however busy.
const SIGNED_IN_AT_KEY: &str = "signed_in_at";

/// Starts a session for `user`: a new session id (against fixation), then the user and
/// the time.
pub fn sign_in(session: &Session, user: SessionUser) {
    session.renew();
    session.set(SESSION_KEY, user);
    session.set(SIGNED_IN_AT_KEY, chrono::Utc::now().timestamp_millis());
}

/// Ends the session and deletes it from Redis.
pub fn sign_out(session: &Session) {
    session.purge();
}

/// The signed-in tenant, user and role of a request.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The tenant every query of this request is bound to.
    pub tenant: TenantId,
    /// The company's name.
    pub tenant_name: String,
    /// The tenant's time zone.
    pub time_zone: chrono_tz::Tz,
    /// The signed-in user.
    pub user: UserId,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Role.
    pub role: Role,
    /// UI language.
    pub locale: Locale,
    /// CSRF token for forms and htmx.
    pub csrf: String,
    /// Where flash messages wait for the next page (see [`crate::web::flash`]).
    pub flash: crate::web::flash::Slot,
    /// The user's open tasks due today or overdue (the bell in the top bar).
    pub due_tasks: i64,
    /// This is the user's first session ever.
    pub first_session: bool,
}

impl Ctx {
    /// Translates a locale key in the user's language.
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    /// Formats a timestamp in the user's language and tenant's time zone.
    pub fn datetime(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        self.locale.datetime(at, self.time_zone)
    }

    /// Today's date in the tenant's time zone (for dates in file names and pages).
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.time_zone)
            .date_naive()
    }

    /// True for an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The CSRF token poem's `Csrf` middleware issued for this request.
pub fn csrf_token(req: &Request) -> String {
    req.extensions()
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default()
}

impl<'a> FromRequest<'a> for Ctx {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let session = req
            .extensions()
            .get::<Session>()
            .ok_or(AppError::Unauthenticated)?;
        let state = req
            .data::<State>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no state")))?;
        let Some(signed_in) = session.get::<SessionUser>(SESSION_KEY) else {
            return Err(AppError::Unauthenticated.into());
        };
        // An absolute lifetime (a session from before it was recorded has none left).
        let since = session.get::<i64>(SIGNED_IN_AT_KEY).unwrap_or(0);
        let max_age = i64::try_from(state.config.session_max_age.as_millis()).unwrap_or(i64::MAX);
        if chrono::Utc::now().timestamp_millis().saturating_sub(since) > max_age {
            sign_out(session);
            return Err(AppError::Unauthenticated.into());
        }
        let mut tx = TenantTx::begin(&state.db, signed_in.tenant).await?;
        let found = users::session_user(&mut tx, signed_in.user).await;
        // The bell: the user's open tasks due by the end of their today (overdue included).
        let due_tasks = match &found {
            Ok(user) => {
                let tz = user.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
                crate::tasks::model::due_count(
                    &mut tx,
                    user.id,
                    crate::tasks::model::end_of_today(tz),
                )
                .await?
            }
            Err(_) => 0,
        };
        tx.commit().await?;
        let user = match found {
            Ok(user) => user,
            Err(AppError::NotFound) => {
                sign_out(session);
                return Err(AppError::Unauthenticated.into());
            }
            Err(other) => return Err(other.into()),
        };
        // Disabling or a new password bumps the epoch: every older session ends. A lock
        // does not: it stops password logins, which a stranger can cause.
        if user.status != "active" || user.session_epoch != signed_in.epoch {
            sign_out(session);
            return Err(AppError::Unauthenticated.into());
        }
        Ok(Ctx {
            tenant: signed_in.tenant,
            tenant_name: user.tenant_name,
            time_zone: user.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai),
            user: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            locale: Locale::from_code(&user.locale).unwrap_or_default(),
            csrf: csrf_token(req),
            flash: crate::web::flash::Slot::new(Some(session.clone())),
            due_tasks,
            first_session: signed_in.first,
        })
    }
}

/// A [`Ctx`] whose user is an admin; anyone else gets 403.
#[derive(Clone, Debug)]
pub struct AdminCtx(pub Ctx);

impl std::ops::Deref for AdminCtx {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        &self.0
    }
}

impl<'a> FromRequest<'a> for AdminCtx {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let ctx = Ctx::from_request(req, body).await?;
        if !ctx.is_admin() {
            return Err(AppError::Forbidden.into());
        }
        Ok(AdminCtx(ctx))
    }
}

/// The context of a page anyone may see (login, sign-up): language and CSRF token.
#[derive(Clone, Debug)]
pub struct PublicCtx {
    /// UI language from the language cookie.
    pub locale: Locale,
    /// CSRF token for the form.
    pub csrf: String,
}

impl PublicCtx {
    /// Translates a locale key.
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    /// Translates a locale key with a `%{name}` placeholder.
    pub fn tf_name(&self, key: &str, name: &str) -> String {
        self.locale.tf(key, &[("name", name)])
    }
}

impl<'a> FromRequest<'a> for PublicCtx {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Ok(PublicCtx {
            locale: Locale::from_request(req),
            csrf: csrf_token(req),
        })
    }
}
