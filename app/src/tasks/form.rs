//! The task form shared by 创立任务 and 修改: what was submitted, the choices of its
//! selects, the checks and the markup. Times are typed and shown in the user's time zone
//! (`datetime-local`), stored as `timestamptz`.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{TaskCategoryId, TaskId, UserId},
    tasks::{
        model::{self, Kind, Task, TaskFields},
        recurrence::{self, End, Every, Repeat},
        reminders::CHOICES,
    },
    users::model::{self as users, User},
    visibility::Scope,
    web::{
        ctx::Ctx,
        forms::{self, Errors},
        layout::{self, Module, csrf_field},
    },
};

/// Longest content.
pub const CONTENT_MAX: usize = 2000;

/// The `datetime-local` format.
const LOCAL: &str = "%Y-%m-%dT%H:%M";

/// The form as submitted (every value as typed, so it can be shown again).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskForm {
    /// `task` or `memo`.
    pub kind: String,
    /// What to do.
    pub content: String,
    /// Start, `YYYY-MM-DDTHH:MM` in the user's time zone.
    pub starts_at: String,
    /// Due (a memo's end), same format.
    pub due_at: String,
    /// 责任人 id.
    pub owner_id: String,
    /// 分类 id or empty.
    pub category_id: String,
    /// `public` or `private`.
    pub visibility: String,
    /// The company's name (a standalone task; optional).
    pub company: String,
    /// The company it is created from (its detail page).
    pub company_id: String,
    /// The opportunity it is created from (its detail page).
    pub opportunity_id: String,
    /// Where to go after saving (the page it was created from).
    pub back: String,
    /// Reminder minutes, as checked (repeated `remind`; read from the raw pairs).
    #[serde(skip)]
    pub remind: Vec<i32>,
    /// 重复: empty for none, else an [`Every`] spelling.
    pub repeat: String,
    /// Every N.
    pub repeat_interval: String,
    /// The chosen weekdays, 0 = Monday (repeated `repeat_day`; read from the raw pairs).
    #[serde(skip)]
    pub repeat_days: Vec<u8>,
    /// `until` or `count`.
    pub repeat_end: String,
    /// The last day, `YYYY-MM-DD`.
    pub repeat_until: String,
    /// How many times.
    pub repeat_count: String,
}

impl TaskForm {
    /// A new task: starting at the next full hour, due an hour later, the user's own,
    /// reminded as the user chose on their account page.
    pub fn fresh(ctx: &Ctx, remind: Vec<i32>) -> Self {
        let now = Utc::now().with_timezone(&ctx.time_zone);
        let start = (now + Duration::hours(1))
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .unwrap_or(now);
        Self {
            kind: "task".into(),
            starts_at: start.format(LOCAL).to_string(),
            due_at: (start + Duration::hours(1)).format(LOCAL).to_string(),
            owner_id: ctx.user.to_string(),
            visibility: "private".into(),
            remind,
            repeat_interval: "1".into(),
            repeat_end: "count".into(),
            repeat_count: "10".into(),
            ..Self::default()
        }
    }

    /// The form showing a stored task.
    pub fn from_task(ctx: &Ctx, t: &Task) -> Self {
        Self {
            kind: t.kind.clone(),
            content: t.content.clone(),
            starts_at: local(ctx, t.starts_at),
            due_at: local(ctx, t.due_at),
            owner_id: t.owner_id.to_string(),
            category_id: t.category_id.map(|c| c.to_string()).unwrap_or_default(),
            visibility: t.visibility.clone(),
            remind: t.remind_before.clone(),
            ..Self::default()
        }
    }

    /// Reads the repeated `remind` and `repeat_day` checkboxes from the posted pairs.
    pub fn with_reminders(mut self, pairs: &[(String, String)]) -> Self {
        let all = |name: &'static str| pairs.iter().filter(move |(k, _)| k == name);
        self.remind = all("remind").filter_map(|(_, v)| v.parse().ok()).collect();
        self.repeat_days = all("repeat_day")
            .filter_map(|(_, v)| v.parse().ok())
            .collect();
        self
    }
}

/// A time as a `datetime-local` value in the user's time zone.
pub fn local(ctx: &Ctx, at: DateTime<Utc>) -> String {
    at.with_timezone(&ctx.time_zone).format(LOCAL).to_string()
}

/// Choices for the select fields.
pub struct Choices {
    /// 分类.
    pub categories: Vec<(TaskCategoryId, String)>,
    /// The tenant's users.
    pub people: Vec<User>,
}

impl Choices {
    /// Loads them.
    pub async fn load(tx: &mut TenantTx) -> AppResult<Self> {
        Ok(Self {
            categories: model::categories(tx).await?,
            people: users::list(tx).await?,
        })
    }
}

