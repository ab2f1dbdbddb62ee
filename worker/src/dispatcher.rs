//! The worker's one decision-maker: it owns the thread slots, decides for every delivery whether the job
//! fits now, starts job tasks, and keeps as many consumers open on each queue as there are free slots.
//!
//! Deliveries are acked right after the claim in Redis (long jobs would otherwise hit RabbitMQ's
//! `consumer_timeout`), so the broker's unacked count says nothing about running jobs; the consumers,
//! each able to take one job (see `consumers.rs`), are what keep the broker from sending more than the
//! free slots, and they are opened and cancelled whenever the free slots change.

use std::sync::Arc;
use std::time::Duration;

use hopper_common::{
    Claim, Claimant, Command, Ended, Ending, Failure, JobId, Namespace, Publisher, QueueName,
    Shutdown, Store, publish_requeue, topology,
};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::consumers::{QueueConsumers, Spent};
use crate::link::Link;
use crate::reservation::Reservation;
use crate::runner::{Assignment, Runner};
use crate::running::{Claimed, Running};
use crate::slots::Slots;

/// Pause between attempts to reach Redis for a claim or a job's end.
const STORE_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Pause before handing back a message that could not be dead-lettered, so that a broker refusing the
/// dead-letter queue does not turn into a hot redelivery loop.
const DEAD_LETTER_RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) enum Event {
    Delivery {
        queue: QueueName,
        /// The consumer it came through.
        generation: u64,
        // Boxed: a delivery is large, and the channel holds many small events too.
        delivery: Box<Delivery>,
    },
    /// A consumer's `consume-ok` arrived; its deliveries follow this event.
    ConsumerStarted {
        queue: QueueName,
        generation: u64,
        tag: String,
    },
    ConsumerEnded {
        queue: QueueName,
        generation: u64,
        error: Option<lapin::Error>,
    },
    /// Starting or cancelling a consumer failed: the channel (or the connection) of attachment
    /// `attachment` is broken.
    ConsumersFailed {
        attachment: u64,
        error: lapin::Error,
    },
    JobDone {
        threads: u32,
    },
    /// The control queue's consumer on connection `epoch` ended: cancel commands can no longer arrive.
    ControlEnded {
        epoch: u64,
        error: Option<lapin::Error>,
    },
}

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
}

pub(crate) struct Dispatcher {
    slots: Slots,
    /// Held for a job that did not fit the free slots, if any.
    reservation: Option<Reservation>,
    link: Link,
    consumers: QueueConsumers,
    events: UnboundedReceiver<Event>,
    sender: UnboundedSender<Event>,
    shared: Arc<Shared>,
    tracker: TaskTracker,
    /// Its first stage stops the taking of jobs and starts the drain; its second ends the drain.
    shutdown: Shutdown,
    /// How long running jobs may go on after the worker stopped taking jobs.
    drain: Duration,
    /// Cancelled when the drain ends or the dispatcher fails: every running job is then terminated.
    stop: CancellationToken,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub(crate) fn new(
        threads: u32,
        link: Link,
        consumers: QueueConsumers,
        channel: (UnboundedSender<Event>, UnboundedReceiver<Event>),
        shared: Arc<Shared>,
        shutdown: Shutdown,
        drain: Duration,
    ) -> Self {
        Self {
            slots: Slots::new(threads),
            reservation: None,
            link,
            consumers,
            sender: channel.0,
            events: channel.1,
            shared,
            tracker: TaskTracker::new(),
            stop: shutdown.now.child_token(),
            shutdown,
            drain,
        }
    }

    /// Serves until shutdown begins, then drains: takes no new job, lets running ones finish for up to
    /// the drain time (or until the shutdown's second stage), then terminates the rest and records
    /// them. A lost broker connection is re-opened while running jobs go on.
    pub(crate) async fn run(mut self) -> anyhow::Result<()> {
        let result = self.serve().await;
        // Nothing new: deliveries not yet claimed go back to their queues when the channels close.
        self.consumers.close().await;
        self.tracker.close();
        if result.is_ok() && !self.tracker.is_empty() {
            tracing::info!(tasks = self.tracker.len(), drain = ?self.drain, "draining: running jobs may finish");
            tokio::select! {
                () = self.tracker.wait() => tracing::info!("drained: every job ended"),
                () = tokio::time::sleep(self.drain) => {
                    tracing::warn!("drain time over; terminating the jobs still running");
                }
                () = self.shutdown.now.cancelled() => {
                    tracing::warn!("drain cut short; terminating the jobs still running");
                }
            }
        }
        self.stop.cancel();
        self.tracker.wait().await;
        self.link.close().await;
        result
    }

