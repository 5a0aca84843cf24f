//! Tasks and memos: queries and writes. Reads go through a [`Scope`] (`Scope::tasks`), so
//! nobody sees what they may not; every function also filters on the transaction's
//! tenant explicitly. Every write that changes a task's time, owner or state brings its
//! reminder rows up to date in the same transaction ([`super::reminders::sync`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, OpportunityId, TaskCategoryId, TaskId, UserId},
    schema::{companies, opportunities, task_categories, tasks},
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
    let tenant = tx.tenant();
    let id = diesel::insert_into(tasks::table)
        .values((
            tasks::tenant_id.eq(tenant),
            tasks::kind.eq(fields.kind.as_str()),
            tasks::content.eq(&fields.content),
            tasks::starts_at.eq(fields.starts_at),
            tasks::due_at.eq(fields.due_at),
            tasks::owner_id.eq(fields.owner_id),
            tasks::category_id.eq(fields.category_id),
            tasks::visibility.eq(&fields.visibility),
            tasks::company_id.eq(link.company),
            tasks::opportunity_id.eq(link.opportunity),
            tasks::remind_before.eq(&fields.remind_before),
            tasks::created_by.eq(created_by),
        ))
        .returning(tasks::id)
        .get_result(&mut **tx)
        .await?;
    reminders::sync(tx, &[id]).await?;
    Ok(id)
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

/// Deletes tasks (their reminders go with them); returns how many.
pub async fn delete_many(tx: &mut TenantTx, ids: &[TaskId]) -> AppResult<usize> {
    let tenant = tx.tenant();
    Ok(
        diesel::delete(tasks::table.filter(tasks::tenant_id.eq(tenant).and(tasks::id.eq_any(ids))))
            .execute(&mut **tx)
            .await?,
    )
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
    let tenant = tx.tenant();
    let company = match task.company_id {
        Some(id) => companies::table
            .filter(companies::tenant_id.eq(tenant).and(companies::id.eq(id)))
            .select(companies::name)
            .first(&mut **tx)
            .await
            .optional()?,
        None => None,
    };
    let opportunity = match task.opportunity_id {
        Some(id) => opportunities::table
            .filter(
                opportunities::tenant_id
                    .eq(tenant)
                    .and(opportunities::id.eq(id)),
            )
            .select(opportunities::name)
            .first(&mut **tx)
            .await
            .optional()?,
        None => None,
    };
    Ok((company, opportunity))
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