/// What the form is for.
pub enum Purpose<'a> {
    /// 创立任务, linked to this company or opportunity (by name) if any.
    Create(Option<&'a str>),
    /// 修改.
    Edit(TaskId),
}

/// The whole form page.
pub fn page(
    ctx: &Ctx,
    scope: &Scope,
    purpose: &Purpose<'_>,
    input: &TaskForm,
    errors: &Errors,
    choices: &Choices,
) -> Markup {
    let (title, action, cancel) = match purpose {
        Purpose::Create(_) => (
            ctx.t("tasks.new"),
            "/tasks/new".to_owned(),
            if input.back.is_empty() {
                "/tasks".to_owned()
            } else {
                input.back.clone()
            },
        ),
        Purpose::Edit(id) => (
            ctx.t("tasks.edit"),
            format!("/tasks/{id}/edit"),
            format!("/tasks/{id}"),
        ),
    };
    let kinds: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                ctx.t(&format!("tasks.kind_{}", k.as_str())),
            )
        })
        .collect();
    let mut categories = vec![(String::new(), ctx.t("tasks.no_category"))];
    categories.extend(
        choices
            .categories
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone())),
    );
    // Yourself; your team for a manager; anyone active for an admin.
    let owners: Vec<(String, String)> = choices
        .people
        .iter()
        .filter(|u| {
            (u.status != "disabled" && scope.can_manage(u.id)) || input.owner_id == u.id.to_string()
        })
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    let visibility = vec![
        ("private".to_owned(), ctx.t("visibility.private")),
        ("public".to_owned(), ctx.t("visibility.public")),
    ];
    let content = html! {
        form.task-form method="post" action=(action) novalidate {
            (csrf_field(&ctx.csrf))
            input type="hidden" name="company_id" value=(input.company_id);
            input type="hidden" name="opportunity_id" value=(input.opportunity_id);
            input type="hidden" name="back" value=(input.back);
            div.form-actions.mb-3 {
                button.btn.btn-primary type="submit" { (ctx.t("common.save")) }
                a.btn.btn-link href=(cancel) { (ctx.t("common.cancel")) }
            }
            fieldset.form-section {
                legend.h6 { (ctx.t("tasks.section_basic")) }
                (forms::select("kind", &ctx.t("tasks.kind"), &kinds, &input.kind, errors.get("kind")))
                div.mb-3 {
                    label.form-label for="f-content" { (ctx.t("tasks.content")) span.text-danger aria-hidden="true" { " *" } }
                    textarea.form-control.is-invalid[errors.get("content").is_some()] #f-content
                        name="content" rows="3" maxlength=(CONTENT_MAX) required autofocus
                        aria-describedby=[errors.get("content").map(|_| "f-content-error")] { (input.content) }
                    @if let Some(error) = errors.get("content") { div.invalid-feedback #f-content-error { (error) } }
                }
                div.row.g-3 {
                    div.col-sm-6 { (time_input("starts_at", &ctx.t("tasks.starts_at"), &input.starts_at, errors.get("starts_at"))) }
                    div.col-sm-6 { (time_input("due_at", &ctx.t("tasks.due_at"), &input.due_at, errors.get("due_at"))) }
                }
                div.form-text.mb-3 { (ctx.locale.tf("tasks.time_zone_help", &[("zone", ctx.time_zone.name())])) }
                @match purpose {
                    Purpose::Create(Some(linked)) => {
                        div.mb-3 {
                            span.form-label.d-block { (ctx.t("tasks.linked_to")) }
                            span #f-link-fixed { (linked) }
                        }
                    }
                    Purpose::Create(None) => {
                        (crate::customers::picker::field(ctx.locale, &ctx.t("tasks.company"), &input.company,
                            errors.get("company"), (false, false)))
                    }
                    Purpose::Edit(_) => {}
                }
            }
            @if matches!(purpose, Purpose::Create(_)) { (repeat_section(ctx, input, errors)) }
            fieldset.form-section {
                legend.h6 { (ctx.t("tasks.section_who")) }
                (forms::select("owner_id", &ctx.t("tasks.owner"), &owners, &input.owner_id, errors.get("owner_id")))
                (forms::select("category_id", &ctx.t("tasks.category"), &categories, &input.category_id, errors.get("category_id")))
                (forms::select("visibility", &ctx.t("tasks.visibility"), &visibility, &input.visibility, errors.get("visibility")))
            }
            fieldset.form-section #task-reminders {
                legend.h6 { (ctx.t("tasks.section_reminders")) }
                @for (minutes, key) in CHOICES {
                    div.form-check.form-check-inline {
                        input.form-check-input type="checkbox" name="remind" value=(minutes)
                            id={"f-remind-" (minutes)} checked[input.remind.contains(minutes)];
                        label.form-check-label for={"f-remind-" (minutes)} { (ctx.t(key)) }
                    }
                }
                @if let Some(error) = errors.get("remind") { div.text-danger.small #f-remind-error { (error) } }
                div.form-text { (ctx.t("tasks.reminders_help")) }
            }
        }
    };
    layout::page(ctx, Module::Home, "/tasks", &title, content)
}

