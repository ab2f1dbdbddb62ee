//! The worker's one decision-maker: it owns the thread slots, decides for every delivery whether the job
//! fits now, starts job tasks, and keeps as many consumers open on each queue as there are free slots.
//!
//! Deliveries are acked right after the claim in Redis (long jobs would otherwise hit RabbitMQ's
//! `consumer_timeout`), so the broker's unacked count says nothing about running jobs; the consumers,
//! each able to take one job (see `consumers.rs`), are what keep the broker from sending more than the
//! free slots, and they are opened and cancelled whenever the free slots change.

use std::sync::Arc;
use std::time::Duration;

use hopper_common::{Command, QueueName, Shutdown};
use lapin::message::Delivery;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::consumers::{QueueConsumers, Spent};
use crate::event::Event;
use crate::link::Link;
use crate::order::{Order, Shared, Stops};
use crate::reservation::Reservation;
use crate::settle::{Settle, dead_letter, settle};
use crate::slots::Slots;

/// Time left, after the last scripts were killed, to record their ends: a script that ignores SIGTERM
/// is killed at the very end of the kill grace, and its end still deserves to be written.
const RECORD_GRACE: Duration = Duration::from_secs(1);

/// How long a worker stopping with nothing left to do may spend closing its broker connection politely.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub(crate) struct Dispatcher {
    slots: Slots,
    /// The slots, and the reserved ones, as the metrics last showed them.
    shown: Option<(Slots, u32)>,
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
    /// How long a terminated job's scripts get between SIGTERM and SIGKILL.
    kill_grace: Duration,
    /// Cancelled when the drain ends or the dispatcher fails: every running job is then terminated.
    stop: CancellationToken,
    /// Cancelled when the worker must exit whatever is left: job tasks stop recording their ends.
    give_up: CancellationToken,
}

