//! Suspend and resume: a running job's processes are stopped (SIGSTOP) and let go on (SIGCONT) by its
//! worker; its time limit does not run while it is suspended.

use hopper_common::{Command, JobId, JobState, PauseOutcome};

use super::{Jobs, Unavailable, record_job};

/// How a suspend or resume went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Paused {
    Missing,
    /// The job is not running (for a suspend) or not suspended (for a resume): nothing changed.
    Not(JobState),
    /// Recorded, and its worker told.
    Done,
    /// Recorded; its worker could not be told now. It obeys the record when it checks its jobs against
    /// Redis (every third of the heartbeat's life), or the job's fate is settled without it.
    Recorded,
}

impl Jobs {
    /// Suspends (`suspend`) a running job, or resumes a suspended one.
    pub async fn pause(&self, id: &JobId, suspend: bool) -> Result<Paused, Unavailable> {
        record_job(id);
        let (worker, seq) = match self.store.pause(id, suspend).await? {
            PauseOutcome::Missing => return Ok(Paused::Missing),
            PauseOutcome::Not(state) => return Ok(Paused::Not(state)),
            PauseOutcome::Done { worker, seq } => (worker, seq),
        };
        let job = id.clone();
        let command = if suspend {
            Command::Suspend { job, seq }
        } else {
            Command::Resume { job, seq }
        };
        match self.publisher.control(&command, &worker).await {
            Ok(()) => {
                tracing::info!(job = %id, %worker, suspend, "job suspended or resumed");
                Ok(Paused::Done)
            }
            Err(error) => {
                tracing::warn!(job = %id, %worker, %error, "cannot tell the worker now; it obeys the record when it next checks its jobs");
                Ok(Paused::Recorded)
            }
        }
    }
}
