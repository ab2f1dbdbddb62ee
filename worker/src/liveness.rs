//! The worker's heartbeat: a Redis key that expires unless refreshed, so that sweepers can tell a
//! lost worker from a busy one. Each beat also squares what this worker runs with what Redis says:
//! - jobs Redis gives this worker that it does not hold (claims that landed while their answer was
//!   lost, jobs a previous run of this worker left: see `leftovers.rs`) are given back;
//! - a held job whose cancel Redis records is canceled: the cancel command may have been lost, e.g.
//!   sent while this worker was reconnecting to RabbitMQ;
//! - a held job Redis gives to another worker or has ended (this worker was cut off long enough to be
//!   judged lost) is terminated, so that it does not run beside its next attempt;
//! - a held job Redis shows `queued` again (Redis lost the claim: AOF keeps up to a second of writes
//!   at risk) is claimed again, so that its end can be recorded.

use std::sync::Arc;

use hopper_common::{
    Claim, Claimant, Ended, Failure, JobState, LivenessArgs, Publisher, Store, SweepError,
    publish_requeue,
};
use tokio_util::sync::CancellationToken;

use crate::running::Running;

#[derive(Debug)]
pub(crate) struct Liveness {
    pub(crate) store: Store,
    pub(crate) publisher: Arc<Publisher>,
    pub(crate) running: Arc<Running>,
    pub(crate) worker_id: String,
    pub(crate) host: String,
    /// The heartbeat's value, for operators and `/api/v1/workers`: host, pid, queues, threads. Each
    /// beat adds when it was sent (`seen`, Unix ms).
    pub(crate) about: serde_json::Map<String, serde_json::Value>,
    /// Registered with every beat, so API nodes accept jobs for them (known queues).
    pub(crate) queues: Vec<hopper_common::QueueName>,
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
            // The work of one beat stops with the worker, even in the middle of a call.
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.beat_and_check() => {}
            }
        }
    }

    /// Refreshes the heartbeat, then squares this worker's jobs with Redis. Failures are retried at the
    /// next beat; an outage is logged once by the store itself.
    async fn beat_and_check(&self) {
        if let Err(error) = self.beat().await {
            log(
                error.is_outage(),
                &error,
                "cannot refresh this worker's heartbeat",
            );
            return;
        }
        if let Err(error) = self.give_back_stranded().await {
            log(
                error.is_outage(),
                &error,
                "cannot check this worker's jobs in Redis",
            );
        }
        if let Err(error) = self.check_held().await {
            log(
                error.is_outage(),
                &error,
                "cannot check the jobs this worker runs against Redis",
            );
        }
    }

    pub(crate) async fn beat(&self) -> Result<(), hopper_common::StoreError> {
        let mut about = self.about.clone();
        let seen = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        about.insert("seen".to_owned(), seen.into());
        self.store
            .heartbeat(
                &self.worker_id,
                &serde_json::Value::Object(about).to_string(),
                &self.queues,
                self.settings.heartbeat_ttl,
            )
            .await
    }

    /// Squares the jobs this worker runs with their records (see the module's doc).
    pub(crate) async fn check_held(&self) -> Result<(), hopper_common::StoreError> {
        let held = self.running.claimed();
        let ids: Vec<_> = held.iter().map(|(job, _)| job.clone()).collect();
        let records = self.store.holders(&ids).await?;
        for ((job, claimed), record) in held.into_iter().zip(records) {
            if !self.running.still_running(&job) {
                // It ended while Redis was being read: its task records the end.
                continue;
            }
            let ours = record.worker.as_deref() == Some(self.worker_id.as_str());
            match record.state {
                _ if record.cancel_requested => {
                    if self.running.cancel(&job) {
                        tracing::info!(job = %job, "cancel found in Redis; terminating the job");
                    }
                }
                // A suspend or resume recorded in Redis is obeyed, even if its command was lost.
                Some(state @ (JobState::Running | JobState::Suspended)) if ours => {
                    let suspended = state == JobState::Suspended;
                    if self.running.set_paused(&job, suspended, record.pauses) {
                        tracing::info!(job = %job, suspended, "suspended or resumed, as Redis says");
                    }
                }
                Some(JobState::Queued) => {
                    let token = uuid::Uuid::new_v4().to_string();
                    let claimant = Claimant {
                        worker: &self.worker_id,
                        host: &self.host,
                        token: &token,
                    };
                    let claim = self
                        .store
                        .claim(&job, &claimant, &claimed.queue, claimed.threads, None)
                        .await?;
                    if matches!(claim, Claim::Claimed(_)) {
                        tracing::warn!(job = %job, "Redis had lost this worker's claim; claimed again");
                    } else {
                        tracing::warn!(job = %job, ?claim, "cannot claim a running job again; terminating it");
                        self.running.cancel(&job);
                    }
                }
                state => {
                    tracing::warn!(job = %job, ?state, worker = ?record.worker,
                        "Redis no longer gives this job to this worker; terminating it");
                    self.running.cancel(&job);
                }
            }
        }
        Ok(())
    }

    /// Ends the attempts Redis holds in this worker's name that it is not running: back to the queue
    /// if the job has tries left, failed `worker lost` otherwise.
    pub(crate) async fn give_back_stranded(&self) -> Result<(), SweepError> {
        // A job is held from its claim's answer until its end is recorded, and its claim is counted
        // as on its way from before it is sent until then: a job Redis gives this worker that is
        // neither held nor claimed by a claim on its way is nobody's. The claim token is read after
        // the job set, so a claim that put the job there is seen.
        let jobs: Vec<_> = self
            .store
            .jobs_of(&self.worker_id)
            .await?
            .into_iter()
            .filter(|job| !self.running.accounts_for(job, None))
            .collect();
        let records = self.store.holders(&jobs).await?;
        for (job, record) in jobs.into_iter().zip(records) {
            if self.running.accounts_for(&job, record.claim.as_deref()) {
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

fn log(outage: bool, error: &dyn std::fmt::Display, what: &str) {
    if outage {
        tracing::debug!(%error, "{what}");
    } else {
        tracing::warn!(%error, "{what}");
    }
}
