//! The worker's one decision-maker: it owns the thread slots, decides for every delivery whether the job
//! fits now, starts job tasks, and keeps each consumer's prefetch equal to the free slots.
//!
//! Deliveries are acked right after the claim in Redis (long jobs would otherwise hit RabbitMQ's
//! `consumer_timeout`), so the broker's unacked count says nothing about running jobs; prefetch is what
//! keeps the broker from sending more than the free slots, and it is re-set whenever they change.

use std::sync::Arc;
use std::time::Duration;

use hopper_common::{Claim, Claimant, Command, Ending, JobId, QueueName, Store};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::consumers::QueueConsumers;
use crate::reservation::Reservation;
use crate::runner::{Assignment, Runner};
use crate::running::Running;
use crate::slots::Slots;

/// Pause between attempts to reach Redis for a claim or a job's end.
const STORE_RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) enum Event {
    Delivery {
        queue: QueueName,
        // Boxed: a delivery is large, and the channel holds many small events too.
        delivery: Box<Delivery>,
    },
    ConsumerEnded {
        queue: QueueName,
        generation: u64,
        error: Option<lapin::Error>,
    },
    JobDone {
        threads: u32,
    },
    /// The control queue's consumer ended: cancel commands can no longer arrive.
    ControlEnded(Option<lapin::Error>),
}

/// What job tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) runner: Runner,
    pub(crate) running: Arc<Running>,
    pub(crate) worker_id: String,
    pub(crate) host: String,
}

pub(crate) struct Dispatcher {
    slots: Slots,
    /// Held for a job that did not fit the free slots, if any.
    reservation: Option<Reservation>,
    consumers: QueueConsumers,
    events: UnboundedReceiver<Event>,
    sender: UnboundedSender<Event>,
    shared: Arc<Shared>,
    tracker: TaskTracker,
    /// Cancelled on shutdown or when the dispatcher fails: every running job is then terminated.
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
        consumers: QueueConsumers,
        channel: (UnboundedSender<Event>, UnboundedReceiver<Event>),
        shared: Arc<Shared>,
        shutdown: &CancellationToken,
    ) -> Self {
        Self {
            slots: Slots::new(threads),
            reservation: None,
            consumers,
            sender: channel.0,
            events: channel.1,
            shared,
            tracker: TaskTracker::new(),
            stop: shutdown.child_token(),
        }
    }

    /// Serves until shutdown (then terminates running jobs and records them) or until the broker
    /// connection fails.
    pub(crate) async fn run(mut self) -> anyhow::Result<()> {
        let result = self.serve().await;
        self.stop.cancel();
        self.consumers.close().await;
        self.tracker.close();
        self.tracker.wait().await;
        result
    }

    async fn serve(&mut self) -> anyhow::Result<()> {
        self.sync_consumers().await?;
        loop {
            let window_ends = self.reservation.as_ref().and_then(Reservation::window_ends);
            let event = tokio::select! {
                () = self.stop.cancelled() => return Ok(()),
                event = self.events.recv() => event,
                () = until(window_ends) => {
                    // The reserved job was not delivered (another worker took it): stop holding.
                    self.reservation = None;
                    self.sync_consumers().await?;
                    continue;
                }
            };
            // The dispatcher holds a sender itself, so the channel never closes.
            let Some(event) = event else { return Ok(()) };
            self.handle(event)?;
            // Take everything already waiting before touching the consumers: one re-creation serves a
            // whole burst of slot changes.
            while let Ok(event) = self.events.try_recv() {
                self.handle(event)?;
            }
            self.sync_consumers().await?;
        }
    }

    fn handle(&mut self, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Delivery { queue, delivery } => self.on_delivery(queue, *delivery),
            Event::JobDone { threads } => self.slots.give_back(threads),
            Event::ControlEnded(error) => {
                let why = error.map_or("cancelled by the broker".to_owned(), |e| e.to_string());
                anyhow::bail!(
                    "lost the control queue, so cancels could not reach this worker: {why}"
                );
            }
            Event::ConsumerEnded {
                queue,
                generation,
                error,
            } => {
                if self.consumers.is_current(&queue, generation) {
                    let why = error.map_or("cancelled by the broker".to_owned(), |e| e.to_string());
                    anyhow::bail!("lost the consumer of queue {queue}: {why}");
                }
            }
        }
        Ok(())
    }

    fn on_delivery(&mut self, queue: QueueName, delivery: Delivery) {
        let (job, threads) = match Command::decode(&delivery.data) {
            Ok(Command::Submit { job, threads }) => (job, threads),
            other => {
                tracing::warn!(%queue, ?other, "dropping a message that is not a job submit");
                settle(delivery, Settle::Drop);
                return;
            }
        };
        let granted = self.slots.grant(threads);
        let Some(cancel) = self.shared.running.insert(job.clone()) else {
            // Another copy of a job this worker is already claiming or running (it listed several of
            // our queues). Whatever that claim decides settles the job; this copy is redundant.
            tracing::debug!(%job, %queue, "second copy of a held job dropped");
            return settle(delivery, Settle::Done);
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
            return settle(delivery, Settle::HandBack);
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
            cancel,
        };
        let span = tracing::info_span!("job", job.id = %order.job, queue = %order.queue);
        let task = run_order(
            self.shared.clone(),
            order,
            self.stop.clone(),
            self.sender.clone(),
        );
        self.tracker.spawn(task.instrument(span));
    }

    async fn sync_consumers(&mut self) -> Result<(), lapin::Error> {
        let queues: Vec<QueueName> = self.consumers.queues().cloned().collect();
        let free = self.slots.free();
        for queue in queues {
            let prefetch = match &mut self.reservation {
                Some(reservation) => reservation.prefetch(&queue, free),
                None => free,
            };
            let prefetch = u16::try_from(prefetch).unwrap_or(u16::MAX);
            self.consumers.set_prefetch(&queue, prefetch).await?;
        }
        Ok(())
    }
}