    /// Serves the current connection; when it is lost, connects again (with backoff) and goes on.
    /// Returns when shutdown begins.
    async fn serve(&mut self) -> anyhow::Result<()> {
        loop {
            let Err(lost) = self.serve_link().await else {
                return Ok(());
            };
            tracing::warn!(
                "lost RabbitMQ ({lost:#}); running jobs go on while the worker reconnects"
            );
            self.reservation = None;
            if !self
                .link
                .establish(&mut self.consumers, &self.shutdown.begin)
                .await?
            {
                return Ok(());
            }
            tracing::info!("reconnected to RabbitMQ; taking jobs again");
        }
    }

    /// Serves until shutdown begins (`Ok`) or the connection is lost (`Err`, saying how).
    async fn serve_link(&mut self) -> anyhow::Result<()> {
        self.sync_consumers();
        loop {
            let window_ends = self.reservation.as_ref().and_then(Reservation::window_ends);
            let event = tokio::select! {
                () = self.shutdown.begin.cancelled() => return Ok(()),
                event = self.events.recv() => event,
                () = until(window_ends) => {
                    // The reserved job was not delivered (another worker took it): stop holding.
                    self.reservation = None;
                    self.sync_consumers();
                    continue;
                }
            };
            // The dispatcher holds a sender itself, so the channel never closes.
            let Some(event) = event else { return Ok(()) };
            self.handle(event)?;
            // Take everything already waiting before touching the consumers: a burst of slot changes
            // that cancel each other out costs the broker nothing.
            while let Ok(event) = self.events.try_recv() {
                self.handle(event)?;
            }
            self.sync_consumers();
        }
    }

    fn handle(&mut self, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Delivery {
                queue,
                generation,
                delivery,
            } => {
                let spent = self.consumers.spend(&queue, generation);
                self.on_delivery(queue, *delivery, spent);
            }
            Event::ConsumerStarted {
                queue,
                generation,
                tag,
            } => {
                if !self.consumers.started(&queue, generation, tag) {
                    tracing::debug!(%queue, generation, "consumer of a replaced connection started");
                }
            }
            Event::ConsumersFailed { attachment, error } => {
                if attachment == self.consumers.attachment() {
                    anyhow::bail!("cannot open or cancel consumers: {error}");
                }
            }
            Event::JobDone { threads } => self.slots.give_back(threads),
            Event::ControlEnded { epoch, error } => {
                if epoch == self.link.epoch() {
                    let why = error.map_or("cancelled by the broker".to_owned(), |e| e.to_string());
                    anyhow::bail!(
                        "lost the control queue, so cancels could not reach this worker: {why}"
                    );
                }
            }
            Event::ConsumerEnded {
                queue,
                generation,
                error,
            } => {
                if self.consumers.is_open(&queue, generation) {
                    let why = error.map_or("cancelled by the broker".to_owned(), |e| e.to_string());
                    anyhow::bail!("lost the consumer of queue {queue}: {why}");
                }
            }
        }
        Ok(())
    }

    fn on_delivery(&mut self, queue: QueueName, delivery: Delivery, spent: Spent) {
        let (job, threads) = match Command::decode(&delivery.data) {
            Ok(Command::Submit { job, threads }) => (job, threads),
            other => {
                let reason = match other {
                    Ok(command) => format!("not a job submit: {command:?}"),
                    Err(error) => format!("not a Hopper command: {error}"),
                };
                let shared = self.shared.clone();
                self.tracker.spawn(async move {
                    dead_letter(&shared, &queue, delivery, spent, &reason).await;
                });
                return;
            }
        };
        let granted = self.slots.grant(threads);
        let Some(cancel) = self.shared.running.insert(job.clone()) else {
            // Another copy of a job this worker is already claiming or running (it listed several of
            // our queues). Whatever that claim decides settles the job; this copy is redundant.
            tracing::debug!(%job, %queue, "second copy of a held job dropped");
            return settle(delivery, Settle::Done, spent);
        };
        let free = self.slots.free();
        let held_back = self
            .reservation
            .as_ref()
            .is_some_and(|r| !r.admits(&queue, free));
        if held_back || !self.slots.try_take(granted) {
            // No room now: hand it back for another worker, or for us once the slots are free. The
            // first job that does not fit has slots reserved, so narrower ones cannot starve it.
            tracing::debug!(%job, threads, free, held_back, "job not taken now, handed back");
            self.shared.running.remove(&job);
            if self.reservation.is_none() || !held_back {
                self.reservation = Some(Reservation::new(queue, granted));
            }
            return settle(delivery, Settle::HandBack, spent);
        }
        // Whatever was reserved for is served: this is the head of the reserved queue.
        self.reservation = None;
        let note = (threads > granted).then(|| {
            format!(
                "asked for {threads} threads; worker {} has {granted}, so the job runs alone with all of them",
                self.shared.worker_id
            )
        });
        let order = Order {
            job,
            queue,
            threads: granted,
            note,
            delivery,
            spent,
            cancel,
        };
        let span = tracing::info_span!("job", job.id = %order.job, queue = %order.queue);
        let task = run_order(
            self.shared.clone(),
            order,
            self.stop.clone(),
            self.shutdown.now.clone(),
            self.sender.clone(),
        );
        self.tracker.spawn(task.instrument(span));
    }

    /// Opens or cancels consumers so that each queue may send as many jobs as may be taken from it now.
    fn sync_consumers(&mut self) {
        let queues: Vec<QueueName> = self.consumers.queues().cloned().collect();
        let free = self.slots.free();
        for queue in queues {
            let wanted = match &mut self.reservation {
                Some(reservation) => reservation.prefetch(&queue, free),
                None => free,
            };
            self.consumers.want(&queue, wanted as usize);
        }
    }
}

