//! `/api/tasks`: create, read, update and delete tasks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hopper_common::{Job, JobState};
use serde_json::json;

use super::auth::Caller;
use super::body::Body;
use super::error::{Detail, Refusal, ValidationErrors};
use super::model::{Deleted, Task, TaskCreate, TaskUpdateRequest};
use super::view::{self, QUEUED, SUBMITTED};
use crate::jobs::{NamedSubmitted, NotSubmitted, Retried};
use crate::{AppState, Role};

/// Create Task: queue it to run. Its `id` is the client's (a second create with it answers 409);
/// `subParams` is an HTCondor submit description, checked here: a key that breaks a rule answers 422
/// naming it, and nothing is created.
#[utoipa::path(
    post, path = "/api/tasks", tag = "Tasks",
    request_body = TaskCreate,
    responses(
        (status = 200, description = "Created Task", body = Task),
        (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 409, description = "A task with this id exists", body = Detail),
        (status = 422, description = "The body, or a key of subParams, is refused", body = ValidationErrors),
        (status = 503, description = "Redis or RabbitMQ unavailable; nothing was created", body = Detail),
    ),
    security((), ("bearer" = []))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Task>, Refusal> {
    caller.may(Role::Submit, "create tasks")?;
    let body =
        body.map_err(|rejection| Refusal::Http(rejection.status(), rejection.body_text()))?;
    let (id, request) = super::submit::read(&body, &state.taskapi)?;
    match state.jobs.submit_named(request).await {
        Ok(NamedSubmitted::Queued { id: job, .. }) => {
            let job = state.jobs.get(&job).await?.ok_or_else(Refusal::not_found)?;
            Ok(Json(view::task(&job)))
        }
        Ok(NamedSubmitted::Taken(_)) => Err(Refusal::conflict(format!(
            "task {id} exists; delete it first, or create the task under another id"
        ))),
        Err(NotSubmitted::Invalid(invalid)) => Err(refused_field(invalid.field, invalid.message)),
        Err(NotSubmitted::Unavailable(unavailable)) => Err(unavailable.into()),
    }
}

/// A refusal of the core, placed where the client wrote the field.
fn refused_field(field: &str, message: String) -> Refusal {
    let key = match field {
        "script" => "executable",
        "args" => "arguments",
        "working_directory" => "initialdir",
        "queues" => "queue",
        "threads" => "request_cpus",
        "timeout" => "+MaxRuntime",
        "env" => "environment",
        "stdout" => "output",
        "stderr" => "error",
        "max_tries" => return Refusal::field(&["body", "retriesLeft"], message, None),
        "name" => return Refusal::field(&["body", "id"], message, None),
        other => other,
    };
    Refusal::field(&["body", "subParams", key], message, None)
}

