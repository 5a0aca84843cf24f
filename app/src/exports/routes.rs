//! The export pages: ask for one from a list view, watch its progress, download it.

use maud::{Markup, html};
use poem::{
    Body, IntoResponse, Response, handler,
    http::header,
    web::{Data, Path, Redirect},
};
use serde::Deserialize;

use super::{Export, NewExport};
use crate::{
    auth::ctx::Ctx,
    customers::{filter::ListFilter, visibility::View},
    db::TenantTx,
    error::{AppError, AppResult},
    files::FileKey,
    ids::ExportId,
    jobs::RunExport,
    notes::download::content_disposition,
    state::State,
    web::{
        forms::RawForm,
        layout::{self, Module, csrf_field},
    },
};

/// The "export this view" form: format choice and button, for a list page.
pub fn form(ctx: &Ctx, entity: &str, query: &str, view: &str) -> Markup {
    html! {
        form.d-flex.gap-1.align-items-center.export-form method="post" action="/exports" {
            (csrf_field(&ctx.csrf))
            input type="hidden" name="entity" value=(entity);
            input type="hidden" name="query" value=(query);
            input type="hidden" name="view" value=(view);
            label.visually-hidden for="f-export-format" { (ctx.t("exports.format")) }
            select.form-select.form-select-sm.w-auto #f-export-format name="format" {
                option value="xlsx" { "Excel (.xlsx)" }
                option value="csv" { "CSV" }
            }
            button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" { (ctx.t("exports.start")) }
        }
    }
}

/// The export form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExportForm {
    entity: String,
    format: String,
    query: String,
    view: String,
}

/// POST /exports — writes the job row and queues it.
#[handler]
pub async fn create(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    let input: ExportForm = form.parse()?;
    let entity = match input.entity.as_str() {
        "contact" => "contact",
        _ => "company",
    };
    let format = match input.format.as_str() {
        "csv" => "csv",
        _ => "xlsx",
    };
    // Keep only what the lists understand; a non-admin's view is ignored by the scope.
    let query = match entity {
        "company" => ListFilter::from_query(&input.query).to_query(),
        _ => url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(input.query.as_bytes())
                    .filter(|(k, _)| matches!(k.as_ref(), "q" | "cf" | "cv")),
            )
            .finish(),
    };
    let view = View::parse(Some(&input.view)).as_param();
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let id = super::create(
        &mut tx,
        ctx.user,
        NewExport {
            entity,
            format,
            query: &query,
            view: &view,
            locale: ctx.locale.code(),
        },
    )
    .await?;
    tx.commit().await?;
    state
        .queues
        .push_export(RunExport {
            tenant_id: ctx.tenant,
            export_id: id,
        })
        .await;
    Ok(Redirect::see_other(format!("/exports/{id}")).into_response())
}

/// The status of one export; polls itself every second while it runs.
fn status(ctx: &Ctx, e: &Export) -> Markup {
    let running = matches!(e.status.as_str(), "queued" | "running");
    let elapsed = (chrono::Utc::now() - e.created_at)
        .num_milliseconds()
        .max(1) as f64
        / 1000.0;
    let rate = e.rows_done as f64 / elapsed;
    html! {
        div #export-status data-status=(e.status)
            hx-get=[running.then(|| format!("/exports/{}/progress", e.id))]
            hx-trigger=[running.then_some("every 1s")] hx-swap="outerHTML" {
            @let pct = if e.status == "done" { 100 } else { 0 };
            div.progress.mb-2 role="progressbar" aria-label=(ctx.t("exports.progress"))
                aria-valuenow=(pct) aria-valuemin="0" aria-valuemax="100" {
                // Full width throughout: the total is not known up front, so the bar
                // moves (striped) while rows are written and turns green when done.
                div.progress-bar.w-100.progress-bar-striped[running].progress-bar-animated[running]
                    .bg-success[e.status == "done"] .bg-danger[e.status == "failed"] {}
            }
            p.mb-2 {
                strong { (ctx.t(&format!("exports.status_{}", e.status))) }
                " · "
                span.export-rows { (ctx.locale.tf("exports.rows", &[("rows", &e.rows_done.to_string())])) }
                @if running && e.rows_done > 0 {
                    " · " (ctx.locale.tf("exports.rate", &[("rate", &format!("{rate:.0}"))]))
                }
            }
            @if e.status == "done" {
                a.btn.btn-primary #export-download href={"/exports/" (e.id) "/download"} {
                    (ctx.t("exports.download")) " " (e.file_name.as_deref().unwrap_or_default())
                }
            }
            @if e.status == "failed" {
                div.alert.alert-danger { (ctx.t("exports.failed")) " " (e.last_error.as_deref().unwrap_or_default()) }
            } @else if let Some(error) = &e.last_error {
                div.alert.alert-warning.small { (ctx.t("exports.retrying")) " " (error) }
            }
        }
    }
}

/// GET /exports — the user's exports (admins: everyone's).
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = super::recent(&mut tx, ctx.user, ctx.is_admin()).await?;
    tx.commit().await?;
    let content = html! {
        @if rows.is_empty() {
            p.empty-state #exports-empty { (ctx.t("exports.empty")) }
        } @else {
            table.table.align-middle #exports {
                thead { tr {
                    th scope="col" { (ctx.t("exports.when")) }
                    th scope="col" { (ctx.t("exports.what")) }
                    th scope="col" { (ctx.t("exports.status")) }
                    th scope="col" { (ctx.t("exports.rows_label")) }
                } }
                tbody {
                    @for e in &rows {
                        tr id={"export-" (e.id)} {
                            td { a href={"/exports/" (e.id)} { (ctx.datetime(e.created_at)) } }
                            td { (ctx.t(&format!("exports.file_{}", e.entity))) " · " (e.format) }
                            td { (ctx.t(&format!("exports.status_{}", e.status))) }
                            td { (e.rows_done) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/exports",
        &ctx.t("tab.exports"),
        content,
    ))
}

/// GET /exports/:id
#[handler]
pub async fn show(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let export = super::find_for(&mut tx, ExportId(id), ctx.user, ctx.is_admin()).await?;
    tx.commit().await?;
    let content = html! {
        p.text-secondary { (ctx.t(&format!("exports.file_{}", export.entity))) " · " (export.format) }
        (status(&ctx, &export))
        a.btn.btn-link.px-0 href="/exports" { (ctx.t("exports.all")) }
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/exports",
        &ctx.t("exports.title"),
        content,
    ))
}

/// GET /exports/:id/progress — the status fragment htmx polls.
#[handler]
pub async fn progress(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let export = super::find_for(&mut tx, ExportId(id), ctx.user, ctx.is_admin()).await?;
    tx.commit().await?;
    Ok(status(&ctx, &export))
}

/// GET /exports/:id/download — the file, for the user who asked and for admins.
#[handler]
pub async fn download(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let export = super::find_for(&mut tx, ExportId(id), ctx.user, ctx.is_admin()).await?;
    tx.commit().await?;
    let (Some(key), Some(name)) = (&export.file_key, &export.file_name) else {
        return Err(AppError::NotFound);
    };
    let key = FileKey::parse(ctx.tenant, "exports", key)?;
    let Some(stored) = state.files.get_stream(&key).await? else {
        tracing::error!(%key, "an export's file is missing from the file store");
        return Err(AppError::NotFound);
    };
    let content_type = if export.format == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    };
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_DISPOSITION, content_disposition(name))
        .header(header::CONTENT_LENGTH, stored.size)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(Body::from_bytes_stream(stored.chunks))
        .into_response())
}
