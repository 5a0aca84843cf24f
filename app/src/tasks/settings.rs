//! GET and POST /account/reminders — 提醒与时区: the signed-in user's own time zone (or
//! the company's), the reminder times a new task starts with, and whether reminder emails
//! and the daily digest (08:00 their time) are sent to them.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Redirect},
};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::AppResult,
    schema::{tenants, users},
    state::State,
    tasks::reminders::CHOICES,
    web::{
        ctx::Ctx,
        flash,
        forms::{Errors, RawForm},
        layout::{self, Module, csrf_field},
    },
};

/// The settings as stored.
struct Settings {
    time_zone: Option<String>,
    tenant_zone: String,
    remind_before: Vec<i32>,
    reminders_on: bool,
    digest_on: bool,
    feed_on: bool,
}

async fn load(tx: &mut TenantTx, ctx: &Ctx) -> AppResult<Settings> {
    let tenant = tx.tenant();
    let (time_zone, remind_before, reminders_on, digest_on, tenant_zone, feed_on): (
        Option<String>,
        Vec<i32>,
        bool,
        bool,
        String,
        bool,
    ) = users::table
        .inner_join(tenants::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(ctx.user)))
        .select((
            users::time_zone,
            users::remind_before,
            users::reminders_on,
            users::digest_on,
            tenants::time_zone,
            users::calendar_feed_hash.is_not_null(),
        ))
        .first(&mut **tx)
        .await?;
    Ok(Settings {
        time_zone,
        tenant_zone,
        remind_before,
        reminders_on,
        digest_on,
        feed_on,
    })
}

/// The page; `feed_url` is a calendar feed's address just made (shown once).
fn page(ctx: &Ctx, s: &Settings, errors: &Errors, feed_url: Option<&str>) -> Markup {
    let chosen = s.time_zone.clone().unwrap_or_default();
    let content = html! {
        form.reminder-settings method="post" action="/account/reminders" novalidate {
            (csrf_field(&ctx.csrf))
            div.mb-3 {
                label.form-label for="f-time_zone" { (ctx.t("tasks.settings_time_zone")) }
                select.form-select.is-invalid[errors.get("time_zone").is_some()] #f-time_zone name="time_zone" {
                    option value="" selected[chosen.is_empty()] {
                        (ctx.locale.tf("tasks.settings_company_zone", &[("zone", &s.tenant_zone)]))
                    }
                    @for tz in chrono_tz::TZ_VARIANTS {
                        option value=(tz.name()) selected[tz.name() == chosen] { (tz.name()) }
                    }
                }
                @if let Some(e) = errors.get("time_zone") { div.invalid-feedback #f-time_zone-error { (e) } }
            }
            fieldset.mb-3 {
                legend.form-label.fs-6 { (ctx.t("tasks.settings_default_reminders")) }
                @for (minutes, key) in CHOICES {
                    div.form-check.form-check-inline {
                        input.form-check-input type="checkbox" name="remind" value=(minutes)
                            id={"f-remind-" (minutes)} checked[s.remind_before.contains(minutes)];
                        label.form-check-label for={"f-remind-" (minutes)} { (ctx.t(key)) }
                    }
                }
            }
            div.form-check.form-switch.mb-3 {
                input.form-check-input #f-reminders_on type="checkbox" name="reminders_on" value="1" checked[s.reminders_on];
                label.form-check-label for="f-reminders_on" { (ctx.t("tasks.settings_reminders_on")) }
            }
            div.form-check.form-switch.mb-3 {
                input.form-check-input #f-digest_on type="checkbox" name="digest_on" value="1" checked[s.digest_on];
                label.form-check-label for="f-digest_on" { (ctx.t("tasks.settings_digest_on")) }
            }
            button.btn.btn-primary type="submit" { (ctx.t("common.save")) }
        }
        (super::feed::section(ctx, s.feed_on, feed_url))
    };
    layout::page(
        ctx,
        Module::Account,
        "/account/reminders",
        &ctx.t("tab.reminders"),
        content,
    )
}

/// GET /account/reminders
#[handler]
pub async fn show(ctx: Ctx, state: Data<&State>) -> AppResult<Markup> {
    show_with_feed(&ctx, &state, None).await
}

/// The page, with the address of a calendar feed just made.
pub async fn show_with_feed(ctx: &Ctx, state: &State, feed_url: Option<&str>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let settings = load(&mut tx, ctx).await?;
    tx.commit().await?;
    Ok(page(ctx, &settings, &Errors::new(), feed_url))
}

/// The form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    time_zone: String,
}

/// POST /account/reminders
#[handler]
pub async fn save(ctx: Ctx, state: Data<&State>, body: RawForm) -> AppResult<Response> {
    let input: SettingsForm = body.parse()?;
    let mut remind_before: Vec<i32> = body
        .pairs()
        .iter()
        .filter(|(k, _)| k == "remind")
        .filter_map(|(_, v)| v.parse().ok())
        .filter(|m| CHOICES.iter().any(|(c, _)| c == m))
        .collect();
    remind_before.sort_unstable();
    remind_before.dedup();
    let checked = |name: &str| body.pairs().iter().any(|(k, v)| k == name && v == "1");
    let (reminders_on, digest_on) = (checked("reminders_on"), checked("digest_on"));
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let mut errors = Errors::new();
    let time_zone = match input.time_zone.trim() {
        "" => None,
        raw => match raw.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz.name().to_owned()),
            Err(_) => {
                errors.add(ctx.locale, "time_zone", "form.invalid_choice");
                None
            }
        },
    };
    if !errors.is_empty() {
        let mut settings = load(&mut tx, &ctx).await?;
        tx.commit().await?;
        settings.remind_before = remind_before;
        settings.reminders_on = reminders_on;
        settings.digest_on = digest_on;
        return Ok(page(&ctx, &settings, &errors, None)
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let tenant = tx.tenant();
    diesel::update(users::table.filter(users::tenant_id.eq(tenant).and(users::id.eq(ctx.user))))
        .set((
            users::time_zone.eq(time_zone),
            users::remind_before.eq(remind_before),
            users::reminders_on.eq(reminders_on),
            users::digest_on.eq(digest_on),
        ))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    flash::success(&ctx, ctx.t("tasks.settings_saved"));
    Ok(Redirect::see_other("/account/reminders").into_response())
}
