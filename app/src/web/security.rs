//! Security middleware: response headers on every response, and the CSRF check on every
//! state-changing request.
//!
//! poem's `Csrf` middleware issues the token (bound to an encrypted cookie). Pages embed it
//! in forms as `_csrf` and in `<body hx-headers>` as `X-CSRF-Token`; [`RequireCsrf`] rejects
//! any POST, PUT, PATCH or DELETE that carries neither a valid header nor a valid field.

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, Method, header},
    web::CsrfVerifier,
};

use crate::error::AppError;

/// The CSP: scripts and styles only from our own origin, no inline code, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Adds the security headers of DESIGN.md §5 to every response.
pub struct SecurityHeaders {
    /// Adds HSTS when the site is served over HTTPS.
    pub hsts: bool,
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner: ep,
            hsts: self.hsts,
        }
    }
}

/// See [`SecurityHeaders`].
pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    hsts: bool,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        // Errors that no error page handled (a missing static file, a wrong method on
        // /healthz, a session store outage) become responses here, so they get the
        // headers too.
        let mut resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => err.into_response(),
        };
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
        headers.insert(
            "permissions-policy",
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        );
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        if self.hsts {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Ok(resp)
    }
}

/// Rejects state-changing requests without a valid CSRF token.
pub struct RequireCsrf;

impl<E: Endpoint> Middleware<E> for RequireCsrf {
    type Output = RequireCsrfEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        RequireCsrfEndpoint { inner: ep }
    }
}

/// See [`RequireCsrf`].
pub struct RequireCsrfEndpoint<E> {
    inner: E,
}

/// Largest body a state-changing request may carry.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// Name of the hidden form field that carries the token.
pub const CSRF_FIELD: &str = "_csrf";
/// Name of the header that carries the token on htmx requests.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

impl<E: Endpoint> Endpoint for RequireCsrfEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        // PostgreSQL text cannot hold NUL: refuse it here with a 400 rather than fail
        // deep inside a query with a 500.
        if req.uri().query().is_some_and(has_encoded_nul) {
            return Err(AppError::BadRequest.into());
        }
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            return self.inner.call(req).await;
        }
        // Buffer the body with a limit whatever carries the token, so no handler reads an
        // unbounded body. (Routes that take file uploads will get their own limit.)
        let body = req.take_body().into_bytes_limit(MAX_FORM_BYTES).await?;
        let token = match req.header(CSRF_HEADER) {
            Some(token) => Some(token.to_owned()),
            None if is_urlencoded(&req) => url::form_urlencoded::parse(&body)
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned()),
            None => None,
        };
        // Only forms: binary uploads may legitimately carry NUL bytes.
        if is_urlencoded(&req)
            && (body.contains(&0) || has_encoded_nul(&String::from_utf8_lossy(&body)))
        {
            return Err(AppError::BadRequest.into());
        }
        req.set_body(body);
        let valid = match (token, req.extensions().get::<CsrfVerifier>()) {
            (Some(token), Some(verifier)) => verifier.is_valid(&token),
            _ => false,
        };
        if !valid {
            return Err(AppError::Csrf.into());
        }
        self.inner.call(req).await
    }
}

/// True when a URL-encoded string carries a NUL (`%00`).
fn has_encoded_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

fn is_urlencoded(req: &Request) -> bool {
    req.content_type()
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}
