//! 系统设置 → 客户分类: the tenant's list of customer categories. Admins add, rename,
//! reorder and delete them; deleting one leaves its companies uncategorised.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Form, Path, Redirect},
};
use serde::Deserialize;

use crate::{
    auth::ctx::AdminCtx,
    customers::model as customers,
    db::TenantTx,
    error::{AppResult, is_unique_violation},
    ids::CategoryId,
    schema::customer_categories,
    state::State,
    web::{
        forms::{self, Errors, Opts},
        layout::{self, Module, csrf_field},
    },
};

/// The category form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CategoryForm {
    name: String,
}

fn page(ctx: &AdminCtx, rows: &[(CategoryId, String)], input: &str, errors: &Errors) -> Markup {
    let content = html! {
        form.d-flex.gap-2.align-items-start.mb-3.narrow-form method="post" action="/admin/categories" novalidate {
            (csrf_field(&ctx.csrf))
            div.flex-grow-1 {
                (forms::input("name", &ctx.t("categories.new_name"), input, errors.get("name"),
                    Opts { required: true, autofocus: true, max_len: Some(50), ..Opts::default() }))
            }
            button.btn.btn-primary.mt-4.text-nowrap type="submit" { (ctx.t("categories.add")) }
        }
        @if rows.is_empty() {
            p.empty-state { (ctx.t("categories.empty")) }
        } @else {
            ul.list-group.narrow-form #categories {
                @for (i, (id, name)) in rows.iter().enumerate() {
                    li.list-group-item.d-flex.gap-2.align-items-center id={"category-" (id)} {
                        form.d-flex.gap-2.flex-grow-1 method="post" action={"/admin/categories/" (id)} {
                            (csrf_field(&ctx.csrf))
                            label.visually-hidden for={"category-name-" (id)} { (ctx.t("categories.rename")) }
                            input.form-control.form-control-sm id={"category-name-" (id)} name="name" value=(name) maxlength="50" required;
                            button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("common.save")) }
                        }
                        form method="post" action={"/admin/categories/" (id) "/up"} {
                            (csrf_field(&ctx.csrf))
                            button.btn.btn-sm.btn-outline-secondary type="submit" disabled[i == 0] aria-label=(ctx.t("categories.up")) { "↑" }
                        }
                        // Boosted, so htmx asks for confirmation and swaps in the new page.
                        form method="post" action={"/admin/categories/" (id) "/delete"} hx-boost="true"
                            hx-confirm=(ctx.locale.tf("categories.confirm_delete", &[("name", name)])) {
                            (csrf_field(&ctx.csrf))
                            button.btn.btn-sm.btn-outline-danger type="submit" { (ctx.t("common.delete")) }
                        }
                    }
                }
            }
        }
    };
    layout::page(
        ctx,
        Module::Settings,
        "/admin/categories",
        &ctx.t("tab.categories"),
        content,
    )
}

/// GET /admin/categories
#[handler]
pub async fn index(ctx: AdminCtx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = customers::categories(&mut tx).await?;
    tx.commit().await?;
    Ok(page(&ctx, &rows, "", &Errors::new()))
}

/// POST /admin/categories — adds one at the end.
#[handler]
pub async fn create(
    ctx: AdminCtx,
    state: Data<&State>,
    Form(input): Form<CategoryForm>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    let mut errors = Errors::new();
    let name = forms::check_text(&mut errors, ctx.locale, "name", &input.name, 50);
    if errors.is_empty() {
        let next: Option<i32> = customer_categories::table
            .filter(customer_categories::tenant_id.eq(tenant))
            .select(diesel::dsl::max(customer_categories::position))
            .first(&mut *tx)
            .await?;
        let inserted = diesel::insert_into(customer_categories::table)
            .values((
                customer_categories::tenant_id.eq(tenant),
                customer_categories::name.eq(&name),
                customer_categories::position.eq(next.map_or(0, |p| p + 1)),
            ))
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other("/admin/categories").into_response());
            }
            Err(e) if is_unique_violation(&e, "customer_categories_tenant_name_key") => {
                errors.add(ctx.locale, "name", "categories.taken");
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.rollback().await?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = customers::categories(&mut tx).await?;
    tx.commit().await?;
    Ok(page(&ctx, &rows, &input.name, &errors)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

async fn exists(tx: &mut TenantTx, id: CategoryId) -> AppResult<()> {
    let tenant = tx.tenant();
    customer_categories::table
        .filter(
            customer_categories::tenant_id
                .eq(tenant)
                .and(customer_categories::id.eq(id)),
        )
        .select(customer_categories::id)
        .first::<CategoryId>(&mut **tx)
        .await?;
    Ok(())
}

/// POST /admin/categories/:id — renames it.
#[handler]
pub async fn rename(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<i64>,
    Form(input): Form<CategoryForm>,
) -> AppResult<Response> {
    let id = CategoryId(id);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    exists(&mut tx, id).await?;
    let mut errors = Errors::new();
    let name = forms::check_text(&mut errors, ctx.locale, "name", &input.name, 50);
    if errors.is_empty() {
        let updated = diesel::update(customer_categories::table)
            .filter(
                customer_categories::tenant_id
                    .eq(tenant)
                    .and(customer_categories::id.eq(id)),
            )
            .set(customer_categories::name.eq(&name))
            .execute(&mut *tx)
            .await;
        match updated {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other("/admin/categories").into_response());
            }
            Err(e) if is_unique_violation(&e, "customer_categories_tenant_name_key") => {
                errors.add(ctx.locale, "name", "categories.taken");
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.rollback().await?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = customers::categories(&mut tx).await?;
    tx.commit().await?;
    Ok(page(&ctx, &rows, &input.name, &errors)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

/// POST /admin/categories/:id/up — swaps it with the one above.
#[handler]
pub async fn move_up(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let id = CategoryId(id);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    exists(&mut tx, id).await?;
    let mut order: Vec<CategoryId> = customers::categories(&mut tx)
        .await?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    if let Some(i) = order.iter().position(|c| *c == id)
        && i > 0
    {
        order.swap(i, i - 1);
    }
    for (position, category) in order.iter().enumerate() {
        diesel::update(customer_categories::table)
            .filter(
                customer_categories::tenant_id
                    .eq(tenant)
                    .and(customer_categories::id.eq(category)),
            )
            .set(customer_categories::position.eq(position as i32))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other("/admin/categories").into_response())
}

/// POST /admin/categories/:id/delete — its companies become uncategorised.
#[handler]
pub async fn delete(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let id = CategoryId(id);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    exists(&mut tx, id).await?;
    diesel::delete(customer_categories::table)
        .filter(
            customer_categories::tenant_id
                .eq(tenant)
                .and(customer_categories::id.eq(id)),
        )
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::see_other("/admin/categories").into_response())
}
