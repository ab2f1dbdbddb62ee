//! New job: v5 `POST /queue/new-job/` (`job_type_id`, `job_data` 1.0) and v6 `POST /v6/jobs/`
//! (`job_type_id`, `input`), reference §1.5. The job is a job of the type with that id, filled with
//! the data's inputs, queued at once: the answer is 201, the job's details (status `QUEUED`) and the
//! `Location` of those details.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::filters::required_int;
use super::post::Post;
use super::{ScaleError, Version, job_data, job_view};
use crate::AppState;
use crate::jobs::job_types::JobType;
use crate::jobs::{Invalid, JobRequest, NotSubmitted, OnRefusal, Submitted, TypedRequest};

pub(crate) async fn v5(post: Post) -> Response {
    answer(post, Version::V5).await
}

pub(crate) async fn v6(post: Post) -> Response {
    answer(post, Version::V6).await
}

async fn answer(post: Post, version: Version) -> Response {
    let made = create(&post, version).await;
    super::created::created(&post.headers, &post.uri, version, "jobs", made)
}

async fn create(post: &Post, version: Version) -> Result<(String, Value), ScaleError> {
    let (state, body, params) = (&post.state, &post.body, post.params());
    let type_id = required_int(&params, "job_type_id")?;
    let data_name = match version {
        Version::V5 => "job_data",
        Version::V6 => "input",
    };
    let data = object_param(body, data_name)?;
    let job_type = u32::try_from(type_id)
        .ok()
        .and_then(|id| state.jobs.job_types.by_id(id))
        .ok_or_else(ScaleError::http404)?;
    let read = match version {
        Version::V5 => job_data::legacy(&data),
        Version::V6 => job_data::v6(&data),
    };
    let inputs = read.map_err(|why| invalid_data(version, &why))?;
    let priority = match version {
        Version::V5 => None,
        Version::V6 => configured_priority(body)?,
    };
    let request = request(state, job_type, inputs, priority)?;
    let id = match state.jobs.submit(request, OnRefusal::Refuse).await {
        Ok(Submitted::Queued { id, .. }) => id,
        // `Refuse` records nothing, so a refusal comes back as `Invalid`.
        Ok(Submitted::Recorded { reason, .. }) => return Err(ScaleError::bad_parameter(reason)),
        Err(NotSubmitted::Invalid(invalid)) => return Err(refusal(job_type, version, invalid)),
        Err(NotSubmitted::Unavailable(error)) => {
            return Err(ScaleError::unavailable(error.to_string()));
        }
    };
    let job = state
        .jobs
        .get(&id)
        .await
        .map_err(|e| ScaleError::unavailable(e.to_string()))?
        .ok_or_else(|| {
            ScaleError::unavailable(format!(
                "job {id} was queued but cannot be read back; ask for it at its Location"
            ))
        })?;
    Ok((
        id.to_string(),
        job_view::details(&job, &state.jobs.job_types, version),
    ))
}

/// A job of `job_type` with `inputs`, run in the door's working directory.
pub(crate) fn request(
    state: &AppState,
    job_type: &JobType,
    inputs: std::collections::BTreeMap<String, String>,
    priority: Option<i64>,
) -> Result<JobRequest, ScaleError> {
    let root = state.scale.root.as_ref().ok_or_else(|| ScaleError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: serde_json::json!({ "detail": "this Hopper has no directory for Scale's jobs to run in; its operator must set HOPPER_SCALE_ROOT (or HOPPER_WORK_ROOTS)" }),
    })?;
    Ok(JobRequest {
        door: "scale",
        working_directory: root.to_string_lossy().into_owned(),
        priority,
        typed: Some(TypedRequest {
            name: job_type.name.clone(),
            version: Some(job_type.version.clone()),
            inputs,
        }),
        ..JobRequest::default()
    })
}

/// `parse_dict(request, name, {})`: absent or null is empty, anything but an object a 400.
pub(crate) fn object_param(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Map<String, Value>, ScaleError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(ScaleError::bad_parameter(format!(
            "Parameter must be a valid JSON object: \"{name}\""
        ))),
    }
}

/// Invalid data: v5 answers a bare JSON string (`Response('Invalid job data: ...', 400)`), v6 a
/// `BadParameter` (`{"detail": ...}`).
fn invalid_data(version: Version, why: &str) -> ScaleError {
    let message = format!("Invalid job data: {why}");
    match version {
        Version::V5 => ScaleError::bare(message),
        Version::V6 => ScaleError::bad_parameter(message),
    }
}

/// The core's refusal: a missing or unknown input is invalid data, as Scale's interface check says;
/// anything else is the deployment refusing the type's jobs (its queues, program or directory), which
/// no client can fix, so a 500 naming the type and the reason, for the operator.
fn refusal(job_type: &JobType, version: Version, invalid: Invalid) -> ScaleError {
    if invalid.field == "inputs" {
        return invalid_data(version, &invalid.message);
    }
    ScaleError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        body: serde_json::json!({ "detail": format!(
            "this Hopper refuses jobs of type {}: {} ({}); its operator must fix the type or the deployment",
            job_type.label(), invalid.message, invalid.field
        ) }),
    }
}

/// v6's optional `configuration`: Hopper honours its `priority` and nothing else.
fn configured_priority(body: &Map<String, Value>) -> Result<Option<i64>, ScaleError> {
    let configuration = object_param(body, "configuration")?;
    match configuration.get("priority") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|p| p >= 1) => Ok(n.as_i64()),
        Some(_) => Err(ScaleError::bad_parameter(
            "Job type configuration invalid: Priority must be a positive integer",
        )),
    }
}
