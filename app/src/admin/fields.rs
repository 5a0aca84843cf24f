//! 系统设置 → 自定义字段: admins add, edit, reorder and delete the custom fields of
//! companies, contacts and opportunities. A field's type is fixed once created (stored values keep their
//! meaning); its label, options and required flag can change.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Path, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    custom_fields::{self as cf, Entity, Field, Kind},
    db::TenantTx,
    error::{AppResult, is_unique_violation},
    ids::FieldId,
    schema::{companies, contacts, custom_fields, opportunities},
    state::State,
    web::{
        ctx::AdminCtx,
        forms::{self, Errors, Opts, RawForm},
        layout::{self, Module, csrf_field},
    },
};

/// Most fields per entity.
const MAX_FIELDS: usize = 50;

/// Which entity's fields the page shows.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EntityParam {
    entity: String,
}

/// The field form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FieldForm {
    entity: String,
    label: String,
    kind: String,
    options: String,
    required: Option<String>,
}

impl FieldForm {
    fn from_field(f: &Field) -> Self {
        Self {
            entity: f.entity.as_str().into(),
            label: f.label.clone(),
            kind: f.kind.as_str().into(),
            options: f.options.join("\n"),
            required: f.required.then(|| "on".into()),
        }
    }
}

fn href(entity: Entity) -> String {
    format!("/admin/fields?entity={}", entity.as_str())
}

/// The form body shared by "add" and "edit". `kind_fixed` shows the type read-only.
fn form_body(ctx: &AdminCtx, input: &FieldForm, errors: &Errors, kind_fixed: bool) -> Markup {
    let kinds: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                ctx.t(&format!("fields.kind_{}", k.as_str())),
            )
        })
        .collect();
    html! {
        (forms::input("label", &ctx.t("fields.label"), &input.label, errors.get("label"),
            Opts { required: true, max_len: Some(50), ..Opts::default() }))
        @if kind_fixed {
            div.mb-3 {
                span.form-label.d-block { (ctx.t("fields.kind")) }
                span.badge.text-bg-secondary #f-kind-fixed { (ctx.t(&format!("fields.kind_{}", input.kind))) }
                input type="hidden" name="kind" value=(input.kind);
            }
        } @else {
            (forms::select("kind", &ctx.t("fields.kind"), &kinds, &input.kind, errors.get("kind")))
        }
        div.mb-3 {
            label.form-label for="f-options" { (ctx.t("fields.options")) }
            textarea.form-control.is-invalid[errors.get("options").is_some()] #f-options name="options" rows="4"
                aria-describedby="f-options-help f-options-error" { (input.options) }
            div.form-text #f-options-help { (ctx.t("fields.options_help")) }
            @if let Some(e) = errors.get("options") { div.invalid-feedback #f-options-error { (e) } }
        }
        div.form-check.mb-3 {
            input.form-check-input #f-required type="checkbox" name="required" checked[input.required.is_some()];
            label.form-check-label for="f-required" { (ctx.t("fields.required")) }
        }
    }
}

