//! Security middleware: response headers on every response, and the CSRF check on every
//! state-changing request.
//!
//! poem's `Csrf` middleware issues the token (bound to an encrypted cookie). Pages embed it
//! in forms as `_csrf` and in `<body hx-headers>` as `X-CSRF-Token`; [`RequireCsrf`] rejects
//! any POST, PUT, PATCH or DELETE that carries neither a valid header nor a valid field.
//!
//! File uploads (`multipart/form-data`) are not buffered here: their handlers stream them
//! with their own size limits, under a hard cap of [`MAX_MULTIPART_BYTES`]. Their token comes from the header, or else from a `_csrf`
//! field that must be the first part of the form (browsers send fields in document order,
//! so upload forms put the hidden field first); only the first few KiB are read to find it.

use bytes::Bytes;
use futures::StreamExt;
use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
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
        if let Some(boundary) = multipart_boundary(&req) {
            let body = capped(req.take_body(), MAX_MULTIPART_BYTES);
            let (token, body) = match req.header(CSRF_HEADER) {
                Some(token) => (Some(token.to_owned()), body),
                None => leading_multipart_token(&boundary, body).await?,
            };
            req.set_body(body);
            if !token_is_valid(&req, token) {
                return Err(AppError::Csrf.into());
            }
            return self.inner.call(req).await;
        }
        // Buffer the body with a limit whatever carries the token, so no handler reads an
        // unbounded body. (Uploads, above, are capped without buffering.)
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
        if !token_is_valid(&req, token) {
            return Err(AppError::Csrf.into());
        }
        self.inner.call(req).await
    }
}

fn token_is_valid(req: &Request, token: Option<String>) -> bool {
    match (token, req.extensions().get::<CsrfVerifier>()) {
        (Some(token), Some(verifier)) => verifier.is_valid(&token),
        _ => false,
    }
}

/// Largest multipart body any route may read; the upload routes set lower limits of
/// their own, with messages.
pub const MAX_MULTIPART_BYTES: u64 = 1024 * 1024 * 1024;

/// `body`, failing with an I/O error once more than `limit` bytes have come through.
fn capped(body: Body, limit: u64) -> Body {
    let mut seen: u64 = 0;
    Body::from_bytes_stream(body.into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > limit {
            return Err(std::io::Error::other("request body too large"));
        }
        Ok(chunk)
    }))
}

/// How much of a multipart body is read to find a leading `_csrf` field.
const MULTIPART_PEEK_BYTES: usize = 8 * 1024;

/// The boundary of a `multipart/form-data` request.
fn multipart_boundary(req: &Request) -> Option<String> {
    let content_type = req.content_type()?;
    if !content_type
        .get(..19)
        .is_some_and(|ct| ct.eq_ignore_ascii_case("multipart/form-data"))
    {
        return None;
    }
    multer::parse_boundary(content_type).ok()
}

/// Reads the start of a multipart body and returns the value of its first part when that
/// part is the `_csrf` field, with the body put back together (the bytes read, then the
/// rest of the stream) for the handler.
async fn leading_multipart_token(boundary: &str, body: Body) -> Result<(Option<String>, Body)> {
    let mut stream = body.into_bytes_stream();
    let mut head = Vec::new();
    while head.len() < MULTIPART_PEEK_BYTES {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(err)) => return Err(poem::error::ReadBodyError::Io(err).into()),
            None => break,
        }
    }
    let head = Bytes::from(head);
    let token = first_field(boundary, head.clone()).await;
    let rest = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(stream);
    Ok((token, Body::from_bytes_stream(rest)))
}

/// The first part of `head` if it is a complete `_csrf` field.
async fn first_field(boundary: &str, head: Bytes) -> Option<String> {
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(head) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let field = parts.next_field().await.ok()??;
    if field.name() != Some(CSRF_FIELD) || field.file_name().is_some() {
        return None;
    }
    field.text().await.ok()
}

/// True when a URL-encoded string carries a NUL (`%00`).
fn has_encoded_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

fn is_urlencoded(req: &Request) -> bool {
    req.content_type()
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}
