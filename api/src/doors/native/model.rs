//! The native API's JSON: what a client sends to submit a job, and how a job is shown. Field names are
//! the API's own; the mapping onto the core's `JobRequest` and from its `Job` is here, once.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use hopper_common::{Attempt, Failure, Job};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::jobs::{JobRequest, TypedRequest};

/// A job to submit: a program and its arguments, or a job type and its inputs; where and how to run it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewJob {
    /// The program: a bare file name looked up in the workers' HOPPER_SCRIPT_DIRS, or an absolute path
    /// inside one of them. Its interpreter is chosen by extension (HOPPER_INTERPRETERS). Give either
    /// `program` or `type`.
    #[schema(example = "analyze.php")]
    pub program: Option<String>,
    /// A job type (HOPPER_JOB_TYPES, see `GET /api/v1/job-types`) to run instead of a program.
    #[serde(rename = "type")]
    #[schema(example = "kml-footprint")]
    pub job_type: Option<String>,
    /// The type's version; default: its highest.
    pub version: Option<String>,
    /// The type's inputs, `name: value`; each value goes into its argument whole (at most 64).
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Its arguments, one argv token each; no shell ever sees them. At most 1024.
    #[serde(default)]
    #[schema(example = json!(["-folder", "/data/Sample_1/"]))]
    pub args: Vec<String>,
    /// The queues it may run in (at most 32, each known: served by a worker, or in HOPPER_KNOWN_QUEUES);
    /// the first worker of any of them with room runs it. Required for a program; a type has its own.
    #[serde(default)]
    #[schema(example = json!(["default"]))]
    pub queues: Vec<String>,
    /// Thread slots it takes on its worker. Default: 1, or the type's.
    #[schema(minimum = 1)]
    pub threads: Option<i64>,
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
    /// Ids of jobs it waits on (at most 100, each existing): it is `pending` until all have succeeded,
    /// then queued; `blocked` while one of them failed or was canceled.
    #[serde(default)]
    #[schema(example = json!(["41", "42"]))]
    pub after: Vec<String>,
    /// Lower runs first (-99999 to 99999; default 100, or the type's): when a slot frees, the queue's
    /// job with the lowest number starts, the oldest among equals.
    pub priority: Option<i64>,
}

impl NewJob {
    /// The core's request, or why the body names neither or both of a program and a type.
    pub(crate) fn into_request(self) -> Result<JobRequest, (&'static str, String)> {
        if self.job_type.is_none() && (self.version.is_some() || !self.inputs.is_empty()) {
            return Err(("inputs", "version and inputs go with a type".to_owned()));
        }
        let (script, typed) = match (self.program, self.job_type) {
            (Some(program), None) => (program, None),
            (None, Some(name)) => {
                let typed = TypedRequest {
                    name,
                    version: self.version,
                    inputs: self.inputs,
                };
                (String::new(), Some(typed))
            }
            (Some(_), Some(_)) => {
                return Err((
                    "type",
                    "give either a program or a type, not both".to_owned(),
                ));
            }
            (None, None) => return Err(("program", "give a program or a type".to_owned())),
        };
        let threads = self.threads.unwrap_or(if typed.is_some() { 0 } else { 1 });
        Ok(JobRequest {
            door: "native",
            threads,
            queues: self.queues,
            script,
            args: self.args,
            working_directory: self.working_directory,
            name: self.name,
            labels: self.labels,
            max_tries: self.max_tries,
            timeout: self.timeout,
            job_type: None,
            after: self.after,
            priority: self.priority,
            program_by_path: true,
            held: false,
            typed,
            ..JobRequest::default()
        })
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
    /// The job type it was made from, and its version.
    #[serde(rename = "type")]
    pub job_type: Option<String>,
    pub version: Option<String>,
    /// The inputs a typed job was submitted with; empty for a program.
    pub inputs: BTreeMap<String, String>,
    pub program: String,
    pub args: Vec<String>,
    pub queues: Vec<String>,
    pub threads: u32,
    pub working_directory: String,
    pub max_tries: u32,
    /// Its time limit, e.g. `2h`.
    pub timeout: Option<String>,
    /// The jobs it waits on.
    pub after: Vec<String>,
    /// Lower runs first.
    pub priority: i32,
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
            version: spec.job_type.as_ref().map(|(_, v)| v.clone()),
            job_type: spec.job_type.map(|(name, _)| name),
            inputs: spec.inputs,
            program: spec.script,
            args: spec.args,
            queues: spec.queues.iter().map(ToString::to_string).collect(),
            threads: spec.threads,
            working_directory: spec.working_directory.display().to_string(),
            max_tries: spec.max_tries,
            timeout: spec
                .timeout
                .map(|t| humantime::format_duration(t).to_string()),
            after: spec.after.iter().map(ToString::to_string).collect(),
            priority: spec
                .priority
                .unwrap_or(hopper_common::JobSpec::DEFAULT_PRIORITY),
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
