//! Create, show, edit and delete a company, and the as-you-type duplicate-name hint.
//!
//! A name whose duplicate key (see `kehu_company_key`) matches an existing company is not
//! created again: the user is taken to that company (or told a colleague holds it).

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Path, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    custom_fields::{self as cf, Entity, Field, Inputs},
    customers::{
        model::{self, Company, CompanyFields},
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action, Diff},
    ids::{CategoryId, CompanyId, UserId},
    state::State,
    users::model::{self as users, User},
    web::{
        ctx::Ctx,
        forms::{self, Errors, Opts, RawForm},
        layout::{self, Module, csrf_field},
    },
};

/// The company form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CompanyForm {
    pub(super) name: String,
    pub(super) phone: String,
    pub(super) email: String,
    pub(super) website: String,
    pub(super) address: String,
    pub(super) introduction: String,
    pub(super) category_id: String,
    pub(super) owner_id: String,
    pub(super) visibility: String,
}

impl CompanyForm {
    pub(super) fn from_company(c: &Company) -> Self {
        Self {
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            website: c.website.clone(),
            address: c.address.clone(),
            introduction: c.introduction.clone(),
            category_id: c.category_id.map(|c| c.to_string()).unwrap_or_default(),
            owner_id: c.owner_id.to_string(),
            visibility: c.visibility.clone(),
        }
    }
}

/// Choices for the select fields.
pub struct Choices {
    pub(super) categories: Vec<(CategoryId, String)>,
    pub(super) people: Vec<User>,
    pub(super) fields: Vec<Field>,
}

pub(super) async fn choices(tx: &mut TenantTx) -> AppResult<Choices> {
    Ok(Choices {
        categories: model::categories(tx).await?,
        people: users::list(tx).await?,
        fields: cf::of_entity(tx.reads(), Entity::Company).await?,
    })
}

fn render(
    ctx: &Ctx,
    editing: Option<CompanyId>,
    input: &CompanyForm,
    custom: &Inputs,
    errors: &Errors,
    choices: &Choices,
) -> Markup {
    let (title, action) = match editing {
        Some(id) => (ctx.t("customers.edit"), format!("/customers/{id}/edit")),
        None => (ctx.t("customers.new"), "/customers/new".to_owned()),
    };
    let mut categories = vec![(String::new(), ctx.t("company.no_category"))];
    categories.extend(
        choices
            .categories
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone())),
    );
    let owners: Vec<(String, String)> = choices
        .people
        .iter()
        .filter(|u| u.status != "disabled" || input.owner_id == u.id.to_string())
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    let visibilities = vec![
        ("private".to_owned(), ctx.t("visibility.private")),
        ("public".to_owned(), ctx.t("visibility.public")),
    ];
    let text = |name: &'static str, key: &str, max: usize| {
        forms::input(
            name,
            &ctx.t(key),
            field(input, name),
            errors.get(name),
            Opts {
                max_len: Some(max),
                ..Opts::default()
            },
        )
    };
    let content = html! {
        form.company-form method="post" action=(action) novalidate {
            (csrf_field(&ctx.csrf))
            div.form-actions.mb-3 {
                button.btn.btn-primary type="submit" { (ctx.t("common.save")) }
                a.btn.btn-link href=(editing.map_or("/customers".to_owned(), |id| format!("/customers/{id}"))) { (ctx.t("common.cancel")) }
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("customers.section_basic")) }
                div.mb-3 {
                    label.form-label for="f-name" { (ctx.t("company.name")) span.text-danger aria-hidden="true" { " *" } }
                    input.form-control.is-invalid[errors.get("name").is_some()] #f-name name="name" type="text"
                        value=(input.name) required autofocus maxlength="200" autocomplete="off"
                        hx-get="/customers/check-name" hx-trigger="input changed delay:300ms" hx-target="#name-hint"
                        hx-vals=(editing.map_or(String::new(), |id| format!(r#"{{"except":"{id}"}}"#)))
                        aria-describedby="name-hint f-name-error";
                    @if let Some(error) = errors.get("name") {
                        div.invalid-feedback #f-name-error { (error) }
                    }
                    div #name-hint aria-live="polite" {}
                }
                (text("phone", "company.phone", 50))
                (text("email", "field.email", 254))
                (text("website", "company.website", 300))
                (text("address", "company.address", 300))
                div.mb-3 {
                    label.form-label for="f-introduction" { (ctx.t("company.introduction")) }
                    textarea.form-control #f-introduction name="introduction" rows="4" maxlength="5000" { (input.introduction) }
                }
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("customers.section_ownership")) }
                (forms::select("category_id", &ctx.t("company.category"), &categories, &input.category_id, errors.get("category_id")))
                (forms::select("owner_id", &ctx.t("company.owner"), &owners, &input.owner_id, errors.get("owner_id")))
                (forms::select("visibility", &ctx.t("company.visibility"), &visibilities, &input.visibility, errors.get("visibility")))
            }
            @if !choices.fields.is_empty() {
                fieldset.form-section #custom-fields {
                    legend.h6 { (ctx.t("fields.section")) }
                    (cf::controls(ctx.locale, &choices.fields, custom, errors))
                }
            }
        }
    };
    layout::page(
        ctx,
        Module::Customers,
        if editing.is_some() {
            "/customers"
        } else {
            "/customers/new"
        },
        &title,
        content,
    )
}

