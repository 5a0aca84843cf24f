//! Error pages: every error a handler returns becomes a page in the layout (in the
//! signed-in layout when the user is signed in), and the client never sees its text.

use maud::html;
use poem::{
    Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response, http::StatusCode,
    session::Session, web::CsrfToken,
};

use crate::{
    error::AppError,
    i18n::Locale,
    state::State,
    web::{
        ctx::{Ctx, csrf_token},
        is_htmx, layout,
    },
};

/// Turns errors into pages in the layout: sign-in redirects, 403, 404, 429 and 500.
pub async fn error_pages<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let locale = Locale::from_request(&req);
    let htmx = is_htmx(&req);
    let csrf = csrf_token(&req);
    // Kept to render the page inside the signed-in layout when the user is signed in.
    let probe = signed_in_probe(&req);
    let err = match ep.call(req).await {
        Ok(resp) => return Ok(resp.into_response()),
        Err(err) => err,
    };
    let status = err.status();
    if status == StatusCode::UNAUTHORIZED {
        return Ok(if htmx {
            Response::builder().header("HX-Redirect", "/login").finish()
        } else {
            poem::web::Redirect::see_other("/login").into_response()
        });
    }
    if status.is_server_error() {
        match err.downcast_ref::<AppError>() {
            Some(app) => tracing::error!(error = ?app, "request failed"),
            None => tracing::error!(error = %err, "request failed"),
        }
    }
    let (title, text) = match status {
        StatusCode::NOT_FOUND => ("error.404_title", "error.404"),
        StatusCode::FORBIDDEN if matches!(err.downcast_ref::<AppError>(), Some(AppError::Csrf)) => {
            ("error.csrf_title", "error.csrf")
        }
        StatusCode::FORBIDDEN => ("error.403_title", "error.403"),
        StatusCode::TOO_MANY_REQUESTS => ("error.429_title", "error.429"),
        StatusCode::SERVICE_UNAVAILABLE => ("error.503_title", "error.503"),
        s if s.is_client_error() => ("error.400_title", "error.400"),
        _ => ("error.500_title", "error.500"),
    };
    let ctx = match probe {
        Some(probe) if status != StatusCode::SERVICE_UNAVAILABLE => {
            Ctx::from_request(&probe, &mut RequestBody::default())
                .await
                .ok()
        }
        _ => None,
    };
    // An error page leaves a waiting flash message for the next real page.
    let ctx = ctx.map(|ctx| Ctx {
        flash: crate::web::flash::Slot::default(),
        ..ctx
    });
    let locale = ctx.as_ref().map_or(locale, |c| c.locale);
    let body = html! {
        div.error-page {
            p.error-code { (status.as_u16()) }
            p { (locale.t(text)) }
            a.btn.btn-primary href="/" { (locale.t("error.home")) }
        }
    };
    let page = match &ctx {
        Some(ctx) => layout::page(ctx, layout::Module::Home, "", &locale.t(title), body),
        None => layout::public_page(locale, &csrf, &locale.t(title), body),
    };
    Ok(page.with_status(status).into_response())
}

/// A bodiless copy of the request carrying what [`Ctx`] needs (session, state, CSRF
/// token), so an error page can be drawn in the signed-in layout after the original
/// request was consumed.
fn signed_in_probe(req: &Request) -> Option<Request> {
    let session = req.extensions().get::<Session>()?.clone();
    let state = req.data::<State>()?.clone();
    let mut probe = Request::builder().finish();
    probe.extensions_mut().insert(session);
    probe.extensions_mut().insert(state);
    if let Some(token) = req.extensions().get::<CsrfToken>() {
        probe.extensions_mut().insert(token.clone());
    }
    Some(probe)
}

#[cfg(test)]
mod tests {
    use poem::{EndpointExt, Route, get, handler, test::TestClient};

    use super::error_pages;
    use crate::error::{AppError, AppResult};

    #[handler]
    async fn broken() -> AppResult<&'static str> {
        Err(AppError::Internal(anyhow::anyhow!(
            "secret internal detail"
        )))
    }

    #[handler]
    async fn members_only() -> AppResult<&'static str> {
        Err(AppError::Forbidden)
    }

    fn app() -> impl poem::Endpoint {
        Route::new()
            .at("/broken", get(broken))
            .at("/admin", get(members_only))
            .around(error_pages)
            .with(poem::middleware::CookieJarManager::new())
    }

    #[tokio::test]
    async fn a_server_error_renders_the_500_page_without_internal_text() {
        let resp = TestClient::new(app()).get("/broken").send().await;
        resp.assert_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = resp.0.into_body().into_string().await.expect("body");
        assert!(body.contains("出错了"), "{body}");
        assert!(body.contains("<html"), "rendered in the layout");
        assert!(
            !body.contains("secret internal detail"),
            "internal text must not leak"
        );
    }

    #[tokio::test]
    async fn unknown_paths_and_forbidden_pages_render_in_the_layout() {
        let cli = TestClient::new(app());
        let resp = cli.get("/nowhere").send().await;
        resp.assert_status(poem::http::StatusCode::NOT_FOUND);
        let body = resp.0.into_body().into_string().await.expect("body");
        assert!(body.contains("页面不存在"), "{body}");

        let resp = cli
            .get("/admin")
            .header("Cookie", "kehu_lang=en")
            .send()
            .await;
        resp.assert_status(poem::http::StatusCode::FORBIDDEN);
        let body = resp.0.into_body().into_string().await.expect("body");
        assert!(body.contains("Access denied"), "{body}");
    }
}
