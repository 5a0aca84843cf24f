//! Create, show, edit and delete a contact. The company is typed by name through the
//! shared company field (`customers::picker`), which offers matching visible companies as
//! the user types.

use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Path, Query, Redirect},
};
use serde::Deserialize;

use crate::{
    contacts::model::{self, Contact, ContactFields},
    custom_fields::{self as cf, Entity, Field, Inputs},
    customers::{
        model::{self as companies, Company},
        picker,
        visibility::{Scope, View},
    },
    db::TenantTx,
    error::{AppError, AppResult},
    history::{self, Action, Diff},
    ids::{CompanyId, ContactId},
    state::State,
    web::{
        ctx::Ctx,
        forms::{self, Errors, Kind, Opts, RawForm},
        layout::{self, Module, csrf_field},
    },
};

/// The contact form as submitted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    company: String,
    name: String,
    title: String,
    phone: String,
    mobile: String,
    email: String,
    qq: String,
    wechat: String,
    other_im: String,
    weibo: String,
}

impl ContactForm {
    fn from_contact(c: &Contact, company: &str) -> Self {
        Self {
            company: company.to_owned(),
            name: c.name.clone(),
            title: c.title.clone(),
            phone: c.phone.clone(),
            mobile: c.mobile.clone(),
            email: c.email.clone(),
            qq: c.qq.clone(),
            wechat: c.wechat.clone(),
            other_im: c.other_im.clone(),
            weibo: c.weibo.clone(),
        }
    }

    fn from_fields(f: &ContactFields) -> Self {
        Self {
            company: String::new(),
            name: f.name.clone(),
            title: f.title.clone(),
            phone: f.phone.clone(),
            mobile: f.mobile.clone(),
            email: f.email.clone(),
            qq: f.qq.clone(),
            wechat: f.wechat.clone(),
            other_im: f.other_im.clone(),
            weibo: f.weibo.clone(),
        }
    }

    fn get(&self, field: &str) -> &str {
        match field {
            "name" => &self.name,
            "title" => &self.title,
            "phone" => &self.phone,
            "mobile" => &self.mobile,
            "email" => &self.email,
            "qq" => &self.qq,
            "wechat" => &self.wechat,
            "other_im" => &self.other_im,
            "weibo" => &self.weibo,
            _ => &self.company,
        }
    }
}

/// Text fields after the company: (name, locale key, max length).
const FIELDS: [(&str, &str, usize); 9] = [
    ("name", "field.name", 100),
    ("title", "contact.title", 100),
    ("phone", "company.phone", 50),
    ("mobile", "contact.mobile", 50),
    ("email", "field.email", 254),
    ("qq", "contact.qq", 50),
    ("wechat", "contact.wechat", 100),
    ("other_im", "contact.other_im", 200),
    ("weibo", "contact.weibo", 200),
];

/// The custom fields of contacts and the form's values for them.
struct Custom<'a> {
    fields: &'a [Field],
    inputs: &'a Inputs,
}

fn render(
    ctx: &Ctx,
    editing: Option<ContactId>,
    input: &ContactForm,
    custom: Custom<'_>,
    errors: &Errors,
) -> Markup {
    let (title, action, cancel) = match editing {
        Some(id) => (
            ctx.t("contacts.edit"),
            format!("/contacts/{id}/edit"),
            format!("/contacts/{id}"),
        ),
        None => (
            ctx.t("contacts.new"),
            "/contacts/new".to_owned(),
            "/contacts".to_owned(),
        ),
    };
    let content = html! {
        form.contact-form method="post" action=(action) novalidate {
            (csrf_field(&ctx.csrf))
            div.form-actions.mb-3 {
                button.btn.btn-primary type="submit" { (ctx.t("common.save")) }
                a.btn.btn-link href=(cancel) { (ctx.t("common.cancel")) }
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("contacts.section_company")) }
                (picker::field(ctx.locale, &ctx.t("contact.company"), &input.company, errors.get("company"),
                    (editing.is_none() && input.company.is_empty(), true)))
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("contacts.section_person")) }
                @for (name, key, max) in FIELDS {
                    (forms::input(name, &ctx.t(key), input.get(name), errors.get(name), Opts {
                        kind: if name == "email" { Kind::Email } else { Kind::Text },
                        required: name == "name",
                        autofocus: name == "name" && editing.is_none() && !input.company.is_empty(),
                        max_len: Some(max),
                        ..Opts::default()
                    }))
                }
            }
            @if !custom.fields.is_empty() {
                fieldset.form-section #custom-fields {
                    legend.h6 { (ctx.t("fields.section")) }
                    (cf::controls(ctx.locale, custom.fields, custom.inputs, errors))
                }
            }
        }
    };
    layout::page(
        ctx,
        Module::Customers,
        if editing.is_some() {
            "/contacts"
        } else {
            "/contacts/new"
        },
        &title,
        content,
    )
}

