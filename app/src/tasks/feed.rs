//! The iCalendar feed (日历订阅): a secret URL per user that a phone's or a desktop
//! calendar subscribes to, with the user's own tasks and memos from 90 days back to a
//! year ahead. GET /calendar/feed/:token has no session: the token names the tenant and
//! the user and carries a secret whose SHA-256 must match the one stored on the user
//! (`kehu_find_calendar_feed`), who must be active. POST /account/calendar-feed turns the
//! feed on (a new secret, which replaces and so revokes the old URL) or off; the URL is
//! shown once, when it is made.

use chrono::{Duration, Utc};
use diesel::{QueryableByName, prelude::*, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use icalendar::{Calendar, Component, Event, EventLike};
use maud::{Markup, html};
use poem::{
    IntoResponse, Response, handler,
    http::header,
    web::{Data, Path},
};
use serde::Deserialize;

use crate::{
    auth::invite::{hash_token, new_token},
    db::TenantTx,
    error::{AppError, AppResult},
    i18n::Locale,
    ids::{TenantId, UserId},
    schema::users,
    state::State,
    tasks::{calendar, model},
    users::model as people,
    visibility::{Scope, View},
    web::{ctx::Ctx, flash, forms::RawForm, layout::csrf_field},
};

/// How far back and ahead the feed reaches.
const DAYS_BACK: i64 = 90;
const DAYS_AHEAD: i64 = 366;

/// The feed's path for a user with a fresh secret: `{tenant}-{user}-{secret}.ics`.
fn path_of(tenant: TenantId, user: UserId, secret: &str) -> String {
    format!("/calendar/feed/{tenant}-{user}-{secret}.ics")
}

/// The feed's card on the reminder settings page; `url` is the new feed's address, shown
/// only right after it was made.
pub fn section(ctx: &Ctx, on: bool, url: Option<&str>) -> Markup {
    html! {
        section.card.mt-4 #calendar-feed {
            div.card-body {
                h2.h6.card-title { (ctx.t("calendar.feed_title")) }
                p.text-secondary.small { (ctx.t("calendar.feed_help")) }
                @if let Some(url) = url {
                    div.alert.alert-success role="status" {
                        label.form-label for="f-feed-url" { (ctx.t("calendar.feed_new")) }
                        input.form-control.font-monospace #f-feed-url type="text" readonly value=(url);
                        div.form-text { (ctx.t("calendar.feed_once")) }
                    }
                }
                p #feed-state {
                    @if on { span.badge.text-bg-success { (ctx.t("calendar.feed_on")) } }
                    @else { span.badge.text-bg-secondary { (ctx.t("calendar.feed_off")) } }
                }
                div.d-flex.gap-2 {
                    form method="post" action="/account/calendar-feed" {
                        (csrf_field(&ctx.csrf))
                        input type="hidden" name="action" value="on";
                        button.btn.btn-outline-primary #feed-make type="submit" {
                            (ctx.t(if on { "calendar.feed_renew" } else { "calendar.feed_make" }))
                        }
                    }
                    @if on {
                        form method="post" action="/account/calendar-feed" {
                            (csrf_field(&ctx.csrf))
                            input type="hidden" name="action" value="off";
                            button.btn.btn-outline-danger #feed-stop type="submit" { (ctx.t("calendar.feed_stop")) }
                        }
                    }
                }
            }
        }
    }
}

/// The form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FeedForm {
    /// `on` (a new secret) or `off`.
    action: String,
}

/// POST /account/calendar-feed — a new secret URL (shown once) or the feed off.
#[handler]
pub async fn manage(ctx: Ctx, state: Data<&State>, body: RawForm) -> AppResult<Response> {
    let form: FeedForm = body.parse()?;
    let (secret, hash) = match form.action.as_str() {
        "on" => {
            let (secret, hash) = new_token();
            (Some(secret), Some(hash))
        }
        "off" => (None, None),
        _ => return Err(AppError::BadRequest),
    };
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let tenant = tx.tenant();
    diesel::update(users::table.filter(users::tenant_id.eq(tenant).and(users::id.eq(ctx.user))))
        .set(users::calendar_feed_hash.eq(hash))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    match secret {
        Some(secret) => {
            let url = format!(
                "{}{}",
                state.config.base_url,
                path_of(ctx.tenant, ctx.user, &secret)
            );
            // The page itself, not a redirect: the secret is never stored to show again.
            Ok(super::settings::show_with_feed(&ctx, &state, Some(&url))
                .await?
                .with_header(header::CACHE_CONTROL, "no-store")
                .into_response())
        }
        None => {
            flash::success(&ctx, ctx.t("calendar.feed_stopped"));
            Ok(poem::web::Redirect::see_other("/account/reminders").into_response())
        }
    }
}