/// 重复: how often, every N, the weekdays and the end (a new task only; each occurrence is
/// then a task of its own).
fn repeat_section(ctx: &Ctx, input: &TaskForm, errors: &Errors) -> Markup {
    let mut every = vec![(String::new(), ctx.t("tasks.repeat_none_choice"))];
    every.extend(Every::ALL.iter().map(|e| {
        (
            e.as_str().to_owned(),
            ctx.t(&format!("tasks.repeat_{}", e.as_str())),
        )
    }));
    let ends = vec![
        ("count".to_owned(), ctx.t("tasks.repeat_end_count")),
        ("until".to_owned(), ctx.t("tasks.repeat_end_until")),
    ];
    html! {
        fieldset.form-section #task-repeat {
            legend.h6 { (ctx.t("tasks.section_repeat")) }
            div.row.g-3 {
                div.col-sm-6 { (forms::select("repeat", &ctx.t("tasks.repeat"), &every, &input.repeat, errors.get("repeat"))) }
                div.col-sm-6 { (forms::input("repeat_interval", &ctx.t("tasks.repeat_interval"), &input.repeat_interval, errors.get("repeat_interval"), number_or_date(forms::Kind::Number))) }
            }
            div.mb-3 {
                span.form-label.d-block { (ctx.t("tasks.repeat_days")) }
                @for (i, _) in recurrence::WEEKDAYS.iter().enumerate() {
                    div.form-check.form-check-inline {
                        input.form-check-input type="checkbox" name="repeat_day" value=(i)
                            id={"f-repeat-day-" (i)} checked[input.repeat_days.contains(&(i as u8))];
                        label.form-check-label for={"f-repeat-day-" (i)} { (ctx.t(&format!("calendar.weekday_{i}"))) }
                    }
                }
                @if let Some(error) = errors.get("repeat_days") { div.text-danger.small #f-repeat_days-error { (error) } }
                div.form-text { (ctx.t("tasks.repeat_days_help")) }
            }
            div.row.g-3 {
                div.col-sm-4 { (forms::select("repeat_end", &ctx.t("tasks.repeat_end"), &ends, &input.repeat_end, errors.get("repeat_end"))) }
                div.col-sm-4 { (forms::input("repeat_count", &ctx.t("tasks.repeat_count"), &input.repeat_count, errors.get("repeat_count"), number_or_date(forms::Kind::Number))) }
                div.col-sm-4 { (forms::input("repeat_until", &ctx.t("tasks.repeat_until_label"), &input.repeat_until, errors.get("repeat_until"), number_or_date(forms::Kind::Date))) }
            }
            div.form-text { (ctx.locale.tf("tasks.repeat_help", &[("max", &recurrence::MAX_OCCURRENCES.to_string())])) }
        }
    }
}

/// Input options of a number or date field.
fn number_or_date(kind: forms::Kind) -> forms::Opts {
    forms::Opts {
        kind,
        ..forms::Opts::default()
    }
}

/// Checks the 重复 fields: `None` for a task that does not repeat (or on errors).
pub fn validate_repeat(ctx: &Ctx, input: &TaskForm, errors: &mut Errors) -> Option<Repeat> {
    let locale = ctx.locale;
    let raw = input.repeat.trim();
    if raw.is_empty() {
        return None;
    }
    let Some(every) = Every::parse(raw) else {
        errors.add(locale, "repeat", "form.invalid_choice");
        return None;
    };
    let interval = match input.repeat_interval.trim() {
        "" => Some(1),
        n => n
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=recurrence::MAX_INTERVAL).contains(n)),
    };
    if interval.is_none() {
        errors.add(locale, "repeat_interval", "tasks.repeat_interval_invalid");
    }
    let weekdays: Vec<chrono::Weekday> = recurrence::WEEKDAYS
        .iter()
        .enumerate()
        .filter(|(i, _)| input.repeat_days.contains(&(*i as u8)))
        .map(|(_, d)| *d)
        .collect();
    if every == Every::Weekdays && weekdays.is_empty() {
        errors.add(locale, "repeat_days", "tasks.repeat_days_required");
    }
    let end = match input.repeat_end.trim() {
        "until" => match chrono::NaiveDate::parse_from_str(input.repeat_until.trim(), "%Y-%m-%d") {
            Ok(day) => Some(End::Until(day)),
            Err(_) => {
                errors.add(locale, "repeat_until", "tasks.repeat_until_invalid");
                None
            }
        },
        "count" | "" => match input.repeat_count.trim().parse::<u16>() {
            Ok(n) if (1..=recurrence::MAX_OCCURRENCES).contains(&n) => Some(End::Count(n)),
            _ => {
                errors.set(
                    "repeat_count",
                    locale.tf(
                        "tasks.repeat_count_invalid",
                        &[("max", &recurrence::MAX_OCCURRENCES.to_string())],
                    ),
                );
                None
            }
        },
        _ => {
            errors.add(locale, "repeat_end", "form.invalid_choice");
            None
        }
    };
    Some(Repeat {
        every,
        interval: interval?,
        weekdays,
        end: end?,
    })
}

