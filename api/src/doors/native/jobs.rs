//! `/api/v1/jobs`: submit, read and cancel jobs.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hopper_common::{Idempotency, JobId};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::model::{JobView, NewJob};
use super::problem::Problem;
use crate::jobs::{Canceled, NotSubmitted, OnRefusal, Paused, Retried, Submitted, Unavailable};
use crate::{AppState, Role};

/// How long an `Idempotency-Key` answers with the job it made.
const IDEMPOTENCY_KEPT: Duration = Duration::from_secs(24 * 3600);
/// Longest `Idempotency-Key` accepted, in bytes.
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// Submit a job.
///
/// Answers 201 with the job and its `Location` once the job is recorded and its submit published. A
/// second request with the same `Idempotency-Key` header within 24 h answers 200 with the first job
/// instead of making another.
#[utoipa::path(
    post, path = "/api/v1/jobs", tag = "jobs",
    request_body = NewJob,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried submit return the first job instead of a second (at most 255 bytes, kept 24 h)")),
    responses(
        (status = 201, description = "Queued", body = JobView, headers(("Location" = String, description = "The job's URL"))),
        (status = 200, description = "An earlier submit with this Idempotency-Key made this job", body = JobView),
        (status = 400, description = "Not JSON, or not a job", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A submit with this Idempotency-Key is still under way", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is refused; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Redis or RabbitMQ unavailable; nothing was changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller.may(Role::Submit, "submit jobs")?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(state.max_body),
        _ => Problem::malformed(rejection.body_text(), None),
    })?;
    let new_job = decode(&body)?;
    let Some(key) = idempotency_key(&headers)? else {
        return submitted(&state, new_job).await;
    };
    let jobs = &state.jobs;
    match jobs
        .store
        .idempotency_begin(&key, jobs.provisional * 2)
        .await
        .map_err(Unavailable::store)?
    {
        Idempotency::Fresh => {}
        Idempotency::Pending => {
            return Err(Problem::conflict(
                "a submit with this Idempotency-Key is still under way; ask again shortly"
                    .to_owned(),
            ));
        }
        Idempotency::Done(id) => {
            let job = jobs.get(&id).await?.ok_or_else(|| {
                Problem::not_found(format!(
                    "the job {id} this Idempotency-Key made is gone (past its retention)"
                ))
            })?;
            return Ok(Json(JobView::from(job)).into_response());
        }
    }
    let outcome = submitted(&state, new_job).await;
    let made = outcome
        .as_ref()
        .ok()
        .and_then(|r| r.headers().get(header::LOCATION))
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.rsplit('/').next())
        .and_then(|id| JobId::parse(id).ok());
    let recorded = match made {
        Some(id) => {
            jobs.store
                .idempotency_done(&key, &id, IDEMPOTENCY_KEPT)
                .await
        }
        None => jobs.store.idempotency_abandon(&key).await,
    };
    if let Err(error) = recorded {
        // The submit itself stands; only a retry with this key could now make a second job.
        tracing::warn!(%error, "cannot record what a submit with an Idempotency-Key did");
    }
    outcome
}

async fn submitted(state: &AppState, new_job: NewJob) -> Result<Response, Problem> {
    let jobs = &state.jobs;
    let request = new_job
        .into_request()
        .map_err(|(field, why)| Problem::invalid(field, why))?;
    let id = match jobs.submit(request, OnRefusal::Refuse).await {
        Ok(Submitted::Queued { id, .. } | Submitted::Recorded { id, .. }) => id,
        Err(NotSubmitted::Invalid(invalid)) => return Err(invalid.into()),
        Err(NotSubmitted::Unavailable(unavailable)) => return Err(unavailable.into()),
    };
    let location = format!("/api/v1/jobs/{id}");
    let view = match jobs.get(&id).await? {
        Some(job) => JobView::from(job),
        // Queued a moment ago and already forgotten: only a retention of a few seconds does that.
        None => return Err(Problem::not_found(format!("job {id} is already gone"))),
    };
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The body as a [`NewJob`], or a problem naming the field at fault.
fn decode(body: &[u8]) -> Result<NewJob, Problem> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| Problem::malformed(format!("the body is not JSON: {error}"), None))?;
    // serde would also read a struct from an array of its fields in order: only objects are jobs.
    if !value.is_object() {
        return Err(Problem::malformed(
            "the body is not a job: it must be a JSON object".to_owned(),
            None,
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = (path != ".").then_some(path);
        Problem::malformed(format!("the body is not a job: {}", error.inner()), field)
    })
}

/// The request's `Idempotency-Key`, digested; `None` without one.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > IDEMPOTENCY_KEY_MAX {
        return Err(Problem::invalid(
            "Idempotency-Key",
            format!("the Idempotency-Key header must be 1-{IDEMPOTENCY_KEY_MAX} bytes long"),
        ));
    }
    let digest = Sha256::digest(bytes);
    Ok(Some(digest.iter().map(|b| format!("{b:02x}")).collect()))
}

