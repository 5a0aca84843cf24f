//! The import pages (admins only): upload, mapping and preview, progress, summary,
//! cancel, undo and the error report.

use std::{collections::HashMap, ops::ControlFlow, path::PathBuf};

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Text},
};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    Body, IntoResponse, Request, Response, handler,
    http::header,
    web::{Data, Path, Redirect},
};
use serde::Deserialize;

use super::{
    Import, NewImport, Settings,
    fields::{self, Checker, Lookups, Slot},
    read::{self, Format, Limits},
    sniff,
};
use crate::{
    custom_fields::{self as cf, Entity, Field},
    customers::model as companies,
    db::TenantTx,
    error::{AppError, AppResult},
    files::FileKey,
    ids::{ImportId, UserId},
    jobs::RunImport,
    notes::{download::content_disposition, upload::sanitize_file_name, views::human_size},
    state::State,
    users::model::{self as users, User},
    web::{
        ctx::Ctx,
        forms::RawForm,
        layout::{self, Module, csrf_field},
    },
};

/// Rows shown on the mapping screen and checked by the preview.
const SAMPLE_ROWS: usize = 10;

fn admin_only(ctx: &Ctx) -> AppResult<()> {
    if super::history::may_see(ctx) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn page(ctx: &Ctx, title: &str, content: Markup) -> Markup {
    layout::page(ctx, Module::Customers, "/imports", title, content)
}

/// What the upload form holds (kept when it is shown again with an error).
#[derive(Clone, Debug, Default)]
struct UploadForm {
    entity: String,
    format: String,
    visibility: String,
    owner_id: String,
}

fn upload_form(
    ctx: &Ctx,
    input: &UploadForm,
    people: &[User],
    max_bytes: u64,
    error: Option<&str>,
) -> Markup {
    let entity = if input.entity == "contact" {
        "contact"
    } else {
        "company"
    };
    let owner = if input.owner_id.is_empty() {
        ctx.user.to_string()
    } else {
        input.owner_id.clone()
    };
    html! {
        form.import-upload.card.card-body.mb-4 method="post" action="/imports" enctype="multipart/form-data" novalidate {
            (csrf_field(&ctx.csrf))
            @if let Some(error) = error {
                div.alert.alert-danger #import-error role="alert" { (error) }
            }
            div.row.g-3 {
                fieldset.col-md-4 {
                    legend.form-label.fs-6 { (ctx.t("imports.what")) }
                    @for (value, key) in [("company", "imports.entity_company"), ("contact", "imports.entity_contact")] {
                        div.form-check {
                            input.form-check-input type="radio" name="entity" id={"f-entity-" (value)} value=(value) checked[entity == value];
                            label.form-check-label for={"f-entity-" (value)} { (ctx.t(key)) }
                        }
                    }
                }
                div.col-md-4 {
                    label.form-label for="f-format" { (ctx.t("imports.format")) }
                    select.form-select #f-format name="format" {
                        option value="" selected[input.format.is_empty()] { (ctx.t("imports.format_auto")) }
                        @for (value, label) in [("xlsx", "Excel (.xlsx)"), ("xls", "Excel 97-2003 (.xls)"), ("ods", "OpenDocument (.ods)"), ("csv", "CSV (.csv)")] {
                            option value=(value) selected[input.format == value] { (label) }
                        }
                    }
                }
                div.col-md-4 {
                    label.form-label for="f-file" { (ctx.t("imports.file")) span.text-danger aria-hidden="true" { " *" } }
                    input.form-control #f-file type="file" name="file" required
                        accept=".xlsx,.xls,.ods,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel,application/vnd.oasis.opendocument.spreadsheet,text/csv";
                    div.form-text #f-file-help {
                        (ctx.locale.tf("imports.limit", &[("size", &human_size(max_bytes as i64))]))
                    }
                }
                div.col-md-4 {
                    label.form-label for="f-visibility" { (ctx.t("imports.visibility")) }
                    select.form-select #f-visibility name="visibility" {
                        option value="private" selected[input.visibility != "public"] { (ctx.t("visibility.private")) }
                        option value="public" selected[input.visibility == "public"] { (ctx.t("visibility.public")) }
                    }
                    div.form-text { (ctx.t("imports.company_only")) }
                }
                div.col-md-4 {
                    label.form-label for="f-owner" { (ctx.t("company.owner")) }
                    select.form-select #f-owner name="owner_id" {
                        @for u in people.iter().filter(|u| u.status != "disabled") {
                            option value=(u.id) selected[owner == u.id.to_string()] { (u.name) }
                        }
                    }
                }
                div.col-12 {
                    button.btn.btn-primary type="submit" { (ctx.t("imports.upload")) }
                }
            }
        }
    }
}

fn status_badge(ctx: &Ctx, i: &Import) -> Markup {
    let class = match i.status.as_str() {
        "done" => "text-bg-success",
        "failed" => "text-bg-danger",
        "running" | "queued" | "undoing" => "text-bg-primary",
        _ => "text-bg-secondary",
    };
    html! { span.badge.(class) { (ctx.t(&format!("imports.status_{}", i.status))) } }
}

