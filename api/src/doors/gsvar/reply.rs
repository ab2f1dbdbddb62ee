//! GSvar's vocabulary: the one place that maps Hopper's job states onto `started` / `finished` / `error`.
//!
//! The real client (GSvarServer) rejects any reply missing a key it checks, any status other than these
//! three, an `exit_code` that is not a JSON number (it would read as 0), and a `qe_job_id` that is not a
//! string of 1–10 characters. Every reply here is built to pass those checks.

use hopper_common::{
    Failure, JobId, JobState, JobStatus, QueueName, RESULT_LIMIT, clip_middle, signal_name,
};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(super) struct SubmitReply {
    pub result: String,
    pub qe_job_id: String,
    pub exit_code: i32,
}

#[derive(Debug, Serialize)]
pub(super) struct UpdateReply {
    pub result: String,
    pub status: &'static str,
    pub queue: String,
    pub exit_code: i32,
}

#[derive(Debug, Serialize)]
pub(super) struct DeleteReply {
    pub result: String,
    pub exit_code: i32,
}

impl SubmitReply {
    pub(super) fn queued(job: &JobId, queues: &[QueueName]) -> Self {
        Self {
            result: format!("job {job} queued in {}", QueueName::join(queues)),
            qe_job_id: job.to_string(),
            exit_code: 0,
        }
    }

    /// A refusal for a lasting reason still carries a real id: GSvar checks the id before the exit
    /// code, and the id's update then repeats the reason.
    pub(super) fn rejected(job: &JobId, reason: &str) -> Self {
        Self {
            result: rejected(reason),
            qe_job_id: job.to_string(),
            exit_code: 1,
        }
    }
}

impl UpdateReply {
    /// An id Hopper does not know (never issued, or forgotten after the retention): `error`, so that
    /// GSvar stops polling it instead of polling forever.
    pub(super) fn unknown(id: &str) -> Self {
        Self {
            result: format!("unknown job id '{}'", hopper_common::excerpt(id)),
            status: "error",
            queue: String::new(),
            exit_code: 1,
        }
    }

    pub(super) fn of(job: &JobStatus) -> Self {
        let queue = job
            .queue
            .as_ref()
            .map(|q| q.to_string())
            .unwrap_or_default();
        let (status, exit_code, headline) = match (job.state, &job.failure) {
            _ if job.cancel_requested => ("error", 0, format!("job {} was canceled", job.id)),
            (JobState::Queued, _) => ("started", 0, format!("job {} is queued", job.id)),
            (JobState::Pending, _) => (
                "started",
                0,
                format!("job {} waits for the jobs it depends on", job.id),
            ),
            (JobState::Blocked, _) => (
                "started",
                0,
                format!("job {} is blocked: a job it depends on failed", job.id),
            ),
            (JobState::Running, _) => ("started", 0, running(job)),
            (JobState::Suspended, _) => ("started", 0, format!("job {} is suspended", job.id)),
            (JobState::Succeeded, _) => ("finished", 0, String::new()),
            (JobState::Canceled, _) => ("error", 0, format!("job {} was canceled", job.id)),
            (JobState::Failed, Some(failure)) => ("error", exit_code(failure), failed(failure)),
            (JobState::Failed, None) => ("error", 1, "job failed".to_owned()),
        };
        let mut lines: Vec<&str> = vec![];
        if !headline.is_empty() {
            lines.push(&headline);
        }
        if let Some(note) = &job.note {
            lines.push(note);
        }
        if job.state.is_final() && !job.output.is_empty() {
            lines.push(&job.output);
        }
        Self {
            result: clip_middle(&lines.join("\n"), RESULT_LIMIT),
            status,
            queue,
            exit_code,
        }
    }
}

fn running(job: &JobStatus) -> String {
    let queue = job.queue.as_ref().map_or("?", |q| q.as_str());
    let host = job.host.as_deref().unwrap_or("?");
    format!("job {} is running in queue {queue} on {host}", job.id)
}

fn rejected(reason: &str) -> String {
    format!("job rejected: {reason}")
}

fn failed(failure: &Failure) -> String {
    match failure {
        Failure::Exit(code) => format!("job failed with exit code {code}"),
        Failure::Signal(signal) => match signal_name(*signal) {
            Some(name) => format!("job was killed by signal {signal} ({name})"),
            None => format!("job was killed by signal {signal}"),
        },
        Failure::CouldNotStart(why) => format!("job could not start: {why}"),
        Failure::Rejected(why) => rejected(why),
        Failure::WorkerShutdown => "job was terminated because its worker shut down".to_owned(),
        Failure::WorkerLost => {
            "worker lost: the job's worker stopped answering while it ran (killed, host down or cut off)"
                .to_owned()
        }
        Failure::Timeout => "job ran past its time limit and was ended".to_owned(),
    }
}

/// The shell's conventions: the exit code itself, 128 + the signal, 127 for a command that could not
/// start; 1 for a refused submit.
fn exit_code(failure: &Failure) -> i32 {
    match failure {
        Failure::Exit(code) => *code,
        Failure::Signal(signal) => 128 + signal,
        Failure::CouldNotStart(_) => 127,
        Failure::Rejected(_) | Failure::WorkerShutdown | Failure::WorkerLost => 1,
        // As coreutils' `timeout` exits.
        Failure::Timeout => 124,
    }
}