/// Checks a submitted form; the company must be one the user may manage.
async fn validate(
    tx: &mut TenantTx,
    ctx: &Ctx,
    scope: &Scope,
    input: &ContactForm,
    (custom, previous): (Custom<'_>, &serde_json::Value),
    errors: &mut Errors,
) -> AppResult<Option<ContactFields>> {
    let locale = ctx.locale;
    let custom = cf::validate(locale, custom.fields, custom.inputs, previous, errors);
    let company = match picker::resolve(tx, scope, locale, &input.company, errors).await? {
        Some(company) if scope.can_manage(company.owner_id) => Some(company.id),
        Some(_) => {
            errors.add(locale, "company", "contacts.company_not_yours");
            None
        }
        None => None,
    };
    let mut values = Vec::with_capacity(FIELDS.len());
    for (name, _, max) in FIELDS {
        let value = input.get(name).trim().to_owned();
        if name == "name" && value.is_empty() {
            errors.add(locale, "name", "form.required");
        } else if value.chars().count() > max {
            errors.add(locale, name, "form.too_long");
        }
        values.push(value);
    }
    let email = forms::normalize_email(&values[4]);
    if !email.is_empty() && !forms::is_valid_email(&email) {
        errors.add(locale, "email", "form.invalid_email");
    }
    let Some(company_id) = company else {
        return Ok(None);
    };
    if !errors.is_empty() {
        return Ok(None);
    }
    let mut v = values.into_iter();
    let mut next = || v.next().unwrap_or_default();
    Ok(Some(ContactFields {
        company_id,
        name: next(),
        title: next(),
        phone: next(),
        mobile: next(),
        email: {
            next();
            email
        },
        qq: next(),
        wechat: next(),
        other_im: next(),
        weibo: next(),
        custom: serde_json::Value::Object(custom),
    }))
}

/// Query of the new-contact page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewParams {
    company: Option<i64>,
}

/// GET /contacts/new — `?company=<id>` prefills the company.
#[handler]
pub async fn new_form(
    ctx: Ctx,
    state: Data<&State>,
    Query(params): Query<NewParams>,
) -> AppResult<Markup> {
    let mut input = ContactForm::default();
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let fields = cf::of_entity(tx.reads(), Entity::Contact).await?;
    if let Some(id) = params.company {
        let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
        if let Ok(company) = companies::find(&mut tx, &scope, CompanyId(id)).await {
            input.company = company.name;
        }
    }
    tx.commit().await?;
    let custom = Custom {
        fields: &fields,
        inputs: &Inputs::default(),
    };
    Ok(render(&ctx, None, &input, custom, &Errors::new()))
}

/// POST /contacts/new
#[handler]
pub async fn create(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    let input: ContactForm = form.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let defs = cf::of_entity(tx.reads(), Entity::Contact).await?;
    let inputs = Inputs::from_submitted(&defs, form.pairs());
    let custom = || Custom {
        fields: &defs,
        inputs: &inputs,
    };
    let mut errors = Errors::new();
    let previous = serde_json::Value::Null;
    let checked = validate(
        &mut tx,
        &ctx,
        &scope,
        &input,
        (custom(), &previous),
        &mut errors,
    )
    .await?;
    let Some(fields) = checked else {
        tx.rollback().await?;
        return Ok(render(&ctx, None, &input, custom(), &errors)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    };
    let id = model::create(&mut tx, &fields, ctx.user).await?;
    history::record(
        &mut tx,
        fields.company_id,
        Some(ctx.user),
        Action::ContactAdded,
        &fields.name,
        vec![],
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/contacts/{id}")).into_response())
}

/// GET /contacts/:id
#[handler]
pub async fn show(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let (contact, company) = model::find(&mut tx, &scope, ContactId(id)).await?;
    let fields = cf::of_entity(tx.reads(), Entity::Contact).await?;
    tx.commit().await?;
    let manage = scope.can_manage(company.owner_id);
    let dash = |v: &str| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            v.to_owned()
        }
    };
    let content = html! {
        @if manage {
            div.d-flex.gap-2.mb-3 {
                a.btn.btn-primary href={"/contacts/" (contact.id) "/edit"} { (ctx.t("common.edit")) }
                a.btn.btn-outline-danger href={"/contacts/" (contact.id) "/delete"} { (ctx.t("common.delete")) }
            }
        }
        section.card {
            div.card-body {
                dl.row.mb-0.contact-facts {
                    dt.col-sm-3 { (ctx.t("contact.company")) }
                    dd.col-sm-9 { a href={"/customers/" (company.id)} { (company.name) } }
                    @for (name, key, _) in FIELDS.iter().skip(1) {
                        dt.col-sm-3 { (ctx.t(key)) }
                        dd.col-sm-9 { (dash(ContactForm::from_contact(&contact, "").get(name))) }
                    }
                    (cf::detail_rows(&fields, &contact.custom))
                }
            }
        }
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/contacts",
        &contact.name,
        content,
    ))
}

