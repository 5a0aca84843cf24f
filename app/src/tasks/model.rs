//! Tasks and memos: queries and writes. Reads go through a [`Scope`] (`Scope::tasks`), so
//! nobody sees what they may not; every function also filters on the transaction's
//! tenant explicitly. Every write that changes a task's time, owner or state brings its
//! reminder rows up to date in the same transaction ([`super::reminders::sync`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, OpportunityId, TaskCategoryId, TaskId, TaskSeriesId, UserId},
    schema::{companies, opportunities, task_categories, task_series, tasks},
    tasks::reminders,
    visibility::Scope,
};

/// 任务 or 备忘录.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Something to do, reminded by email.
    Task,
    /// A note-to-self with a start and an end, shown on the calendar.
    Memo,
}

impl Kind {
    /// Both kinds, in the order the form offers them.
    pub const ALL: [Self; 2] = [Self::Task, Self::Memo];

    /// The database spelling (also the locale key suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Memo => "memo",
        }
    }

    /// Parses the database spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// A task as pages show it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = tasks)]
pub struct Task {
    /// Id.
    pub id: TaskId,
    /// `task` or `memo`.
    pub kind: String,
    /// What to do.
    pub content: String,
    /// 开始时间.
    pub starts_at: DateTime<Utc>,
    /// 截止时间 (a memo's end).
    pub due_at: DateTime<Utc>,
    /// 责任人.
    pub owner_id: UserId,
    /// 分类.
    pub category_id: Option<TaskCategoryId>,
    /// `public` or `private`.
    pub visibility: String,
    /// The company it belongs to.
    pub company_id: Option<CompanyId>,
    /// The opportunity it belongs to.
    pub opportunity_id: Option<OpportunityId>,
    /// Reminder times, minutes before the due time.
    pub remind_before: Vec<i32>,
    /// When it was marked done.
    pub done_at: Option<DateTime<Utc>>,
    /// Who marked it done.
    pub done_by: Option<UserId>,
    /// Who created it.
    pub created_by: UserId,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The series of a recurring task's occurrence.
    pub series_id: Option<TaskSeriesId>,
}

impl Task {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Task)
    }

    /// An open task whose due time has passed.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.kind() == Kind::Task && self.done_at.is_none() && self.due_at < now
    }
}

/// What a form sets.
#[derive(Clone, Debug)]
pub struct TaskFields {
    /// `task` or `memo`.
    pub kind: Kind,
    /// What to do.
    pub content: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// Due (end).
    pub due_at: DateTime<Utc>,
    /// 责任人.
    pub owner_id: UserId,
    /// 分类.
    pub category_id: Option<TaskCategoryId>,
    /// `public` or `private`.
    pub visibility: String,
    /// Reminder times, minutes before the due time.
    pub remind_before: Vec<i32>,
}

/// What a task belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// A company.
    pub company: Option<CompanyId>,
    /// An opportunity (its company is set too).
    pub opportunity: Option<OpportunityId>,
}

/// Writes a new task and its reminders.
pub async fn create(
    tx: &mut TenantTx,
    fields: &TaskFields,
    link: Link,
    created_by: UserId,
) -> AppResult<TaskId> {
    let ids = insert(tx, fields, (link, created_by), &[fields.starts_at], None).await?;
    ids.into_iter()
        .next()
        .ok_or(crate::error::AppError::NotFound)
}

/// Writes a recurring task: its series (the rule's text) and one task per occurrence,
/// starting at each of `starts` and as long as `fields` says, with their reminders.
pub async fn create_series(
    tx: &mut TenantTx,
    fields: &TaskFields,
    link: Link,
    created_by: UserId,
    (rule, starts): (&str, &[DateTime<Utc>]),
) -> AppResult<(TaskSeriesId, Vec<TaskId>)> {
    let tenant = tx.tenant();
    let series: TaskSeriesId = diesel::insert_into(task_series::table)
        .values((
            task_series::tenant_id.eq(tenant),
            task_series::rule.eq(rule),
            task_series::occurrences.eq(starts.len() as i32),
            task_series::created_by.eq(created_by),
        ))
        .returning(task_series::id)
        .get_result(&mut **tx)
        .await?;
    let ids = insert(tx, fields, (link, created_by), starts, Some(series)).await?;
    Ok((series, ids))
}

