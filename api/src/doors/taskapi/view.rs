//! A Hopper job seen as a TaskAPI task: its state in the original's numbers, its dates as the original
//! writes them, and its job as an HTCondor cluster of one process.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hopper_common::{Failure, Job, JobState};
use serde_json::json;

use super::model::{HtcCluster, HtcClusterStatus, Task};

/// The original's task states (`TaskStates` in its `models.py`).
pub(crate) const QUEUED: i32 = 0;
pub(crate) const SUBMITTED: i32 = 1;
pub(crate) const COMPLETED: i32 = 2;
pub(crate) const COMPLETED_WITH_ERROR: i32 = 3;
pub(crate) const TIMED_OUT: i32 = 4;

/// A job's state as a task state. A job canceled outside this door (through Hopper's own API) ended
/// without completing: 3.
pub(crate) fn task_state(job: &Job) -> i32 {
    match job.state {
        JobState::Pending | JobState::Blocked | JobState::Queued => QUEUED,
        JobState::Running | JobState::Suspended => SUBMITTED,
        JobState::Succeeded => COMPLETED,
        JobState::Failed if job.failure == Some(Failure::Timeout) => TIMED_OUT,
        JobState::Failed | JobState::Canceled => COMPLETED_WITH_ERROR,
    }
}

/// The task that job `job` is.
pub(crate) fn task(job: &Job) -> Task {
    let running = matches!(job.state, JobState::Running | JobState::Suspended);
    let expiration = match (running, job.started_ms, job.spec.timeout) {
        (true, Some(started), Some(limit)) => Some(naive(started + limit.as_millis() as u64)),
        _ => None,
    };
    Task {
        id: job.alias.clone().unwrap_or_else(|| job.id.to_string()),
        creation_date: naive(job.created_ms),
        sub_params: sub_params(job),
        state: task_state(job),
        state_date: naive(job.changed_ms.unwrap_or(job.created_ms)),
        retries_left: i64::from(job.spec.max_tries) - i64::from(job.attempts),
        cluster_id: job.id.as_str().parse().ok(),
        proc_id: Some(0),
        expiration_date: expiration,
        latest_sub_id: None,
    }
}

/// Its job as an HTCondor cluster of one process, in the shape of the original's `htc_cluster` rows.
pub(crate) fn cluster(job: &Job) -> HtcCluster {
    let (cluster_state, proc_state) = match task_state(job) {
        QUEUED => (0, -1),
        SUBMITTED => (1, -1),
        COMPLETED => (2, 2),
        _ => (3, 3),
    };
    let exit_code = job
        .exit_code
        .map_or(serde_json::Value::Null, |code| json!(code));
    HtcCluster {
        id: job.id.as_str().parse().unwrap_or(0),
        creation_date: naive(job.created_ms),
        task_id: job.alias.clone().unwrap_or_else(|| "-".to_owned()),
        sub_params: sub_params(job),
        cluster_ad: json!({}),
        first_proc: 0,
        num_procs: 1,
        status: HtcClusterStatus {
            cluster_state,
            procs: vec![json!({"index": 0, "state": proc_state, "exit_code": exit_code})],
        },
    }
}

/// The submit description as its client sent it.
fn sub_params(job: &Job) -> BTreeMap<String, String> {
    job.client_request
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// A time as the original shows a task's dates, read back from SQLite: UTC, microseconds, no zone.
pub(crate) fn naive(ms: u64) -> String {
    let mut text = zoned(UNIX_EPOCH + Duration::from_millis(ms));
    text.pop();
    text
}

/// A time as Pydantic writes a UTC datetime: microseconds and `Z` (`responseDate`).
pub(crate) fn zoned(at: SystemTime) -> String {
    humantime::format_rfc3339_micros(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_the_original_writes_them() {
        assert_eq!(naive(1_699_297_734_633), "2023-11-06T19:08:54.633000");
        assert_eq!(zoned(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }
}