/// Loads a contact the user may change, or 404 (not visible) / 403 (visible, not theirs).
async fn managed(
    tx: &mut TenantTx,
    ctx: &Ctx,
    id: ContactId,
) -> AppResult<(Scope, Contact, Company)> {
    let scope = Scope::resolve(tx, ctx, View::All).await?;
    let (contact, company) = model::find(tx, &scope, id).await?;
    if !scope.can_manage(company.owner_id) {
        return Err(AppError::Forbidden);
    }
    Ok((scope, contact, company))
}

/// GET /contacts/:id/edit
#[handler]
pub async fn edit_form(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, contact, company) = managed(&mut tx, &ctx, ContactId(id)).await?;
    let fields = cf::of_entity(tx.reads(), Entity::Contact).await?;
    tx.commit().await?;
    let custom = Custom {
        fields: &fields,
        inputs: &Inputs::from_stored(&fields, &contact.custom),
    };
    Ok(render(
        &ctx,
        Some(contact.id),
        &ContactForm::from_contact(&contact, &company.name),
        custom,
        &Errors::new(),
    ))
}

/// POST /contacts/:id/edit
#[handler]
pub async fn update(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<i64>,
    form: RawForm,
) -> AppResult<Response> {
    let input: ContactForm = form.parse()?;
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, contact, old_company) = managed(&mut tx, &ctx, ContactId(id)).await?;
    let defs = cf::of_entity(tx.reads(), Entity::Contact).await?;
    let inputs = Inputs::from_submitted(&defs, form.pairs());
    let custom = || Custom {
        fields: &defs,
        inputs: &inputs,
    };
    let mut errors = Errors::new();
    let checked = validate(
        &mut tx,
        &ctx,
        &scope,
        &input,
        (custom(), &contact.custom),
        &mut errors,
    )
    .await?;
    let Some(fields) = checked else {
        tx.rollback().await?;
        return Ok(render(&ctx, Some(contact.id), &input, custom(), &errors)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    };
    model::update(&mut tx, contact.id, &fields).await?;
    let mut diff = Diff::default();
    if fields.company_id != old_company.id {
        let new_company = companies::find(&mut tx, &scope, fields.company_id).await?;
        diff.field("contact.company", &old_company.name, &new_company.name);
    }
    let (before, after) = (
        ContactForm::from_contact(&contact, ""),
        ContactForm::from_fields(&fields),
    );
    for (name, key, _) in FIELDS {
        diff.field(key, before.get(name), after.get(name));
    }
    for f in &defs {
        diff.custom(
            &f.label,
            &cf::text_of(f, &contact.custom),
            &cf::text_of(f, &fields.custom),
        );
    }
    if !diff.is_empty() {
        history::record(
            &mut tx,
            fields.company_id,
            Some(ctx.user),
            Action::ContactUpdated,
            &fields.name,
            diff.into_changes(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/contacts/{}", contact.id)).into_response())
}

/// GET /contacts/:id/delete
#[handler]
pub async fn delete_form(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, contact, _) = managed(&mut tx, &ctx, ContactId(id)).await?;
    tx.commit().await?;
    let content = html! {
        div.alert.alert-danger role="alert" {
            p.mb-0 { strong { (ctx.locale.tf("contacts.delete_confirm", &[("name", &contact.name)])) } }
        }
        (layout::confirm_delete_form(
            &ctx,
            &format!("/contacts/{}/delete", contact.id),
            &ctx.t("customers.delete_submit"),
            &format!("/contacts/{}", contact.id),
        ))
    };
    Ok(layout::page(
        &ctx,
        Module::Customers,
        "/contacts",
        &ctx.t("contacts.delete_title"),
        content,
    ))
}

/// POST /contacts/:id/delete
#[handler]
pub async fn delete(ctx: Ctx, state: Data<&State>, Path(id): Path<i64>) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (_, contact, company) = managed(&mut tx, &ctx, ContactId(id)).await?;
    model::delete(&mut tx, contact.id).await?;
    history::record(
        &mut tx,
        company.id,
        Some(ctx.user),
        Action::ContactDeleted,
        &contact.name,
        vec![],
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::see_other(format!("/customers/{}", company.id)).into_response())
}