fn index_page(
    ctx: &Ctx,
    rows: &[Import],
    input: &UploadForm,
    people: &[User],
    max_bytes: u64,
    error: Option<&str>,
) -> Markup {
    let content = html! {
        p.text-secondary { (ctx.t("imports.intro")) }
        (upload_form(ctx, input, people, max_bytes, error))
        h2.h5 { (ctx.t("imports.history")) }
        @if rows.is_empty() {
            p.empty-state #imports-empty { (ctx.t("imports.empty")) }
        } @else {
            table.table.align-middle #imports {
                thead { tr {
                    th scope="col" { (ctx.t("imports.when")) }
                    th scope="col" { (ctx.t("imports.file")) }
                    th scope="col" { (ctx.t("imports.what")) }
                    th scope="col" { (ctx.t("imports.status")) }
                    th.text-end scope="col" { (ctx.t("imports.created")) }
                    th.text-end scope="col" { (ctx.t("imports.errors")) }
                } }
                tbody {
                    @for i in rows {
                        tr id={"import-" (i.id)} {
                            td { a href={"/imports/" (i.id)} { (ctx.datetime(i.created_at)) } }
                            td.text-break { (i.file_name) }
                            td { (ctx.t(&format!("imports.entity_{}", i.entity))) }
                            td { (status_badge(ctx, i)) }
                            td.text-end { (i.created_count) }
                            td.text-end { (i.error_count) }
                        }
                    }
                }
            }
        }
    };
    page(ctx, &ctx.t("imports.title"), content)
}

/// GET /imports
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>) -> AppResult<Markup> {
    admin_only(&ctx)?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let rows = super::recent(&mut tx).await?;
    let people = users::list(&mut tx).await?;
    tx.commit().await?;
    Ok(index_page(
        &ctx,
        &rows,
        &UploadForm::default(),
        &people,
        state.config.import_max_bytes,
        None,
    ))
}

/// A temporary upload, removed when dropped.
struct TempUpload(PathBuf);

impl Drop for TempUpload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What was wrong with the upload itself.
enum UploadProblem {
    NoFile,
    TooLarge,
}

/// Reads the multipart form, streaming the file to `dest` (at most `max` bytes).
async fn read_upload(
    req: &Request,
    body: Body,
    dest: &std::path::Path,
    max: u64,
) -> AppResult<(UploadForm, Option<String>, Result<u64, UploadProblem>)> {
    use tokio::io::AsyncWriteExt;
    let boundary = req
        .content_type()
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or(AppError::BadRequest)?;
    // A body declared far larger than the limit is refused without reading it.
    let declared = req
        .header(header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max + 64 * 1024) {
        return Ok((UploadForm::default(), None, Err(UploadProblem::TooLarge)));
    }
    let mut parts = multer::Multipart::new(body.into_bytes_stream(), boundary);
    let mut form = UploadForm::default();
    let mut name = None;
    let mut outcome = Err(UploadProblem::NoFile);
    let too_large = |e: &multer::Error| matches!(e, multer::Error::StreamSizeExceeded { .. });
    loop {
        let mut field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if too_large(&e) => return Ok((form, name, Err(UploadProblem::TooLarge))),
            Err(_) => return Err(AppError::BadRequest),
        };
        let field_name = field.name().unwrap_or_default().to_owned();
        if field_name == "file" {
            let raw = field.file_name().unwrap_or_default().to_owned();
            let mut out = tokio::fs::File::create(dest)
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            let mut size: u64 = 0;
            let mut over = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        size += chunk.len() as u64;
                        if size > max {
                            over = true;
                        } else if !over {
                            out.write_all(&chunk)
                                .await
                                .map_err(|e| AppError::Internal(e.into()))?;
                        }
                    }
                    Ok(None) => break,
                    Err(e) if too_large(&e) => {
                        over = true;
                        break;
                    }
                    Err(_) => return Err(AppError::BadRequest),
                }
            }
            out.flush()
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            if over {
                return Ok((form, name, Err(UploadProblem::TooLarge)));
            }
            if !raw.is_empty() || size > 0 {
                name = Some(sanitize_file_name(&raw));
                outcome = Ok(size);
            }
        } else {
            let text = field.text().await.map_err(|_| AppError::BadRequest)?;
            let text: String = text.chars().take(100).collect();
            match field_name.as_str() {
                "entity" => form.entity = text,
                "format" => form.format = text,
                "visibility" => form.visibility = text,
                "owner_id" => form.owner_id = text,
                _ => {}
            }
        }
    }
    Ok((form, name, outcome))
}

/// What the first look at a file found: header row, first rows, estimated total.
struct FirstLook {
    headers: Vec<String>,
    sample: Vec<(u64, Vec<String>)>,
    total: Option<u64>,
}

