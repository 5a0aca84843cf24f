//! 系统设置 → the tenant's named lists: customer categories (客户分类), opportunity
//! categories (销售机会分类) and lost reasons (失败原因). Admins add, rename, reorder and
//! delete their entries; deleting one leaves the records that used it without one (the
//! foreign keys are `ON DELETE SET NULL`).
//!
//! The three lists are the same table shape (`tenant_id, id, name, position`, unique
//! name per tenant), so one set of handlers serves them, each list a [`NamedList`]; the
//! table name in the SQL is always one of the constants below, never user input.

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Integer, Text},
};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::{AppResult, is_unique_violation},
    state::State,
    web::{
        ctx::AdminCtx,
        forms::{self, Errors, Opts},
        layout::{self, Module, csrf_field},
    },
};

/// A list of names an admin keeps.
pub trait NamedList: Send + Sync + 'static {
    /// Its table.
    const TABLE: &'static str;
    /// Its settings page (and the tab it is under).
    const PATH: &'static str;
    /// The `id` of the list on the page.
    const ID: &'static str;
    /// The locale key of the page title.
    const TITLE: &'static str;
    /// The locale key prefix (ending in `.`) of its texts (`new_name`, `add`, `empty`, `rename`,
    /// `confirm_delete`, `taken`).
    const KEYS: &'static str;
}

/// 客户分类.
pub struct CustomerCategories;
impl NamedList for CustomerCategories {
    const TABLE: &'static str = "customer_categories";
    const PATH: &'static str = "/admin/categories";
    const ID: &'static str = "categories";
    const TITLE: &'static str = "tab.categories";
    const KEYS: &'static str = "categories.";
}

/// 销售机会分类.
pub struct OpportunityCategories;
impl NamedList for OpportunityCategories {
    const TABLE: &'static str = "opportunity_categories";
    const PATH: &'static str = "/admin/opportunity-categories";
    const ID: &'static str = "opportunity-categories";
    const TITLE: &'static str = "tab.opportunity_categories";
    const KEYS: &'static str = "opportunities.categories.";
}

/// 失败原因.
pub struct LostReasons;
impl NamedList for LostReasons {
    const TABLE: &'static str = "lost_reasons";
    const PATH: &'static str = "/admin/lost-reasons";
    const ID: &'static str = "lost-reasons";
    const TITLE: &'static str = "tab.lost_reasons";
    const KEYS: &'static str = "opportunities.lost_reasons.";
}

/// 任务分类.
pub struct TaskCategories;
impl NamedList for TaskCategories {
    const TABLE: &'static str = "task_categories";
    const PATH: &'static str = "/admin/task-categories";
    const ID: &'static str = "task-categories";
    const TITLE: &'static str = "tab.task_categories";
    const KEYS: &'static str = "tasks.categories.";
}

/// Adds a list's settings endpoints under its path (spelled out by the caller, so the
/// router names every path it serves; it must be the list's): the page and adding
/// (`<path>`), renaming (`<path>/:id`), moving up (`<path>/:id/up`) and deleting
/// (`<path>/:id/delete`).
pub fn mount<L: NamedList>(route: poem::Route, path: &'static str) -> poem::Route {
    use poem::{get, post};
    assert_eq!(path, L::PATH, "a list's endpoints live under its path");
    route
        .at(
            path,
            get(index::<L>::default()).post(create::<L>::default()),
        )
        .at(format!("{path}/:id"), post(rename::<L>::default()))
        .at(format!("{path}/:id/up"), post(move_up::<L>::default()))
        .at(format!("{path}/:id/delete"), post(delete::<L>::default()))
}

/// Names the list a generic handler serves (it extracts nothing; handlers take it so
/// their list type is known).
pub struct Of<L>(std::marker::PhantomData<L>);