/// How the worker stops: when (`shutdown`), and how long its running jobs get.
#[derive(Debug, Clone)]
pub(crate) struct Stopping {
    pub(crate) shutdown: Shutdown,
    /// How long running jobs may go on after the worker stopped taking jobs (`HOPPER_DRAIN`).
    pub(crate) drain: Duration,
    /// How long a terminated job's scripts get between SIGTERM and SIGKILL (`HOPPER_KILL_GRACE`).
    pub(crate) kill_grace: Duration,
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
        stopping: Stopping,
    ) -> Self {
        let Stopping {
            shutdown,
            drain,
            kill_grace,
        } = stopping;
        Self {
            kill_grace,
            give_up: CancellationToken::new(),
            slots: Slots::new(threads),
            shown: None,
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
    ///
    /// Whatever Redis and RabbitMQ do, it returns within the drain time, plus the kill grace, plus
    /// [`RECORD_GRACE`], of the first signal: every call to them is bounded, and job ends that cannot
    /// be recorded by then are left to the sweepers.
    pub(crate) async fn run(mut self) -> anyhow::Result<()> {
        let result = self.serve().await;
        let drain_ends = Instant::now() + self.drain;
        // Nothing new: deliveries not yet claimed go back to their queues when the channels close.
        let limit = self.link.limit().min(self.drain);
        self.consumers.close(limit).await;
        self.tracker.close();
        if result.is_ok() && !self.tracker.is_empty() {
            tracing::info!(tasks = self.tracker.len(), drain = ?self.drain, "draining: running jobs may finish");
            tokio::select! {
                () = self.tracker.wait() => tracing::info!("drained: every job ended"),
                () = tokio::time::sleep_until(drain_ends) => {
                    tracing::warn!("drain time over; terminating the jobs still running");
                }
                () = self.shutdown.now.cancelled() => {
                    tracing::warn!("drain cut short; terminating the jobs still running");
                }
            }
        }
        self.stop.cancel();
        let exit_by = Instant::now() + self.kill_grace + RECORD_GRACE;
        // The broker is not needed any more (ends go to Redis, re-queued jobs through the publisher):
        // close the link while the last jobs end, not after.
        let close_within = CLOSE_GRACE.min(self.link.limit());
        let closing = self.link.close(close_within);
        let ending = async {
            if tokio::time::timeout_at(exit_by, self.tracker.wait())
                .await
                .is_err()
            {
                tracing::warn!(
                    "stopping with job ends not recorded: Redis did not answer in time; a sweeper \
                     settles them once this worker's heartbeat has expired"
                );
                self.give_up.cancel();
                self.tracker.wait().await;
            }
        };
        tokio::join!(closing, ending);
        result
    }

    /// Serves the current connection; when it is lost, connects again (with backoff) and goes on.
    /// Returns when shutdown begins.
    async fn serve(&mut self) -> anyhow::Result<()> {
        loop {
            let Err(lost) = self.serve_link().await else {
                return Ok(());
            };
            hopper_common::metrics::broker_failure(&self.shared.ns, "connection_lost");
            // Said once per outage, however many attempts reconnecting takes.
            self.link
                .outage
                .failed(&format!("lost the connection: {lost:#}"));
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
            Event::LinkSilent { epoch, error } => {
                if epoch == self.link.epoch() {
                    anyhow::bail!("RabbitMQ stopped answering on the connection: {error}");
                }
            }
            Event::ConsumersFailed { attachment, error } => {
                if attachment == self.consumers.attachment() {
                    anyhow::bail!("cannot open or cancel consumers: {error}");
                }
            }
            Event::SlotsFree { slots } => self.slots.give_back(slots),
            Event::Reserve { queue, slots } => {
                if self.reservation.is_none() {
                    self.reservation = Some(Reservation::new(queue, slots));
                }
            }
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
        let free = self.slots.free();
        let admitted = self.reservation.as_ref().map(|r| r.admits(&queue, free));
        let mut slots = self.slots.grant(threads);
        if admitted == Some(true) {
            // The message claims the best job of the reserved queue, with the slots reserved for it.
            slots = slots.max(self.reservation.as_ref().map_or(0, Reservation::slots));
        }
        let held_back = admitted == Some(false);
        if held_back || !self.slots.try_take(slots) {
            // No room now: hand it back for another worker, or for us once the slots are free. The
            // first job that does not fit has slots reserved, so narrower ones cannot starve it.
            tracing::debug!(%job, threads, free, held_back, "message not taken now, handed back");
            if self.reservation.is_none() || !held_back {
                self.reservation = Some(Reservation::new(queue, slots));
            }
            return settle(delivery, Settle::HandBack, spent, self.shared.amqp_limit);
        }
        // Whatever was reserved for is served: the claim takes the best job of the reserved queue, or
        // reserves again for a wider one.
        self.reservation = None;
        let order = Order {
            delivered: job,
            queue,
            slots,
            threads: self.slots.total(),
            delivery,
            spent,
        };
        // The job's id is recorded once the claim says which job it is.
        let span = tracing::info_span!(
            "job",
            job.id = tracing::field::Empty,
            message = %order.delivered,
            queue = %order.queue
        );
        let stops = Stops {
            stop: self.stop.clone(),
            give_up: self.give_up.clone(),
        };
        let task = order.run(self.shared.clone(), stops, self.sender.clone());
        self.tracker.spawn(task.instrument(span));
    }

    /// Opens or cancels consumers so that each queue may send as many jobs as may be taken from it now.
    fn sync_consumers(&mut self) {
        let reserved = self.reservation.as_ref().map_or(0, Reservation::slots);
        if self.shown != Some((self.slots, reserved)) {
            let (ns, worker) = (&self.shared.ns, &self.shared.worker_id);
            crate::metrics::slots(ns, worker, self.slots.busy(), self.slots.free());
            crate::metrics::reserved(ns, worker, reserved);
            self.shown = Some((self.slots, reserved));
        }
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

/// Completes at `deadline`, or never.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