fn first_look(path: PathBuf, format: Format, locale: &'static str) -> Result<FirstLook, String> {
    let limits = Limits::default();
    let mut headers = vec![];
    let mut sample = vec![];
    read::read(
        &path,
        format,
        &limits,
        &mut |h| {
            headers = h.to_vec();
            ControlFlow::Continue(())
        },
        &mut |row| {
            sample.push((row.number, row.cells));
            if sample.len() >= SAMPLE_ROWS {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .map_err(|e| e.message(locale))?;
    let total = read::estimate_rows(&path, format, &limits);
    // PostgreSQL text cannot hold NUL (the row checks refuse such cells later).
    let clean = |cells: &mut Vec<String>| {
        for c in cells.iter_mut().filter(|c| c.contains('\0')) {
            *c = c.replace('\0', "");
        }
    };
    clean(&mut headers);
    for (_, cells) in &mut sample {
        clean(cells);
    }
    Ok(FirstLook {
        headers,
        sample,
        total,
    })
}

/// POST /imports — upload: store the file, read its header and first rows, write a
/// draft and show the mapping screen.
#[handler]
pub async fn create(
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
    body: Body,
) -> AppResult<Response> {
    admin_only(&ctx)?;
    let max = state.config.import_max_bytes;
    let temp = TempUpload(std::env::temp_dir().join(format!(
        "kehu-upload-{}-{}",
        ctx.tenant,
        uuid::Uuid::new_v4()
    )));
    let (input, name, outcome) = read_upload(req, body, &temp.0, max).await?;
    let problem = match (&outcome, &name) {
        (Err(UploadProblem::TooLarge), _) => Some(
            ctx.locale
                .tf("imports.too_large", &[("size", &human_size(max as i64))]),
        ),
        (Err(UploadProblem::NoFile), _) | (_, None) => Some(ctx.t("imports.no_file")),
        (Ok(0), _) => Some(ctx.t("imports.empty_file")),
        _ => None,
    };
    let name = name.unwrap_or_default();
    let by_name = Format::from_file_name(&name);
    let format = match input.format.as_str() {
        "" => by_name,
        chosen => Format::parse(chosen),
    };
    let problem = problem.or_else(|| match (format, by_name) {
        (None, _) => Some(ctx.t("imports.unknown_format")),
        (Some(f), Some(n)) if f != n => Some(ctx.locale.tf(
            "imports.format_mismatch",
            &[("format", f.as_str()), ("name", &name)],
        )),
        _ => None,
    });
    let entity = if input.entity == "contact" {
        "contact"
    } else {
        "company"
    };
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let people = users::list(&mut tx).await?;
    let owner = match input.owner_id.parse().map(UserId) {
        Ok(id) if people.iter().any(|u| u.id == id && u.status != "disabled") => id,
        _ => ctx.user,
    };
    tx.commit().await?;
    let look = match (problem, format) {
        (None, Some(format)) => {
            let path = temp.0.clone();
            let locale = ctx.locale.code();
            tokio::task::spawn_blocking(move || first_look(path, format, locale))
                .await
                .map_err(|e| AppError::Internal(e.into()))?
        }
        (problem, _) => Err(problem_or(problem, &ctx)),
    };
    let look = match look {
        Ok(look) if look.headers.iter().all(String::is_empty) => Err(ctx.t("imports.no_header")),
        Ok(look) => Ok(look),
        Err(e) => Err(e),
    };
    let (look, format) = match (look, format) {
        (Ok(look), Some(format)) => (look, format),
        (look, _) => {
            let problem = match look {
                Err(p) if !problem_is_empty(&p) => p,
                _ => ctx.t("imports.unknown_format"),
            };
            let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
            let rows = super::recent(&mut tx).await?;
            tx.commit().await?;
            let page = index_page(&ctx, &rows, &input, &people, max, Some(&problem));
            return Ok(page
                .with_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY)
                .into_response());
        }
    };
    let key = FileKey::generate(ctx.tenant, "imports");
    let size = state.files.put_file(&key, &temp.0).await?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let custom = cf::of_entity(tx.reads(), entity_of(entity)).await?;
    let custom_names: Vec<(String, String)> = custom
        .iter()
        .map(|f| (f.input_name(), f.label.clone()))
        .collect();
    let mapping: Vec<String> = sniff::suggest(entity, &look.headers, &custom_names)
        .into_iter()
        .map(|s| {
            s.filter(|k| fields::targets(entity).iter().any(|t| t.key == k) || k.starts_with("cf_"))
                .unwrap_or_default()
        })
        .collect();
    let id = super::create(
        &mut tx,
        ctx.user,
        NewImport {
            entity,
            format,
            file_key: key.as_str(),
            file_name: &name,
            size_bytes: size as i64,
            headers: &look.headers,
            sample: &look.sample,
            mapping: &mapping,
            rows_total: look.total.map(|t| t as i64),
            visibility: if input.visibility == "public" {
                "public"
            } else {
                "private"
            },
            owner_id: owner,
            locale: ctx.locale.code(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/imports/{id}")).into_response())
}

fn problem_or(problem: Option<String>, ctx: &Ctx) -> String {
    problem.unwrap_or_else(|| ctx.t("imports.unknown_format"))
}

fn problem_is_empty(p: &str) -> bool {
    p.trim().is_empty()
}

fn entity_of(entity: &str) -> Entity {
    if entity == "contact" {
        Entity::Contact
    } else {
        Entity::Company
    }
}

/// The mapping screen's form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MappingForm {
    on_duplicate: String,
    visibility: String,
    owner_id: String,
}

/// The mapping screen's choices as read, with the mapping mistakes.
struct Posted {
    mapping: Vec<String>,
    policy: String,
    owner: UserId,
    visibility: String,
    problems: Vec<String>,
}

/// Reads the posted mapping (`map_<column>` per column) and choices; the errors are
/// mapping mistakes (a required field not mapped, a field mapped twice).
fn posted_settings(
    ctx: &Ctx,
    import: &Import,
    form: &RawForm,
    custom: &[Field],
    people: &[User],
) -> AppResult<Posted> {
    let input: MappingForm = form.parse()?;
    let columns = import.header_row().len();
    let pairs: HashMap<&str, &str> = form
        .pairs()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let targets = fields::targets(&import.entity);
    let mapping: Vec<String> = (0..columns)
        .map(|c| {
            let key = pairs
                .get(format!("map_{c}").as_str())
                .copied()
                .unwrap_or("");
            let known = targets.iter().any(|t| t.key == key)
                || custom.iter().any(|f| f.input_name() == key);
            if known { key.to_owned() } else { String::new() }
        })
        .collect();
    let mut problems = vec![];
    for t in targets.iter().filter(|t| t.required) {
        if !mapping.iter().any(|k| k == t.key) {
            problems.push(
                ctx.locale
                    .tf("imports.map_required", &[("field", &ctx.t(t.label))]),
            );
        }
    }
    let mut seen: Vec<&str> = vec![];
    for k in mapping.iter().filter(|k| !k.is_empty()) {
        if seen.contains(&k.as_str()) {
            let label = targets
                .iter()
                .find(|t| t.key == k)
                .map(|t| ctx.t(t.label))
                .or_else(|| {
                    custom
                        .iter()
                        .find(|f| f.input_name() == *k)
                        .map(|f| f.label.clone())
                })
                .unwrap_or_default();
            problems.push(ctx.locale.tf("imports.map_twice", &[("field", &label)]));
        } else {
            seen.push(k);
        }
    }
    let policy = match input.on_duplicate.as_str() {
        "update" => "update",
        "create" => "create",
        _ => "skip",
    };
    let visibility = if input.visibility == "public" {
        "public"
    } else {
        "private"
    };
    let owner = match input.owner_id.parse().map(UserId) {
        Ok(id) if people.iter().any(|u| u.id == id) => id,
        _ => import.owner_id.unwrap_or(ctx.user),
    };
    Ok(Posted {
        mapping,
        policy: policy.to_owned(),
        owner,
        visibility: visibility.to_owned(),
        problems,
    })
}

fn mapping_screen(
    ctx: &Ctx,
    import: &Import,
    custom: &[Field],
    people: &[User],
    problems: &[String],
    preview: Option<Markup>,
) -> Markup {
    let headers = import.header_row();
    let mapping = import.mapping_keys();
    let sample = import.sample_rows();
    let targets = fields::targets(&import.entity);
    let company = import.entity == "company";
    let content = html! {
        p.text-secondary #import-file {
            (ctx.t(&format!("imports.entity_{}", import.entity))) " · " (import.file_name) " · "
            (human_size(import.size_bytes))
            @if let Some(total) = import.rows_total {
                " · " (ctx.locale.tf("imports.rows_about", &[("rows", &total.to_string())]))
            }
        }
        form.import-mapping method="post" action={"/imports/" (import.id) "/start"} novalidate {
            (csrf_field(&ctx.csrf))
            @if !problems.is_empty() {
                div.alert.alert-danger #import-problems role="alert" {
                    ul.mb-0 { @for p in problems { li { (p) } } }
                }
            }
            h2.h6 { (ctx.t("imports.step_mapping")) }
            div.table-responsive.mb-3 {
                table.table.table-sm.align-middle #import-mapping {
                    thead { tr {
                        th scope="col" { (ctx.t("imports.column")) }
                        th scope="col" { (ctx.t("imports.field")) }
                        th scope="col" { (ctx.t("imports.examples")) }
                    } }
                    tbody {
                        @for (c, header) in headers.iter().enumerate() {
                            @let chosen = mapping.get(c).map_or("", String::as_str);
                            tr {
                                th scope="row" {
                                    label for={"f-map-" (c)} {
                                        @if header.is_empty() { span.text-secondary { (ctx.locale.tf("imports.column_n", &[("n", &(c + 1).to_string())])) } }
                                        @else { (header) }
                                    }
                                }
                                td {
                                    select.form-select.form-select-sm id={"f-map-" (c)} name={"map_" (c)} {
                                        option value="" selected[chosen.is_empty()] { (ctx.t("imports.skip_column")) }
                                        @for t in targets {
                                            option value=(t.key) selected[chosen == t.key] {
                                                (ctx.t(t.label)) @if t.required { " *" }
                                            }
                                        }
                                        @if !custom.is_empty() {
                                            optgroup label=(ctx.t("imports.custom_fields")) {
                                                @for f in custom {
                                                    @let name = f.input_name();
                                                    option value=(name) selected[chosen == name] { (f.label) }
                                                }
                                            }
                                        }
                                    }
                                }
                                td.small.text-secondary.text-truncate.import-examples {
                                    (sample.iter().take(3).map(|(_, cells)| cells.get(c).map_or("", String::as_str)).filter(|v| !v.is_empty()).collect::<Vec<_>>().join(" · "))
                                }
                            }
                        }
                    }
                }
            }
            h2.h6 { (ctx.t("imports.step_options")) }
            div.row.g-3.mb-3 {
                fieldset.col-md-4 {
                    legend.form-label.fs-6 { (ctx.t("imports.on_duplicate")) }
                    @for (value, key) in [("skip", "imports.dup_skip"), ("update", "imports.dup_update"), ("create", "imports.dup_create")] {
                        div.form-check {
                            input.form-check-input type="radio" name="on_duplicate" id={"f-dup-" (value)} value=(value) checked[import.on_duplicate == value];
                            label.form-check-label for={"f-dup-" (value)} { (ctx.t(key)) }
                        }
                    }
                    div.form-text { (ctx.t(if company { "imports.dup_help_company" } else { "imports.dup_help_contact" })) }
                }
                @if company {
                    div.col-md-4 {
                        label.form-label for="f-visibility" { (ctx.t("imports.visibility")) }
                        select.form-select #f-visibility name="visibility" {
                            option value="private" selected[import.visibility != "public"] { (ctx.t("visibility.private")) }
                            option value="public" selected[import.visibility == "public"] { (ctx.t("visibility.public")) }
                        }
                    }
                    div.col-md-4 {
                        label.form-label for="f-owner" { (ctx.t("company.owner")) }
                        select.form-select #f-owner name="owner_id" {
                            @for u in people.iter().filter(|u| u.status != "disabled") {
                                option value=(u.id) selected[import.owner_id == Some(u.id)] { (u.name) }
                            }
                        }
                    }
                }
            }
            div.d-flex.gap-2.mb-3 {
                button.btn.btn-outline-primary type="submit" formaction={"/imports/" (import.id) "/preview"}
                    hx-post={"/imports/" (import.id) "/preview"} hx-target="#import-preview" hx-swap="innerHTML" {
                    (ctx.t("imports.preview"))
                }
                button.btn.btn-primary #import-start type="submit" { (ctx.t("imports.start")) }
                a.btn.btn-link href="/imports" { (ctx.t("common.cancel")) }
            }
        }
        div #import-preview aria-live="polite" { @if let Some(p) = preview { (p) } }
    };
    page(ctx, &ctx.t("imports.mapping_title"), content)
}

