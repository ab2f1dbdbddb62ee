//! The job model shared by every front door: what was asked ([`JobSpec`]), where it stands ([`JobState`]),
//! and how it ended ([`Failure`]). Each front door maps these onto its own vocabulary in one place.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{JobSpec, QueueName, StoreError};

/// A job's id: the decimal value of a Redis counter, so at most 10 characters of `[A-Za-z0-9_-]`
/// (GSvar keeps it in a `varchar(10)` and pastes it into SQL).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

impl JobId {
    pub const MAX_LEN: usize = 10;

    /// Accepts what a client sends back; anything that Hopper could not have issued is refused.
    pub fn parse(value: &str) -> Result<Self, String> {
        if crate::text::is_plain_name(value, Self::MAX_LEN) {
            Ok(Self(value.to_owned()))
        } else {
            Err(format!(
                "'{}' is not a Hopper job id",
                crate::excerpt(value)
            ))
        }
    }

    pub(crate) fn from_counter(value: u64) -> Result<Self, StoreError> {
        let id = value.to_string();
        if id.len() > Self::MAX_LEN {
            return Err(StoreError::Corrupt(format!(
                "job counter reached {id}, longer than {} characters",
                Self::MAX_LEN
            )));
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JobId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> String {
        id.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a job stands. `queued → running → succeeded | failed | canceled`, or `queued → canceled`;
/// a submit refused for a lasting reason is born `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Waiting on other jobs (`after`) to succeed.
    Pending,
    /// One of the jobs it waits on failed or was canceled (or is blocked itself): it will not run
    /// unless that one is retried and succeeds.
    Blocked,
    Queued,
    Running,
    /// Running, its processes stopped (SIGSTOP) until it is resumed; its time limit does not run.
    Suspended,
    Succeeded,
    Failed,
    Canceled,
}

impl JobState {
    /// Every state, in the order a job may pass through them.
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Blocked,
        Self::Queued,
        Self::Running,
        Self::Suspended,
        Self::Succeeded,
        Self::Failed,
        Self::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Blocked => "blocked",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Suspended => "suspended",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => Self::Pending,
            "blocked" => Self::Blocked,
            "queued" => Self::Queued,
            "running" => Self::Running,
            "suspended" => Self::Suspended,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a job failed. Stored as the fields `reason`, `exit_code`, `signal` and `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The script exited with a non-zero code.
    Exit(i32),
    /// The script was killed by a signal.
    Signal(i32),
    /// The worker could not start the script (missing script, interpreter, directory...).
    CouldNotStart(String),
    /// The submit was refused for a lasting reason; the job never entered a queue.
    Rejected(String),
    /// Its worker was shut down while it ran, and terminated it.
    WorkerShutdown,
    /// Its worker stopped proving it was alive (killed, host down, cut off) while it ran.
    WorkerLost,
    /// It ran past its time limit and was ended, as a cancel ends a job.
    Timeout,
}

impl Failure {
    /// The `reason` field's value.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Exit(_) => "exit",
            Self::Signal(_) => "signal",
            Self::CouldNotStart(_) => "could_not_start",
            Self::Rejected(_) => "rejected",
            Self::WorkerShutdown => "worker_shutdown",
            Self::WorkerLost => "worker_lost",
            Self::Timeout => "timeout",
        }
    }

    /// The fields written to the job hash.
    pub(crate) fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("reason", self.reason().to_owned())];
        match self {
            Self::Exit(code) => fields.push(("exit_code", code.to_string())),
            Self::Signal(signal) => fields.push(("signal", signal.to_string())),
            Self::CouldNotStart(message) | Self::Rejected(message) => {
                fields.push(("message", message.clone()))
            }
            Self::WorkerShutdown | Self::WorkerLost | Self::Timeout => {}
        }
        fields
    }

    fn from_fields(hash: &HashMap<String, String>) -> Option<Self> {
        let message = || hash.get("message").cloned().unwrap_or_default();
        let number = |field: &str| hash.get(field).and_then(|v| v.parse().ok());
        Some(match hash.get("reason")?.as_str() {
            "exit" => Self::Exit(number("exit_code")?),
            "signal" => Self::Signal(number("signal")?),
            "could_not_start" => Self::CouldNotStart(message()),
            "rejected" => Self::Rejected(message()),
            "worker_shutdown" => Self::WorkerShutdown,
            "worker_lost" => Self::WorkerLost,
            "timeout" => Self::Timeout,
            _ => return None,
        })
    }
}

/// How a worker saw a job end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ending {
    /// `None` for exit code 0.
    pub failure: Option<Failure>,
    /// Head and tail of stdout and stderr, at most [`crate::RESULT_LIMIT`] bytes.
    pub output: String,
}

/// A job as stored in Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub state: JobState,
    pub spec: JobSpec,
    /// The queue it runs or ran in; `None` until a worker claimed it.
    pub queue: Option<QueueName>,
    pub worker: Option<String>,
    pub host: Option<String>,
    pub threads_granted: Option<u32>,
    /// Unix milliseconds.
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    /// When its state last changed (Unix ms), as Redis's clock read it.
    pub changed_ms: Option<u64>,
    pub failure: Option<Failure>,
    /// The script's exit code, once it exited (0 for a job that succeeded).
    pub exit_code: Option<i32>,
    /// A remark from the worker, e.g. that it granted fewer threads than asked.
    pub note: Option<String>,
    pub output: String,
    pub cancel_requested: bool,
    /// How many times a worker claimed it.
    pub attempts: u32,
    /// How many times it was suspended or resumed.
    pub pauses: u64,
    /// Every attempt that ended, oldest first.
    pub history: Vec<Attempt>,
    /// The name its client gave it in its front door, for doors whose clients choose their jobs' ids
    /// (TaskAPI's task ids; see `Store::create_provisional`).
    pub alias: Option<String>,
    /// The request as its client sent it, kept for doors that show it back (TaskAPI's `subParams`).
    pub client_request: Option<String>,
}

/// What a status reply needs of a job, and no more. Polling is by far the most frequent request (GSvar
/// asks about every job it knows, over and over), so it reads just these fields with one `HMGET`: the
/// spec and the attempt history are neither sent by Redis nor parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStatus {
    pub id: JobId,
    pub state: JobState,
    pub cancel_requested: bool,
    /// The queue it runs or ran in, once claimed.
    pub queue: Option<QueueName>,
    pub host: Option<String>,
    pub note: Option<String>,
    pub output: String,
    pub failure: Option<Failure>,
}

impl JobStatus {
    /// The hash fields read, in the order [`JobStatus::from_values`] expects them.
    pub(crate) const FIELDS: [&'static str; 10] = [
        "state",
        "cancel",
        "queue",
        "host",
        "note",
        "output",
        "reason",
        "exit_code",
        "signal",
        "message",
    ];

    /// `None` if the job has no state: it does not exist.
    pub(crate) fn from_values(
        id: JobId,
        values: Vec<Option<String>>,
    ) -> Result<Option<Self>, StoreError> {
        let fields: HashMap<String, String> = Self::FIELDS
            .iter()
            .zip(values)
            .filter_map(|(name, value)| Some(((*name).to_owned(), value?)))
            .collect();
        Self::from_fields(id, &fields)
    }

    /// Reads these fields out of a job hash, whole or in part; `None` if it has no state. Also how
    /// [`Job::from_hash`] reads them, so the two cannot disagree.
    fn from_fields(
        id: JobId,
        fields: &HashMap<String, String>,
    ) -> Result<Option<Self>, StoreError> {
        let Some(state) = fields.get("state") else {
            return Ok(None);
        };
        let state = JobState::parse(state)
            .ok_or_else(|| StoreError::Corrupt(format!("job {id}: unknown state '{state}'")))?;
        let text = |field: &str| fields.get(field).filter(|v| !v.is_empty()).cloned();
        Ok(Some(Self {
            state,
            cancel_requested: fields.get("cancel").is_some_and(|v| v == "1"),
            queue: text("queue").and_then(|q| QueueName::parse(&q).ok()),
            host: text("host"),
            note: text("note"),
            failure: Failure::from_fields(fields),
            output: fields.get("output").cloned().unwrap_or_default(),
            id,
        }))
    }
}

/// One ended attempt at running a job, as recorded in the job's `history` field (a JSON array).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    pub worker: String,
    pub host: String,
    /// Unix milliseconds.
    pub started: u64,
    pub ended: u64,
    /// `succeeded`, `canceled`, or a failure reason (`exit`, `signal`, `could_not_start`,
    /// `worker_lost`, `worker_shutdown`).
    pub outcome: String,
}

impl Job {
    pub(crate) fn from_hash(id: JobId, hash: HashMap<String, String>) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("job {id}: {what}"));
        let status =
            JobStatus::from_fields(id.clone(), &hash)?.ok_or_else(|| corrupt("missing state"))?;
        let number = |field: &str| hash.get(field).and_then(|v| v.parse::<u64>().ok());
        let text = |field: &str| hash.get(field).filter(|v| !v.is_empty()).cloned();
        let get = |field: &str| hash.get(field).map(String::as_str);
        Ok(Self {
            spec: JobSpec::from_fields(get).map_err(|why| corrupt(&why))?,
            worker: text("worker"),
            threads_granted: number("threads_granted").map(|n| n as u32),
            created_ms: number("created").unwrap_or(0),
            started_ms: number("started"),
            ended_ms: number("ended"),
            changed_ms: number("changed"),
            exit_code: hash.get("exit_code").and_then(|code| code.parse().ok()),
            attempts: number("attempts").unwrap_or(0) as u32,
            pauses: number("pauses").unwrap_or(0),
            history: match hash.get("history") {
                Some(json) => {
                    serde_json::from_str(json).map_err(|_| corrupt("history is not JSON"))?
                }
                None => Vec::new(),
            },
            id,
            state: status.state,
            queue: status.queue,
            host: status.host,
            failure: status.failure,
            note: status.note,
            output: status.output,
            cancel_requested: status.cancel_requested,
            alias: text("alias"),
            client_request: text("client_request"),
        })
    }
}
