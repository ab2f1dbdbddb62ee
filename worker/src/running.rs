use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;

use hopper_common::{JobId, QueueName};
use tokio_util::sync::CancellationToken;

/// The jobs this worker holds, each with the token that cancels it. Shared by the dispatcher (which adds
/// a job before claiming it, so a cancel that follows the claim always finds it), the job tasks (which
/// remove it), the control consumer (which cancels it) and the heartbeat (which checks the held jobs
/// against Redis).
#[derive(Debug, Default)]
pub(crate) struct Running(Mutex<HashMap<JobId, Held>>);

#[derive(Debug)]
struct Held {
    cancel: CancellationToken,
    /// Set once the claim succeeded: where the job runs, and with how many slots.
    claimed: Option<Claimed>,
}

/// A job this worker has claimed and runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub(crate) queue: QueueName,
    pub(crate) threads: u32,
}

impl Running {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Held>> {
        // The lock guards plain inserts and removes; a panic cannot leave the map half-changed.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts holding `job`; `None` if this worker already holds it (another copy of the same job,
    /// from another queue it serves).
    pub(crate) fn insert(&self, job: JobId) -> Option<CancellationToken> {
        match self.map().entry(job) {
            Entry::Occupied(_) => None,
            Entry::Vacant(entry) => {
                let held = entry.insert(Held {
                    cancel: CancellationToken::new(),
                    claimed: None,
                });
                Some(held.cancel.clone())
            }
        }
    }

    /// The claim of `job` succeeded.
    pub(crate) fn mark_claimed(&self, job: &JobId, claimed: Claimed) {
        if let Some(held) = self.map().get_mut(job) {
            held.claimed = Some(claimed);
        }
    }

    /// The jobs claimed and running here.
    pub(crate) fn claimed(&self) -> Vec<(JobId, Claimed)> {
        self.map()
            .iter()
            .filter_map(|(job, held)| Some((job.clone(), held.claimed.clone()?)))
            .collect()
    }

    pub(crate) fn remove(&self, job: &JobId) {
        self.map().remove(job);
    }

    pub(crate) fn holds(&self, job: &JobId) -> bool {
        self.map().contains_key(job)
    }

    /// Cancels `job` if this worker holds it; says whether it did.
    pub(crate) fn cancel(&self, job: &JobId) -> bool {
        self.map()
            .get(job)
            .map(|held| held.cancel.cancel())
            .is_some()
    }
}