fn field<'a>(input: &'a CompanyForm, name: &str) -> &'a str {
    match name {
        "phone" => &input.phone,
        "email" => &input.email,
        "website" => &input.website,
        "address" => &input.address,
        _ => &input.name,
    }
}

/// Checks a submitted form. An empty owner means `default_owner` (the creator on create,
/// the current owner on edit). Custom fields come with the record's stored values.
pub(super) fn validate(
    ctx: &Ctx,
    scope: &Scope,
    input: &CompanyForm,
    (custom, previous): (&Inputs, &serde_json::Value),
    choices: &Choices,
    default_owner: UserId,
    errors: &mut Errors,
) -> CompanyFields {
    let locale = ctx.locale;
    let name = forms::check_text(errors, locale, "name", &input.name, 200);
    let email = forms::normalize_email(&input.email);
    if !email.is_empty() && !forms::is_valid_email(&email) {
        errors.add(locale, "email", "form.invalid_email");
    }
    let category_id = forms::check_category(
        errors,
        locale,
        &input.category_id,
        &choices.categories,
        CategoryId,
    );
    let owner_id = forms::check_owner(
        errors,
        locale,
        &input.owner_id,
        (&choices.people, scope),
        default_owner,
    );
    let visibility = forms::check_visibility(errors, locale, &input.visibility);
    let limited = |errors: &mut Errors, field: &'static str, value: &str, max: usize| {
        let value = value.trim().to_owned();
        if value.chars().count() > max {
            errors.add(locale, field, "form.too_long");
        }
        value
    };
    CompanyFields {
        name,
        phone: limited(errors, "phone", &input.phone, 50),
        email,
        website: limited(errors, "website", &input.website, 300),
        address: limited(errors, "address", &input.address, 300),
        introduction: limited(errors, "introduction", &input.introduction, 5000),
        category_id,
        owner_id,
        visibility,
        custom: serde_json::Value::Object(cf::validate(
            locale,
            &choices.fields,
            custom,
            previous,
            errors,
        )),
    }
}

/// GET /customers/new
#[handler]
pub async fn new_form(ctx: Ctx, state: Data<&State>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let choices = choices(&mut tx).await?;
    tx.commit().await?;
    let input = CompanyForm {
        owner_id: ctx.user.to_string(),
        visibility: "private".into(),
        ..CompanyForm::default()
    };
    Ok(render(
        &ctx,
        None,
        &input,
        &Inputs::default(),
        &Errors::new(),
        &choices,
    ))
}

