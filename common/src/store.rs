//! The Redis store: the key layout and every state transition, each one atomic (a Lua script).
//!
//! Keys, all under the namespace `<ns>`:
//! - `<ns>:job:<id>`: a hash per job (state, spec, queue, worker, times, outcome, output tail, history);
//! - `<ns>:job-id`: the counter jobs take their ids from;
//! - `<ns>:workers`: the set of workers that are alive or still hold jobs;
//! - `<ns>:worker:<id>`: a worker's heartbeat, a string that expires unless the worker refreshes it;
//! - `<ns>:worker:<id>:jobs`: the set of jobs a worker has claimed and not yet ended;
//! - `<ns>:requeue`: jobs put back to `queued` whose submit messages are not yet confirmed published;
//! - `<ns>:sweeper`: the lock that lets one process at a time sweep for lost workers;
//! - `<ns>:dead-lettered`: how many messages workers sent to the dead-letter queue.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use crate::reconnect::{Held, Reconnect};

use crate::{
    Claim, Ending, Failure, Job, JobId, JobSpec, JobState, JobStatus, Namespace, QueueName,
    StoreError,
};

/// Pause after the first failed connect; it doubles with each failure up to [`MAX_BACKOFF`]. Short,
/// because nothing works without Redis: a process should notice within seconds that it is back.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The `hash-max-listpack-value` Hopper's deployment recommends: every field of a job hash fits, the
/// longest being the output tail ([`crate::RESULT_LIMIT`] bytes), so Redis keeps job hashes compact.
pub const RECOMMENDED_HASH_MAX_LISTPACK_VALUE: u64 = 65_536;
const _: () = assert!(crate::RESULT_LIMIT as u64 <= RECOMMENDED_HASH_MAX_LISTPACK_VALUE);

/// The job store. Cloning is cheap: an `Arc` to the connection and one to the scripts.
#[derive(Clone)]
pub struct Store {
    link: Arc<Link>,
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
}

