//! The worker's heartbeat: a Redis key that expires unless refreshed, so that sweepers can tell a
//! lost worker from a busy one. Each beat also gives back jobs Redis says this worker runs but that it
//! does not hold: claims that landed while their answer was lost, or jobs a previous run of this worker
//! left (its processes were ended at start, see `leftovers.rs`).

use std::sync::Arc;

use hopper_common::{Ended, Failure, LivenessArgs, Publisher, Store, SweepError, publish_requeue};
use tokio_util::sync::CancellationToken;

use crate::running::Running;

#[derive(Debug)]
pub(crate) struct Liveness {
    pub(crate) store: Store,
    pub(crate) publisher: Arc<Publisher>,
    pub(crate) running: Arc<Running>,
    pub(crate) worker_id: String,
    /// The heartbeat's value, for operators: host, pid, queues, threads.
    pub(crate) about: String,
    pub(crate) settings: LivenessArgs,
}

impl Liveness {
    /// Beats every third of the heartbeat's life until `stop`.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.heartbeat_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.beat().await {
                tracing::warn!(%error, "cannot refresh this worker's heartbeat");
                continue;
            }
            if let Err(error) = self.give_back_stranded().await {
                tracing::warn!(%error, "cannot check this worker's jobs in Redis");
            }
        }
    }

    pub(crate) async fn beat(&self) -> Result<(), hopper_common::StoreError> {
        self.store
            .heartbeat(&self.worker_id, &self.about, self.settings.heartbeat_ttl)
            .await
    }

    /// Ends the attempts Redis holds in this worker's name that it is not running: back to the queue
    /// if the job has tries left, failed `worker lost` otherwise.
    pub(crate) async fn give_back_stranded(&self) -> Result<(), SweepError> {
        for job in self.store.jobs_of(&self.worker_id).await? {
            // Jobs are held from before their claim until after their end is recorded, so a job
            // Redis gives this worker that it does not hold is nobody's.
            if self.running.holds(&job) {
                continue;
            }
            match self
                .store
                .release(&job, &self.worker_id, &Failure::WorkerLost, false)
                .await?
            {
                Ended::Requeued(requeue) => {
                    tracing::warn!(job = %job, "job this worker lost track of re-queued");
                    publish_requeue(&self.store, &self.publisher, &requeue).await?;
                }
                Ended::Final(state) => {
                    tracing::warn!(job = %job, %state, "job this worker lost track of ended");
                }
                Ended::NotOwned => {}
            }
        }
        Ok(())
    }
}
