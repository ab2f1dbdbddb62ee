//! Workers: their heartbeats, the jobs each holds, and the lock that lets one process sweep at a time.

use std::time::Duration;

use crate::{JobId, QueueName, StoreError};

use super::Store;

impl Store {
    /// Proves `worker` alive for `ttl`, and makes it known to sweepers. `about` is shown to operators
    /// (host, pid, queues). The queues it serves become known queues (see `queues.rs`): API nodes then
    /// accept jobs for them.
    pub async fn heartbeat(
        &self,
        worker: &str,
        about: &str,
        queues: &[QueueName],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        if !queues.is_empty() {
            pipe.cmd("SADD")
                .arg(self.known_queues_key())
                .arg(queues.iter().map(QueueName::as_str).collect::<Vec<_>>())
                .ignore();
        }
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
}

/// A live worker, as its heartbeat and job set describe it.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerRecord {
    pub id: String,
    /// What the worker wrote with its last beat: host, pid, queues (comma-separated), threads, seen.
    pub about: serde_json::Value,
    /// The jobs it has claimed and not yet ended.
    pub jobs: Vec<JobId>,
    /// Thread slots those jobs take.
    pub busy: u32,
}

impl Store {
    /// The workers whose heartbeat is alive, sorted by id. Three pipelined round trips.
    pub async fn live_workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        let ids: Vec<String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("SMEMBERS")
                    .arg(self.ns.key("workers"))
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("GET").arg(self.heartbeat_key(id));
            pipe.cmd("SMEMBERS").arg(self.worker_jobs_key(id));
        }
        let replies: Vec<redis::Value> = self
            .call(|mut conn| async move { Ok(pipe.query_async(&mut conn).await?) })
            .await?;
        let mut workers = Vec::new();
        for (id, pair) in ids.into_iter().zip(replies.chunks(2)) {
            let about: Option<String> = redis::from_redis_value(pair[0].clone()).ok().flatten();
            let Some(about) = about else { continue };
            let jobs: Vec<String> = redis::from_redis_value(pair[1].clone()).unwrap_or_default();
            workers.push(WorkerRecord {
                id,
                about: serde_json::from_str(&about).unwrap_or(serde_json::Value::Null),
                jobs: jobs.iter().filter_map(|j| JobId::parse(j).ok()).collect(),
                busy: 0,
            });
        }
        let held: Vec<(usize, &JobId)> = workers
            .iter()
            .enumerate()
            .flat_map(|(at, w)| w.jobs.iter().map(move |job| (at, job)))
            .collect();
        if !held.is_empty() {
            let mut pipe = redis::pipe();
            for (_, job) in &held {
                pipe.cmd("HMGET")
                    .arg(self.job_key(job))
                    .arg("threads_granted")
                    .arg("threads");
            }
            let slots: Vec<(Option<u32>, Option<u32>)> = self
                .call(|mut conn| async move { Ok(pipe.query_async(&mut conn).await?) })
                .await?;
            let owners: Vec<usize> = held.iter().map(|(at, _)| *at).collect();
            for (at, (granted, asked)) in owners.into_iter().zip(slots) {
                workers[at].busy += granted.or(asked).unwrap_or(0);
            }
        }
        workers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(workers)
    }
}
