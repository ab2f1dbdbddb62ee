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