/// Writes one task per start time (as long as `fields` says), with their reminders.
async fn insert(
    tx: &mut TenantTx,
    fields: &TaskFields,
    (link, created_by): (Link, UserId),
    starts: &[DateTime<Utc>],
    series: Option<TaskSeriesId>,
) -> AppResult<Vec<TaskId>> {
    let tenant = tx.tenant();
    let length = fields.due_at - fields.starts_at;
    let rows: Vec<_> = starts
        .iter()
        .map(|start| {
            (
                tasks::tenant_id.eq(tenant),
                tasks::kind.eq(fields.kind.as_str()),
                tasks::content.eq(&fields.content),
                tasks::starts_at.eq(*start),
                tasks::due_at.eq(*start + length),
                tasks::owner_id.eq(fields.owner_id),
                tasks::category_id.eq(fields.category_id),
                tasks::visibility.eq(&fields.visibility),
                tasks::company_id.eq(link.company),
                tasks::opportunity_id.eq(link.opportunity),
                tasks::remind_before.eq(&fields.remind_before),
                tasks::created_by.eq(created_by),
                tasks::series_id.eq(series),
            )
        })
        .collect();
    let ids: Vec<TaskId> = diesel::insert_into(tasks::table)
        .values(rows)
        .returning(tasks::id)
        .get_results(&mut **tx)
        .await?;
    reminders::sync(tx, &ids).await?;
    Ok(ids)
}

/// A series as an occurrence's page shows it.
#[derive(Clone, Debug)]
pub struct SeriesInfo {
    /// The rule's text (RFC 5545).
    pub rule: String,
    /// How many occurrences it was made with.
    pub made: i32,
    /// How many are left (not deleted).
    pub left: i64,
    /// This occurrence's place among those left, 1-based, by start time.
    pub position: i64,
}

/// The series of an occurrence, if it is one.
pub async fn series_info(tx: &mut TenantTx, task: &Task) -> AppResult<Option<SeriesInfo>> {
    let Some(series) = task.series_id else {
        return Ok(None);
    };
    let tenant = tx.tenant();
    let (rule, made): (String, i32) = task_series::table
        .filter(
            task_series::tenant_id
                .eq(tenant)
                .and(task_series::id.eq(series)),
        )
        .select((task_series::rule, task_series::occurrences))
        .first(&mut **tx)
        .await?;
    let of_series =
        || tasks::table.filter(tasks::tenant_id.eq(tenant).and(tasks::series_id.eq(series)));
    let left: i64 = of_series().count().get_result(&mut **tx).await?;
    let before: i64 = of_series()
        .filter(
            tasks::starts_at.lt(task.starts_at).or(tasks::starts_at
                .eq(task.starts_at)
                .and(tasks::id.lt(task.id))),
        )
        .count()
        .get_result(&mut **tx)
        .await?;
    Ok(Some(SeriesInfo {
        rule,
        made,
        left,
        position: before + 1,
    }))
}

/// The occurrences of a series, with their owners, from `from` on (all when `None`).
pub async fn series_members(
    tx: &mut TenantTx,
    series: TaskSeriesId,
    from: Option<&Task>,
) -> AppResult<Vec<(TaskId, UserId)>> {
    let tenant = tx.tenant();
    let mut query = tasks::table
        .filter(tasks::tenant_id.eq(tenant).and(tasks::series_id.eq(series)))
        .select((tasks::id, tasks::owner_id))
        .order((tasks::starts_at, tasks::id))
        .into_boxed();
    if let Some(task) = from {
        query = query.filter(
            tasks::starts_at.gt(task.starts_at).or(tasks::starts_at
                .eq(task.starts_at)
                .and(tasks::id.ge(task.id))),
        );
    }
    Ok(query.load(&mut **tx).await?)
}

/// Changes a task's fields and moves its pending reminders.
pub async fn update(tx: &mut TenantTx, id: TaskId, fields: &TaskFields) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(tasks::table)
        .filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq(id)))
        .set((
            tasks::kind.eq(fields.kind.as_str()),
            tasks::content.eq(&fields.content),
            tasks::starts_at.eq(fields.starts_at),
            tasks::due_at.eq(fields.due_at),
            tasks::owner_id.eq(fields.owner_id),
            tasks::category_id.eq(fields.category_id),
            tasks::visibility.eq(&fields.visibility),
            tasks::remind_before.eq(&fields.remind_before),
        ))
        .execute(&mut **tx)
        .await?;
    reminders::sync(tx, &[id]).await
}

/// Moves a task to start at `starts_at`, keeping its length (the calendar's move).
pub async fn reschedule(tx: &mut TenantTx, task: &Task, starts_at: DateTime<Utc>) -> AppResult<()> {
    let tenant = tx.tenant();
    let length = task.due_at - task.starts_at;
    diesel::update(tasks::table)
        .filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq(task.id)))
        .set((
            tasks::starts_at.eq(starts_at),
            tasks::due_at.eq(starts_at + length),
        ))
        .execute(&mut **tx)
        .await?;
    reminders::sync(tx, &[task.id]).await
}