/// Show Task.
#[utoipa::path(
    get, path = "/api/tasks/{task_id}", tag = "Tasks",
    params(("task_id" = String, Path, description = "The identifier of the Task.")),
    responses(
        (status = 200, body = Task),
        (status = 404, description = "`{\"detail\": \"not-found\"}`", body = Detail),
        (status = 401, body = Detail), (status = 503, body = Detail),
    ),
    security((), ("bearer" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> Result<Json<Task>, Refusal> {
    caller.may(Role::Read, "read tasks")?;
    let job = find(&state, &task_id).await?;
    Ok(Json(view::task(&job)))
}

async fn find(state: &AppState, task_id: &str) -> Result<Job, Refusal> {
    state
        .jobs
        .named(super::DOOR, task_id)
        .await?
        .ok_or_else(Refusal::not_found)
}

/// Update Task. `state` 0 runs an ended task again with `retriesLeft` starts (a queued one stays
/// queued, with that many); the current state changes nothing. `retriesLeft` sets the starts left.
/// `clusterId`, `procId` and `expirationDate` are Hopper's: they must repeat the task's or be `null`.
#[utoipa::path(
    post, path = "/api/tasks/{task_id}", tag = "Tasks",
    params(("task_id" = String, Path, description = "The identifier of the task.")),
    request_body = TaskUpdateRequest,
    responses(
        (status = 200, description = "Updated Task", body = Task),
        (status = 404, body = Detail),
        (status = 409, description = "The state asked for is not one a client may set now", body = Detail),
        (status = 422, body = ValidationErrors),
        (status = 401, body = Detail), (status = 403, body = Detail), (status = 503, body = Detail),
    ),
    security((), ("bearer" = []))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Task>, Refusal> {
    caller.may(Role::Submit, "update tasks")?;
    let body =
        body.map_err(|rejection| Refusal::Http(rejection.status(), rejection.body_text()))?;
    let mut fields = Body::parse(&body, false)?;
    let wanted = fields.int("state", None);
    let tries = fields.int("retriesLeft", None);
    let cluster = fields.nullable_int("clusterId");
    let proc_id = fields.nullable_int("procId");
    let expiration = fields.raw("expirationDate", true);
    fields.finish()?;
    let job = find(&state, &task_id).await?;
    let task = view::task(&job);
    let mut checks = Body::parse(b"{}", true)?;
    if cluster.is_some_and(|c| Some(c) != task.cluster_id.and_then(|c| i64::try_from(c).ok())) {
        checks.refuse(
            &["body", "clusterId"],
            "clusterId is the task's Hopper job id; send it unchanged or null",
            cluster.map(|c| json!(c)),
        );
    }
    if proc_id.is_some_and(|p| p != 0) {
        checks.refuse(
            &["body", "procId"],
            "procId is always 0 (a task is one process); send 0 or null",
            proc_id.map(|p| json!(p)),
        );
    }
    let current_expiry = task.expiration_date.as_ref().map(|d| json!(d));
    if let Some(date) = expiration.filter(|d| !d.is_null() && Some(d) != current_expiry.as_ref()) {
        checks.refuse(
            &["body", "expirationDate"],
            "expirationDate follows from the time limit; send it unchanged or null",
            Some(date),
        );
    }
    if !(0..=100).contains(&tries) {
        checks.refuse(
            &["body", "retriesLeft"],
            "retriesLeft is 0 to 100",
            Some(json!(tries)),
        );
    }
    checks.finish()?;
    let tries = u32::try_from(tries).unwrap_or(0);
    match (wanted, i64::from(task.state)) {
        (0, current) if current > i64::from(SUBMITTED) => {
            if tries == 0 {
                return Err(Refusal::field(
                    &["body", "retriesLeft"],
                    "running a task again needs at least 1 start",
                    Some(json!(tries)),
                ));
            }
            match state.jobs.retry_with(&job.id, true, Some(tries)).await? {
                Retried::Missing => return Err(Refusal::not_found()),
                Retried::NotEnded(_) => {} // another update ran it first
                Retried::Rejected
                | Retried::Waiting(_)
                | Retried::Queued
                | Retried::QueuedUnpublished => {}
            }
        }
        (wanted, current) if wanted == current => {
            if current == i64::from(QUEUED) && tries == 0 {
                return Err(Refusal::field(
                    &["body", "retriesLeft"],
                    "a queued task needs at least 1 start, or it would stay queued for ever",
                    Some(json!(tries)),
                ));
            }
            if current <= i64::from(SUBMITTED) {
                state.jobs.set_tries_left(&job.id, tries).await?;
            }
        }
        (0, _) => {
            return Err(Refusal::conflict(format!(
                "task {task_id} is running; it can be run again once it has ended"
            )));
        }
        (wanted, _) => {
            return Err(Refusal::conflict(format!(
                "Hopper sets states 1 to 4 as the task runs; an update may ask for state 0 (run an ended task again) or repeat the current state ({}), not {wanted}",
                task.state
            )));
        }
    }
    let job = find(&state, &task_id).await?;
    Ok(Json(view::task(&job)))
}

/// Delete Task: cancels it if it has not ended (its processes are ended), and forgets its id, which a
/// new task may then take. `deleted_flag` says whether there was such a task.
#[utoipa::path(
    delete, path = "/api/tasks/{task_id}", tag = "Tasks",
    params(("task_id" = String, Path, description = "The identifier of the task.")),
    responses(
        (status = 200, body = Deleted),
        (status = 401, body = Detail), (status = 403, body = Detail), (status = 503, body = Detail),
    ),
    security((), ("bearer" = []))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> Result<Json<Deleted>, Refusal> {
    caller.may(Role::Submit, "delete tasks")?;
    let Some(job) = state.jobs.named(super::DOOR, &task_id).await? else {
        return Ok(Json(Deleted {
            deleted_flag: false,
        }));
    };
    if !matches!(
        job.state,
        JobState::Succeeded | JobState::Failed | JobState::Canceled
    ) {
        state.jobs.cancel(&job.id).await?;
    }
    let deleted = state
        .jobs
        .forget_name(super::DOOR, &task_id, &job.id)
        .await?;
    Ok(Json(Deleted {
        deleted_flag: deleted,
    }))
}

/// A 404 for any unknown path under `/api`, as FastAPI answers it.
pub(crate) fn no_such_path() -> Refusal {
    Refusal::Http(StatusCode::NOT_FOUND, "Not Found".to_owned())
}