/// A delivery that got its slots, on its way to be claimed and run.
struct Order {
    job: JobId,
    queue: QueueName,
    threads: u32,
    note: Option<String>,
    delivery: Delivery,
    /// Settled only once this resolves: see [`settle`].
    spent: Spent,
    cancel: CancellationToken,
}

async fn run_order(
    shared: Arc<Shared>,
    order: Order,
    stop: CancellationToken,
    give_up: CancellationToken,
    done: UnboundedSender<Event>,
) {
    let Order {
        job,
        queue,
        threads,
        note,
        delivery,
        spent,
        cancel,
    } = order;
    match claim(&shared, &job, &queue, threads, note.as_deref(), &stop).await {
        Some(Claim::Claimed(spec)) => {
            settle(delivery, Settle::Done, spent);
            shared.running.mark_claimed(
                &job,
                Claimed {
                    queue: queue.clone(),
                    threads,
                },
            );
            let assignment = Assignment {
                id: &job,
                spec: &spec,
                queue: &queue,
                threads,
            };
            let ending = shared.runner.run(assignment, &cancel, &stop).await;
            // From here the end is this task's to record; the heartbeat's checks leave the job alone.
            shared.running.mark_ending(&job);
            // The script and all it started are gone, so its slots are free: the next job's consumer
            // opens while this end is being recorded. The job stays held until then, so a second copy
            // of it is still refused.
            let _ = done.send(Event::JobDone { threads });
            record(&shared, &job, &ending, &give_up).await;
            shared.running.remove(&job);
            return;
        }
        Some(Claim::NotQueued(state)) => {
            tracing::debug!(%state, "job is no longer queued; message dropped");
            settle(delivery, Settle::Done, spent);
        }
        Some(Claim::Missing) => {
            let reason = format!("job {job} is unknown to Redis");
            dead_letter(&shared, &queue, delivery, spent, &reason).await;
        }
        None => settle(delivery, Settle::HandBack, spent),
    }
    shared.running.remove(&job);
    let _ = done.send(Event::JobDone { threads });
}