fn list_page(
    ctx: &AdminCtx,
    entity: Entity,
    rows: &[Field],
    input: &FieldForm,
    errors: &Errors,
) -> Markup {
    let content = html! {
        ul.nav.nav-pills.mb-3 {
            @for e in Entity::ALL {
                li.nav-item {
                    a.nav-link.active[e == entity] href=(href(e)) aria-current=[(e == entity).then_some("page")] {
                        (ctx.t(&format!("fields.entity_{}", e.as_str())))
                    }
                }
            }
        }
        div.row.g-4 {
            div.col-lg-7 {
                @if rows.is_empty() {
                    p.empty-state #fields-empty { (ctx.t("fields.empty")) }
                } @else {
                    table.table.align-middle #fields {
                        thead { tr {
                            th scope="col" { (ctx.t("fields.label")) }
                            th scope="col" { (ctx.t("fields.kind")) }
                            th scope="col" { (ctx.t("fields.required")) }
                            th scope="col" { span.visually-hidden { (ctx.t("common.actions")) } }
                        } }
                        tbody {
                            @for (i, f) in rows.iter().enumerate() {
                                tr id={"field-" (f.id)} {
                                    td { a href={"/admin/fields/" (f.id)} { (f.label) } }
                                    td { (ctx.t(&format!("fields.kind_{}", f.kind.as_str())))
                                        @if f.kind.has_options() { span.text-secondary.small { " (" (f.options.join("、")) ")" } } }
                                    td { @if f.required { (ctx.t("common.yes")) } @else { (ctx.t("common.no")) } }
                                    td.text-end.text-nowrap {
                                        form.d-inline method="post" action={"/admin/fields/" (f.id) "/up"} {
                                            (csrf_field(&ctx.csrf))
                                            button.btn.btn-sm.btn-outline-secondary.me-1 type="submit" disabled[i == 0] aria-label=(ctx.t("fields.up")) { "↑" }
                                        }
                                        form.d-inline method="post" action={"/admin/fields/" (f.id) "/delete"} hx-boost="true"
                                            hx-confirm=(ctx.locale.tf("fields.confirm_delete", &[("name", &f.label)])) {
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
            div.col-lg-5 {
                section.card {
                    div.card-header { (ctx.t("fields.add")) }
                    div.card-body {
                        form method="post" action="/admin/fields" novalidate {
                            (csrf_field(&ctx.csrf))
                            input type="hidden" name="entity" value=(entity.as_str());
                            (form_body(ctx, input, errors, false))
                            button.btn.btn-primary type="submit" { (ctx.t("fields.add")) }
                        }
                    }
                }
            }
        }
    };
    layout::page(
        ctx,
        Module::Settings,
        "/admin/fields",
        &ctx.t("tab.fields"),
        content,
    )
}

fn edit_page(ctx: &AdminCtx, id: FieldId, input: &FieldForm, errors: &Errors) -> Markup {
    let entity = Entity::parse(&input.entity);
    let content = html! {
        form.narrow-form method="post" action={"/admin/fields/" (id)} novalidate {
            (csrf_field(&ctx.csrf))
            div.form-actions.mb-3 {
                button.btn.btn-primary type="submit" { (ctx.t("common.save")) }
                a.btn.btn-link href=(href(entity)) { (ctx.t("common.cancel")) }
            }
            (form_body(ctx, input, errors, true))
        }
    };
    layout::page(
        ctx,
        Module::Settings,
        "/admin/fields",
        &ctx.t("fields.edit"),
        content,
    )
}

/// Checked field settings.
struct Checked {
    label: String,
    kind: Kind,
    options: Vec<String>,
    required: bool,
}

fn check(ctx: &AdminCtx, input: &FieldForm, errors: &mut Errors) -> Checked {
    let label = forms::check_text(errors, ctx.locale, "label", &input.label, 50);
    let kind = Kind::parse(&input.kind).unwrap_or_else(|| {
        errors.add(ctx.locale, "kind", "form.invalid_choice");
        Kind::Text
    });
    let mut options: Vec<String> = vec![];
    for o in input.options.split(['\n', ',', '，']) {
        let o = o.trim();
        if !o.is_empty() && !options.iter().any(|x| x == o) {
            options.push(o.to_owned());
        }
    }
    if kind.has_options() {
        if options.is_empty() {
            errors.add(ctx.locale, "options", "fields.options_needed");
        } else if options.len() > 100 || options.iter().any(|o| o.chars().count() > 100) {
            errors.add(ctx.locale, "options", "fields.options_too_many");
        }
    } else {
        options.clear();
    }
    Checked {
        label,
        kind,
        options,
        required: input.required.is_some(),
    }
}

/// GET /admin/fields
#[handler]
pub async fn index(
    ctx: AdminCtx,
    state: Data<&State>,
    Query(param): Query<EntityParam>,
) -> AppResult<Markup> {
    let entity = Entity::parse(&param.entity);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = cf::of_entity(tx.reads(), entity).await?;
    tx.commit().await?;
    let input = FieldForm {
        kind: "text".into(),
        ..FieldForm::default()
    };
    Ok(list_page(&ctx, entity, &rows, &input, &Errors::new()))
}

/// POST /admin/fields — adds a field at the end.
#[handler]
pub async fn create(ctx: AdminCtx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    let input: FieldForm = form.parse()?;
    let entity = Entity::parse(&input.entity);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    let mut errors = Errors::new();
    let checked = check(&ctx, &input, &mut errors);
    let existing = cf::of_entity(tx.reads(), entity).await?;
    if existing.len() >= MAX_FIELDS {
        errors.add(ctx.locale, "label", "fields.too_many");
    }
    if errors.is_empty() {
        let next: Option<i32> = custom_fields::table
            .filter(
                custom_fields::tenant_id
                    .eq(tenant)
                    .and(custom_fields::entity.eq(entity.as_str())),
            )
            .select(diesel::dsl::max(custom_fields::position))
            .first(&mut *tx)
            .await?;
        let inserted = diesel::insert_into(custom_fields::table)
            .values((
                custom_fields::tenant_id.eq(tenant),
                custom_fields::entity.eq(entity.as_str()),
                custom_fields::label.eq(&checked.label),
                custom_fields::kind.eq(checked.kind.as_str()),
                custom_fields::options.eq(checked
                    .options
                    .iter()
                    .map(|o| Some(o.as_str()))
                    .collect::<Vec<_>>()),
                custom_fields::required.eq(checked.required),
                custom_fields::position.eq(next.map_or(0, |p| p + 1)),
            ))
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other(href(entity)).into_response());
            }
            Err(e) if is_unique_violation(&e, "custom_fields_tenant_entity_label_key") => {
                errors.add(ctx.locale, "label", "fields.taken");
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.rollback().await?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = cf::of_entity(tx.reads(), entity).await?;
    tx.commit().await?;
    Ok(list_page(&ctx, entity, &rows, &input, &errors)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

/// GET /admin/fields/:id
#[handler]
pub async fn edit_form(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<FieldId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let field = cf::find(&mut tx, id).await?;
    tx.commit().await?;
    Ok(edit_page(
        &ctx,
        field.id,
        &FieldForm::from_field(&field),
        &Errors::new(),
    ))
}

/// POST /admin/fields/:id — label, options and required flag; the type stays.
#[handler]
pub async fn update(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<FieldId>,
    form: RawForm,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    let field = cf::find(&mut tx, id).await?;
    let mut input: FieldForm = form.parse()?;
    input.entity = field.entity.as_str().into();
    input.kind = field.kind.as_str().into();
    let mut errors = Errors::new();
    let checked = check(&ctx, &input, &mut errors);
    if errors.is_empty() {
        let updated = diesel::update(custom_fields::table)
            .filter(
                custom_fields::tenant_id
                    .eq(tenant)
                    .and(custom_fields::id.eq(field.id)),
            )
            .set((
                custom_fields::label.eq(&checked.label),
                custom_fields::options.eq(checked
                    .options
                    .iter()
                    .map(|o| Some(o.as_str()))
                    .collect::<Vec<_>>()),
                custom_fields::required.eq(checked.required),
            ))
            .execute(&mut *tx)
            .await;
        match updated {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::see_other(href(field.entity)).into_response());
            }
            Err(e) if is_unique_violation(&e, "custom_fields_tenant_entity_label_key") => {
                errors.add(ctx.locale, "label", "fields.taken");
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.rollback().await?;
    Ok(edit_page(&ctx, field.id, &input, &errors)
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

/// POST /admin/fields/:id/up — swaps it with the one above.
#[handler]
pub async fn move_up(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<FieldId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    let field = cf::find(&mut tx, id).await?;
    let mut order: Vec<FieldId> = cf::of_entity(tx.reads(), field.entity)
        .await?
        .into_iter()
        .map(|f| f.id)
        .collect();
    if let Some(i) = order.iter().position(|f| *f == field.id)
        && i > 0
    {
        order.swap(i, i - 1);
    }
    for (position, f) in order.iter().enumerate() {
        diesel::update(custom_fields::table)
            .filter(
                custom_fields::tenant_id
                    .eq(tenant)
                    .and(custom_fields::id.eq(f)),
            )
            .set(custom_fields::position.eq(position as i32))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(href(field.entity)).into_response())
}

/// POST /admin/fields/:id/delete — removes the field and its values from every record.
#[handler]
pub async fn delete(
    ctx: AdminCtx,
    state: Data<&State>,
    Path(id): Path<FieldId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    let field = cf::find(&mut tx, id).await?;
    let key = field.key();
    match field.entity {
        Entity::Company => {
            diesel::update(companies::table)
                .filter(companies::tenant_id.eq(tenant))
                .filter(companies::custom.has_key(&key))
                .set(companies::custom.eq(
                    companies::custom.remove(key.as_str().into_sql::<diesel::sql_types::Text>()),
                ))
                .execute(&mut *tx)
                .await?;
        }
        Entity::Contact => {
            diesel::update(contacts::table)
                .filter(contacts::tenant_id.eq(tenant))
                .filter(contacts::custom.has_key(&key))
                .set(contacts::custom.eq(
                    contacts::custom.remove(key.as_str().into_sql::<diesel::sql_types::Text>()),
                ))
                .execute(&mut *tx)
                .await?;
        }
        Entity::Opportunity => {
            diesel::update(opportunities::table)
                .filter(opportunities::tenant_id.eq(tenant))
                .filter(opportunities::custom.has_key(&key))
                .set(
                    opportunities::custom.eq(opportunities::custom
                        .remove(key.as_str().into_sql::<diesel::sql_types::Text>())),
                )
                .execute(&mut *tx)
                .await?;
        }
    }
    diesel::delete(custom_fields::table)
        .filter(
            custom_fields::tenant_id
                .eq(tenant)
                .and(custom_fields::id.eq(field.id)),
        )
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::see_other(href(field.entity)).into_response())
}
