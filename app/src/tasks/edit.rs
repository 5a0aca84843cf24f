//! GET and POST /tasks/:id/edit — 修改任务: every field but the link; the pending
//! reminders move with the new times in the same transaction.

use maud::Markup;
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Path, Redirect},
};

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::TaskId,
    state::State,
    tasks::{
        form::{self, Choices, Purpose, TaskForm},
        managed, model,
    },
    web::{
        ctx::Ctx,
        flash,
        forms::{Errors, RawForm},
    },
};

/// GET /tasks/:id/edit
#[handler]
pub async fn edit_form(ctx: Ctx, state: Data<&State>, Path(id): Path<TaskId>) -> AppResult<Markup> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, task) = managed(&mut tx, &ctx, id).await?;
    let choices = Choices::load(&mut tx).await?;
    tx.commit().await?;
    Ok(form::page(
        &ctx,
        &scope,
        &Purpose::Edit(task.id),
        &TaskForm::from_task(&ctx, &task),
        &Errors::new(),
        &choices,
    ))
}

/// POST /tasks/:id/edit
#[handler]
pub async fn update(
    ctx: Ctx,
    state: Data<&State>,
    Path(id): Path<TaskId>,
    body: RawForm,
) -> AppResult<Response> {
    let input: TaskForm = body.parse::<TaskForm>()?.with_reminders(body.pairs());
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let (scope, task) = managed(&mut tx, &ctx, id).await?;
    let choices = Choices::load(&mut tx).await?;
    let mut errors = Errors::new();
    let fields = form::validate(&ctx, &scope, &input, &choices, task.owner_id, &mut errors);
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(
            form::page(&ctx, &scope, &Purpose::Edit(id), &input, &errors, &choices)
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response(),
        );
    }
    model::update(&mut tx, task.id, &fields).await?;
    tx.commit().await?;
    flash::success(&ctx, ctx.t("tasks.saved"));
    Ok(Redirect::see_other(format!("/tasks/{id}")).into_response())
}