/// A job back in `queued` that needs its submit message published (again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requeue {
    pub id: JobId,
    pub threads: u32,
    pub queues: Vec<QueueName>,
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
    /// Reads the URL; no connection is made until the first operation, so a process can start while
    /// Redis is still down. `limit` bounds every operation (`HOPPER_REDIS_TIMEOUT`).
    pub fn new(
        url: &str,
        ns: Namespace,
        retention: Duration,
        limit: Duration,
    ) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(StoreError::Url)?;
        let scripts = Scripts {
            create: Script::new(include_str!("lua/create.lua")),
            confirm: Script::new(include_str!("lua/confirm.lua")),
            claim: Script::new(include_str!("lua/claim.lua")),
            end_attempt: Script::new(include_str!("lua/end_attempt.lua")),
            cancel: Script::new(include_str!("lua/cancel.lua")),
            withdraw: Script::new(include_str!("lua/withdraw.lua")),
            forget_worker: Script::new(include_str!("lua/forget_worker.lua")),
        };
        Ok(Self {
            link: Arc::new(Link::new(client, limit)),
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

    fn worker_jobs_key(&self, worker: &str) -> String {
        self.ns.key(&format!("worker:{worker}:jobs"))
    }

    /// Runs one operation on the process's connection (opened by the first operation that needs it,
    /// see [`Link`]; all of a process's operations share it, and it pipelines them), within the time
    /// limit, connecting included. An operation that fails for want of an answer drops the connection,
    /// so the next one opens a new one or waits out the backoff: a Redis that hangs is treated like one
    /// that is gone.
    async fn call<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        self.call_by_deadline(|manager, _| operation(manager)).await
    }

    /// [`call`](Self::call), handing the operation its deadline too, in milliseconds of Redis's clock:
    /// past it the caller has given up, so a write Redis carries out only then (it hung meanwhile) must
    /// not take effect.
    async fn call_by_deadline<T, F, Fut>(&self, operation: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager, i64) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let limit = self.link.limit;
        let started = now_ms() as i64;
        let mut generation = None;
        let attempt = async {
            let held = self.link.get().await?;
            generation = Some(held.generation);
            let deadline = started + held.value.clock_offset_ms + limit.as_millis() as i64;
            operation(held.value.manager, deadline).await
        };
        let result = tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or(Err(StoreError::Timeout(limit)));
        match &result {
            Ok(_) => self.link.manager.outage.answered(),
            Err(error) if error.is_outage() => {
                // A failed connect is counted where it happens.
                if !matches!(error, StoreError::Connect(_)) {
                    self.link.manager.outage.failed(error);
                }
                if let Some(generation) = generation {
                    self.link.manager.forget(generation);
                }
            }
            Err(_) => {}
        }
        result
    }

    /// Whether the last call to Redis was answered: false during an outage, until a call succeeds.
    pub fn answering(&self) -> bool {
        !self.link.manager.outage.is_failing()
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(|mut conn| async move {
            let _: String = redis::cmd("PING").query_async(&mut conn).await?;
            Ok(())
        })
        .await
    }

    /// Records a new `queued` job and returns its id.
    pub async fn create(&self, spec: &JobSpec) -> Result<JobId, StoreError> {
        self.insert(spec, JobState::Queued, &[], Duration::ZERO)
            .await
    }

    /// Records a new `queued` job that Redis forgets after `lasting` unless it is [confirmed]
    /// (Self::confirm) or claimed first: a front door creates the job, publishes its submit, and
    /// confirms it only then. A job whose submitter could not finish (its node died, Redis hung with
    /// the create done and its answer unsent) is not left looking queued with no message behind it.
    pub async fn create_provisional(
        &self,
        spec: &JobSpec,
        lasting: Duration,
    ) -> Result<JobId, StoreError> {
        self.insert(
            spec,
            JobState::Queued,
            &[],
            lasting.max(Duration::from_millis(1)),
        )
        .await
    }

    /// Makes a provisional job lasting, once its submit is published. `false` if it is gone: it lasted
    /// less long than its submit took, and whatever was published for it will find no job.
    pub async fn confirm(&self, id: &JobId) -> Result<bool, StoreError> {
        let limit = self.link.limit;
        let state: String = self
            .call_by_deadline(|mut conn, deadline| async move {
                let mut invocation = self.scripts.confirm.key(self.job_key(id));
                invocation.arg(deadline);
                Ok(invocation.invoke_async(&mut conn).await?)
            })
            .await?;
        match state.as_str() {
            // Redis ran it only after the deadline, when this caller had given up.
            "late" => Err(StoreError::Timeout(limit)),
            state => Ok(state != "missing"),
        }
    }

    /// Records a job refused for a lasting reason: born `failed`, so its id answers with the reason.
    pub async fn reject(&self, spec: &JobSpec, reason: &str) -> Result<JobId, StoreError> {
        let failure = Failure::Rejected(reason.to_owned());
        let mut fields = failure.fields();
        fields.push(("ended", now_ms().to_string()));
        self.insert(spec, JobState::Failed, &fields, self.retention)
            .await
    }

    async fn insert(
        &self,
        spec: &JobSpec,
        state: JobState,
        extra: &[(&str, String)],
        expires_in: Duration,
    ) -> Result<JobId, StoreError> {
        let limit = self.link.limit;
        self.call_by_deadline(|mut conn, deadline| async move {
            let mut invocation = self.scripts.create.key(self.ns.key("job-id"));
            invocation
                .arg(self.ns.key("job:"))
                .arg(expires_in.as_millis() as u64)
                .arg(deadline);
            for (field, value) in spec_fields(spec, state).iter().chain(extra) {
                invocation.arg(*field).arg(value);
            }
            let id: Option<u64> = invocation.invoke_async(&mut conn).await?;
            // None: Redis ran it only after the deadline, when this caller had given up.
            JobId::from_counter(id.ok_or(StoreError::Timeout(limit))?)
        })
        .await
    }

    /// Takes back a job whose submit could not be published to all its queues, so that nothing is
    /// left looking queued. `false` if a worker already claimed it: it runs, and the submit stands.
    pub async fn withdraw(&self, id: &JobId) -> Result<bool, StoreError> {
        let invocation = self.scripts.withdraw.key(self.job_key(id));
        let state: String = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        Ok(state == "withdrawn")
    }

    pub async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let hash: HashMap<String, String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("HGETALL")
                    .arg(self.job_key(id))
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        if hash.is_empty() {
            return Ok(None);
        }
        Job::from_hash(id.clone(), hash).map(Some)
    }

    /// What a status reply needs of the job (see [`JobStatus`]): one `HMGET`.
    pub async fn status(&self, id: &JobId) -> Result<Option<JobStatus>, StoreError> {
        let values: Vec<Option<String>> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("HMGET")
                    .arg(self.job_key(id))
                    .arg(&JobStatus::FIELDS[..])
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        JobStatus::from_values(id.clone(), values)
    }

    /// Claims a queued job: the one atomic step that makes a job start once per attempt. Asking again
    /// with the same claim token answers the same, so a claim whose answer was lost can be retried.
    pub async fn claim(
        &self,
        id: &JobId,
        claimant: &Claimant<'_>,
        queue: &QueueName,
        threads_granted: u32,
        note: Option<&str>,
    ) -> Result<Claim, StoreError> {
        let mut invocation = self.scripts.claim.key(self.job_key(id));
        invocation
            .key(self.worker_jobs_key(claimant.worker))
            .key(self.ns.key("workers"))
            .arg(claimant.worker)
            .arg(claimant.host)
            .arg(queue.as_str())
            .arg(now_ms())
            .arg(threads_granted)
            .arg(claimant.token)
            .arg(note.unwrap_or(""))
            .arg(id.as_str());
        let reply: Vec<Option<String>> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let mut fields = reply.into_iter().map(Option::unwrap_or_default);
        let corrupt =
            || StoreError::Corrupt(format!("claim of job {id} returned an unknown answer"));
        match fields.next().as_deref() {
            Some("missing") => Ok(Claim::Missing),
            Some("claimed") => {
                let mut next = || fields.next().unwrap_or_default();
                let (threads, queues, script, args, workdir, max_tries) =
                    (next(), next(), next(), next(), next(), next());
                Ok(Claim::Claimed(JobSpec {
                    threads: threads.parse().map_err(|_| corrupt())?,
                    queues: crate::job::parse_queue_list(&queues),
                    script,
                    args: serde_json::from_str(&args).map_err(|_| corrupt())?,
                    working_directory: workdir.into(),
                    max_tries: max_tries.parse().unwrap_or(1),
                }))
            }
            Some(state) => JobState::parse(state)
                .map(Claim::NotQueued)
                .ok_or_else(corrupt),
            None => Err(corrupt()),
        }
    }

    /// Records how a running job ended. Returns the final state, or `None` if `worker` does not own the
    /// job (anymore), in which case nothing was written.
    pub async fn finish(
        &self,
        id: &JobId,
        worker: &str,
        ending: &Ending,
    ) -> Result<Option<JobState>, StoreError> {
        let state = if ending.failure.is_some() {
            JobState::Failed
        } else {
            JobState::Succeeded
        };
        let outcome = ending.failure.as_ref().map_or("succeeded", Failure::reason);
        let mut fields = vec![("output", ending.output.clone())];
        match &ending.failure {
            Some(failure) => fields.extend(failure.fields()),
            None => fields.push(("exit_code", "0".to_owned())),
        }
        let ended = self
            .end_attempt(id, worker, "finish", state.as_str(), outcome, &fields)
            .await?;
        Ok(match ended {
            Ended::Final(state) => Some(state),
            Ended::NotOwned | Ended::Requeued { .. } => None,
        })
    }

    /// Ends `worker`'s attempt at a running job without a verdict of the script's own: the job goes
    /// back to `queued` if it has tries left, and fails with `why` otherwise. With `only_if_lost`,
    /// nothing happens while the worker's heartbeat is alive (the check and the change are one step).
    pub async fn release(
        &self,
        id: &JobId,
        worker: &str,
        why: &Failure,
        only_if_lost: bool,
    ) -> Result<Ended, StoreError> {
        let mode = if only_if_lost {
            "release-if-dead"
        } else {
            "release"
        };
        self.end_attempt(id, worker, mode, "", why.reason(), &[])
            .await
    }

    async fn end_attempt(
        &self,
        id: &JobId,
        worker: &str,
        mode: &str,
        state: &str,
        outcome: &str,
        fields: &[(&str, String)],
    ) -> Result<Ended, StoreError> {
        let mut invocation = self.scripts.end_attempt.key(self.job_key(id));
        invocation
            .key(self.worker_jobs_key(worker))
            .key(self.ns.key("requeue"))
            .key(self.heartbeat_key(worker))
            .arg(id.as_str())
            .arg(worker)
            .arg(mode)
            .arg(state)
            .arg(outcome)
            .arg(now_ms())
            .arg(self.retention.as_secs());
        for (field, value) in fields {
            invocation.arg(*field).arg(value);
        }
        let reply: Option<Vec<String>> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let corrupt = || StoreError::Corrupt(format!("ending job {id} returned an unknown answer"));
        let Some(reply) = reply else {
            return Ok(Ended::NotOwned);
        };
        match reply.first().map(String::as_str) {
            Some("queued") => Ok(Ended::Requeued(Requeue {
                id: id.clone(),
                threads: reply.get(1).and_then(|t| t.parse().ok()).unwrap_or(1),
                queues: crate::job::parse_queue_list(reply.get(2).map_or("", String::as_str)),
            })),
            Some(state) => JobState::parse(state).map(Ended::Final).ok_or_else(corrupt),
            None => Err(corrupt()),
        }
    }

    /// Where each of `ids` stands, as far as its holder cares: state (`None` if the job is gone), owner,
    /// and whether its cancel was requested. One round trip.
    pub async fn holders(&self, ids: &[JobId]) -> Result<Vec<Holder>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(self.job_key(id))
                .arg("state")
                .arg("worker")
                .arg("cancel");
        }
        let rows: Vec<(Option<String>, Option<String>, Option<String>)> = self
            .call(|mut conn| async move { Ok(pipe.query_async(&mut conn).await?) })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(state, worker, cancel)| Holder {
                state: state.as_deref().and_then(JobState::parse),
                worker,
                cancel_requested: cancel.as_deref() == Some("1"),
            })
            .collect())
    }

    /// Proves `worker` alive for `ttl`, and makes it known to sweepers. `about` is shown to operators
    /// (host, pid, queues).
    pub async fn heartbeat(
        &self,
        worker: &str,
        about: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(self.heartbeat_key(worker))
            .arg(about)
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .ignore()
            .cmd("SADD")
            .arg(self.ns.key("workers"))
            .arg(worker)
            .ignore();
        self.call(|mut conn| async move {
            let () = pipe.query_async(&mut conn).await?;
            Ok(())
        })
        .await
    }

    /// Removes `worker`'s heartbeat: it stopped on purpose and holds nothing.
    pub async fn sign_off(&self, worker: &str) -> Result<(), StoreError> {
        self.call(|mut conn| async move {
            let _: u64 = redis::cmd("DEL")
                .arg(self.heartbeat_key(worker))
                .query_async(&mut conn)
                .await?;
            Ok(())
        })
        .await?;
        self.forget_worker(worker).await.map(drop)
    }

    /// The known workers whose heartbeat has expired.
    pub async fn silent_workers(&self) -> Result<Vec<String>, StoreError> {
        self.call(|mut conn| async move {
            let workers: Vec<String> = redis::cmd("SMEMBERS")
                .arg(self.ns.key("workers"))
                .query_async(&mut conn)
                .await?;
            if workers.is_empty() {
                return Ok(workers);
            }
            let mut pipe = redis::pipe();
            for worker in &workers {
                pipe.cmd("EXISTS").arg(self.heartbeat_key(worker));
            }
            let alive: Vec<bool> = pipe.query_async(&mut conn).await?;
            Ok(workers
                .into_iter()
                .zip(alive)
                .filter_map(|(worker, alive)| (!alive).then_some(worker))
                .collect())
        })
        .await
    }

    /// The jobs `worker` has claimed and not yet ended.
    pub async fn jobs_of(&self, worker: &str) -> Result<Vec<JobId>, StoreError> {
        let ids: Vec<String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("SMEMBERS")
                    .arg(self.worker_jobs_key(worker))
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        Ok(ids.iter().filter_map(|id| JobId::parse(id).ok()).collect())
    }

    /// Drops a worker that is gone and holds no job from the known workers; says whether it did.
    pub async fn forget_worker(&self, worker: &str) -> Result<bool, StoreError> {
        let mut invocation = self.scripts.forget_worker.key(self.ns.key("workers"));
        invocation
            .key(self.heartbeat_key(worker))
            .key(self.worker_jobs_key(worker))
            .arg(worker);
        self.call(|mut conn| async move {
            let forgotten: u32 = invocation.invoke_async(&mut conn).await?;
            Ok(forgotten == 1)
        })
        .await
    }

    /// Jobs put back to `queued` whose submit is not known to be published yet, with what a submit
    /// message needs. Ids that are no longer queued are dropped from the set.
    pub async fn requeued(&self) -> Result<Vec<Requeue>, StoreError> {
        let ids: Vec<String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("SMEMBERS")
                    .arg(self.ns.key("requeue"))
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        let mut waiting = Vec::new();
        for raw in ids {
            let Ok(id) = JobId::parse(&raw) else {
                self.requeue_published(&raw).await?;
                continue;
            };
            match self.get(&id).await? {
                Some(job) if job.state == JobState::Queued => waiting.push(Requeue {
                    id,
                    threads: job.spec.threads,
                    queues: job.spec.queues,
                }),
                _ => self.requeue_published(&raw).await?,
            }
        }
        Ok(waiting)
    }

    /// Marks a requeued job's submit as published (confirmed by the broker).
    pub async fn requeue_published(&self, id: &str) -> Result<(), StoreError> {
        self.call(|mut conn| async move {
            let _: u64 = redis::cmd("SREM")
                .arg(self.ns.key("requeue"))
                .arg(id)
                .query_async(&mut conn)
                .await?;
            Ok(())
        })
        .await
    }

    /// Takes the sweeper lock for `hold` if nobody holds it: one process sweeps at a time.
    pub async fn take_sweep_lock(&self, holder: &str, hold: Duration) -> Result<bool, StoreError> {
        self.call(|mut conn| async move {
            let taken: Option<String> = redis::cmd("SET")
                .arg(self.ns.key("sweeper"))
                .arg(holder)
                .arg("NX")
                .arg("PX")
                .arg(hold.as_millis().max(1) as u64)
                .query_async(&mut conn)
                .await?;
            Ok(taken.is_some())
        })
        .await
    }

    /// How long the Redis server has been up. Heartbeats written before a restart may have expired
    /// while it was down, so sweepers wait a heartbeat period after a restart before judging anyone.
    pub async fn uptime(&self) -> Result<Duration, StoreError> {
        let info: String = self
            .call(|mut conn| async move {
                Ok(redis::cmd("INFO")
                    .arg("server")
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        info.lines()
            .find_map(|line| line.strip_prefix("uptime_in_seconds:"))
            .and_then(|secs| secs.trim().parse().ok())
            .map(Duration::from_secs)
            .ok_or_else(|| StoreError::Corrupt("INFO server has no uptime_in_seconds".to_owned()))
    }

    /// How large a hash field value Redis still stores compactly (`hash-max-listpack-value`), read with
    /// `CONFIG GET`. Job hashes hold values far above Redis's default of 64 bytes (history, output tail,
    /// arguments), and a hash with one such value is stored as a hashtable, about three times the size.
    /// A Redis that refuses `CONFIG` (managed services often do) answers [`HashEncoding::Unknown`].
    pub async fn hash_encoding(&self) -> Result<HashEncoding, StoreError> {
        // Redis 7 calls it listpack; Redis 6 knows only the older name (7 still answers to both).
        for name in ["hash-max-listpack-value", "hash-max-ziplist-value"] {
            let reply: Result<Vec<String>, StoreError> = self
                .call(|mut conn| async move {
                    Ok(redis::cmd("CONFIG")
                        .arg("GET")
                        .arg(name)
                        .query_async(&mut conn)
                        .await?)
                })
                .await;
            match reply {
                Ok(pair) => {
                    let Some(value) = pair.get(1) else { continue };
                    return value.trim().parse().map(HashEncoding::Limit).map_err(|_| {
                        StoreError::Corrupt(format!("CONFIG GET {name} answered '{value}'"))
                    });
                }
                // An answer, but an error: CONFIG is disabled, renamed or not permitted to this user.
                Err(StoreError::Redis(error)) if !error.is_io_error() => {
                    return Ok(HashEncoding::Unknown(error.to_string()));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(HashEncoding::Unknown(
            "this Redis has no hash-max-listpack-value setting".to_owned(),
        ))
    }

    /// Counts a message sent to the dead-letter queue; returns the count so far.
    pub async fn count_dead_letter(&self) -> Result<u64, StoreError> {
        self.call(|mut conn| async move {
            Ok(redis::cmd("INCR")
                .arg(self.ns.key("dead-lettered"))
                .query_async(&mut conn)
                .await?)
        })
        .await
    }

    /// Cancels a queued job, or marks a running one cancel-requested.
    pub async fn cancel(&self, id: &JobId) -> Result<CancelOutcome, StoreError> {
        let mut invocation = self.scripts.cancel.key(self.job_key(id));
        invocation.arg(now_ms()).arg(self.retention.as_secs());
        let reply: Vec<String> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let corrupt =
            || StoreError::Corrupt(format!("cancel of job {id} returned an unknown answer"));
        match reply.first().map(String::as_str) {
            Some("missing") => Ok(CancelOutcome::Missing),
            Some("dequeued") => Ok(CancelOutcome::Canceled),
            Some("running") => Ok(CancelOutcome::Requested {
                worker: reply.get(1).cloned().ok_or_else(corrupt)?,
            }),
            Some(state) => JobState::parse(state)
                .map(CancelOutcome::AlreadyEnded)
                .ok_or_else(corrupt),
            None => Err(corrupt()),
        }
    }
}

/// What [`Store::hash_encoding`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashEncoding {
    /// Redis stores a hash compactly (as a listpack) while each of its values is at most this many bytes.
    Limit(u64),
    /// Redis would not say (why).
    Unknown(String),
}

impl HashEncoding {
    /// What an operator should hear at start-up, if anything: ended jobs hold values up to
    /// [`crate::RESULT_LIMIT`] bytes, so a lower limit stores them at about three times the memory.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Limit(limit) if *limit < RECOMMENDED_HASH_MAX_LISTPACK_VALUE => Some(format!(
                "Redis's hash-max-listpack-value is {limit}: job records with a longer value (history, \
                 output, arguments) are stored as hashtables, about 3 times the memory of a listpack; \
                 set hash-max-listpack-value {RECOMMENDED_HASH_MAX_LISTPACK_VALUE} in redis.conf (see \
                 docs/deployment.md)"
            )),
            Self::Limit(_) | Self::Unknown(_) => None,
        }
    }
}