/// What the preview says of one row.
enum Verdict {
    Ok,
    Duplicate,
    Error(String),
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Checks the sample rows against the mapping and counts duplicates among them and
/// against what the tenant already has.
async fn preview(
    ctx: &Ctx,
    tx: &mut TenantTx,
    import: &Import,
    mapping: &[String],
    custom: &[Field],
) -> AppResult<Markup> {
    let slots = fields::resolve(&import.entity, mapping, custom);
    let headers = import.header_row();
    let mut lookups = Lookups::default();
    for (id, name) in companies::categories(tx).await? {
        lookups.categories.insert(name.to_lowercase(), id);
    }
    for u in users::list(tx).await? {
        lookups.people.entry(u.email.to_lowercase()).or_insert(u.id);
        lookups.people.entry(u.name.to_lowercase()).or_insert(u.id);
    }
    let checker = Checker {
        entity: &import.entity,
        slots: &slots,
        fields: custom,
        headers: &headers,
        lookups: &lookups,
        locale: ctx.locale,
    };
    let sample = import.sample_rows();
    let mut scratch = vec![];
    let checked: Vec<(u64, &Vec<String>, Result<(), fields::Refusal>)> = sample
        .iter()
        .map(|(no, cells)| (*no, cells, checker.check(*no, cells, &mut scratch)))
        .collect();
    // Duplicate keys: the company name (companies) or the company (contacts).
    let name_col = slots.iter().position(|s| *s == Some(Slot::Builtin(0)));
    let names: Vec<String> = checked
        .iter()
        .filter(|(_, _, r)| r.is_ok())
        .filter_map(|(_, cells, _)| name_col.and_then(|c| cells.get(c)).cloned())
        .collect();
    // Companies: existing companies with the same name key. Contacts: whether the
    // company they name exists.
    let keys: Vec<Key> = diesel::sql_query(
        "SELECT n.name, kehu_company_key(n.name) AS key, count(c.id) AS n
           FROM unnest($1::text[]) AS n(name)
           LEFT JOIN companies c ON c.tenant_id = kehu_current_tenant() AND c.name_key = kehu_company_key(n.name)
          GROUP BY n.name",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&names)
    .load(&mut **tx)
    .await?;
    let found: HashMap<&str, (&str, i64)> = keys
        .iter()
        .map(|k| (k.name.as_str(), (k.key.as_str(), k.n)))
        .collect();
    let contact = import.entity == "contact";
    let mut seen: Vec<&str> = vec![];
    let mut error_rows = 0;
    let mut duplicates = 0;
    let shown: Vec<usize> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some())
        .map(|(c, _)| c)
        .collect();
    let verdicts: Vec<(u64, &Vec<String>, Verdict)> = checked
        .into_iter()
        .map(|(no, cells, result)| {
            let name = name_col
                .and_then(|c| cells.get(c))
                .map_or("", String::as_str);
            let (key, existing) = found.get(name).copied().unwrap_or((name, 0));
            let repeat = !key.is_empty() && seen.contains(&key);
            if !key.is_empty() && result.is_ok() {
                seen.push(key);
            }
            let verdict = match result {
                Err(r) => Verdict::Error(r.reason),
                Ok(()) if contact && existing == 0 => {
                    Verdict::Error(ctx.t("imports.err_no_company").replace("%{name}", name))
                }
                Ok(()) if !contact && (existing > 0 || repeat) => Verdict::Duplicate,
                Ok(()) => Verdict::Ok,
            };
            match verdict {
                Verdict::Error(_) => error_rows += 1,
                Verdict::Duplicate => duplicates += 1,
                Verdict::Ok => {}
            }
            (no, cells, verdict)
        })
        .collect();
    let rows = html! {
        @for (no, cells, verdict) in &verdicts {
            tr.table-danger[matches!(verdict, Verdict::Error(_))] .table-warning[matches!(verdict, Verdict::Duplicate)] {
                td { (no) }
                // The verdict before the cells: with many columns these scroll sideways.
                td.import-verdict {
                    @match verdict {
                        Verdict::Error(reason) => { span.text-danger { (reason) } }
                        Verdict::Duplicate => { span.text-warning-emphasis { (ctx.t("imports.preview_duplicate")) } }
                        Verdict::Ok => { span.text-success { (ctx.t("imports.preview_ok")) } }
                    }
                }
                @for c in &shown { td.text-truncate.import-cell { (cells.get(*c).map_or("", String::as_str)) } }
            }
        }
    };
    Ok(html! {
        h2.h6 { (ctx.t("imports.step_preview")) }
        p #import-preview-counts {
            (ctx.locale.tf("imports.preview_counts", &[
                ("rows", &verdicts.len().to_string()),
                ("errors", &error_rows.to_string()),
                ("duplicates", &duplicates.to_string()),
            ]))
        }
        div.table-responsive {
            table.table.table-sm.small.align-middle #import-preview-table {
                thead { tr {
                    th.text-nowrap scope="col" { (ctx.t("imports.report_row")) }
                    th.text-nowrap scope="col" { (ctx.t("imports.preview_result")) }
                    @for c in &shown { th.text-truncate.import-cell scope="col" { (headers.get(*c).map_or("", String::as_str)) } }
                } }
                tbody { (rows) }
            }
        }
    })
}

