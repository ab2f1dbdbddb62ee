//! Batchelor's JSON methods over the job core, each answering as `ServiceBackend` does. Every job is
//! seen only in its queue (`hostid`); a job of another queue is as missing as one that never was.

use hopper_common::{Job, JobState};
use serde_json::{Map, Value, json};

use super::enqueue::{JobData, enqueue};
use super::queue::{Filter, Sort, select};
use super::reply::{Failure, Success};
use super::view::{self, Kept};
use crate::AppState;
use crate::jobs::{Canceled, Paused};

/// One call: the method, its input, and the queue it works in.
pub(crate) struct Call<'a> {
    pub state: &'a AppState,
    pub hostid: String,
    pub input: Map<String, Value>,
    /// An enqueue's multipart upload, when the request was one.
    pub upload: Option<JobData>,
}

/// Runs `method`; an unknown one fails as the original fails it.
pub(crate) async fn call(method: &str, call: Call<'_>) -> Result<Success, Failure> {
    let result = |value: Value| Ok(Success::Result(value));
    match method {
        "" => Err(Failure::new("The method name is empty")),
        "version" => result(json!("2.0")),
        "enqueue" => {
            let data = match call.upload {
                Some(upload) => upload,
                None => JobData::from_json(&call.input)?,
            };
            let id = enqueue(call.state, &call.hostid, data).await?;
            let job = call
                .state
                .jobs
                .get(&id)
                .await?
                .ok_or_else(|| missing(id.as_str()))?;
            result(view::queued_job(&job, &call.state.batchelor.zone))
        }
        "queue" => {
            let text = |key: &str| call.input.get(key).and_then(Value::as_str);
            let sort = Sort::parse(text("sort")).map_err(Failure::new)?;
            let filter = Filter::parse(text("filter")).map_err(Failure::new)?;
            let jobs = queue_jobs(&call).await?;
            let listed = jobs.iter().map(view::listed).collect();
            let picked = select(listed, sort, filter).map_err(Failure::new)?;
            let shown = picked
                .iter()
                .filter_map(|l| jobs.iter().find(|j| j.alias.as_deref() == Some(&l.jobid)))
                .map(|job| view::queued_job(job, &call.state.batchelor.zone))
                .collect();
            result(Value::Array(shown))
        }
        "watch" => {
            let stamp = call.input.get("stamp").and_then(Value::as_i64).unwrap_or(0);
            let jobs = queue_jobs(&call).await?;
            let shown = jobs
                .iter()
                .filter(|job| (job.created_ms / 1000) as i64 > stamp)
                .map(|job| {
                    let mut queued = view::queued_job(job, &call.state.batchelor.zone);
                    queued["status"]["stamp"] = json!(job.created_ms / 1000);
                    queued
                })
                .collect();
            result(Value::Array(shown))
        }
        "opendir" => {
            let jobs = queue_jobs(&call).await?;
            result(Value::Array(jobs.iter().map(view::identity).collect()))
        }
        "stat" => {
            let job = identified(&call, &call.input).await?;
            result(view::status(&job, &call.state.batchelor.zone))
        }
        "dequeue" => {
            let job = identified(&call, &call.input).await?;
            let ended = matches!(
                job.state,
                JobState::Succeeded | JobState::Failed | JobState::Canceled
            );
            if !ended && call.state.jobs.cancel(&job.id).await? == Canceled::Missing {
                return Err(missing(job.alias.as_deref().unwrap_or("")));
            }
            let name = job.alias.clone().unwrap_or_default();
            call.state
                .jobs
                .forget_name(super::DOOR, &name, &job.id)
                .await?;
            result(json!(true))
        }
        "suspend" | "resume" => {
            let job = identified(&call, &call.input).await?;
            match call.state.jobs.pause(&job.id, method == "suspend").await? {
                Paused::Missing => Err(missing(job.alias.as_deref().unwrap_or(""))),
                Paused::Not(now) => Err(Failure::new(format!(
                    "The job {} can not be {}: it is {}",
                    job.alias.as_deref().unwrap_or(""),
                    if method == "suspend" {
                        "suspended"
                    } else {
                        "resumed"
                    },
                    view::state(&Job {
                        state: now,
                        ..job.clone()
                    })
                ))),
                _ => result(json!(true)),
            }
        }
        "select" => {
            let queue = call
                .input
                .get("queue")
                .and_then(Value::as_str)
                .unwrap_or("");
            Ok(Success::Selected(super::hostid::of_queue(
                if queue.is_empty() {
                    "default-queue"
                } else {
                    queue
                },
            )))
        }
        "readdir" | "fopen" => super::reading::call(method, &call).await,
        other => Err(Failure::new(format!("The method {other} is missing"))),
    }
}

/// The jobs of the call's queue, in the order they were enqueued.
async fn queue_jobs(call: &Call<'_>) -> Result<Vec<Job>, Failure> {
    let named = call.state.jobs.named_jobs(super::DOOR).await?;
    Ok(named
        .into_iter()
        .map(|(_, job)| job)
        .filter(|job| Kept::of(job).hostid == call.hostid)
        .collect())
}

/// The job a `JobIdentity` names in the call's queue.
pub(crate) async fn identified(
    call: &Call<'_>,
    identity: &Map<String, Value>,
) -> Result<Job, Failure> {
    let text = |key: &str| {
        identity
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let jobid =
        text("jobid").ok_or_else(|| Failure::new("The jobid key is missing in job identity"))?;
    text("result").ok_or_else(|| Failure::new("The result key is missing in job identity"))?;
    let job = call.state.jobs.named(super::DOOR, jobid).await?;
    job.filter(|job| Kept::of(job).hostid == call.hostid)
        .ok_or_else(|| missing(jobid))
}

fn missing(jobid: &str) -> Failure {
    Failure::new(format!("The job {jobid} is missing"))
}