/// Marks tasks done (`true`) or not done; returns the ids that changed. Done tasks lose
/// their pending reminders; restored ones get those still ahead.
pub async fn set_done(
    tx: &mut TenantTx,
    ids: &[TaskId],
    done: bool,
    by: UserId,
) -> AppResult<Vec<TaskId>> {
    let tenant = tx.tenant();
    let target = tasks::table.filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq_any(ids)));
    let changed: Vec<TaskId> = if done {
        diesel::update(target.filter(tasks::done_at.is_null()))
            .set((tasks::done_at.eq(diesel::dsl::now), tasks::done_by.eq(by)))
            .returning(tasks::id)
            .get_results(&mut **tx)
            .await?
    } else {
        diesel::update(target.filter(tasks::done_at.is_not_null()))
            .set((
                tasks::done_at.eq(None::<DateTime<Utc>>),
                tasks::done_by.eq(None::<UserId>),
            ))
            .returning(tasks::id)
            .get_results(&mut **tx)
            .await?
    };
    reminders::sync(tx, &changed).await?;
    Ok(changed)
}

/// Sets the owner of tasks (a bulk reassign); their reminders go to the new owner.
pub async fn reassign(tx: &mut TenantTx, ids: &[TaskId], owner: UserId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(tasks::table.filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq_any(ids))))
        .set(tasks::owner_id.eq(owner))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes tasks (their reminders go with them, and a series with its last occurrence);
/// returns how many.
pub async fn delete_many(tx: &mut TenantTx, ids: &[TaskId]) -> AppResult<usize> {
    use diesel::dsl::{exists, not};
    let tenant = tx.tenant();
    let gone: Vec<Option<TaskSeriesId>> =
        diesel::delete(tasks::table.filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq_any(ids))))
            .returning(tasks::series_id)
            .get_results(&mut **tx)
            .await?;
    let deleted = gone.len();
    let mut series: Vec<TaskSeriesId> = gone.into_iter().flatten().collect();
    series.sort_unstable_by_key(|s| s.0);
    series.dedup();
    if !series.is_empty() {
        diesel::delete(
            task_series::table
                .filter(task_series::tenant_id.eq(tenant))
                .filter(task_series::id.eq_any(&series))
                .filter(not(exists(
                    tasks::table.filter(
                        tasks::tenant_id
                            .eq(task_series::tenant_id)
                            .and(tasks::series_id.eq(task_series::id.nullable())),
                    ),
                ))),
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(deleted)
}

/// A visible task, or `NotFound`.
pub async fn find(tx: &mut TenantTx, scope: &Scope, id: TaskId) -> AppResult<Task> {
    find_one(tx, scope, id, false).await
}

/// A visible task, locked for the rest of the transaction, or `NotFound`.
pub async fn find_for_update(tx: &mut TenantTx, scope: &Scope, id: TaskId) -> AppResult<Task> {
    find_one(tx, scope, id, true).await
}

async fn find_one(tx: &mut TenantTx, scope: &Scope, id: TaskId, lock: bool) -> AppResult<Task> {
    let tenant = tx.tenant();
    let query = tasks::table
        .filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq(id)))
        .filter(scope.tasks())
        .select(Task::as_select());
    Ok(if lock {
        query.for_update().first(&mut **tx).await?
    } else {
        query.first(&mut **tx).await?
    })
}

/// The visible tasks of a company (its opportunities' included) or of an opportunity:
/// open ones by due time, then done ones, newest done first.
pub async fn of_link(tx: &mut TenantTx, scope: &Scope, link: Link) -> AppResult<Vec<Task>> {
    let tenant = tx.tenant();
    let mut query = tasks::table
        .filter(tasks::tenant_id.eq(tenant))
        .filter(scope.tasks())
        .select(Task::as_select())
        .order((
            tasks::done_at.is_not_null(),
            tasks::done_at.desc(),
            tasks::due_at.asc(),
            tasks::id.asc(),
        ))
        .limit(200)
        .into_boxed();
    query = match link {
        Link {
            opportunity: Some(o),
            ..
        } => query.filter(tasks::opportunity_id.eq(o)),
        Link {
            company: Some(c), ..
        } => query.filter(tasks::company_id.eq(c)),
        _ => return Ok(vec![]),
    };
    Ok(query.load(&mut **tx).await?)
}

