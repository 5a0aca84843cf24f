//! A list's remembered settings: saved quick filters (快速过滤管理), personal or shared
//! with the tenant, and each user's choice of columns — both per list (`ListSpec::key`).
//! The handlers here are the bodies of each list's `…/filters` and `…/columns` routes.

use diesel::{prelude::*, upsert::excluded};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{IntoResponse, Response, http::StatusCode, web::Redirect};
use serde::Deserialize;

use crate::{
    db::{DbPool, Reads, TenantTx},
    error::{AppError, AppResult, is_unique_violation},
    ids::UserId,
    listing::{ListSpec, filter::ListFilter},
    schema::{list_columns, saved_filters},
    web::{
        ctx::Ctx,
        flash,
        forms::{self, Errors, Opts, RawForm},
        layout::{self, csrf_field},
    },
};

/// A saved filter.
#[derive(Clone, Debug)]
pub struct SavedFilter {
    /// Id.
    pub id: i64,
    /// Who saved it.
    pub owner_id: UserId,
    /// Its name.
    pub name: String,
    /// Offered to everyone in the tenant.
    pub shared: bool,
    /// The list's query string.
    pub query: String,
}

/// The filters of `spec` that `user` may use: their own and the shared ones, by name.
pub async fn usable(db: Reads<'_>, spec: &ListSpec, user: UserId) -> AppResult<Vec<SavedFilter>> {
    let tenant = db.tenant();
    let rows: Vec<(i64, UserId, String, bool, String)> = saved_filters::table
        .filter(saved_filters::tenant_id.eq(tenant))
        .filter(saved_filters::list.eq(spec.key))
        .filter(
            saved_filters::owner_id
                .eq(user)
                .or(saved_filters::shared.eq(true)),
        )
        .order((saved_filters::name.asc(), saved_filters::id.asc()))
        .select((
            saved_filters::id,
            saved_filters::owner_id,
            saved_filters::name,
            saved_filters::shared,
            saved_filters::query,
        ))
        .load(&mut db.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, owner_id, name, shared, query)| SavedFilter {
            id,
            owner_id,
            name,
            shared,
            query,
        })
        .collect())
}

/// The columns of `spec` that `user` chose, if any.
pub async fn columns(
    db: Reads<'_>,
    spec: &ListSpec,
    user: UserId,
) -> AppResult<Option<Vec<String>>> {
    let tenant = db.tenant();
    let chosen: Option<Vec<Option<String>>> = list_columns::table
        .filter(list_columns::tenant_id.eq(tenant))
        .filter(list_columns::user_id.eq(user))
        .filter(list_columns::list.eq(spec.key))
        .select(list_columns::shown)
        .first(&mut db.conn())
        .await
        .optional()?;
    Ok(chosen.map(|c| c.into_iter().flatten().collect()))
}

/// The save-filter form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SaveForm {
    name: String,
    shared: Option<String>,
    query: String,
}

