//! The customer list's remembered settings — saved quick filters (快速过滤管理) and the
//! column choice — through the shared handlers of [`crate::listing::prefs`].

use maud::Markup;
use poem::{
    Request, Response, handler,
    web::{Data, Path},
};

use crate::{
    auth::ctx::Ctx, customers::list::CUSTOMERS, error::AppResult, listing::prefs, state::State,
    web::forms::RawForm,
};

/// GET /customers/filters — 快速过滤管理; `?query=` opens the save form for that view.
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>, req: &Request) -> AppResult<Markup> {
    prefs::index(&ctx, &state.db, &CUSTOMERS, req.uri().query().unwrap_or("")).await
}

/// POST /customers/filters — saves a view under a name.
#[handler]
pub async fn create(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    prefs::create(&ctx, &state.db, &CUSTOMERS, &form).await
}

/// POST /customers/filters/:id/delete — by its owner, or an admin for a shared one.
#[handler]
pub async fn delete(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Response> {
    prefs::delete(&ctx, &state.db, &CUSTOMERS, id).await
}

/// POST /customers/columns — remembers the chosen columns.
#[handler]
pub async fn save_columns(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    prefs::save_columns(&ctx, &state.db, &CUSTOMERS, &form).await
}
