//! The one error type of the web app and how it maps to responses.
//!
//! Handlers return [`AppResult`]. A diesel `NotFound` becomes 404 (an id from another
//! tenant is indistinguishable from one that does not exist), a pool or Redis outage
//! becomes 503, and anything else is logged and shown as a plain 500 page. The client
//! never sees internal error text. Form validation errors are not errors here: the
//! handler re-renders the form with the user's input and field messages.

use poem::{error::ResponseError, http::StatusCode};

/// Result of a handler or model function.
pub type AppResult<T> = Result<T, AppError>;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such record for this tenant, or no such page.
    #[error("not found")]
    NotFound,
    /// Signed in, but the role does not allow this.
    #[error("forbidden")]
    Forbidden,
    /// Not signed in, or the session ended.
    #[error("sign-in required")]
    Unauthenticated,
    /// A missing or wrong CSRF token.
    #[error("invalid CSRF token")]
    Csrf,
    /// Input that cannot be processed at all (e.g. a NUL character).
    #[error("bad request")]
    BadRequest,
    /// A throttle said no.
    #[error("too many requests")]
    TooManyRequests,
    /// A dependency (PostgreSQL, Redis) is unreachable.
    #[error("service unavailable: {0}")]
    Unavailable(#[source] anyhow::Error),
    /// A bug or an unexpected failure; logged, never shown.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl ResponseError for AppError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => Self::NotFound,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Unavailable(err.into())
    }
}

impl From<redis::RedisError> for AppError {
    fn from(err: redis::RedisError) -> Self {
        Self::Unavailable(err.into())
    }
}

/// True when `err` is a unique violation of the named constraint.
pub fn is_unique_violation(err: &diesel::result::Error, constraint: &str) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint)
    )
}