/// Claims the job, asking again while Redis fails: an error does not say whether the claim happened,
/// and only the same claim token asked again can tell. Handing the delivery back after a claim that
/// did happen would leave the job running with nobody running it. `None` if the worker stops first.
async fn claim(
    shared: &Shared,
    job: &JobId,
    queue: &QueueName,
    threads: u32,
    note: Option<&str>,
    stop: &CancellationToken,
) -> Option<Claim> {
    let token = uuid::Uuid::new_v4().to_string();
    let claimant = Claimant {
        worker: &shared.worker_id,
        host: &shared.host,
        token: &token,
    };
    loop {
        if stop.is_cancelled() {
            return None;
        }
        match shared
            .store
            .claim(job, &claimant, queue, threads, note)
            .await
        {
            Ok(claim) => return Some(claim),
            Err(error) => tracing::error!(%error, "cannot claim job yet; asking again"),
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(STORE_RETRY_PAUSE) => {}
        }
    }
}

/// Writes how a job ended, asking again while Redis is unavailable: a final state must not be dropped
/// because of an outage. Gives up only when the shutdown's second stage says so; the job then stays
/// in this worker's name, and a sweeper settles it once this worker's heartbeat has expired.
///
/// A job terminated because the worker shut down is not the job's fault: it goes back to its queues
/// if it has tries left.
async fn record(shared: &Shared, job: &JobId, ending: &Ending, give_up: &CancellationToken) {
    let mut pause = STORE_RETRY_PAUSE;
    loop {
        let result = if ending.failure == Some(Failure::WorkerShutdown) {
            shared
                .store
                .release(job, &shared.worker_id, &Failure::WorkerShutdown, false)
                .await
        } else {
            shared
                .store
                .finish(job, &shared.worker_id, ending)
                .await
                .map(|state| state.map_or(Ended::NotOwned, Ended::Final))
        };
        match result {
            Ok(Ended::Final(state)) => return tracing::info!(%state, "job ended"),
            Ok(Ended::Requeued(requeue)) => {
                tracing::info!(
                    "job re-queued: the worker shut down under it and it has tries left"
                );
                if let Err(error) =
                    publish_requeue(&shared.store, &shared.publisher, &requeue).await
                {
                    // It stays in the requeue set; the next sweep publishes it.
                    tracing::warn!(%error, "cannot publish the re-queued job yet; a sweep will");
                }
                return;
            }
            Ok(Ended::NotOwned) => {
                return tracing::warn!(
                    "job no longer belongs to this worker; its end is not recorded"
                );
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?pause, "cannot record the job's end yet");
            }
        }
        tokio::select! {
            () = give_up.cancelled() => {
                return tracing::error!("stopping now: the job's end is not recorded; a sweeper will settle it");
            }
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// Keeps a delivery no worker can act on in the dead-letter queue and counts it, then acks it. If it
/// cannot be kept there, it is handed back: never dropped silently.
async fn dead_letter(
    shared: &Shared,
    queue: &QueueName,
    delivery: Delivery,
    spent: Spent,
    reason: &str,
) {
    let name = topology::job_queue(&shared.ns, queue);
    match shared
        .publisher
        .dead_letter(&name, &delivery.data, reason)
        .await
    {
        Ok(()) => {
            let count = shared.store.count_dead_letter().await;
            tracing::warn!(%queue, reason, ?count, "message dead-lettered");
            settle(delivery, Settle::Done, spent);
        }
        Err(error) => {
            tracing::error!(%queue, reason, %error, "cannot dead-letter a message; handing it back");
            tokio::time::sleep(DEAD_LETTER_RETRY_PAUSE).await;
            settle(delivery, Settle::HandBack, spent);
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Settle {
    /// Claimed, or known to need no run: ack.
    Done,
    /// Not taken here: requeue for any worker.
    HandBack,
}

/// Acks or requeues a delivery without holding up the caller. Either gives its consumer credit for
/// another job, so it waits until the consumer's cancel (`spent`) has reached the broker: the consumer
/// must not be sent a second job.
fn settle(delivery: Delivery, how: Settle, spent: Spent) {
    tokio::spawn(async move {
        if let Some(cancelled) = spent {
            // An error means the cancel's task is gone, and with it the channel: nothing to wait for.
            let _ = cancelled.await;
        }
        let result = match how {
            Settle::Done => delivery.ack(BasicAckOptions::default()).await,
            Settle::HandBack => {
                delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
            }
        };
        if let Err(error) = result {
            // The channel closed; the broker requeues the delivery itself.
            tracing::debug!(%error, ?how, "cannot settle delivery");
        }
    });
}

/// Completes at `deadline`, or never.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
