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
    /// Whether its process group should be stopped (suspended); the job's task follows it.
    paused: tokio::sync::watch::Sender<bool>,
    /// The job's count of suspends and resumes behind `paused` (see `Command::Suspend`).
    pauses: u64,
    /// Set once the claim succeeded: where the job runs, and with how many slots.
    claimed: Option<Claimed>,
    /// Set once the script has ended: the job task is recording the end, and nothing else may act on
    /// the job's record meanwhile.
    ending: bool,
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
                    paused: tokio::sync::watch::Sender::new(false),
                    pauses: 0,
                    claimed: None,
                    ending: false,
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

    /// The script of `job` has ended; its end is being recorded.
    pub(crate) fn mark_ending(&self, job: &JobId) {
        if let Some(held) = self.map().get_mut(job) {
            held.ending = true;
        }
    }

    /// The jobs claimed and running here, their ends not yet being recorded.
    pub(crate) fn claimed(&self) -> Vec<(JobId, Claimed)> {
        self.map()
            .iter()
            .filter(|(_, held)| !held.ending)
            .filter_map(|(job, held)| Some((job.clone(), held.claimed.clone()?)))
            .collect()
    }

    /// Whether `job` is still claimed and running here, its end not yet being recorded. Asked again
    /// after reading Redis: a job whose end was recorded in between must be left alone, because its
    /// record (ended, or queued again for another try) no longer says what this worker does.
    pub(crate) fn still_running(&self, job: &JobId) -> bool {
        self.map()
            .get(job)
            .is_some_and(|held| held.claimed.is_some() && !held.ending)
    }

    pub(crate) fn remove(&self, job: &JobId) {
        self.map().remove(job);
    }

    pub(crate) fn holds(&self, job: &JobId) -> bool {
        self.map().contains_key(job)
    }

    /// Follows whether `job` should be suspended; `None` if this worker does not hold it.
    pub(crate) fn pause_watch(&self, job: &JobId) -> Option<tokio::sync::watch::Receiver<bool>> {
        self.map().get(job).map(|held| held.paused.subscribe())
    }

    /// Suspends (`true`) or resumes `job` if this worker holds it and `seq` (the job's count of
    /// suspends and resumes) is newer than the last applied: a late command, or a record read before
    /// the latest change, changes nothing. Says whether it changed anything.
    pub(crate) fn set_paused(&self, job: &JobId, paused: bool, seq: u64) -> bool {
        let mut map = self.map();
        let Some(held) = map.get_mut(job) else {
            return false;
        };
        if seq <= held.pauses {
            return false;
        }
        held.pauses = seq;
        held.paused.send_replace(paused) != paused
    }

    /// Cancels `job` if this worker holds it; says whether it did.
    pub(crate) fn cancel(&self, job: &JobId) -> bool {
        self.map()
            .get(job)
            .map(|held| held.cancel.cancel())
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job whose script has ended is no longer offered to the heartbeat's checks, though it is still
    /// held (a second copy of it is still refused) until its end is recorded.
    #[test]
    fn ending_jobs_are_left_to_their_task() {
        let running = Running::default();
        let job = JobId::parse("7").expect("id");
        running.insert(job.clone()).expect("new");
        let claimed = Claimed {
            queue: QueueName::parse("q").expect("queue"),
            threads: 1,
        };
        running.mark_claimed(&job, claimed.clone());
        assert_eq!(running.claimed(), vec![(job.clone(), claimed)]);
        assert!(running.still_running(&job));
        running.mark_ending(&job);
        assert!(running.claimed().is_empty());
        assert!(!running.still_running(&job));
        assert!(running.holds(&job) && running.insert(job.clone()).is_none());
    }
}
