use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hopper_common::{JobId, QueueName};
use tokio_util::sync::CancellationToken;

/// How long a cancel for a job this worker does not hold is remembered: long enough for the answer of
/// a claim that already landed in Redis to reach its task (see [`Running::cancel_or_remember`]).
const STRAY_CANCEL_KEPT: Duration = Duration::from_secs(30);

/// The jobs this worker holds, each with the token that cancels it, and the claims on their way to
/// Redis. Shared by the job tasks (which add a job the moment its claim answers, and remove it once its
/// end is recorded), the control consumer (which cancels it) and the heartbeat (which checks the held
/// jobs against Redis, and must not take a job whose claim is still on its way for a lost one).
#[derive(Debug, Default)]
pub(crate) struct Running(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    held: HashMap<JobId, Held>,
    /// The tokens of claims sent to Redis whose answer has not been taken in yet.
    claiming: HashSet<String>,
    /// Cancels that came for jobs not held, and when.
    stray_cancels: HashMap<JobId, Instant>,
    /// Tells one holding of a job from a later one (a job re-queued by its end may be claimed here
    /// again before the task that ended it has let it go).
    serials: u64,
}

#[derive(Debug)]
struct Held {
    serial: u64,
    cancel: CancellationToken,
    /// Whether its process group should be stopped (suspended); the job's task follows it.
    paused: tokio::sync::watch::Sender<bool>,
    /// The job's count of suspends and resumes behind `paused` (see `Command::Suspend`).
    pauses: u64,
    /// Where the job runs, and with how many slots.
    claimed: Claimed,
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

/// A job task's hold on its job.
#[derive(Debug)]
pub(crate) struct Hold {
    pub(crate) serial: u64,
    pub(crate) cancel: CancellationToken,
    /// A cancel for the job came before it was held: whether it is meant for this attempt, only Redis
    /// can say.
    pub(crate) stray_cancel: bool,
}

/// A claim on its way to Redis; it stops counting as one when dropped.
#[derive(Debug)]
pub(crate) struct Claiming {
    running: Arc<Running>,
    token: String,
}

impl Claiming {
    pub(crate) fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for Claiming {
    fn drop(&mut self) {
        self.running.map().claiming.remove(&self.token);
    }
}

impl Running {
    fn map(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The lock guards plain inserts and removes; a panic cannot leave the map half-changed.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A claim with a new token is about to be sent to Redis.
    pub(crate) fn begin_claim(self: &Arc<Self>) -> Claiming {
        let token = uuid::Uuid::new_v4().to_string();
        self.map().claiming.insert(token.clone());
        Claiming {
            running: self.clone(),
            token,
        }
    }

    /// Starts holding `job`, which `claim` claimed, in the same step that ends the claim: the heartbeat
    /// always finds one or the other. A holding of the same job left by an earlier attempt (its task
    /// is still letting go of it) is replaced.
    pub(crate) fn insert(&self, job: JobId, claim: Claiming, claimed: Claimed) -> Hold {
        let mut map = self.map();
        map.claiming.remove(&claim.token);
        map.serials += 1;
        let serial = map.serials;
        let stray_cancel = map.stray_cancels.remove(&job).is_some();
        let cancel = CancellationToken::new();
        map.held.insert(
            job,
            Held {
                serial,
                cancel: cancel.clone(),
                paused: tokio::sync::watch::Sender::new(false),
                pauses: 0,
                claimed,
                ending: false,
            },
        );
        // Unlocked before `claim` is dropped, which locks again.
        drop(map);
        Hold {
            serial,
            cancel,
            stray_cancel,
        }
    }

    /// The script of `job` has ended; its end is being recorded.
    pub(crate) fn mark_ending(&self, job: &JobId, serial: u64) {
        if let Some(held) = self.map().held.get_mut(job).filter(|h| h.serial == serial) {
            held.ending = true;
        }
    }

    /// Lets go of `job`, unless a later claim of it holds it now.
    pub(crate) fn remove(&self, job: &JobId, serial: u64) {
        let mut map = self.map();
        if map.held.get(job).is_some_and(|held| held.serial == serial) {
            map.held.remove(job);
        }
    }

    /// The jobs claimed and running here, their ends not yet being recorded.
    pub(crate) fn claimed(&self) -> Vec<(JobId, Claimed)> {
        self.map()
            .held
            .iter()
            .filter(|(_, held)| !held.ending)
            .map(|(job, held)| (job.clone(), held.claimed.clone()))
            .collect()
    }

    /// Whether `job` is still claimed and running here, its end not yet being recorded. Asked again
    /// after reading Redis: a job whose end was recorded in between must be left alone, because its
    /// record (ended, or queued again for another try) no longer says what this worker does.
    pub(crate) fn still_running(&self, job: &JobId) -> bool {
        self.map().held.get(job).is_some_and(|held| !held.ending)
    }

    /// Whether this worker holds `job`, or is taking in the answer of the claim (`claim`, its token)
    /// that gave it the job: either way it is not lost.
    pub(crate) fn accounts_for(&self, job: &JobId, claim: Option<&str>) -> bool {
        let map = self.map();
        map.held.contains_key(job) || claim.is_some_and(|token| map.claiming.contains(token))
    }

    /// Follows whether `job` should be suspended; `None` if this worker does not hold it.
    pub(crate) fn pause_watch(&self, job: &JobId) -> Option<tokio::sync::watch::Receiver<bool>> {
        self.map().held.get(job).map(|held| held.paused.subscribe())
    }

    /// Suspends (`true`) or resumes `job` if this worker holds it and `seq` (the job's count of
    /// suspends and resumes) is newer than the last applied: a late command, or a record read before
    /// the latest change, changes nothing. Says whether it changed anything.
    pub(crate) fn set_paused(&self, job: &JobId, paused: bool, seq: u64) -> bool {
        let mut map = self.map();
        let Some(held) = map.held.get_mut(job) else {
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
            .held
            .get(job)
            .map(|held| held.cancel.cancel())
            .is_some()
    }

    /// Cancels `job` if this worker holds it; otherwise remembers the cancel for a while, because the
    /// job may be this worker's by a claim whose answer is still on its way (the cancel command can
    /// overtake it). Says whether it canceled a held job.
    pub(crate) fn cancel_or_remember(&self, job: &JobId) -> bool {
        let mut map = self.map();
        if let Some(held) = map.held.get(job) {
            held.cancel.cancel();
            return true;
        }
        let now = Instant::now();
        map.stray_cancels
            .retain(|_, at| now.duration_since(*at) < STRAY_CANCEL_KEPT);
        map.stray_cancels.insert(job.clone(), now);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed() -> Claimed {
        Claimed {
            queue: QueueName::parse("q").expect("queue"),
            threads: 1,
        }
    }

    /// A job whose script has ended is no longer offered to the heartbeat's checks, though it is still
    /// held (the heartbeat must not take it for lost) until its end is recorded.
    #[test]
    fn ending_jobs_are_left_to_their_task() {
        let running = Arc::new(Running::default());
        let job = JobId::parse("7").expect("id");
        let hold = running.insert(job.clone(), running.begin_claim(), claimed());
        assert_eq!(running.claimed(), vec![(job.clone(), claimed())]);
        assert!(running.still_running(&job));
        running.mark_ending(&job, hold.serial);
        assert!(running.claimed().is_empty());
        assert!(!running.still_running(&job));
        assert!(running.accounts_for(&job, None));
        running.remove(&job, hold.serial);
        assert!(!running.accounts_for(&job, None));
    }

    /// A claim on its way accounts for the job it claims until the job is held; a later holding of the
    /// same job survives the earlier one letting go.
    #[test]
    fn a_claim_on_its_way_and_a_later_holding_count() {
        let running = Arc::new(Running::default());
        let job = JobId::parse("8").expect("id");
        let claim = running.begin_claim();
        let token = claim.token().to_owned();
        assert!(running.accounts_for(&job, Some(&token)));
        let first = running.insert(job.clone(), claim, claimed());
        assert!(!running.accounts_for(&JobId::parse("9").expect("id"), Some(&token)));
        let second = running.insert(job.clone(), running.begin_claim(), claimed());
        running.remove(&job, first.serial);
        assert!(running.accounts_for(&job, None));
        running.remove(&job, second.serial);
        assert!(!running.accounts_for(&job, None));
    }

    /// A cancel that overtakes the claim's answer is handed to the job's holding, once.
    #[test]
    fn a_cancel_before_the_hold_is_passed_on() {
        let running = Arc::new(Running::default());
        let job = JobId::parse("10").expect("id");
        assert!(!running.cancel_or_remember(&job));
        assert!(
            running
                .insert(job.clone(), running.begin_claim(), claimed())
                .stray_cancel
        );
        let again = running.insert(job.clone(), running.begin_claim(), claimed());
        assert!(!again.stray_cancel);
    }
}
