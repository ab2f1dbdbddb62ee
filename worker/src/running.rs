use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;

use hopper_common::JobId;
use tokio_util::sync::CancellationToken;

/// The jobs this worker holds, each with the token that cancels it. Shared by the dispatcher (which adds
/// a job before claiming it, so a cancel that follows the claim always finds it), the job tasks (which
/// remove it) and the control consumer (which cancels it).
#[derive(Debug, Default)]
pub(crate) struct Running(Mutex<HashMap<JobId, CancellationToken>>);

impl Running {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, CancellationToken>> {
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
            Entry::Vacant(entry) => Some(entry.insert(CancellationToken::new()).clone()),
        }
    }

    pub(crate) fn remove(&self, job: &JobId) {
        self.map().remove(job);
    }

    pub(crate) fn holds(&self, job: &JobId) -> bool {
        self.map().contains_key(job)
    }

    /// Cancels `job` if this worker holds it; says whether it did.
    pub(crate) fn cancel(&self, job: &JobId) -> bool {
        self.map().get(job).map(CancellationToken::cancel).is_some()
    }
}
