//! The Redis store: the key layout and every state transition, each one atomic (a Lua script).
//!
//! Keys, all under the namespace `<ns>`:
//! - `<ns>:job:<id>`: a hash per job (state, spec, queue, worker, times, outcome, output tail, history);
//! - `<ns>:job-id`: the counter jobs take their ids from;
//! - `<ns>:workers`: the set of workers that are alive or still hold jobs;
//! - `<ns>:queues`: the known queues, every queue a worker has served (see `queues.rs`);
//! - `<ns>:worker:<id>`: a worker's heartbeat, a string that expires unless the worker refreshes it;
//! - `<ns>:worker:<id>:jobs`: the set of jobs a worker has claimed and not yet ended;
//! - `<ns>:requeue`: jobs put back to `queued` whose submit messages are not yet confirmed published;
//! - `<ns>:sweeper`: the lock that lets one process at a time sweep for lost workers;
//! - `<ns>:dead-lettered`: how many messages workers sent to the dead-letter queue;
//! - `<ns>:children:<id>`: the jobs that wait on job `<id>` (see `lua/deps.lua`);
//! - `<ns>:idx:*`: the indexes that list and count jobs without a scan (see `lua/index.lua`);
//! - `<ns>:prio:<queue>`: a queue's claim order, its claimable jobs best first (see `lua/index.lua`
//!   and `lua/claim.lua`);
//! - `<ns>:alias:<door>:<name>`, `<ns>:aliases:<door>`: names clients gave their jobs in doors whose
//!   clients choose ids (see `aliases.rs`);
//! - `<ns>:held:<type>`: a paused job type's jobs, queued but not published (see `jobs.rs`);
//! - `<ns>:load`: the load history, a record per minute (see `load.rs`), and `<ns>:load-turn:<slot>`;
//! - `<ns>:idempotency:<digest>`: what a submit with an `Idempotency-Key` made (see `idempotency.rs`);
//! - `<ns>:log:<id>`, `<ns>:log:<id>:stdout`, `:stdout:tail`, `:stderr`, `:stderr:tail`: a job's output,
//!   its head and its tail kept up to `HOPPER_LOG_CAP` per stream (see `logs.rs`).
//!
//! The store is one type, [`Store`], its operations grouped by concern: the connection and its time
//! limits (`link.rs`), jobs (`jobs.rs`), claims (`claims.rs`) and the ends of attempts at running
//! them (`attempts.rs`), workers and the sweep lock (`workers.rs`), the known queues (`queues.rs`),
//! re-queued jobs awaiting their submit (`requeue.rs`), listing and counting from the indexes (`listing.rs`), jobs' stdout and stderr
//! (`logs.rs`), and what is read of the Redis server itself (`server.rs`).

mod aliases;
mod attempts;
mod claims;
mod confirmer;
mod idempotency;
mod jobs;
mod link;
mod listing;
mod load;
mod locator;
mod logs;
mod master_watch;
mod queues;
mod recipe_ids;
mod requeue;
mod retries;
mod server;
mod workers;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Script;

use crate::{JobId, JobState, Namespace, QueueName, RedisAddress, StoreError};

pub use aliases::{Alias, Named};
pub use idempotency::Idempotency;
pub use listing::{Group, JobQuery, Page};
pub use logs::{LogBudget, LogPiece, LogSlice, LogStream};
pub use retries::RetryOptions;
pub use server::{HashEncoding, RECOMMENDED_HASH_MAX_LISTPACK_VALUE};
pub use workers::WorkerRecord;

use confirmer::Confirmer;
use link::Link;
use locator::Locator;
use logs::LogScripts;

/// The job store. Cloning is cheap: an `Arc` to the connection and one to the scripts.
#[derive(Clone)]
pub struct Store {
    link: Arc<Link>,
    /// Confirms provisional jobs in batches.
    confirmer: Arc<Confirmer>,
    ns: Namespace,
    retention: Duration,
    scripts: Arc<Scripts>,
}

struct Scripts {
    create: Script,
    confirm: Script,
    claim: Script,
    end_attempt: Script,
    cancel: Script,
    withdraw: Script,
    forget_worker: Script,
    list: Script,
    prune: Script,
    retry: Script,
    create_dependent: Script,
    pause: Script,
    release_held: Script,
    logs: LogScripts,
}

/// A script that changes a job's state, with the index functions it calls (`lua/index.lua`) put in
/// front of it: every transition keeps the indexes in the same atomic step.
fn indexed(body: &str) -> Script {
    Script::new(&format!("{}\n{body}", include_str!("lua/index.lua")))
}

/// A script that may end, cancel or retry a job, with the index functions and those that move its
/// dependents along (`lua/deps.lua`) in front of it.
fn with_deps(body: &str) -> Script {
    Script::new(&format!(
        "{}\n{}\n{body}",
        include_str!("lua/index.lua"),
        include_str!("lua/deps.lua")
    ))
}