async fn load(
    ctx: &Ctx,
    state: &State,
    id: ImportId,
) -> AppResult<(TenantTx, Import, Vec<Field>, Vec<User>)> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let import = super::find(&mut tx, id).await?;
    let custom = cf::of_entity(tx.reads(), entity_of(&import.entity)).await?;
    let people = users::list(&mut tx).await?;
    Ok((tx, import, custom, people))
}

/// Reads the mapping screen's choices, saves them on the draft and on `import`; returns
/// the mapping and the mapping mistakes.
async fn save_posted(
    ctx: &Ctx,
    tx: &mut TenantTx,
    import: &mut Import,
    form: &RawForm,
    custom: &[Field],
    people: &[User],
) -> AppResult<(Vec<String>, Vec<String>)> {
    let Posted {
        mapping,
        policy,
        owner,
        visibility,
        problems,
    } = posted_settings(ctx, import, form, custom, people)?;
    super::save_settings(
        tx,
        import.id,
        &Settings {
            mapping: &mapping,
            visibility: &visibility,
            owner_id: owner,
            on_duplicate: &policy,
        },
    )
    .await?;
    import.mapping = serde_json::json!(mapping);
    import.on_duplicate = policy;
    import.visibility = visibility;
    import.owner_id = Some(owner);
    Ok((mapping, problems))
}