impl<'a, L: NamedList> poem::FromRequest<'a> for Of<L> {
    async fn from_request(
        _req: &'a poem::Request,
        _body: &mut poem::RequestBody,
    ) -> poem::Result<Self> {
        Ok(Self(std::marker::PhantomData))
    }
}

fn key<L: NamedList>(name: &str) -> String {
    format!("{}{name}", L::KEYS)
}

/// The name form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

#[derive(QueryableByName)]
struct Entry {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The entries of a list, in their order.
async fn entries<L: NamedList>(tx: &mut TenantTx) -> AppResult<Vec<(i64, String)>> {
    let tenant = tx.tenant();
    let rows: Vec<Entry> = diesel::sql_query(format!(
        "SELECT id, name FROM {} WHERE tenant_id = $1 ORDER BY position, id",
        L::TABLE
    ))
    .bind::<BigInt, _>(tenant)
    .load(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|e| (e.id, e.name)).collect())
}

fn page<L: NamedList>(
    ctx: &AdminCtx,
    rows: &[(i64, String)],
    input: &str,
    errors: &Errors,
) -> Markup {
    let path = L::PATH;
    let content = html! {
        form.d-flex.gap-2.align-items-start.mb-3.narrow-form method="post" action=(path) novalidate {
            (csrf_field(&ctx.csrf))
            div.flex-grow-1 {
                (forms::input("name", &ctx.t(&key::<L>("new_name")), input, errors.get("name"),
                    Opts { required: true, autofocus: true, max_len: Some(50), ..Opts::default() }))
            }
            button.btn.btn-primary.mt-4.text-nowrap type="submit" { (ctx.t(&key::<L>("add"))) }
        }
        @if rows.is_empty() {
            p.empty-state { (ctx.t(&key::<L>("empty"))) }
        } @else {
            ul.list-group.narrow-form id=(L::ID) {
                @for (i, (id, name)) in rows.iter().enumerate() {
                    li.list-group-item.d-flex.gap-2.align-items-center id={(L::ID) "-" (id)} {
                        form.d-flex.gap-2.flex-grow-1 method="post" action={(path) "/" (id)} {
                            (csrf_field(&ctx.csrf))
                            label.visually-hidden for={(L::ID) "-name-" (id)} { (ctx.t(&key::<L>("rename"))) }
                            input.form-control.form-control-sm id={(L::ID) "-name-" (id)} name="name" value=(name) maxlength="50" required;
                            button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("common.save")) }
                        }
                        form method="post" action={(path) "/" (id) "/up"} {
                            (csrf_field(&ctx.csrf))
                            button.btn.btn-sm.btn-outline-secondary type="submit" disabled[i == 0] aria-label=(ctx.t("categories.up")) { "↑" }
                        }
                        // Boosted, so htmx asks for confirmation and swaps in the new page.
                        form method="post" action={(path) "/" (id) "/delete"} hx-boost="true"
                            hx-confirm=(ctx.locale.tf(&key::<L>("confirm_delete"), &[("name", name)])) {
                            (csrf_field(&ctx.csrf))
                            button.btn.btn-sm.btn-outline-danger type="submit" { (ctx.t("common.delete")) }
                        }
                    }
                }
            }
        }
    };
    layout::page(ctx, Module::Settings, path, &ctx.t(L::TITLE), content)
}

/// GET — the list and the add form.
#[handler]
pub async fn index<L: NamedList>(
    _list: Of<L>,
    ctx: AdminCtx,
    state: Data<&State>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = entries::<L>(&mut tx).await?;
    tx.commit().await?;
    Ok(page::<L>(&ctx, &rows, "", &Errors::new()))
}