/// The job's id from the path, or 404: an id Hopper could not have issued names no job.
pub(super) fn job_id(raw: &str) -> Result<JobId, Problem> {
    JobId::parse(raw).map_err(|_| no_job(raw))
}

pub(super) fn no_job(raw: &str) -> Problem {
    Problem::not_found(format!(
        "no job '{}': never issued, or forgotten after its retention (HOPPER_RETENTION)",
        hopper_common::excerpt(raw)
    ))
}

/// Read a job: its spec, state, times, attempts and their history, outcome and worker.
#[utoipa::path(
    get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, body = JobView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<JobView>, Problem> {
    caller.may(Role::Read, "read jobs")?;
    let id = job_id(&raw)?;
    match state.jobs.get(&id).await? {
        Some(job) => Ok(Json(job.into())),
        None => Err(no_job(&raw)),
    }
}

/// Cancel a job that has not ended.
///
/// A job that has not started is canceled at once (200). A running job's worker is told to end it (202);
/// the job then ends `canceled`.
#[utoipa::path(
    delete, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Canceled before it started", body = JobView),
        (status = 202, description = "Its worker is ending it", body = JobView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It had already ended", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, Problem> {
    caller.may(Role::Submit, "cancel jobs")?;
    let id = job_id(&raw)?;
    let status = match state.jobs.cancel(&id).await? {
        Canceled::Missing => return Err(no_job(&raw)),
        Canceled::AlreadyEnded(ended) => {
            return Err(Problem::conflict(format!(
                "job {id} had already ended ({ended}); nothing to cancel"
            )));
        }
        Canceled::Dequeued => StatusCode::OK,
        Canceled::Stopping { .. } | Canceled::WorkerGone { .. } => StatusCode::ACCEPTED,
    };
    match state.jobs.get(&id).await? {
        Some(job) => Ok((status, Json(JobView::from(job))).into_response()),
        None => Err(no_job(&raw)),
    }
}

/// Retry a job that failed or was canceled: it goes back to `queued` with a fresh set of tries (its
/// attempt history stays). Once, however many clients ask at the same moment: the others get 409.
#[utoipa::path(
    post, path = "/api/v1/jobs/{id}/retry", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Queued again", body = JobView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has not failed or been canceled, or was refused at submit", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<JobView>, Problem> {
    caller.may(Role::Submit, "retry jobs")?;
    let id = job_id(&raw)?;
    match state.jobs.retry(&id).await? {
        Retried::Missing => return Err(no_job(&raw)),
        Retried::Rejected => {
            return Err(Problem::conflict(format!(
                "job {id} was refused at submit; submit a corrected job instead"
            )));
        }
        Retried::NotEnded(now) => {
            return Err(Problem::conflict(format!(
                "job {id} is {now}: only a failed or canceled job can be retried"
            )));
        }
        Retried::Queued | Retried::QueuedUnpublished | Retried::Waiting(_) => {}
    }
    match state.jobs.get(&id).await? {
        Some(job) => Ok(Json(job.into())),
        None => Err(no_job(&raw)),
    }
}

/// Suspend a running job: its worker stops its processes (SIGSTOP); its time limit does not run while
/// it is suspended. It keeps its thread slots.
#[utoipa::path(
    post, path = "/api/v1/jobs/{id}/suspend", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Suspended", body = JobView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not running", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn suspend(
    state: State<AppState>,
    caller: Caller,
    raw: Path<String>,
) -> Result<Json<JobView>, Problem> {
    pause(state, caller, raw, true).await
}

/// Resume a suspended job: its worker lets its processes go on (SIGCONT).
#[utoipa::path(
    post, path = "/api/v1/jobs/{id}/resume", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "Running again", body = JobView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is not suspended", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn resume(
    state: State<AppState>,
    caller: Caller,
    raw: Path<String>,
) -> Result<Json<JobView>, Problem> {
    pause(state, caller, raw, false).await
}

async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    suspend: bool,
) -> Result<Json<JobView>, Problem> {
    let verb = if suspend { "suspend" } else { "resume" };
    caller.may(Role::Submit, &format!("{verb} jobs"))?;
    let id = job_id(&raw)?;
    match state.jobs.pause(&id, suspend).await? {
        Paused::Missing => return Err(no_job(&raw)),
        Paused::Not(now) => {
            let needs = if suspend { "running" } else { "suspended" };
            return Err(Problem::conflict(format!(
                "job {id} is {now}: only a {needs} job can be {verb}d (and not while it is being canceled)"
            )));
        }
        Paused::Done | Paused::Recorded => {}
    }
    match state.jobs.get(&id).await? {
        Some(job) => Ok(Json(job.into())),
        None => Err(no_job(&raw)),
    }
}
