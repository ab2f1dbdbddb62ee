//! A Hopper job seen as a Batchelor job: its identity (`jobid`, `result`), its state in Batchelor's
//! words, and its status with PHP DateTime objects.

use hopper_common::{Failure, Job, JobState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::php_date::{Zone, php_datetime};
use super::queue::Listed;

/// What the door keeps of a Batchelor job besides Hopper's record (the job's `client_request`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Kept {
    pub result: String,
    pub hostid: String,
    pub task: String,
    pub name: Option<String>,
}

impl Kept {
    pub(crate) fn of(job: &Job) -> Self {
        job.client_request
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }
}

/// A job's state in Batchelor's words. A job that ran again after a suspend is `resumed`, as the
/// original marks it; one whose worker was lost (or stopped under it) with no tries left `crashed`;
/// one canceled through Hopper's own API `finished`.
pub(crate) fn state(job: &Job) -> &'static str {
    match job.state {
        JobState::Pending | JobState::Blocked | JobState::Queued => "pending",
        JobState::Running if job.pauses > 0 => "resumed",
        JobState::Running => "running",
        JobState::Suspended => "suspend",
        JobState::Succeeded => "success",
        JobState::Failed => match job.failure {
            Some(Failure::WorkerLost | Failure::WorkerShutdown) => "crashed",
            _ => "error",
        },
        JobState::Canceled => "finished",
    }
}

/// `JobIdentity`.
pub(crate) fn identity(job: &Job) -> Value {
    json!({"jobid": job.alias.clone().unwrap_or_default(), "result": Kept::of(job).result})
}

/// `JobStatus`: queued, started and finished as PHP DateTime objects (`null` until they happen).
pub(crate) fn status(job: &Job, zone: &Zone) -> Value {
    let date = |ms: Option<u64>| ms.map_or(Value::Null, |ms| php_datetime(ms, zone));
    json!({
        "queued": php_datetime(job.created_ms, zone),
        "started": date(job.started_ms),
        "finished": date(job.ended_ms),
        "state": state(job),
    })
}

/// `QueuedJob`.
pub(crate) fn queued_job(job: &Job, zone: &Zone) -> Value {
    let kept = Kept::of(job);
    json!({
        "identity": identity(job),
        "status": status(job, zone),
        "submit": {"task": kept.task, "name": kept.name},
    })
}

/// What `queue` sorts and filters on.
pub(crate) fn listed(job: &Job) -> Listed {
    let kept = Kept::of(job);
    Listed {
        jobid: job.alias.clone().unwrap_or_default(),
        state: state(job),
        task: kept.task,
        name: kept.name,
        started_ms: job.started_ms,
    }
}
