//! A job's life on this worker, from a delivery that got its slots to its recorded end: spend the
//! message on the best job of its queue in Redis, settle the delivery, run the script, record how it
//! ended.

use std::sync::Arc;
use std::time::Duration;

use hopper_common::{
    Claimant, Ended, Ending, Failure, JobId, JobSpec, Namespace, NextClaim, Publisher, QueueName,
    Requeue, Store, StoreError, publish_requeue,
};
use lapin::message::Delivery;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::consumers::Spent;
use crate::event::Event;
use crate::log_shipper::LastFlush;
use crate::runner::{Assignment, Runner};
use crate::running::{Claimed, Claiming, Hold, Running};
use crate::settle::{Settle, dead_letter, settle};

/// Pause between attempts to reach Redis for a claim or a job's end; a job's end doubles it up to
/// [`MAX_RETRY_PAUSE`].
const STORE_RETRY_PAUSE: Duration = Duration::from_secs(1);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(10);

/// First pause before asking again for a job its submitter has not confirmed yet; it doubles up to
/// [`STORE_RETRY_PAUSE`]. Short: the confirm usually lands within a millisecond of the publish.
const FIRST_UNCONFIRMED_PAUSE: Duration = Duration::from_millis(2);

/// What job tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) runner: Runner,
    pub(crate) running: Arc<Running>,
    pub(crate) worker_id: String,
    pub(crate) host: String,
    /// For re-queued jobs and dead letters.
    pub(crate) publisher: Arc<Publisher>,
    pub(crate) ns: Namespace,
    /// Bounds each ack and nack (`HOPPER_AMQP_TIMEOUT`).
    pub(crate) amqp_limit: Duration,
}

/// A delivery that got its slots, on its way to claim a job and run it.
#[derive(Debug)]
pub(crate) struct Order {
    /// The job its message names. The message is a token for its queue: the claim takes the best job
    /// queued there, which may be another one (see `lua/claim.lua`).
    pub(crate) delivered: JobId,
    pub(crate) queue: QueueName,
    /// The slots taken for it; the claimed job gets those it needs, and the rest are given back.
    pub(crate) slots: u32,
    /// This worker's threads in all: a job asking more runs alone with all of them.
    pub(crate) threads: u32,
    pub(crate) delivery: Delivery,
    /// Settled only once this resolves: see [`settle`].
    pub(crate) spent: Spent,
}

/// When a job task must stop: `stop` terminates its script (the drain is over), `give_up` ends the
/// recording of its end (the worker must exit now, whether Redis answers or not).
#[derive(Debug, Clone)]
pub(crate) struct Stops {
    pub(crate) stop: CancellationToken,
    pub(crate) give_up: CancellationToken,
}

/// A job this worker claimed, and its hold on it.
struct Job {
    id: JobId,
    queue: QueueName,
    threads: u32,
    spec: Box<JobSpec>,
    hold: Hold,
}

impl Order {
    /// Claims the best job of the message's queue, runs and records it; says when slots are free
    /// again.
    pub(crate) async fn run(
        self,
        shared: Arc<Shared>,
        stops: Stops,
        events: UnboundedSender<Event>,
    ) {
        let Order {
            delivered,
            queue,
            slots,
            threads,
            delivery,
            spent,
        } = self;
        let limit = shared.amqp_limit;
        let claiming = shared.running.begin_claim();
        let offer = (slots, threads);
        let claimed = claim(&shared, &claiming, &delivered, &queue, offer, &stops.stop).await;
        let (id, granted, spec) = match claimed {
            Some(NextClaim::Claimed { job, threads, spec }) => (job, threads, spec),
            other => {
                drop(claiming);
                match other {
                    Some(NextClaim::Wider(needed)) => {
                        tracing::debug!(
                            needed,
                            slots,
                            "the best job of the queue needs more slots"
                        );
                        let _ = events.send(Event::Reserve {
                            queue: queue.clone(),
                            slots: needed,
                        });
                        settle(delivery, Settle::HandBack, spent, limit);
                    }
                    Some(NextClaim::Nothing(state)) => {
                        tracing::debug!(%state, "nothing queued to claim; message dropped");
                        settle(delivery, Settle::Done, spent, limit);
                    }
                    Some(NextClaim::Missing) => {
                        let reason = format!("job {delivered} is unknown to Redis");
                        dead_letter(&shared, &queue, delivery, spent, &reason).await;
                    }
                    // `Unconfirmed` is not returned by `claim`, which waits for the confirm.
                    _ => settle(delivery, Settle::HandBack, spent, limit),
                }
                let _ = events.send(Event::SlotsFree { slots });
                return;
            }
        };
        tracing::Span::current().record("job.id", tracing::field::display(&id));
        let claimed = Claimed {
            queue: queue.clone(),
            threads: granted,
        };
        let hold = shared.running.insert(id.clone(), claiming, claimed);
        if granted < slots {
            let _ = events.send(Event::SlotsFree {
                slots: slots - granted,
            });
        }
        crate::metrics::job_started(&shared.ns, &queue);
        settle(delivery, Settle::Done, spent, limit);
        if hold.stray_cancel {
            tokio::spawn(obey_stray_cancel(
                shared.clone(),
                id.clone(),
                hold.cancel.clone(),
            ));
        }
        let job = Job {
            id,
            queue,
            threads: granted,
            spec,
            hold,
        };
        job.run(shared, stops, events).await;
    }
}

