use serde::{Deserialize, Serialize};

use crate::JobId;

/// A message on a RabbitMQ queue. It names the job; the job itself lives in Redis.
///
/// `threads` travels with a submit so that a worker can tell whether the job fits its free slots before it
/// claims the job in Redis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Command {
    /// Run the job if it is still queued (published to every queue the job may run in).
    Submit { job: JobId, threads: u32 },
    /// Terminate the job if this worker runs it (published to the owning worker's control queue).
    Cancel { job: JobId },
    /// Stop the job's processes (SIGSTOP) if this worker runs it; its time limit stops too. `seq` is
    /// the job's count of suspends and resumes: an older one than the worker applied is ignored.
    Suspend { job: JobId, seq: u64 },
    /// Let a suspended job go on (SIGCONT).
    Resume { job: JobId, seq: u64 },
}

impl Command {
    pub fn encode(&self) -> Vec<u8> {
        // Serialising a plain enum of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
