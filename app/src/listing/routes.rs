//! The endpoints every list has beside its page, mounted once per list by [`mount`]:
//! `<path>/filters` (快速过滤管理, and saving a view), `<path>/filters/:id/delete`,
//! `<path>/columns` (显示列), `<path>/condition` (one advanced-search row),
//! `<path>/count` (the exact count a search's page fetches after loading) and
//! `<path>/bulk` (批量操作). A module implements [`Target`] and gets them all.

use std::marker::PhantomData;

use maud::Markup;
use poem::{
    Request, Response, Route, get, handler, post,
    web::{Data, Path},
};

use crate::{
    db::TenantTx,
    error::AppResult,
    listing::{bulk, prefs, views},
    state::State,
    web::{ctx::Ctx, forms::RawForm},
};

pub use bulk::Target;

/// Names the list a generic handler serves (it extracts nothing).
pub struct Of<L>(PhantomData<L>);

impl<'a, L: Target> poem::FromRequest<'a> for Of<L> {
    async fn from_request(
        _req: &'a poem::Request,
        _body: &mut poem::RequestBody,
    ) -> poem::Result<Self> {
        Ok(Self(PhantomData))
    }
}

/// Adds the list's endpoints under its path (spelled out by the caller, so the router
/// names every path it serves; it must be the list's).
pub fn mount<L: Target>(route: Route, path: &'static str) -> Route {
    assert_eq!(
        path,
        L::spec().path,
        "a list's endpoints live under its path"
    );
    route
        .at(
            format!("{path}/filters"),
            get(filters::<L>::default()).post(save_filter::<L>::default()),
        )
        .at(
            format!("{path}/filters/:id/delete"),
            post(delete_filter::<L>::default()),
        )
        .at(
            format!("{path}/columns"),
            post(save_columns::<L>::default()),
        )
        .at(format!("{path}/condition"), get(condition::<L>::default()))
        .at(format!("{path}/count"), get(count::<L>::default()))
        .at(format!("{path}/bulk"), post(bulk_action::<L>::default()))
}

/// GET `…/filters` — 快速过滤管理; `?query=` opens the save form for that view.
#[handler]
async fn filters<L: Target>(
    _list: Of<L>,
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
) -> AppResult<Markup> {
    prefs::index(&ctx, &state.db, L::spec(), req.uri().query().unwrap_or("")).await
}

/// POST `…/filters` — saves a view under a name.
#[handler]
async fn save_filter<L: Target>(
    _list: Of<L>,
    ctx: Ctx,
    state: Data<&State>,
    form: RawForm,
) -> AppResult<Response> {
    prefs::create(&ctx, &state.db, L::spec(), &form).await
}

/// POST `…/filters/:id/delete` — by its owner, or an admin for a shared one.
#[handler]
async fn delete_filter<L: Target>(
    _list: Of<L>,
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    prefs::delete(&ctx, &state.db, L::spec(), id).await
}

/// POST `…/columns` — remembers the chosen columns.
#[handler]
async fn save_columns<L: Target>(
    _list: Of<L>,
    ctx: Ctx,
    state: Data<&State>,
    form: RawForm,
) -> AppResult<Response> {
    prefs::save_columns(&ctx, &state.db, L::spec(), &form).await
}

/// GET `…/condition` — one condition row (see [`views::condition`]).
#[handler]
async fn condition<L: Target>(
    _list: Of<L>,
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
) -> AppResult<Markup> {
    views::condition(&ctx, &state.db, L::spec(), req.uri().query().unwrap_or("")).await
}

/// GET `…/count` — the "共 N 条" line of a view, exact (see [`super::count_page`]).
#[handler]
async fn count<L: Target>(
    _list: Of<L>,
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let count =
        super::count_page(&mut tx, &ctx, L::spec(), req.uri().query().unwrap_or("")).await?;
    tx.commit().await?;
    Ok(views::row_count(&ctx, count, None))
}

/// POST `…/bulk` — a bulk action (see [`bulk::handle`]).
#[handler]
async fn bulk_action<L: Target>(
    _list: Of<L>,
    ctx: Ctx,
    state: Data<&State>,
    form: RawForm,
) -> AppResult<Response> {
    bulk::handle::<L>(&ctx, &state, &form).await
}