/// POST /customers/new
#[handler]
pub async fn create(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    let input: CompanyForm = form.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let choices = choices(&mut tx).await?;
    let custom = Inputs::from_submitted(&choices.fields, form.pairs());
    let mut errors = Errors::new();
    let fields = validate(
        &ctx,
        &scope,
        &input,
        (&custom, &serde_json::Value::Null),
        &choices,
        ctx.user,
        &mut errors,
    );
    if errors.is_empty() {
        model::lock_name(&mut tx, &fields.name).await?;
        // 公司名已经存在: go to the existing company instead of creating a second one.
        if let Some(existing) = first_visible_duplicate(&mut tx, &scope, &fields.name, None).await?
        {
            tx.commit().await?;
            return Ok(
                Redirect::see_other(format!("/customers/{existing}?duplicate=1")).into_response(),
            );
        }
        if !model::same_name(&mut tx, &fields.name).await?.is_empty() {
            errors.add(ctx.locale, "name", "customers.duplicate_hidden");
        }
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(render(&ctx, None, &input, &custom, &errors, &choices)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let id = model::create(&mut tx, &fields, ctx.user).await?;
    history::record(&mut tx, id, Some(ctx.user), Action::Created, "", vec![]).await?;
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/customers/{id}")).into_response())
}

/// The oldest visible company with the same duplicate key, other than `except`.
async fn first_visible_duplicate(
    tx: &mut TenantTx,
    scope: &Scope,
    name: &str,
    except: Option<CompanyId>,
) -> AppResult<Option<CompanyId>> {
    for (id, _, _) in model::same_name(tx, name).await? {
        if Some(id) != except
            && users::not_found_is_none(model::find(tx, scope, id).await)?.is_some()
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Query of the duplicate hint.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HintParams {
    name: String,
    except: Option<i64>,
}

/// GET /customers/check-name — the as-you-type hint under the name field (htmx).
#[handler]
pub async fn check_name(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<HintParams>,
) -> AppResult<Markup> {
    let name = params.name.trim();
    if name.is_empty() {
        return Ok(html! {});
    }
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let except = params.except.map(CompanyId);
    let visible = first_visible_duplicate(&mut tx, &scope, name, except).await?;
    let hidden = visible.is_none()
        && model::same_name(&mut tx, name)
            .await?
            .iter()
            .any(|(id, _, _)| Some(*id) != except);
    tx.commit().await?;
    Ok(html! {
        @if let Some(id) = visible {
            div.form-text.text-warning-emphasis.duplicate-hint {
                (ctx.t("customers.duplicate_hint")) " "
                a href={"/customers/" (id)} { (ctx.t("customers.open_existing")) }
            }
        } @else if hidden {
            div.form-text.text-warning-emphasis.duplicate-hint { (ctx.t("customers.duplicate_hidden")) }
        }
    })
}

/// How many history entries the detail page shows.
const HISTORY_SHOWN: i64 = 50;

/// How many opportunities the detail page lists.
const OPPORTUNITIES_SHOWN: i64 = 20;

/// Query of the detail page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailParams {
    duplicate: Option<u8>,
}

/// GET /customers/:id
#[handler]
pub async fn show(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
    Query(params): Query<DetailParams>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let company = model::find(&mut tx, &scope, id).await?;
    let choices = choices(&mut tx).await?;
    let people = crate::contacts::model::of_company(&mut tx, company.id).await?;
    let tags = crate::tags::model::of_companies(&mut tx, &[company.id])
        .await?
        .remove(&company.id)
        .unwrap_or_default();
    let events = history::of_company(&mut tx, company.id, HISTORY_SHOWN).await?;
    let host = crate::notes::Host::of_company(&company);
    let notes = crate::notes::Timeline::load(&mut tx, &ctx, &scope, &host, None).await?;
    let opportunities =
        crate::opportunities::model::of_company(&mut tx, &scope, company.id, OPPORTUNITIES_SHOWN)
            .await?;
    let pipeline = crate::opportunities::pipeline::load(&mut tx, ctx.locale).await?;
    let tasks = crate::tasks::section::render(
        &mut tx,
        &ctx,
        &scope,
        crate::tasks::model::Link {
            company: Some(company.id),
            opportunity: None,
        },
    )
    .await?;
    tx.commit().await?;
    let manage = scope.can_manage(company.owner_id);
    let content = html! {
        @if params.duplicate.is_some() {
            (layout::notice("warning", &ctx.t("customers.duplicate_redirect")))
        }
        @if manage {
            div.d-flex.gap-2.mb-3 {
                a.btn.btn-primary href={"/customers/" (company.id) "/edit"} { (ctx.t("common.edit")) }
                a.btn.btn-outline-danger href={"/customers/" (company.id) "/delete"} { (ctx.t("common.delete")) }
            }
        }
        div.row.g-3 {
            div.col-lg-7 {
                section.card {
                    div.card-header { (ctx.t("customers.section_basic")) }
                    div.card-body {
                        dl.row.mb-0.company-facts {
                            (super::inline::facts(&ctx, &company, &choices, manage))
                        }
                    }
                }
            }
            div.col-lg-5 {
                section.card.mb-3 #company-tags {
                    div.card-header { (ctx.t("tags.title")) }
                    div.card-body {
                        @if tags.is_empty() { p.text-secondary.mb-2 { (ctx.t("tags.none")) } }
                        div.d-flex.flex-wrap.gap-1.mb-2 {
                            @for (tag, name) in &tags {
                                span.badge.text-bg-info.d-inline-flex.align-items-center.gap-1 data-tag=(tag) {
                                    a.text-reset.text-decoration-none href={"/customers?tag=" (tag)} { (name) }
                                    @if manage {
                                        form.d-inline method="post" action={"/customers/" (company.id) "/untag"} {
                                            (csrf_field(&ctx.csrf))
                                            input type="hidden" name="tag_id" value=(tag);
                                            button.btn-close.btn-close-white.tag-remove type="submit"
                                                aria-label=(ctx.locale.tf("tags.remove_one", &[("name", name)])) {}
                                        }
                                    }
                                }
                            }
                        }
                        @if manage {
                            form.d-flex.gap-2 method="post" action={"/customers/" (company.id) "/tags"} {
                                (csrf_field(&ctx.csrf))
                                label.visually-hidden for="f-tag" { (ctx.t("tags.name")) }
                                input.form-control.form-control-sm #f-tag name="name" maxlength="30" required placeholder=(ctx.t("tags.name"));
                                button.btn.btn-sm.btn-outline-primary.text-nowrap type="submit" { (ctx.t("tags.add")) }
                            }
                        }
                    }
                }
                section.card.mb-3 #company-contacts {
                    div.card-header.d-flex.justify-content-between.align-items-center {
                        span { (ctx.t("customers.contacts")) }
                        @if manage {
                            a.btn.btn-sm.btn-outline-primary href={"/contacts/new?company=" (company.id)} { (ctx.t("contacts.new")) }
                        }
                    }
                    @if people.is_empty() {
                        div.card-body.empty-state { (ctx.t("customers.contacts_soon")) }
                    } @else {
                        ul.list-group.list-group-flush {
                            @for p in &people {
                                li.list-group-item {
                                    a href={"/contacts/" (p.id)} { (p.name) }
                                    @if !p.title.is_empty() { span.text-secondary { " · " (p.title) } }
                                    @let reach = if p.mobile.is_empty() { &p.phone } else { &p.mobile };
                                    @if !reach.is_empty() { span.float-end.text-secondary { (reach) } }
                                }
                            }
                        }
                    }
                }
                (crate::notes::views::section(&ctx, &host, &notes, &Default::default()))
            }
        }
        div.row.g-3.mt-0 {
            div.col-lg-6 {
                (tasks)
            }
            div.col-lg-6 {
                (crate::opportunities::views::of_company(&ctx, company.id, &opportunities, &pipeline))
            }
        }
        section.card.mt-3 #company-history {
            div.card-header { (ctx.t("history.title")) }
            div.card-body {
                @if events.is_empty() {
                    p.empty-state.mb-0 { (ctx.t("history.empty")) }
                } @else {
                    (history::render(&ctx, &events, false))
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/customers",
        &company.name,
        content,
    ))
}

/// Loads a company the user may edit, or 404 (not visible) / 403 (visible, not theirs).
pub(crate) async fn managed(
    tx: &mut TenantTx,
    ctx: &Ctx,
    id: CompanyId,
) -> AppResult<(Scope, Company)> {
    let scope = Scope::resolve(tx, ctx, View::All).await?;
    let company = model::find(tx, &scope, id).await?;
    if !scope.can_manage(company.owner_id) {
        return Err(AppError::Forbidden);
    }
    Ok((scope, company))
}

/// GET /customers/:id/edit
#[handler]
pub async fn edit_form(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, company) = managed(&mut tx, &ctx, id).await?;
    let choices = choices(&mut tx).await?;
    tx.commit().await?;
    Ok(render(
        &ctx,
        Some(company.id),
        &CompanyForm::from_company(&company),
        &Inputs::from_stored(&choices.fields, &company.custom),
        &Errors::new(),
        &choices,
    ))
}

/// POST /customers/:id/edit
#[handler]
pub async fn update(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
    form: RawForm,
) -> AppResult<Response> {
    let input: CompanyForm = form.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, company) = managed(&mut tx, &ctx, id).await?;
    let choices = choices(&mut tx).await?;
    let custom = Inputs::from_submitted(&choices.fields, form.pairs());
    let mut errors = Errors::new();
    let fields = validate(
        &ctx,
        &scope,
        &input,
        (&custom, &company.custom),
        &choices,
        company.owner_id,
        &mut errors,
    );
    if errors.is_empty() {
        model::lock_name(&mut tx, &fields.name).await?;
    }
    if errors.is_empty()
        && model::same_name(&mut tx, &fields.name)
            .await?
            .iter()
            .any(|(other, _, _)| *other != company.id)
    {
        errors.add(ctx.locale, "name", "customers.duplicate_name");
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(
            render(&ctx, Some(company.id), &input, &custom, &errors, &choices)
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response(),
        );
    }
    model::update(&mut tx, company.id, &fields).await?;
    let changes = changes(&choices, &company, &fields);
    if !changes.is_empty() {
        history::record(
            &mut tx,
            company.id,
            Some(ctx.user),
            Action::Updated,
            "",
            changes.into_changes(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/customers/{}", company.id)).into_response())
}

/// What an edit changed, with categories and owners by name and custom fields by label.
pub(super) fn changes(choices: &Choices, old: &Company, new: &CompanyFields) -> Diff {
    let category = |id: Option<CategoryId>| {
        id.and_then(|id| choices.categories.iter().find(|(c, _)| *c == id))
            .map_or("", |(_, name)| name.as_str())
    };
    let person = |id: UserId| {
        choices
            .people
            .iter()
            .find(|u| u.id == id)
            .map_or("", |u| u.name.as_str())
    };
    let mut diff = Diff::default();
    diff.field("company.name", &old.name, &new.name)
        .field("company.phone", &old.phone, &new.phone)
        .field("field.email", &old.email, &new.email)
        .field("company.website", &old.website, &new.website)
        .field("company.address", &old.address, &new.address)
        .field("company.introduction", &old.introduction, &new.introduction)
        .field(
            "company.category",
            category(old.category_id),
            category(new.category_id),
        )
        .field("company.owner", person(old.owner_id), person(new.owner_id))
        .field("company.visibility", &old.visibility, new.visibility);
    for f in &choices.fields {
        diff.custom(
            &f.label,
            &cf::text_of(f, &old.custom),
            &cf::text_of(f, &new.custom),
        );
    }
    diff
}

/// GET /customers/:id/delete — asks for confirmation and warns that it is irreversible.
#[handler]
pub async fn delete_form(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, company) = managed(&mut tx, &ctx, id).await?;
    let opportunities = crate::opportunities::model::count_of_company(&mut tx, company.id).await?;
    tx.commit().await?;
    let content = html! {
        div.alert.alert-danger role="alert" {
            p.mb-2 { strong { (ctx.locale.tf("customers.delete_confirm", &[("name", &company.name)])) } }
            @if opportunities > 0 {
                p.mb-2 #delete-opportunities {
                    (ctx.locale.tf("opportunities.company_delete_warning", &[("count", &opportunities.to_string())]))
                }
            }
            p.mb-0 { (ctx.t("customers.delete_warning")) }
        }
        (layout::confirm_delete_form(
            &ctx,
            &format!("/customers/{}/delete", company.id),
            &ctx.t("customers.delete_submit"),
            &format!("/customers/{}", company.id),
        ))
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/customers",
        &ctx.t("customers.delete_title"),
        content,
    ))
}

/// POST /customers/:id/delete
#[handler]
pub async fn delete(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<CompanyId>,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, company) = managed(&mut tx, &ctx, id).await?;
    let files = model::delete(&mut tx, company.id).await?;
    tx.commit().await?;
    files.remove(&state.files).await;
    Ok(Redirect::see_other("/customers").into_response())
}
