//! Logout and the language switch.

use poem::{
    IntoResponse, Response, handler,
    http::header,
    session::Session,
    web::{Data, Form, Redirect},
};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::AppResult,
    i18n::Locale,
    state::State,
    users::model as users,
    web::ctx::{Ctx, sign_out},
};

/// POST /logout
#[handler]
pub async fn logout(session: &Session) -> Response {
    sign_out(session);
    Redirect::see_other("/login").into_response()
}

/// The language form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LocaleForm {
    locale: String,
}

/// POST /locale: remembers the language in a cookie and, when signed in, on the user.
#[handler]
pub async fn switch_locale(
    req: &poem::Request,
    state: Data<&State>,
    ctx: Option<Ctx>,
    Form(input): Form<LocaleForm>,
) -> AppResult<Response> {
    let locale = Locale::from_code(&input.locale).unwrap_or_default();
    if let Some(ctx) = ctx {
        let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
        users::set_locale(&mut tx, ctx.user, locale.code()).await?;
        tx.commit().await?;
    }
    // Back to the page the switch was on, but only within this site.
    let own_origin = url::Url::parse(&state.config.base_url)
        .ok()
        .map(|u| u.origin());
    let back = req
        .header(header::REFERER)
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| Some(u.origin()) == own_origin)
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        })
        // `//host` and `/\host` would leave the site.
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    Ok(Redirect::see_other(back)
        .with_header(header::SET_COOKIE, crate::web::lang_cookie(locale.code()))
        .into_response())
}