/// POST /imports/:id/preview — saves the choices and checks the first rows (htmx: the
/// preview fragment; otherwise the whole screen with it).
#[handler]
pub async fn preview_rows(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ImportId>,
    req: &Request,
    form: RawForm,
) -> AppResult<Response> {
    admin_only(&ctx)?;
    let (mut tx, mut import, custom, people) = load(&ctx, &state, id).await?;
    if import.status != "draft" {
        return Ok(Redirect::see_other(format!("/imports/{id}")).into_response());
    }
    let (mapping, problems) =
        save_posted(&ctx, &mut tx, &mut import, &form, &custom, &people).await?;
    let preview = preview(&ctx, &mut tx, &import, &mapping, &custom).await?;
    tx.commit().await?;
    let preview = html! {
        @if !problems.is_empty() {
            div.alert.alert-warning role="alert" { ul.mb-0 { @for p in &problems { li { (p) } } } }
        }
        (preview)
    };
    if req.header("HX-Request").is_some() {
        return Ok(preview.into_response());
    }
    Ok(mapping_screen(&ctx, &import, &custom, &people, &[], Some(preview)).into_response())
}

/// POST /imports/:id/start — saves the choices and queues the import.
#[handler]
pub async fn start(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ImportId>,
    form: RawForm,
) -> AppResult<Response> {
    admin_only(&ctx)?;
    let (mut tx, mut import, custom, people) = load(&ctx, &state, id).await?;
    if import.status != "draft" {
        return Ok(Redirect::see_other(format!("/imports/{id}")).into_response());
    }
    let (_, problems) = save_posted(&ctx, &mut tx, &mut import, &form, &custom, &people).await?;
    if !problems.is_empty() {
        tx.commit().await?;
        return Ok(
            mapping_screen(&ctx, &import, &custom, &people, &problems, None)
                .with_status(poem::http::StatusCode::UNPROCESSABLE_ENTITY)
                .into_response(),
        );
    }
    super::queue(&mut tx, import.id, &["draft"], "queued").await?;
    tx.commit().await?;
    state
        .queues
        .push(RunImport {
            tenant_id: ctx.tenant,
            import_id: import.id,
        })
        .await;
    Ok(Redirect::see_other(format!("/imports/{id}")).into_response())
}

