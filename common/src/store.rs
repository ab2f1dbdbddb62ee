//! The Redis store: the key layout and every state transition, each one atomic (a Lua script).
//!
//! Keys, all under the namespace `<ns>`:
//! - `<ns>:job:<id>`: a hash per job (state, spec, queue, worker, times, outcome, output tail);
//! - `<ns>:job-id`: the counter jobs take their ids from.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::{self, Script};
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};

use crate::{
    Claim, Ending, Failure, Job, JobId, JobSpec, JobState, Namespace, QueueName, StoreError,
};

/// How long one Redis operation may take before the caller gives up and reports Redis unavailable.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The job store. Cloning is cheap: a pool handle and an `Arc`.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    ns: Namespace,
    retention: Duration,
    scripts: Arc<Scripts>,
}

struct Scripts {
    create: Script,
    claim: Script,
    finish: Script,
    cancel: Script,
    withdraw: Script,
}

/// Who claims a job: the worker, its host, and a token unique to this claim attempt.
#[derive(Clone, Copy, Debug)]
pub struct Claimant<'a> {
    pub worker: &'a str,
    pub host: &'a str,
    pub token: &'a str,
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
    /// Builds the pool; no connection is made until the first operation, so a process can start while
    /// Redis is still down.
    pub fn new(
        url: &str,
        ns: Namespace,
        retention: Duration,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        let mut config = deadpool_redis::Config::from_url(url);
        config.pool = Some(PoolConfig {
            max_size: pool_size,
            timeouts: Timeouts {
                wait: Some(OPERATION_TIMEOUT),
                create: Some(Duration::from_secs(3)),
                recycle: Some(Duration::from_secs(1)),
            },
            ..PoolConfig::default()
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| StoreError::Corrupt(format!("invalid Redis configuration: {e}")))?;
        let scripts = Scripts {
            create: Script::new(include_str!("lua/create.lua")),
            claim: Script::new(include_str!("lua/claim.lua")),
            finish: Script::new(include_str!("lua/finish.lua")),
            cancel: Script::new(include_str!("lua/cancel.lua")),
            withdraw: Script::new(include_str!("lua/withdraw.lua")),
        };
        Ok(Self {
            pool,
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

    async fn timed<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(OPERATION_TIMEOUT, operation)
            .await
            .unwrap_or(Err(StoreError::Timeout(OPERATION_TIMEOUT)))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.timed(async {
            let mut conn = self.pool.get().await?;
            let _: String = redis::cmd("PING").query_async(&mut conn).await?;
            Ok(())
        })
        .await
    }

    /// Records a new `queued` job and returns its id.
    pub async fn create(&self, spec: &JobSpec) -> Result<JobId, StoreError> {
        self.insert(spec, JobState::Queued, &[], 0).await
    }

    /// Records a job refused for a lasting reason: born `failed`, so its id answers with the reason.
    pub async fn reject(&self, spec: &JobSpec, reason: &str) -> Result<JobId, StoreError> {
        let failure = Failure::Rejected(reason.to_owned());
        let mut fields = failure.fields();
        fields.push(("ended", now_ms().to_string()));
        self.insert(spec, JobState::Failed, &fields, self.retention.as_secs())
            .await
    }

    async fn insert(
        &self,
        spec: &JobSpec,
        state: JobState,
        extra: &[(&str, String)],
        ttl: u64,
    ) -> Result<JobId, StoreError> {
        let mut invocation = self.scripts.create.key(self.ns.key("job-id"));
        invocation.arg(self.ns.key("job:")).arg(ttl);
        for (field, value) in spec_fields(spec, state).iter().chain(extra) {
            invocation.arg(*field).arg(value);
        }
        self.timed(async {
            let mut conn = self.pool.get().await?;
            let id: u64 = invocation.invoke_async(&mut conn).await?;
            JobId::from_counter(id)
        })
        .await
    }

    /// Takes back a job whose submit could not be published to all its queues, so that nothing is
    /// left looking queued. `false` if a worker already claimed it: it runs, and the submit stands.
    pub async fn withdraw(&self, id: &JobId) -> Result<bool, StoreError> {
        let invocation = self.scripts.withdraw.key(self.job_key(id));
        let state: String = self
            .timed(async {
                let mut conn = self.pool.get().await?;
                Ok(invocation.invoke_async(&mut conn).await?)
            })
            .await?;
        Ok(state == "withdrawn")
    }

    pub async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let hash: HashMap<String, String> = self
            .timed(async {
                let mut conn = self.pool.get().await?;
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
            .arg(claimant.worker)
            .arg(claimant.host)
            .arg(queue.as_str())
            .arg(now_ms())
            .arg(threads_granted)
            .arg(claimant.token)
            .arg(note.unwrap_or(""));
        let reply: Vec<Option<String>> = self
            .timed(async {
                let mut conn = self.pool.get().await?;
                Ok(invocation.invoke_async(&mut conn).await?)
            })
            .await?;
        let mut fields = reply.into_iter().map(Option::unwrap_or_default);
        let corrupt =
            || StoreError::Corrupt(format!("claim of job {id} returned an unknown answer"));
        match fields.next().as_deref() {
            Some("missing") => Ok(Claim::Missing),
            Some("claimed") => {
                let mut next = || fields.next().unwrap_or_default();
                let (threads, queues, script, args, workdir) =
                    (next(), next(), next(), next(), next());
                Ok(Claim::Claimed(JobSpec {
                    threads: threads.parse().map_err(|_| corrupt())?,
                    queues: queues
                        .split(',')
                        .filter_map(|q| QueueName::parse(q).ok())
                        .collect(),
                    script,
                    args: serde_json::from_str(&args).map_err(|_| corrupt())?,
                    working_directory: workdir.into(),
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
        let mut invocation = self.scripts.finish.key(self.job_key(id));
        invocation
            .arg(worker)
            .arg(state.as_str())
            .arg(now_ms())
            .arg(self.retention.as_secs())
            .arg("output")
            .arg(&ending.output);
        match &ending.failure {
            Some(failure) => failure.fields().into_iter().for_each(|(field, value)| {
                invocation.arg(field).arg(value);
            }),
            None => {
                invocation.arg("exit_code").arg(0);
            }
        }
        let reply: Option<String> = self
            .timed(async {
                let mut conn = self.pool.get().await?;
                Ok(invocation.invoke_async(&mut conn).await?)
            })
            .await?;
        Ok(reply.as_deref().and_then(JobState::parse))
    }

    /// Cancels a queued job, or marks a running one cancel-requested.
    pub async fn cancel(&self, id: &JobId) -> Result<CancelOutcome, StoreError> {
        let mut invocation = self.scripts.cancel.key(self.job_key(id));
        invocation.arg(now_ms()).arg(self.retention.as_secs());
        let reply: Vec<String> = self
            .timed(async {
                let mut conn = self.pool.get().await?;
                Ok(invocation.invoke_async(&mut conn).await?)
            })
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
        ("created", now_ms().to_string()),
    ]
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
