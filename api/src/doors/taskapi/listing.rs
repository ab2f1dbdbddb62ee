//! The lists of tasks and the server's status. Like the original, the lists are whole (no pages):
//! every named job of this door is read, in one pipeline, oldest first.

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;

use super::auth::Caller;
use super::error::{Detail, Refusal};
use super::model::{ServerStatus, Task, TaskList};
use super::view::{self, COMPLETED, COMPLETED_WITH_ERROR, QUEUED, SUBMITTED, TIMED_OUT};
use crate::{AppState, Role};

async fn tasks(state: &AppState, caller: Caller) -> Result<Vec<Task>, Refusal> {
    caller.may(Role::Read, "read tasks")?;
    let jobs = state.jobs.named_jobs(super::DOOR).await?;
    Ok(jobs.iter().map(|(_, job)| view::task(job)).collect())
}

fn list(items: Vec<Task>) -> Json<TaskList> {
    Json(TaskList {
        kind: "hpctask-list",
        response_date: view::zoned(SystemTime::now()),
        items,
    })
}

/// Tasks (all).
#[utoipa::path(
    get, path = "/api/tasks", tag = "Tasks",
    responses((status = 200, body = TaskList), (status = 401, body = Detail), (status = 503, body = Detail)),
    security((), ("bearer" = []))
)]
pub(crate) async fn all(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TaskList>, Refusal> {
    Ok(list(tasks(&state, caller).await?))
}

/// Tasks queued: state 0 with starts left.
#[utoipa::path(
    get, path = "/api/tasks-queued", tag = "Tasks",
    responses((status = 200, body = TaskList), (status = 401, body = Detail), (status = 503, body = Detail)),
    security((), ("bearer" = []))
)]
pub(crate) async fn queued(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TaskList>, Refusal> {
    let mut items = tasks(&state, caller).await?;
    items.retain(|task| task.state == QUEUED && task.retries_left > 0);
    Ok(list(items))
}

/// Tasks completed: state 2 only.
#[utoipa::path(
    get, path = "/api/tasks-completed", tag = "Tasks",
    responses((status = 200, body = TaskList), (status = 401, body = Detail), (status = 503, body = Detail)),
    security((), ("bearer" = []))
)]
pub(crate) async fn completed(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TaskList>, Refusal> {
    let mut items = tasks(&state, caller).await?;
    items.retain(|task| task.state == COMPLETED);
    Ok(list(items))
}

/// Server status: the tasks in each state.
#[utoipa::path(
    get, path = "/api/status", tag = "General",
    responses((status = 200, body = ServerStatus), (status = 401, body = Detail), (status = 503, body = Detail)),
    security((), ("bearer" = []))
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ServerStatus>, Refusal> {
    let items = tasks(&state, caller).await?;
    let count = |wanted: i32| items.iter().filter(|task| task.state == wanted).count();
    Ok(Json(ServerStatus {
        kind: "dtaskapi-htc-server-status",
        response_date: view::zoned(SystemTime::now()),
        n_tasks_queued: count(QUEUED),
        n_tasks_submitted: count(SUBMITTED),
        n_tasks_completed: count(COMPLETED),
        n_tasks_completed_with_error: count(COMPLETED_WITH_ERROR),
        n_tasks_timed_out: count(TIMED_OUT),
    }))
}