/// The first records an import created, linking to them.
type FirstRows = Vec<(i64, String, String)>;

/// The live status: progress bar, counts, rate, time left, the actions and, once the
/// import has stopped, its first records (in the fragment, so that the poll that sees
/// the import finish shows them too).
fn status(ctx: &Ctx, i: &Import, first: &[(i64, String, String)]) -> Markup {
    let active = i.is_active();
    let elapsed = i
        .started_at
        .map(|s| (chrono::Utc::now() - s).num_milliseconds().max(1) as f64 / 1000.0);
    let rate = elapsed.map(|e| i.rows_done as f64 / e).unwrap_or(0.0);
    let total = i.rows_total.unwrap_or(0).max(i.rows_done);
    let pct = match i.status.as_str() {
        "done" | "undone" => 100,
        _ if total > 0 => (i.rows_done * 100 / total).min(99),
        _ => 0,
    };
    let left = (rate > 0.0 && total > i.rows_done)
        .then(|| ((total - i.rows_done) as f64 / rate).ceil() as i64);
    html! {
        div #import-status data-status=(i.status)
            hx-get=[active.then(|| format!("/imports/{}/progress", i.id))]
            hx-trigger=[active.then_some("every 1s")] hx-swap="outerHTML" {
            div.d-flex.align-items-center.gap-2.mb-2 {
                progress.import-progress.flex-grow-1 #import-progress value=(pct) max="100"
                    aria-label=(ctx.t("imports.progress")) .is-active[active]
                    .is-done[i.status == "done"] .is-failed[i.status == "failed"] { (pct) "%" }
                span.import-pct { (pct) "%" }
            }
            p.mb-2 #import-counts {
                (status_badge(ctx, i)) " "
                (ctx.locale.tf("imports.rows_done", &[("rows", &i.rows_done.to_string()), ("total", &total.to_string())]))
                @if active && i.rows_done > 0 {
                    " · " (ctx.locale.tf("imports.rate", &[("rate", &format!("{rate:.0}"))]))
                    @if let Some(left) = left {
                        " · " (ctx.locale.tf("imports.time_left", &[("seconds", &left.to_string())]))
                    }
                }
            }
            @if i.has_run() {
                dl.row.mb-3 #import-summary {
                    @for (key, value) in [
                        ("imports.total", i.rows_done),
                        ("imports.created", i.created_count),
                        ("imports.updated", i.updated_count),
                        ("imports.duplicates", i.duplicate_count),
                        ("imports.errors", i.error_count),
                    ] {
                        dt.col-sm-3.col-lg-2 { (ctx.t(key)) }
                        dd.col-sm-9.col-lg-10 data-count=(key) { (value) }
                    }
                }
            }
            @if i.status == "failed" {
                div.alert.alert-danger #import-failed { (ctx.t("imports.failed")) " " (i.last_error.as_deref().unwrap_or_default()) }
            } @else if active && let Some(error) = &i.last_error {
                div.alert.alert-warning.small { (ctx.t("imports.retrying")) " " (error) }
            }
            div.d-flex.gap-2.flex-wrap.mb-3 {
                @if matches!(i.status.as_str(), "queued" | "running") && !i.cancel_requested {
                    form method="post" action={"/imports/" (i.id) "/cancel"} {
                        (csrf_field(&ctx.csrf))
                        button.btn.btn-outline-danger #import-cancel type="submit" { (ctx.t("imports.cancel")) }
                    }
                }
                @if i.cancel_requested && active {
                    span.text-secondary { (ctx.t("imports.cancelling")) }
                }
                @if i.error_count > 0 && !active {
                    a.btn.btn-outline-secondary #import-report href={"/imports/" (i.id) "/errors"} { (ctx.t("imports.download_report")) }
                }
                @if matches!(i.status.as_str(), "done" | "cancelled" | "failed") && (i.created_count > 0 || i.updated_count > 0) {
                    a.btn.btn-outline-danger #import-undo href={"/imports/" (i.id) "/undo"} { (ctx.t("imports.undo")) }
                }
            }
            (first_rows(ctx, i, first))
        }
    }
}