/// The management page, with the save form's input and errors when it was refused.
fn page(
    ctx: &Ctx,
    spec: &'static ListSpec,
    rows: &[SavedFilter],
    input: &SaveForm,
    errors: &Errors,
) -> Markup {
    let path = spec.path;
    let content = html! {
        @if !input.query.is_empty() {
            section.card.mb-4.narrow-form {
                div.card-header { (ctx.t("filters.save_title")) }
                div.card-body {
                    form method="post" action={(path) "/filters"} novalidate {
                        (csrf_field(&ctx.csrf))
                        input type="hidden" name="query" value=(input.query);
                        (forms::input("name", &ctx.t("filters.name"), &input.name, errors.get("name"),
                            Opts { required: true, autofocus: true, max_len: Some(50), ..Opts::default() }))
                        div.form-check.mb-3 {
                            input.form-check-input #f-shared type="checkbox" name="shared" checked[input.shared.is_some()];
                            label.form-check-label for="f-shared" { (ctx.t("filters.shared")) }
                        }
                        button.btn.btn-primary type="submit" { (ctx.t("filters.save")) }
                        a.btn.btn-link href={(path) "?" (input.query)} { (ctx.t("common.cancel")) }
                    }
                }
            }
        }
        @if rows.is_empty() {
            p.empty-state #filters-empty { (ctx.t(spec.texts.filters_empty)) }
        } @else {
            table.table.align-middle #saved-filters {
                thead { tr {
                    th scope="col" { (ctx.t("filters.name")) }
                    th scope="col" { (ctx.t("filters.scope")) }
                    th scope="col" { span.visually-hidden { (ctx.t("common.actions")) } }
                } }
                tbody {
                    @for f in rows {
                        tr id={"filter-" (f.id)} {
                            td { a href={(path) "?" (f.query)} { (f.name) } }
                            td { @if f.shared { (ctx.t("filters.shared_label")) } @else { (ctx.t("filters.personal_label")) } }
                            td.text-end {
                                @if f.owner_id == ctx.user || (f.shared && ctx.is_admin()) {
                                    form.d-inline method="post" action={(path) "/filters/" (f.id) "/delete"} hx-boost="true"
                                        hx-confirm=(ctx.locale.tf("filters.confirm_delete", &[("name", &f.name)])) {
                                        (csrf_field(&ctx.csrf))
                                        button.btn.btn-sm.btn-outline-danger type="submit" { (ctx.t("common.delete")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(
        ctx,
        spec.module,
        &format!("{path}/filters"),
        &ctx.t("tab.filters"),
        content,
    )
}

/// GET `…/filters` — 快速过滤管理; `?query=` opens the save form for that view.
pub async fn index(
    ctx: &Ctx,
    db: &DbPool,
    spec: &'static ListSpec,
    raw: &str,
) -> AppResult<Markup> {
    let query = url::form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == "query")
        .map(|(_, v)| ListFilter::from_query(spec, &v).to_query(spec))
        .unwrap_or_default();
    let tx = TenantTx::begin(db, ctx.tenant).await?;
    let rows = usable(tx.reads(), spec, ctx.user).await?;
    tx.commit().await?;
    let input = SaveForm {
        query,
        ..SaveForm::default()
    };
    Ok(page(ctx, spec, &rows, &input, &Errors::new()))
}

/// POST `…/filters` — saves a view under a name.
pub async fn create(
    ctx: &Ctx,
    db: &DbPool,
    spec: &'static ListSpec,
    form: &RawForm,
) -> AppResult<Response> {
    let mut input: SaveForm = form.parse()?;
    // Only what the list understands is kept.
    input.query = ListFilter::from_query(spec, &input.query).to_query(spec);
    let mut errors = Errors::new();
    let name = forms::check_text(&mut errors, ctx.locale, "name", &input.name, 50);
    if input.query.is_empty() {
        errors.add(ctx.locale, "name", "filters.nothing_to_save");
    }
    let mut tx = TenantTx::begin(db, ctx.tenant).await?;
    let tenant = tx.tenant();
    if errors.is_empty() {
        let inserted = diesel::insert_into(saved_filters::table)
            .values((
                saved_filters::tenant_id.eq(tenant),
                saved_filters::owner_id.eq(ctx.user),
                saved_filters::list.eq(spec.key),
                saved_filters::name.eq(&name),
                saved_filters::shared.eq(input.shared.is_some()),
                saved_filters::query.eq(&input.query),
            ))
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                flash::success(ctx, ctx.locale.tf("list.filter_saved", &[("name", &name)]));
                return Ok(
                    Redirect::see_other(format!("{}?{}", spec.path, input.query)).into_response(),
                );
            }
            Err(e) if is_unique_violation(&e, "saved_filters_tenant_owner_list_name_key") => {
                errors.add(ctx.locale, "name", "filters.taken");
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.rollback().await?;
    let tx = TenantTx::begin(db, ctx.tenant).await?;
    let rows = usable(tx.reads(), spec, ctx.user).await?;
    tx.commit().await?;
    Ok(page(ctx, spec, &rows, &input, &errors)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

/// POST `…/filters/:id/delete` — by its owner, or an admin for a shared one.
pub async fn delete(
    ctx: &Ctx,
    db: &DbPool,
    spec: &'static ListSpec,
    id: i64,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(db, ctx.tenant).await?;
    let filter = usable(tx.reads(), spec, ctx.user)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(AppError::NotFound)?;
    if filter.owner_id != ctx.user && !(filter.shared && ctx.is_admin()) {
        return Err(AppError::Forbidden);
    }
    let tenant = tx.tenant();
    diesel::delete(saved_filters::table)
        .filter(
            saved_filters::tenant_id
                .eq(tenant)
                .and(saved_filters::id.eq(filter.id)),
        )
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    flash::success(
        ctx,
        ctx.locale
            .tf("list.filter_deleted", &[("name", &filter.name)]),
    );
    Ok(Redirect::see_other(format!("{}/filters", spec.path)).into_response())
}

/// POST `…/columns` — remembers the chosen columns (`col`, repeated) and goes back to the
/// list view in `back` (a query string); `reset` forgets the choice.
pub async fn save_columns(
    ctx: &Ctx,
    db: &DbPool,
    spec: &'static ListSpec,
    form: &RawForm,
) -> AppResult<Response> {
    let mut chosen: Vec<String> = vec![];
    let mut back = String::new();
    for (key, value) in form.pairs() {
        match key.as_str() {
            "col" if chosen.len() < 40 && value.len() <= 40 && !chosen.contains(value) => {
                chosen.push(value.clone());
            }
            "back" => back = ListFilter::from_query(spec, value).to_query(spec),
            _ => {}
        }
    }
    let reset = form.pairs().iter().any(|(k, _)| k == "reset");
    let mut tx = TenantTx::begin(db, ctx.tenant).await?;
    let tenant = tx.tenant();
    if reset {
        diesel::delete(list_columns::table)
            .filter(list_columns::tenant_id.eq(tenant))
            .filter(list_columns::user_id.eq(ctx.user))
            .filter(list_columns::list.eq(spec.key))
            .execute(&mut *tx)
            .await?;
    } else {
        let shown: Vec<Option<String>> = chosen.into_iter().map(Some).collect();
        diesel::insert_into(list_columns::table)
            .values((
                list_columns::tenant_id.eq(tenant),
                list_columns::user_id.eq(ctx.user),
                list_columns::list.eq(spec.key),
                list_columns::shown.eq(&shown),
            ))
            .on_conflict((
                list_columns::tenant_id,
                list_columns::user_id,
                list_columns::list,
            ))
            .do_update()
            .set((
                list_columns::shown.eq(excluded(list_columns::shown)),
                list_columns::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(format!("{}?{back}", spec.path)).into_response())
}