/// A labelled `datetime-local` input with its error.
fn time_input(name: &str, label: &str, value: &str, error: Option<&str>) -> Markup {
    let id = format!("f-{name}");
    let error_id = format!("{id}-error");
    html! {
        div.mb-2 {
            label.form-label for=(id) { (label) span.text-danger aria-hidden="true" { " *" } }
            input.form-control.is-invalid[error.is_some()] id=(id) name=(name) type="datetime-local"
                value=(value) required aria-describedby=[error.map(|_| error_id.as_str())];
            @if let Some(error) = error { div.invalid-feedback id=(error_id) { (error) } }
        }
    }
}

/// A typed local time in the user's time zone. A time that a daylight-saving change
/// skips is refused; one it repeats means its first occurrence.
pub fn parse_local(ctx: &Ctx, raw: &str) -> Result<DateTime<Utc>, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("form.required");
    }
    let naive = NaiveDateTime::parse_from_str(raw, LOCAL)
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M"))
        .map_err(|_| "tasks.invalid_time")?;
    ctx.time_zone
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or("tasks.time_skipped")
}

/// Checks a submitted form; an empty owner means the user.
pub fn validate(
    ctx: &Ctx,
    scope: &Scope,
    input: &TaskForm,
    choices: &Choices,
    default_owner: UserId,
    errors: &mut Errors,
) -> TaskFields {
    let locale = ctx.locale;
    let kind = Kind::parse(input.kind.trim()).unwrap_or_else(|| {
        if !input.kind.trim().is_empty() {
            errors.add(locale, "kind", "form.invalid_choice");
        }
        Kind::Task
    });
    let content = forms::check_text(errors, locale, "content", &input.content, CONTENT_MAX);
    let now = Utc::now();
    let mut time = |field: &'static str, raw: &str| match parse_local(ctx, raw) {
        Ok(t) => Some(t),
        Err(key) => {
            errors.add(locale, field, key);
            None
        }
    };
    let starts_at = time("starts_at", &input.starts_at);
    let due_at = time("due_at", &input.due_at);
    if let (Some(s), Some(d)) = (starts_at, due_at)
        && d < s
    {
        errors.add(locale, "due_at", "tasks.due_before_start");
    }
    let category_id = forms::check_category(
        errors,
        locale,
        &input.category_id,
        &choices.categories,
        TaskCategoryId,
    );
    let owner_id = forms::check_owner(
        errors,
        locale,
        &input.owner_id,
        (&choices.people, scope),
        default_owner,
    );
    let visibility = forms::check_visibility(errors, locale, &input.visibility);
    let mut remind_before: Vec<i32> = Vec::new();
    for m in &input.remind {
        if CHOICES.iter().any(|(c, _)| c == m) {
            if !remind_before.contains(m) {
                remind_before.push(*m);
            }
        } else {
            errors.add(locale, "remind", "form.invalid_choice");
        }
    }
    remind_before.sort_unstable();
    TaskFields {
        kind,
        content,
        starts_at: starts_at.unwrap_or(now),
        due_at: due_at.unwrap_or(now),
        owner_id,
        category_id,
        visibility: visibility.to_owned(),
        remind_before,
    }
}

/// A user's default reminder times (their account setting).
pub async fn default_reminders(tx: &mut TenantTx, user: UserId) -> AppResult<Vec<i32>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let tenant = tx.tenant();
    Ok(crate::schema::users::table
        .filter(
            crate::schema::users::tenant_id
                .eq(tenant)
                .and(crate::schema::users::id.eq(user)),
        )
        .select(crate::schema::users::remind_before)
        .first(&mut **tx)
        .await?)
}