/// The names of what a task is linked to: (company, opportunity).
pub async fn link_names(
    tx: &mut TenantTx,
    task: &Task,
) -> AppResult<(Option<String>, Option<String>)> {
    let (mut companies, mut opportunities) = names_of_links(tx, std::slice::from_ref(task)).await?;
    Ok((
        task.company_id.and_then(|c| companies.remove(&c)),
        task.opportunity_id.and_then(|o| opportunities.remove(&o)),
    ))
}

/// The names of the companies and opportunities `list` is linked to, in two queries.
pub async fn names_of_links(
    tx: &mut TenantTx,
    list: &[Task],
) -> AppResult<(HashMap<CompanyId, String>, HashMap<OpportunityId, String>)> {
    let tenant = tx.tenant();
    let company_ids: Vec<CompanyId> = list.iter().filter_map(|t| t.company_id).collect();
    let opportunity_ids: Vec<OpportunityId> =
        list.iter().filter_map(|t| t.opportunity_id).collect();
    let companies: Vec<(CompanyId, String)> = companies::table
        .filter(companies::tenant_id.eq(tenant))
        .filter(companies::id.eq_any(&company_ids))
        .select((companies::id, companies::name))
        .load(&mut **tx)
        .await?;
    let opportunities: Vec<(OpportunityId, String)> = opportunities::table
        .filter(opportunities::tenant_id.eq(tenant))
        .filter(opportunities::id.eq_any(&opportunity_ids))
        .select((opportunities::id, opportunities::name))
        .load(&mut **tx)
        .await?;
    Ok((
        companies.into_iter().collect(),
        opportunities.into_iter().collect(),
    ))
}

/// The tenant's task categories, in their order.
pub async fn categories(tx: &mut TenantTx) -> AppResult<Vec<(TaskCategoryId, String)>> {
    let tenant = tx.tenant();
    Ok(task_categories::table
        .filter(task_categories::tenant_id.eq(tenant))
        .order((task_categories::position.asc(), task_categories::id.asc()))
        .select((task_categories::id, task_categories::name))
        .load(&mut **tx)
        .await?)
}

/// The open tasks (not memos) of `owner` due before `until`.
fn open_due(
    tenant: crate::ids::TenantId,
    owner: UserId,
    until: DateTime<Utc>,
) -> tasks::BoxedQuery<'static, diesel::pg::Pg> {
    tasks::table
        .filter(tasks::tenant_id.eq(tenant).and(tasks::owner_id.eq(owner)))
        .filter(tasks::done_at.is_null())
        .filter(tasks::kind.eq("task"))
        .filter(tasks::due_at.lt(until))
        .into_boxed()
}

/// How many open tasks of `owner` are due before `until` (today's and overdue: the bell).
pub async fn due_count(tx: &mut TenantTx, owner: UserId, until: DateTime<Utc>) -> AppResult<i64> {
    let tenant = tx.tenant();
    Ok(open_due(tenant, owner, until)
        .count()
        .get_result(&mut **tx)
        .await?)
}

/// Of `ids`, the done ones.
pub async fn only_done(tx: &mut TenantTx, ids: &[TaskId]) -> AppResult<Vec<TaskId>> {
    let tenant = tx.tenant();
    Ok(tasks::table
        .filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq_any(ids)))
        .filter(tasks::done_at.is_not_null())
        .select(tasks::id)
        .order(tasks::id)
        .load(&mut **tx)
        .await?)
}

/// The end of the current day in `tz` (the next midnight that exists there).
pub fn end_of_today(tz: chrono_tz::Tz) -> DateTime<Utc> {
    end_of_day(tz, Utc::now().with_timezone(&tz).date_naive())
}

/// The end of `day` in `tz`: the first instant of the next day that exists there.
pub fn end_of_day(tz: chrono_tz::Tz, day: chrono::NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    day.succ_opt()
        .and_then(|d| {
            (0..3).find_map(|h| tz.from_local_datetime(&d.and_hms_opt(h, 0, 0)?).earliest())
        })
        .map_or(Utc::now() + chrono::Duration::days(1), |t| {
            t.with_timezone(&Utc)
        })
}

/// The open tasks of `owner` due before `until` (today's and overdue), soonest first.
pub async fn due_list(
    tx: &mut TenantTx,
    owner: UserId,
    until: DateTime<Utc>,
    limit: i64,
) -> AppResult<Vec<Task>> {
    let tenant = tx.tenant();
    Ok(open_due(tenant, owner, until)
        .order((tasks::due_at.asc(), tasks::id.asc()))
        .limit(limit)
        .select(Task::as_select())
        .load(&mut **tx)
        .await?)
}