/// The process's one Redis connection: a [`ConnectionManager`], one multiplexed connection that carries
/// every operation, concurrent ones pipelined, and that reconnects by itself when a request finds it
/// dropped (a Redis restart). It is opened, and after a failure opened again with backoff, as
/// [`Reconnect`] describes; meanwhile every operation fails at once with [`StoreError::Reconnecting`].
/// When an operation finds Redis down or not answering, the manager is dropped and [`Reconnect`] takes
/// over again.
struct Link {
    client: Client,
    manager: Reconnect<Connection>,
    /// Bounds every operation, its connect included (`HOPPER_REDIS_TIMEOUT`).
    limit: Duration,
}

/// The connection, and how far Redis's clock is ahead of this host's (measured when it was opened), to
/// hand scripts deadlines in Redis's own time.
#[derive(Clone)]
struct Connection {
    manager: ConnectionManager,
    clock_offset_ms: i64,
}

impl Link {
    fn new(client: Client, limit: Duration) -> Self {
        Self {
            client,
            manager: Reconnect::new("Redis", FIRST_BACKOFF, MAX_BACKOFF),
            limit,
        }
    }

    fn config(&self) -> ConnectionManagerConfig {
        // One attempt per reconnect: while Redis is down, operations should fail at once rather than
        // wait on the manager's retries; the backoff of `Reconnect` paces the attempts instead. A reply
        // missing for the whole limit means the connection is dead or Redis hangs: the manager fails
        // the request rather than keep it waiting.
        ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(self.limit))
            .set_response_timeout(Some(self.limit))
    }

    async fn get(&self) -> Result<Held<Connection>, StoreError> {
        self.manager
            .get(|_| true, || self.connect(), StoreError::Reconnecting)
            .await
    }

    async fn connect(&self) -> Result<Connection, StoreError> {
        let mut manager = ConnectionManager::new_with_config(self.client.clone(), self.config())
            .await
            .map_err(StoreError::Connect)?;
        let before = now_ms();
        let (secs, micros): (u64, u64) = redis::cmd("TIME")
            .query_async(&mut manager)
            .await
            .map_err(StoreError::Connect)?;
        let here = (before + now_ms()) / 2;
        Ok(Connection {
            manager,
            clock_offset_ms: (secs * 1000 + micros / 1000) as i64 - here as i64,
        })
    }
}