fn first_rows(ctx: &Ctx, i: &Import, first: &[(i64, String, String)]) -> Markup {
    let contact = i.entity == "contact";
    html! {
        @if !first.is_empty() {
            h2.h6.mt-4 { (ctx.t("imports.first_rows")) }
            table.table.table-sm #import-first {
                thead { tr {
                    th scope="col" { (ctx.t(if contact { "field.name" } else { "company.name" })) }
                    @if contact { th scope="col" { (ctx.t("contact.company")) } }
                } }
                tbody {
                    @for (rid, name, company) in first {
                        tr {
                            td { a href={(if contact { "/contacts/" } else { "/customers/" }) (rid)} { (name) } }
                            @if contact { td { (company) } }
                        }
                    }
                }
            }
        }
    }
}

/// The first records of an import that has stopped (none while it runs: the poll
/// stays cheap).
async fn first_rows_of(tx: &mut TenantTx, import: &Import) -> AppResult<FirstRows> {
    if import.is_active() {
        Ok(vec![])
    } else {
        super::run::first_created(tx, import, 10).await
    }
}

/// GET /imports/:id — the mapping screen (draft), or the progress and summary.
#[handler]
pub async fn show(ctx: Ctx, state: Data<&State>, Path(id): Path<ImportId>) -> AppResult<Markup> {
    admin_only(&ctx)?;
    let (mut tx, import, custom, people) = load(&ctx, &state, id).await?;
    if import.status == "draft" {
        tx.commit().await?;
        return Ok(mapping_screen(&ctx, &import, &custom, &people, &[], None));
    }
    let first = first_rows_of(&mut tx, &import).await?;
    tx.commit().await?;
    let content = html! {
        p.text-secondary {
            (ctx.t(&format!("imports.entity_{}", import.entity))) " · " (import.file_name) " · "
            (ctx.t(&format!("imports.dup_{}", import.on_duplicate)))
        }
        (status(&ctx, &import, &first))
        a.btn.btn-link.px-0 href="/imports" { (ctx.t("imports.all")) }
    };
    // Without JavaScript the page reloads itself while the import (or its undo) runs.
    let (title, live) = (ctx.t("imports.title"), import.is_active());
    Ok(layout::job_page(
        &ctx,
        Module::Customers,
        "/imports",
        &title,
        live,
        content,
    ))
}

/// GET /imports/:id/progress — the status fragment htmx polls.
#[handler]
pub async fn progress(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ImportId>,
) -> AppResult<Markup> {
    admin_only(&ctx)?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let import = super::find(&mut tx, id).await?;
    let first = first_rows_of(&mut tx, &import).await?;
    tx.commit().await?;
    Ok(status(&ctx, &import, &first))
}

/// POST /imports/:id/cancel
#[handler]
pub async fn cancel(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ImportId>,
) -> AppResult<Response> {
    admin_only(&ctx)?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    super::find(&mut tx, id).await?;
    super::request_cancel(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/imports/{id}")).into_response())
}

/// GET /imports/:id/undo — asks first.
#[handler]
pub async fn undo_confirm(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ImportId>,
) -> AppResult<Markup> {
    admin_only(&ctx)?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let import = super::find(&mut tx, id).await?;
    tx.commit().await?;
    let content = html! {
        p #undo-what {
            (ctx.locale.tf("imports.undo_what", &[
                ("created", &import.created_count.to_string()),
                ("updated", &import.updated_count.to_string()),
            ]))
        }
        p.text-danger { (ctx.t("imports.undo_warning")) }
        (layout::confirm_delete_form(&ctx, &format!("/imports/{id}/undo"), &ctx.t("imports.undo"), &format!("/imports/{id}")))
    };
    Ok(page(&ctx, &ctx.t("imports.undo_title"), content))
}

/// POST /imports/:id/undo — queues the undo.
#[handler]
pub async fn undo(ctx: Ctx, state: Data<&State>, Path(id): Path<ImportId>) -> AppResult<Response> {
    admin_only(&ctx)?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    super::find(&mut tx, id).await?;
    let queued = super::queue_undo(&mut tx, id, ctx.user).await?;
    tx.commit().await?;
    if queued {
        state
            .queues
            .push(RunImport {
                tenant_id: ctx.tenant,
                import_id: id,
            })
            .await;
    }
    Ok(Redirect::see_other(format!("/imports/{id}")).into_response())
}

/// GET /imports/:id/errors — the error report (`.xlsx`).
#[handler]
pub async fn errors(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<ImportId>,
) -> AppResult<Response> {
    admin_only(&ctx)?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let import = super::find(&mut tx, id).await?;
    tx.commit().await?;
    let temp = TempUpload(std::env::temp_dir().join(format!(
        "kehu-report-{}-{}.xlsx",
        ctx.tenant,
        uuid::Uuid::new_v4()
    )));
    super::report::write(&state.db, ctx.tenant, import.id, ctx.locale, &temp.0).await?;
    let bytes = tokio::fs::read(&temp.0)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let stem: String = import
        .file_name
        .rsplit_once('.')
        .map_or(import.file_name.as_str(), |(s, _)| s)
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let name = format!(
        "{}-{stem}-{}.xlsx",
        ctx.t("imports.report_file"),
        ctx.today()
    );
    Ok(Response::builder()
        .header(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .header(header::CONTENT_DISPOSITION, content_disposition(&name))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(bytes))
}