/// The form again with the typed name and its error.
async fn refused<L: NamedList>(
    ctx: &AdminCtx,
    state: &State,
    input: &str,
    errors: &Errors,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = entries::<L>(&mut tx).await?;
    tx.commit().await?;
    Ok(page::<L>(ctx, &rows, input, errors)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

/// POST — adds one at the end.
#[handler]
pub async fn create<L: NamedList>(
    _list: Of<L>,
    ctx: AdminCtx,
    state: Data<&State>,
    Form(input): Form<NameForm>,
) -> AppResult<Response> {
    let mut errors = Errors::new();
    let name = forms::check_text(&mut errors, ctx.locale, "name", &input.name, 50);
    if errors.is_empty() {
        let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
        let tenant = tx.tenant();
        let inserted = diesel::sql_query(format!(
            "INSERT INTO {table} (tenant_id, name, position) \
             SELECT $1, $2, coalesce(max(position) + 1, 0) FROM {table} WHERE tenant_id = $1",
            table = L::TABLE
        ))
        .bind::<BigInt, _>(tenant)
        .bind::<Text, _>(&name)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other(L::PATH).into_response());
            }
            Err(e) if is_unique_violation(&e, &format!("{}_tenant_name_key", L::TABLE)) => {
                tx.rollback().await?;
                errors.add(ctx.locale, "name", &key::<L>("taken"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    refused::<L>(&ctx, &state, &input.name, &errors).await
}

/// `NotFound` unless the entry is this tenant's.
async fn exists<L: NamedList>(tx: &mut TenantTx, id: i64) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::sql_query(format!(
        "SELECT id, name FROM {} WHERE tenant_id = $1 AND id = $2",
        L::TABLE
    ))
    .bind::<BigInt, _>(tenant)
    .bind::<BigInt, _>(id)
    .get_result::<Entry>(&mut **tx)
    .await?;
    Ok(())
}

/// POST `/:id` — renames it.
#[handler]
pub async fn rename<L: NamedList>(
    _list: Of<L>,
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<i64>,
    Form(input): Form<NameForm>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    exists::<L>(&mut tx, id).await?;
    let mut errors = Errors::new();
    let name = forms::check_text(&mut errors, ctx.locale, "name", &input.name, 50);
    if errors.is_empty() {
        let updated = diesel::sql_query(format!(
            "UPDATE {} SET name = $3 WHERE tenant_id = $1 AND id = $2",
            L::TABLE
        ))
        .bind::<BigInt, _>(tenant)
        .bind::<BigInt, _>(id)
        .bind::<Text, _>(&name)
        .execute(&mut *tx)
        .await;
        match updated {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other(L::PATH).into_response());
            }
            Err(e) if is_unique_violation(&e, &format!("{}_tenant_name_key", L::TABLE)) => {
                errors.add(ctx.locale, "name", &key::<L>("taken"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.rollback().await?;
    refused::<L>(&ctx, &state, &input.name, &errors).await
}

/// POST `/:id/up` — swaps it with the one above.
#[handler]
pub async fn move_up<L: NamedList>(
    _list: Of<L>,
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    exists::<L>(&mut tx, id).await?;
    let mut order: Vec<i64> = entries::<L>(&mut tx)
        .await?
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    if let Some(i) = order.iter().position(|e| *e == id)
        && i > 0
    {
        order.swap(i, i - 1);
    }
    for (position, entry) in order.iter().enumerate() {
        diesel::sql_query(format!(
            "UPDATE {} SET position = $3 WHERE tenant_id = $1 AND id = $2",
            L::TABLE
        ))
        .bind::<BigInt, _>(tenant)
        .bind::<BigInt, _>(*entry)
        .bind::<Integer, _>(position as i32)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(L::PATH).into_response())
}

/// POST `/:id/delete` — records that used it are left without one.
#[handler]
pub async fn delete<L: NamedList>(
    _list: Of<L>,
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    exists::<L>(&mut tx, id).await?;
    diesel::sql_query(format!(
        "DELETE FROM {} WHERE tenant_id = $1 AND id = $2",
        L::TABLE
    ))
    .bind::<BigInt, _>(tenant)
    .bind::<BigInt, _>(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::see_other(L::PATH).into_response())
}