fn spec_fields(spec: &JobSpec, state: JobState) -> Vec<(&'static str, String)> {
    let queues: Vec<&str> = spec.queues.iter().map(QueueName::as_str).collect();
    vec![
        ("state", state.as_str().to_owned()),
        ("threads", spec.threads.to_string()),
        ("queues", queues.join(",")),
        ("script", spec.script.clone()),
        // Serialising a list of strings cannot fail.
        (
            "args",
            serde_json::to_string(&spec.args).unwrap_or_default(),
        ),
        (
            "workdir",
            spec.working_directory.to_string_lossy().into_owned(),
        ),
        ("max_tries", spec.max_tries.max(1).to_string()),
        ("created", now_ms().to_string()),
    ]
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_below_the_recommendation_is_worth_a_warning() {
        let warning = HashEncoding::Limit(64).warning().expect("a warning");
        assert!(warning.contains("is 64"), "{warning}");
        assert!(
            warning.contains("hash-max-listpack-value 65536"),
            "{warning}"
        );
        assert!(warning.contains("docs/deployment.md"), "{warning}");
        assert!(HashEncoding::Limit(65_535).warning().is_some());
    }

    #[test]
    fn the_recommended_limit_or_more_or_an_unknown_one_is_not() {
        assert_eq!(HashEncoding::Limit(65_536).warning(), None);
        assert_eq!(HashEncoding::Limit(1 << 20).warning(), None);
        assert_eq!(
            HashEncoding::Unknown("ERR unknown command 'CONFIG'".to_owned()).warning(),
            None
        );
    }
}