/// Who claims a job: the worker, its host, and a token unique to this claim attempt.
#[derive(Clone, Copy, Debug)]
pub struct Claimant<'a> {
    pub worker: &'a str,
    pub host: &'a str,
    pub token: &'a str,
}

/// How ending an attempt went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The job is not running under that worker (anymore); nothing was written.
    NotOwned,
    /// The job ended in this state.
    Final(JobState),
    /// The job is queued again, for another try: its submit must be published again.
    Requeued(Requeue),
}

/// Where a job stands, for the worker that runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// `None` if Redis has no such job.
    pub state: Option<JobState>,
    pub worker: Option<String>,
    pub cancel_requested: bool,
    /// How many times it was suspended or resumed: a worker applies a suspend or resume (from a
    /// command, or read here) only if it is newer than the last it applied.
    pub pauses: u64,
    /// The token of the claim that started its current attempt.
    pub claim: Option<String>,
}

/// A job back in `queued` that needs its submit message published (again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requeue {
    pub id: JobId,
    pub threads: u32,
    pub queues: Vec<QueueName>,
}

/// What a retry did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryOutcome {
    Missing,
    /// Refused at submit: it never passed its checks, and retrying would not change that.
    Rejected,
    /// Not failed or canceled: nothing to retry (or another retry got there first).
    NotEnded(JobState),
    /// Queued again; its submit must be published (it waits in the requeue set until it is).
    Queued(Requeue),
    /// A dependent job, back to waiting on its parents as they now stand (pending or blocked).
    Waiting(JobState),
}

/// How a suspend or resume went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PauseOutcome {
    Missing,
    /// Not in the state it had to leave (not running for a suspend, not suspended for a resume, or
    /// its cancel is under way): nothing changed.
    Not(JobState),
    /// Done in Redis; `worker` must now be told, with this count of suspends and resumes.
    Done {
        worker: String,
        seq: u64,
    },
}

/// How creating a dependent job went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dependent {
    /// Created in this state; when queued, its submit must be published (it is in the requeue set).
    Created(JobId, JobState),
    /// A parent does not exist (never did, or forgotten after its retention): nothing was created.
    UnknownParent(JobId),
}

/// What a delete did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// No such job (never existed, or expired after its retention).
    Missing,
    /// It was queued and is now canceled; it will never start.
    Canceled,
    /// It is running on `worker`, which must now be told to terminate it.
    Requested { worker: String },
    /// It had already ended in this state.
    AlreadyEnded(JobState),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("ns", &self.ns)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Reads the URL (one server's, or `redis+sentinel://`, see [`RedisAddress`]); no connection is
    /// made until the first operation, so a process can start while Redis, or the Sentinels, are
    /// still down. `limit` bounds every operation (`HOPPER_REDIS_TIMEOUT`).
    pub fn new(
        url: &str,
        ns: Namespace,
        retention: Duration,
        limit: Duration,
    ) -> Result<Self, StoreError> {
        let address = RedisAddress::parse(url).map_err(|why| {
            StoreError::Url(redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "bad URL",
                why,
            )))
        })?;
        let locator = Locator::new(&address, limit).map_err(StoreError::Url)?;
        let scripts = Scripts {
            create: indexed(include_str!("lua/create.lua")),
            confirm: indexed(include_str!("lua/confirm.lua")),
            claim: indexed(include_str!("lua/claim.lua")),
            end_attempt: with_deps(include_str!("lua/end_attempt.lua")),
            cancel: with_deps(include_str!("lua/cancel.lua")),
            retry: with_deps(include_str!("lua/retry.lua")),
            create_dependent: indexed(include_str!("lua/create_dependent.lua")),
            pause: indexed(include_str!("lua/pause.lua")),
            release_held: indexed(include_str!("lua/release_held.lua")),
            list: Script::new(include_str!("lua/list.lua")),
            prune: Script::new(include_str!("lua/prune.lua")),
            withdraw: Script::new(include_str!("lua/withdraw.lua")),
            forget_worker: Script::new(include_str!("lua/forget_worker.lua")),
            logs: LogScripts::new(),
        };
        Ok(Self {
            link: Arc::new(Link::new(locator, limit, ns.clone())),
            confirmer: Arc::default(),
            ns,
            retention,
            scripts: Arc::new(scripts),
        })
    }

    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    fn job_key(&self, id: &JobId) -> String {
        self.ns.key(&format!("job:{id}"))
    }

    fn heartbeat_key(&self, worker: &str) -> String {
        self.ns.key(&format!("worker:{worker}"))
    }

    fn known_queues_key(&self) -> String {
        self.ns.key("queues")
    }

    fn worker_jobs_key(&self, worker: &str) -> String {
        self.ns.key(&format!("worker:{worker}:jobs"))
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