impl Job {
    /// Runs the script and records how it ended.
    async fn run(self, shared: Arc<Shared>, stops: Stops, events: UnboundedSender<Event>) {
        let Job {
            id,
            queue,
            threads,
            spec,
            hold,
        } = self;
        let assignment = Assignment {
            id: &id,
            spec: &spec,
            queue: &queue,
            threads,
        };
        let paused = shared
            .running
            .pause_watch(&id)
            .unwrap_or_else(|| tokio::sync::watch::Sender::new(false).subscribe());
        let (ending, logs) = shared
            .runner
            .run(assignment, &hold.cancel, paused, &stops.stop)
            .await;
        // From here the end is this task's to record; the heartbeat's checks leave the job alone.
        shared.running.mark_ending(&id, hold.serial);
        // The script and all it started are gone, so its slots are free: the next job's consumer
        // opens while this end is being recorded. The job stays held until then, so the heartbeat
        // does not take it for lost.
        let _ = events.send(Event::SlotsFree { slots: threads });
        let mut last_flush = match logs {
            Some(logs) => Some(logs.stop().await),
            None => None,
        };
        let (requeued, outcome) =
            record(&shared, &id, &ending, last_flush.as_mut(), &stops.give_up).await;
        crate::metrics::job_ended(&shared.ns, &queue, outcome);
        shared.running.remove(&id, hold.serial);
        if let Some(requeue) = requeued {
            republish(&shared, &requeue, &stops.give_up).await;
        }
    }
}

