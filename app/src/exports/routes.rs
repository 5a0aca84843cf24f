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
    db::TenantTx,
    error::{AppError, AppResult},
    files::FileKey,
    ids::ExportId,
    jobs::RunExport,
    listing::filter::ListFilter,
    notes::download::content_disposition,
    state::State,
    visibility::View,
    web::{
        ctx::Ctx,
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
        "opportunity" => "opportunity",
        _ => "company",
    };
    let format = match input.format.as_str() {
        "csv" => "csv",
        _ => "xlsx",
    };
    // Keep only what the lists understand; a non-admin's view is ignored by the scope.
    let query = match super::write::list_of(entity) {
        Some(spec) => ListFilter::from_query(spec, &input.query).to_query(spec),
        None => url::form_urlencoded::Serializer::new(String::new())
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
        .push(RunExport {
            tenant_id: ctx.tenant,
            export_id: id,
        })
        .await;
    Ok(Redirect::see_other(format!("/exports/{id}")).into_response())
}

/// "1 分 5 秒" / "1 min 5 s": a time left, to the second under an hour.
pub fn duration_text(locale: crate::i18n::Locale, seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let n = |v: i64| v.to_string();
    if h > 0 {
        locale.tf("exports.hours", &[("h", &n(h)), ("m", &n(m))])
    } else if m > 0 {
        locale.tf("exports.minutes", &[("m", &n(m)), ("s", &n(sec))])
    } else {
        locale.tf("exports.seconds", &[("s", &n(sec))])
    }
}

/// The status of one export; polls itself every second while it runs. While it runs it
/// shows the rows written of the total (counted when the attempt started), the rate and
/// the time left at that rate.
fn status(ctx: &Ctx, e: &Export) -> Markup {
    let running = e.is_running();
    let (rate, eta) = e.rate_and_eta(chrono::Utc::now());
    let total = e.rows_total.filter(|t| *t > 0);
    let pct = match (e.status.as_str(), total) {
        ("done", _) => 100,
        (_, Some(t)) => (e.rows_done.clamp(0, t) * 100 / t).min(99),
        _ => 0,
    };
    html! {
        div #export-status data-status=(e.status)
            hx-get=[running.then(|| format!("/exports/{}/progress", e.id))]
            hx-trigger=[running.then_some("every 1s")] hx-swap="outerHTML" {
            @if let (true, Some(t)) = (running && e.status == "running", total) {
                // The exact share written (a native bar: the CSP allows no inline style).
                progress.export-progress.w-100.mb-2 value=(e.rows_done.clamp(0, t)) max=(t)
                    aria-label=(ctx.t("exports.progress")) { (pct) "%" }
            } @else {
                div.progress.mb-2 role="progressbar" aria-label=(ctx.t("exports.progress"))
                    aria-valuenow=(pct) aria-valuemin="0" aria-valuemax="100" {
                    // Full width: striped while queued or not yet counted, green when done.
                    div.progress-bar.w-100.progress-bar-striped[running].progress-bar-animated[running]
                        .bg-success[e.status == "done"] .bg-danger[e.status == "failed"] {}
                }
            }
            p.mb-2 {
                strong { (ctx.t(&format!("exports.status_{}", e.status))) }
                " · "
                span.export-rows {
                    @if let Some(t) = total {
                        (ctx.locale.tf("exports.rows_of", &[("rows", &e.rows_done.to_string()), ("total", &t.to_string())]))
                    } @else {
                        (ctx.locale.tf("exports.rows", &[("rows", &e.rows_done.to_string())]))
                    }
                }
                @if let (true, Some(rate)) = (running, rate) {
                    " · " span.export-rate { (ctx.locale.tf("exports.rate", &[("rate", &format!("{rate:.0}"))])) }
                    @if let Some(eta) = eta {
                        " · " span.export-eta { (ctx.locale.tf("exports.eta", &[("time", &duration_text(ctx.locale, eta))])) }
                    }
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
                            td {
                                (e.rows_done)
                                @if let (false, Some(t)) = (e.status == "done", e.rows_total) { " / " (t) }
                            }
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
pub async fn show(ctx: Ctx, state: Data<&State>, Path(id): Path<ExportId>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let export = super::find_for(&mut tx, id, ctx.user, ctx.is_admin()).await?;
    tx.commit().await?;
    let content = html! {
        p.text-secondary { (ctx.t(&format!("exports.file_{}", export.entity))) " · " (export.format) }
        (status(&ctx, &export))
        a.btn.btn-link.px-0 href="/exports" { (ctx.t("exports.all")) }
    };
    // Without JavaScript the page reloads itself until the export has finished.
    let (title, live) = (ctx.t("exports.title"), export.is_running());
    Ok(layout::job_page(
        &ctx,
        Module::Customers,
        "/exports",
        &title,
        live,
        content,
    ))
}

/// GET /exports/:id/progress — the status fragment htmx polls.
#[handler]
pub async fn progress(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ExportId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let export = super::find_for(&mut tx, id, ctx.user, ctx.is_admin()).await?;
    tx.commit().await?;
    Ok(status(&ctx, &export))
}

/// GET /exports/:id/download — the file, for the user who asked and for admins.
#[handler]
pub async fn download(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ExportId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let export = super::find_for(&mut tx, id, ctx.user, ctx.is_admin()).await?;
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

#[cfg(test)]
mod tests {
    use super::duration_text;
    use crate::i18n::Locale;

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(duration_text(Locale::ZhCn, 5), "5 秒");
        assert_eq!(duration_text(Locale::ZhCn, 65), "1 分 5 秒");
        assert_eq!(
            duration_text(Locale::ZhCn, 3 * 3600 + 120 + 9),
            "3 小时 2 分"
        );
        assert_eq!(duration_text(Locale::En, 65), "1 min 5 s");
        assert_eq!(duration_text(Locale::En, -3), "0 s");
    }
}
