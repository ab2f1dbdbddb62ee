//! The native API's JSON: what a client sends to submit a job, and how a job is shown. Field names are
//! the API's own; the mapping onto the core's `JobRequest` and from its `Job` is here, once.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use hopper_common::{Attempt, Failure, Job};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::jobs::JobRequest;

/// A job to submit: a program and its arguments, where and how to run it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewJob {
    /// The program: a bare file name, looked up in the workers' HOPPER_SCRIPT_DIRS. Its interpreter is
    /// chosen by extension (HOPPER_INTERPRETERS).
    #[schema(example = "analyze.php")]
    pub program: String,
    /// Its arguments, one argv token each; no shell ever sees them. At most 1024.
    #[serde(default)]
    #[schema(example = json!(["-folder", "/data/Sample_1/"]))]
    pub args: Vec<String>,
    /// The queues it may run in (at most 32, each known: served by a worker, or in HOPPER_KNOWN_QUEUES);
    /// the first worker of any of them with room runs it.
    #[schema(example = json!(["default"]))]
    pub queues: Vec<String>,
    /// Thread slots it takes on its worker.
    #[serde(default = "one")]
    #[schema(default = 1, minimum = 1)]
    pub threads: i64,
    /// Absolute directory it runs in, under HOPPER_WORK_ROOTS.
    #[schema(example = "/data/Sample_1")]
    pub working_directory: String,
    /// A name for people; not unique. At most 256 bytes.
    pub name: Option<String>,
    /// Free labels, `key: value` (at most 32; keys 1-64 of `A-Za-z0-9_.-/`, values at most 256
    /// bytes). `door` is set by Hopper to the front door that made the job.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// How many times it may be started (1-100); a worker lost under it with tries left puts it back.
    /// Default: the queues' policy (HOPPER_MAX_TRIES).
    #[schema(minimum = 1, maximum = 100)]
    pub max_tries: Option<i64>,
    /// Longest it may run, e.g. `30min`, `2h`; time suspended does not count. Past it, it is ended
    /// (as a cancel ends it) and fails with reason `timeout`, or runs again while it has tries left.
    #[schema(example = "2h")]
    pub timeout: Option<String>,
}

fn one() -> i64 {
    1
}

impl NewJob {
    pub(crate) fn into_request(self) -> JobRequest {
        JobRequest {
            door: "native",
            threads: self.threads,
            queues: self.queues,
            script: self.program,
            args: self.args,
            working_directory: self.working_directory,
            name: self.name,
            labels: self.labels,
            max_tries: self.max_tries,
            timeout: self.timeout,
        }
    }
}

/// A job as listed: what was asked, where it stands, how it ended; without its output and history.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobSummary {
    #[schema(example = "17")]
    pub id: String,
    /// `pending`, `blocked`, `queued`, `running`, `suspended`, `succeeded`, `failed` or `canceled`.
    #[schema(example = "running")]
    pub state: &'static str,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub program: String,
    pub args: Vec<String>,
    pub queues: Vec<String>,
    pub threads: u32,
    pub working_directory: String,
    pub max_tries: u32,
    /// Its time limit, e.g. `2h`.
    pub timeout: Option<String>,
    /// RFC 3339, UTC.
    #[schema(example = "2026-11-30T18:30:00.000Z")]
    pub created: String,
    pub started: Option<String>,
    pub ended: Option<String>,
    /// The queue it runs or ran in, once a worker took it.
    pub queue: Option<String>,
    pub worker: Option<String>,
    pub host: Option<String>,
    /// Slots its worker gave it, when fewer than asked (see `note`).
    pub threads_granted: Option<u32>,
    /// How many times a worker started it.
    pub attempts: u32,
    pub cancel_requested: bool,
    /// How it failed, for a failed job.
    pub failure: Option<FailureView>,
    /// Its exit code, once its program exited.
    pub exit_code: Option<i32>,
    /// A remark from its worker.
    pub note: Option<String>,
}

/// A job, whole: as listed, and its output and the history of its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobView {
    #[serde(flatten)]
    pub job: JobSummary,
    /// Head and tail of its output (stdout, then stderr), once it ended; at most 65,000 bytes.
    pub output: String,
    /// Every ended attempt, oldest first.
    pub history: Vec<AttemptView>,
}

/// Why a job failed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FailureView {
    /// `exit`, `signal`, `could_not_start`, `rejected`, `worker_shutdown`, `worker_lost` or `timeout`.
    #[schema(example = "exit")]
    pub reason: &'static str,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub message: Option<String>,
}

/// One ended attempt.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptView {
    pub attempt: u32,
    pub worker: String,
    pub host: String,
    pub started: String,
    pub ended: String,
    /// `succeeded`, `canceled` or a failure reason.
    pub outcome: String,
}

impl From<Job> for JobView {
    fn from(mut job: Job) -> Self {
        let output = std::mem::take(&mut job.output);
        let history = std::mem::take(&mut job.history);
        Self {
            job: job.into(),
            output,
            history: history.into_iter().map(AttemptView::from).collect(),
        }
    }
}

impl From<Job> for JobSummary {
    fn from(job: Job) -> Self {
        let spec = job.spec;
        Self {
            id: job.id.to_string(),
            state: job.state.as_str(),
            name: spec.name,
            labels: spec.labels,
            program: spec.script,
            args: spec.args,
            queues: spec.queues.iter().map(ToString::to_string).collect(),
            threads: spec.threads,
            working_directory: spec.working_directory.display().to_string(),
            max_tries: spec.max_tries,
            timeout: spec
                .timeout
                .map(|t| humantime::format_duration(t).to_string()),
            created: time(job.created_ms),
            started: job.started_ms.map(time),
            ended: job.ended_ms.map(time),
            queue: job.queue.map(|q| q.to_string()),
            worker: job.worker,
            host: job.host,
            threads_granted: job.threads_granted,
            attempts: job.attempts,
            cancel_requested: job.cancel_requested,
            failure: job.failure.as_ref().map(FailureView::from),
            exit_code: job.exit_code,
            note: job.note,
        }
    }
}

impl From<&Failure> for FailureView {
    fn from(failure: &Failure) -> Self {
        let (mut exit_code, mut signal, mut message) = (None, None, None);
        match failure {
            Failure::Exit(code) => exit_code = Some(*code),
            Failure::Signal(number) => signal = Some(*number),
            Failure::CouldNotStart(text) | Failure::Rejected(text) => message = Some(text.clone()),
            Failure::WorkerShutdown | Failure::WorkerLost | Failure::Timeout => {}
        }
        Self {
            reason: failure.reason(),
            exit_code,
            signal,
            message,
        }
    }
}

impl From<Attempt> for AttemptView {
    fn from(attempt: Attempt) -> Self {
        Self {
            attempt: attempt.attempt,
            worker: attempt.worker,
            host: attempt.host,
            started: time(attempt.started),
            ended: time(attempt.ended),
            outcome: attempt.outcome,
        }
    }
}

/// Unix milliseconds as RFC 3339 in UTC, e.g. `2026-11-30T18:30:00.000Z`.
pub(crate) fn time(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}