/// A delivery that got its slots, on its way to be claimed and run.
struct Order {
    job: JobId,
    queue: QueueName,
    threads: u32,
    note: Option<String>,
    delivery: Delivery,
    cancel: CancellationToken,
}

async fn run_order(
    shared: Arc<Shared>,
    order: Order,
    stop: CancellationToken,
    done: UnboundedSender<Event>,
) {
    let Order {
        job,
        queue,
        threads,
        note,
        delivery,
        cancel,
    } = order;
    match claim(&shared, &job, &queue, threads, note.as_deref(), &stop).await {
        Some(Claim::Claimed(spec)) => {
            settle(delivery, Settle::Done);
            let assignment = Assignment {
                id: &job,
                spec: &spec,
                queue: &queue,
                threads,
            };
            let ending = shared.runner.run(assignment, &cancel, &stop).await;
            record(&shared.store, &job, &shared.worker_id, &ending).await;
        }
        Some(Claim::NotQueued(state)) => {
            tracing::debug!(%state, "job is no longer queued; message dropped");
            settle(delivery, Settle::Done);
        }
        Some(Claim::Missing) => {
            tracing::warn!("message for a job Redis does not know; dropped");
            settle(delivery, Settle::Done);
        }
        None => settle(delivery, Settle::HandBack),
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

/// Writes how a job ended, retrying for a while if Redis is unavailable: a final state must not be
/// dropped because of a short outage.
async fn record(store: &Store, job: &JobId, worker: &str, ending: &Ending) {
    const ATTEMPTS: u32 = 60;
    for attempt in 1..=ATTEMPTS {
        match store.finish(job, worker, ending).await {
            Ok(Some(state)) => return tracing::info!(%state, "job ended"),
            Ok(None) => {
                return tracing::warn!(
                    "job no longer belongs to this worker; its end is not recorded"
                );
            }
            Err(error) if attempt < ATTEMPTS => {
                tracing::warn!(%error, attempt, "cannot record the job's end yet; retrying");
                tokio::time::sleep(STORE_RETRY_PAUSE).await;
            }
            Err(error) => tracing::error!(%error, "giving up recording the job's end"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Settle {
    /// Claimed, or known to need no run: ack.
    Done,
    /// Not taken here: requeue for any worker.
    HandBack,
    /// Not a job: reject without requeue.
    Drop,
}

/// Acks, requeues or drops a delivery without holding up the caller.
fn settle(delivery: Delivery, how: Settle) {
    tokio::spawn(async move {
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
            Settle::Drop => delivery.reject(BasicRejectOptions { requeue: false }).await,
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
