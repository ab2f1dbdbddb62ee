//! The sweeper: finds running jobs whose worker stopped proving it is alive, and makes sure every job
//! put back to `queued` has a submit message behind it.
//!
//! Every API node and every worker runs one, so sweeping goes on whichever of them are up; a lock in
//! Redis lets one of them sweep at a time.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{BrokerError, Ended, Failure, LivenessArgs, Publisher, Requeue, Store, StoreError};

/// Why a sweep stopped early; the next one starts over.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

impl SweepError {
    /// Whether Redis or RabbitMQ could not be reached or did not answer (see `error.rs`).
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Store(error) => error.is_outage(),
            Self::Broker(error) => error.is_outage(),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Whether this process held the lock and swept.
    pub swept: bool,
    /// Jobs of lost workers put back in their queues.
    pub requeued: usize,
    /// Jobs of lost workers that had no tries left (failed) or whose cancel was pending (canceled).
    pub ended: usize,
    /// Submits published for re-queued jobs.
    pub published: usize,
    /// Jobs past their retention removed from the indexes.
    pub pruned: u64,
}

#[derive(Debug, Clone)]
pub struct Sweeper {
    store: Store,
    publisher: Arc<Publisher>,
    liveness: LivenessArgs,
    /// Who holds the lock, for operators reading it in Redis.
    holder: String,
}

impl Sweeper {
    pub fn new(
        store: Store,
        publisher: Arc<Publisher>,
        liveness: LivenessArgs,
        holder: &str,
    ) -> Self {
        Self {
            store,
            publisher,
            liveness,
            holder: holder.to_owned(),
        }
    }

    /// Sweeps every `HOPPER_SWEEP_INTERVAL` until `stop` is cancelled. Failures are logged and the
    /// next sweep tries again: a sweeper never gives up while its process runs.
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.liveness.sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            // A sweep stops with the process, even in the middle of a call.
            let swept = tokio::select! {
                () = stop.cancelled() => return,
                swept = self.sweep() => swept,
            };
            match swept {
                Ok(report) if report.requeued + report.ended + report.published > 0 => {
                    tracing::info!(?report, "sweep recovered jobs")
                }
                Ok(_) => {}
                // An outage is logged once by the connection that has it.
                Err(error) if error.is_outage() => {
                    tracing::debug!(%error, "sweep failed; trying again next interval")
                }
                Err(error) => tracing::warn!(%error, "sweep failed; trying again next interval"),
            }
        }
    }

    /// One sweep, if no other process is sweeping.
    pub async fn sweep(&self) -> Result<SweepReport, SweepError> {
        let mut report = SweepReport::default();
        // Held for one interval: the holder sweeps once, and the next interval anyone may.
        if !self
            .store
            .take_sweep_lock(&self.holder, self.liveness.sweep_interval)
            .await?
        {
            return Ok(report);
        }
        report.swept = true;
        // After a Redis restart every heartbeat may have expired while Redis was down: give the
        // workers one heartbeat period to be heard again before judging anyone lost.
        if self.store.uptime().await? >= self.liveness.heartbeat_ttl {
            for worker in self.store.silent_workers().await? {
                self.recover(&worker, &mut report).await?;
            }
        }
        for requeue in self.store.requeued().await? {
            self.publish(&requeue).await?;
            report.published += 1;
        }
        // Index entries of jobs past their retention: a bounded amount per sweep, so a backlog (after
        // a long outage, or a retention cut short) is worked off over several sweeps.
        for _ in 0..PRUNE_BATCHES {
            let pruned = self.store.prune(PRUNE_BATCH).await?;
            report.pruned += pruned;
            if pruned < u64::from(PRUNE_BATCH) {
                break;
            }
        }
        Ok(report)
    }

    async fn recover(&self, worker: &str, report: &mut SweepReport) -> Result<(), SweepError> {
        for job in self.store.jobs_of(worker).await? {
            match self
                .store
                .release(&job, worker, &Failure::WorkerLost, true)
                .await?
            {
                Ended::Requeued(requeue) => {
                    tracing::warn!(job = %job, worker, "worker lost; job re-queued for another try");
                    report.requeued += 1;
                    // The requeue set keeps it until published, so a failure here is retried.
                    self.publish(&requeue).await?;
                }
                Ended::Final(state) => {
                    tracing::warn!(job = %job, worker, %state, "worker lost; job ended");
                    report.ended += 1;
                }
                Ended::NotOwned => continue,
            }
            // Its worker did not live to let the attempt's log expire with the job: do it here, or
            // the log would outlive the job (a next attempt starts a log of its own).
            if let Err(error) = self.store.log_expire(&job).await {
                tracing::warn!(job = %job, %error, "cannot let a lost job's log expire");
            }
        }
        self.store.forget_worker(worker).await?;
        Ok(())
    }

    async fn publish(&self, requeue: &Requeue) -> Result<(), SweepError> {
        publish_requeue(&self.store, &self.publisher, requeue).await
    }
}

/// Jobs pruned from the indexes per script call, and calls per sweep at most.
const PRUNE_BATCH: u32 = 1000;
const PRUNE_BATCHES: u32 = 10;

/// Publishes a re-queued job's submit and marks it published; on failure it stays in the requeue set
/// for the next sweep. Used by workers that give a job back themselves.
pub async fn publish_requeue(
    store: &Store,
    publisher: &Publisher,
    requeue: &Requeue,
) -> Result<(), SweepError> {
    publisher
        .submit(&requeue.id, requeue.threads, &requeue.queues)
        .await?;
    store.requeue_published(requeue.id.as_str()).await?;
    Ok(())
}