/// Claims from the queue, asking again while Redis fails: an error does not say whether the claim
/// happened, and only the same claim token asked again can tell. Handing the delivery back after a
/// claim that did happen would leave the job running with nobody running it. `None` if the worker
/// stops first.
async fn claim(
    shared: &Shared,
    claiming: &Claiming,
    delivered: &JobId,
    queue: &QueueName,
    offer: (u32, u32),
    stop: &CancellationToken,
) -> Option<NextClaim> {
    let claimant = Claimant {
        worker: &shared.worker_id,
        host: &shared.host,
        token: claiming.token(),
    };
    let mut unconfirmed_pause = FIRST_UNCONFIRMED_PAUSE;
    let mut again = false;
    loop {
        let claimed = tokio::select! {
            () = stop.cancelled() => return None,
            claimed = shared.store.claim_next(delivered, &claimant, queue, offer, again) => claimed,
        };
        let pause = match claimed {
            Ok(NextClaim::Unconfirmed) => {
                // Its submitter confirms it a moment after the publish that brought it here, or
                // refuses the submit and lets it expire: either way the answer is not long coming.
                tracing::debug!(retry_in = ?unconfirmed_pause, "job not confirmed by its submitter yet");
                let pause = unconfirmed_pause;
                unconfirmed_pause = (unconfirmed_pause * 2).min(STORE_RETRY_PAUSE);
                pause
            }
            Ok(claim) => return Some(claim),
            Err(error) => {
                again = true;
                log_retry(&error, "cannot claim a job yet; asking again");
                STORE_RETRY_PAUSE
            }
        };
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// A cancel came for `job` before this worker held it: obeyed if Redis records one for this attempt
/// (a cancel of an earlier attempt, followed by a retry, must not end this one). If Redis cannot be
/// read now, the heartbeat's check finds the cancel later.
async fn obey_stray_cancel(shared: Arc<Shared>, job: JobId, cancel: CancellationToken) {
    let Ok(records) = shared.store.holders(std::slice::from_ref(&job)).await else {
        return;
    };
    let ours = |record: &hopper_common::Holder| {
        record.worker.as_deref() == Some(shared.worker_id.as_str()) && record.cancel_requested
    };
    if records.first().is_some_and(ours) {
        tracing::info!(job = %job, "cancel that came before the claim's answer obeyed");
        cancel.cancel();
    }
}

/// Writes how a job ended, asking again while Redis is unavailable: a final state must not be dropped
/// because of an outage. Gives up only when `give_up` says the worker must exit now, even in the middle
/// of an attempt; the job then stays in this worker's name, and a sweeper settles it once this worker's
/// heartbeat has expired.
///
/// A job terminated because the worker shut down is not the job's fault: it goes back to its queues
/// if it has tries left.
///
/// The rest of the job's output (`last_flush`) is shipped first, so that a job that reads ended has
/// its whole log in Redis.
///
/// Returns the job to publish again, if it was re-queued, and the outcome as
/// `hopper_jobs_ended_total` names it.
async fn record(
    shared: &Shared,
    job: &JobId,
    ending: &Ending,
    mut last_flush: Option<&mut LastFlush>,
    give_up: &CancellationToken,
) -> (Option<Requeue>, &'static str) {
    let mut pause = STORE_RETRY_PAUSE;
    loop {
        let recording = async {
            if let Some(last_flush) = last_flush.as_deref_mut() {
                last_flush.ship().await?;
            }
            if ending.failure == Some(Failure::WorkerShutdown) {
                shared
                    .store
                    .release(job, &shared.worker_id, &Failure::WorkerShutdown, false)
                    .await
            } else {
                match shared.store.finish(job, &shared.worker_id, ending).await {
                    Ok((ended, released)) => {
                        // Dependents this success released: published now, not at the next sweep.
                        for dependent in &released {
                            republish(shared, dependent, give_up).await;
                        }
                        Ok(ended)
                    }
                    Err(error) => Err(error),
                }
            }
        };
        let result = tokio::select! {
            () = give_up.cancelled() => return not_recorded(),
            result = recording => result,
        };
        match result {
            Ok(Ended::Final(state)) => {
                tracing::info!(%state, "job ended");
                return (None, state.as_str());
            }
            Ok(Ended::Requeued(requeue)) => {
                let why = ending.failure.as_ref().map_or("", Failure::reason);
                tracing::info!(
                    reason = why,
                    "job re-queued for another try: it has tries left"
                );
                return (Some(requeue), "requeued");
            }
            Ok(Ended::NotOwned) => {
                tracing::warn!("job no longer belongs to this worker; its end is not recorded");
                return (None, "not_owned");
            }
            Err(error) => log_retry(&error, "cannot record the job's end yet; asking again"),
        }
        tokio::select! {
            () = give_up.cancelled() => return not_recorded(),
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(MAX_RETRY_PAUSE);
    }
}

/// Publishes a re-queued job's submit; if that fails it stays in the requeue set, which the next sweep
/// publishes.
async fn republish(shared: &Shared, requeue: &Requeue, give_up: &CancellationToken) {
    let published = tokio::select! {
        () = give_up.cancelled() => return,
        published = publish_requeue(&shared.store, &shared.publisher, requeue) => published,
    };
    if let Err(error) = published {
        tracing::warn!(%error, "cannot publish the re-queued job yet; a sweep will");
    }
}

fn not_recorded() -> (Option<Requeue>, &'static str) {
    tracing::error!(
        "stopping now: the job's end is not recorded (Redis did not answer in time); a sweeper will \
         re-queue or fail it once this worker's heartbeat has expired"
    );
    (None, "unrecorded")
}

/// A failed call that will be asked again. An outage is logged once by the store itself, so here only
/// at debug; anything else (Redis answered with an error) is worth a warning each time.
fn log_retry(error: &StoreError, what: &str) {
    if error.is_outage() {
        tracing::debug!(%error, "{what}");
    } else {
        tracing::warn!(%error, "{what}");
    }
}
