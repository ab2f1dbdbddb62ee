//! The original's HTCondor paths. There, a background thread submits tasks to HTCondor and follows
//! them through its job event log; clusters and job events could also be posted by hand. Hopper runs
//! tasks itself, so a task's cluster is its Hopper job (`clusterId`), readable here in the original's
//! shape, and posting a cluster or a job event would change nothing: such calls are refused with 409,
//! saying so, rather than accepted and ignored. `/api/log` was a stub in the original and answers as
//! it did, `null`.

use axum::Json;
use axum::extract::{Path, State};
use hopper_common::JobId;
use serde_json::Value;

use super::auth::Caller;
use super::error::{Detail, Refusal};
use super::model::HtcClusterWithTask;
use super::view;
use crate::{AppState, Role};

/// Show HTC Cluster: a task's job as a cluster of one process, with the task.
#[utoipa::path(
    get, path = "/api/htc-clusters/{cluster_id}", tag = "HTCondor",
    params(("cluster_id" = u64, Path, description = "The identifier of the cluster: a task's clusterId.")),
    responses((status = 200, body = HtcClusterWithTask), (status = 404, body = Detail), (status = 401, body = Detail), (status = 503, body = Detail)),
    security((), ("bearer" = []))
)]
pub(crate) async fn cluster(
    State(state): State<AppState>,
    caller: Caller,
    Path(cluster_id): Path<String>,
) -> Result<Json<HtcClusterWithTask>, Refusal> {
    caller.may(Role::Read, "read clusters")?;
    let id = int_path("cluster_id", &cluster_id)
        .ok()
        .and_then(|n| JobId::parse(&n.to_string()).ok())
        .ok_or_else(Refusal::not_found)?;
    let job = state.jobs.get(&id).await?.filter(|job| {
        job.alias.is_some() && job.spec.labels.get("door").map(String::as_str) == Some(super::DOOR)
    });
    let job = job.ok_or_else(Refusal::not_found)?;
    Ok(Json(HtcClusterWithTask {
        kind: "htc-cluster-with-task",
        cluster: view::cluster(&job),
        task: view::task(&job),
        extra: serde_json::json!({}),
    }))
}

/// New HTC Cluster: refused, since Hopper runs tasks itself (see the module's doc).
#[utoipa::path(
    post, path = "/api/htc-clusters", tag = "HTCondor",
    responses((status = 409, description = "Hopper runs tasks itself; nothing to register", body = Detail)),
    security((), ("bearer" = []))
)]
pub(crate) async fn new_cluster(caller: Caller) -> Refusal {
    refused(
        caller,
        "clusters: a task's cluster is its Hopper job (clusterId), made with the task",
    )
}

/// Post an HTCondor job event: refused, since Hopper follows its own jobs (see the module's doc).
#[utoipa::path(
    post, path = "/api/htc-job-events", tag = "HTCondor",
    responses((status = 409, description = "Hopper follows its own jobs; nothing to record", body = Detail)),
    security((), ("bearer" = []))
)]
pub(crate) async fn job_event(caller: Caller) -> Refusal {
    refused(
        caller,
        "job events: Hopper's workers record every state change of a task's job themselves",
    )
}

fn refused(caller: Caller, what: &str) -> Refusal {
    if let Err(refusal) = caller.may(Role::Submit, "post to the HTCondor paths") {
        return refusal;
    }
    Refusal::conflict(format!(
        "Hopper runs tasks itself instead of handing them to HTCondor, so it takes no {what}"
    ))
}

/// Post a new log entry: a stub in the original, answering `null`.
#[utoipa::path(
    post, path = "/api/log", tag = "HTCondor",
    responses((status = 200, description = "`null`, as in the original")),
    security((), ("bearer" = []))
)]
pub(crate) async fn post_log(caller: Caller) -> Result<Json<Value>, Refusal> {
    caller.may(Role::Submit, "post log entries")?;
    Ok(Json(Value::Null))
}

/// Get a log entry: a stub in the original, answering `null`.
#[utoipa::path(
    get, path = "/api/log/{entry_id}", tag = "HTCondor",
    params(("entry_id" = i64, Path, description = "Any integer.")),
    responses((status = 200, description = "`null`, as in the original")),
    security((), ("bearer" = []))
)]
pub(crate) async fn get_log(
    caller: Caller,
    Path(entry_id): Path<String>,
) -> Result<Json<Value>, Refusal> {
    caller.may(Role::Read, "read log entries")?;
    int_path("entry_id", &entry_id)?;
    Ok(Json(Value::Null))
}

/// A path parameter that FastAPI reads as an integer: one that is not answers 422 in its shape.
fn int_path(name: &str, raw: &str) -> Result<i64, Refusal> {
    raw.parse().map_err(|_| {
        Refusal::Invalid(vec![super::error::FieldError {
            loc: vec!["path".into(), name.into()],
            msg: "Input should be a valid integer, unable to parse string as an integer".to_owned(),
            kind: "int_parsing",
            input: Some(raw.into()),
        }])
    })
}