/// Who a token opens the feed of (tenant, user), if its secret matches an active user's.
async fn open(state: &State, token: &str) -> AppResult<Option<(TenantId, UserId)>> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = BigInt)]
        tenant_id: TenantId,
        #[diesel(sql_type = BigInt)]
        user_id: UserId,
    }
    let Some(rest) = token.strip_suffix(".ics") else {
        return Ok(None);
    };
    let mut parts = rest.splitn(3, '-');
    let (Some(tenant), Some(user), Some(secret)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let (Ok(tenant), Ok(user)) = (tenant.parse::<i64>(), user.parse::<i64>()) else {
        return Ok(None);
    };
    let mut conn = state.db.get().await?;
    let found: Option<Found> =
        diesel::sql_query("SELECT tenant_id, user_id FROM kehu_find_calendar_feed($1, $2, $3)")
            .bind::<BigInt, _>(tenant)
            .bind::<BigInt, _>(user)
            .bind::<diesel::sql_types::Text, _>(hash_token(secret))
            .get_result(&mut conn)
            .await
            .optional()?;
    Ok(found.map(|f| (f.tenant_id, f.user_id)))
}

/// GET /calendar/feed/:token — the user's tasks and memos as iCalendar, in their
/// language; a token that opens nothing is a 404.
#[handler]
pub async fn show(state: Data<&State>, Path(token): Path<String>) -> AppResult<Response> {
    let Some((tenant, user)) = open(&state, &token).await? else {
        return Err(AppError::NotFound);
    };
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    let person = people::find(&mut tx, user).await?;
    let scope = Scope::of_user(&mut tx, user, person.role, View::All).await?;
    let now = Utc::now();
    let entries = calendar::entries(
        &mut tx,
        &scope,
        user,
        now - Duration::days(DAYS_BACK),
        now + Duration::days(DAYS_AHEAD),
    )
    .await?;
    let (companies, opportunities) = model::names_of_links(&mut tx, &entries).await?;
    tx.commit().await?;

    let locale = Locale::from_code(&person.locale).unwrap_or_default();
    let host = url::Url::parse(&state.config.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "kehu".to_owned());
    let mut cal = Calendar::new();
    cal.name(&locale.tf("calendar.feed_name", &[("name", &person.name)]));
    for task in &entries {
        let company = task.company_id.and_then(|c| companies.get(&c));
        let opportunity = task.opportunity_id.and_then(|o| opportunities.get(&o));
        let link = format!("{}/tasks/{}", state.config.base_url, task.id);
        let mut summary: String = task
            .content
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(120)
            .collect();
        if task.done_at.is_some() {
            summary = locale.tf("calendar.feed_done", &[("content", &summary)]);
        }
        let mut description = task.content.clone();
        if let Some(company) = company {
            description.push_str(&locale.tf("tasks.email_company", &[("company", company)]));
        }
        if let Some(opportunity) = opportunity {
            description
                .push_str(&locale.tf("tasks.email_opportunity", &[("opportunity", opportunity)]));
        }
        description.push_str(&locale.tf("tasks.email_link", &[("url", &link)]));
        let mut event = Event::new();
        event
            .uid(&format!("task-{tenant}-{}@{host}", task.id))
            .timestamp(task.updated_at)
            .summary(&summary)
            .description(&description)
            .url(&link)
            .starts(task.starts_at);
        // An end equal to the start is left out (RFC 5545 wants DTEND after DTSTART).
        if task.due_at > task.starts_at {
            event.ends(task.due_at);
        }
        cal.push(event.done());
    }
    Ok(cal
        .done()
        .to_string()
        .with_content_type("text/calendar; charset=utf-8")
        .with_header(header::CACHE_CONTROL, "private, max-age=300")
        .into_response())
}
