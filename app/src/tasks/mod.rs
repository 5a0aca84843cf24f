//! 任务 / 备忘录: tasks and memos with a start and a due time, an owner (责任人), a
//! category, visibility and an optional company or opportunity; their list (GET /tasks,
//! on the shared list machinery), detail, create, edit, done/restore and delete pages,
//! the sections on company and opportunity pages, and their email reminders
//! ([`reminders`]).
//!
//! Visibility is the customers' rule applied to the task's own owner and visibility
//! (`Scope::tasks`): a task someone may not see is a 404. Its owner, their managers and
//! admins may change it; others who can see it get 403.

pub mod calendar;
pub mod create;
pub mod detail;
pub mod digest;
pub mod edit;
pub mod feed;
pub mod form;
pub mod list;
pub mod model;
pub mod recurrence;
pub mod reminders;
pub mod section;
pub mod settings;

use crate::{
    db::TenantTx,
    error::{AppError, AppResult},
    ids::TaskId,
    tasks::model::Task,
    visibility::{Scope, View},
    web::ctx::Ctx,
};

/// Loads a task the user may change, locked for the rest of the transaction, or 404
/// (not visible) / 403 (visible, not theirs to manage).
pub async fn managed(tx: &mut TenantTx, ctx: &Ctx, id: TaskId) -> AppResult<(Scope, Task)> {
    let scope = Scope::resolve(tx, ctx, View::All).await?;
    let task = model::find_for_update(tx, &scope, id).await?;
    if !scope.can_manage(task.owner_id) {
        return Err(AppError::Forbidden);
    }
    Ok((scope, task))
}
