//! The worker's consumers: for each served queue, one consumer per job the worker can take from it now,
//! each with a prefetch of 1, all on that queue's channel.
//!
//! Why one per free slot rather than one consumer whose prefetch follows the free slots: RabbitMQ
//! applies `basic.qos` only to consumers created after it, so changing a consumer's prefetch means
//! cancelling it and consuming again, and the worker would wait for three broker round trips (cancel,
//! qos, consume) on every job's start and end before it could take the next job. With a prefetch of 1,
//! a consumer's first delivery spends it: it is cancelled at once, without waiting (the cancel only has to
//! reach the broker before the delivery's ack, which would give the consumer credit again), and a job's
//! end starts one new consumer in the background. Deliveries are acked at claim (see
//! `dispatcher.rs`), so the broker's unacked count says nothing about running jobs; the number of live
//! consumers is what keeps it from sending more than the free slots.
//!
//! A cancelled consumer's stream still yields every delivery the broker sent before `cancel-ok`, and each
//! of those reaches the dispatcher like any other, so none is left unacked.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_lite::StreamExt;
use hopper_common::{BrokerError, Namespace, QueueName, topology, within};
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use crate::event::Event;

pub(crate) struct QueueConsumers {
    worker_id: String,
    ns: Namespace,
    queues: Vec<QueueName>,
    /// One channel per queue, on the current connection, with a prefetch of 1 for its consumers.
    channels: HashMap<QueueName, (String, Channel)>,
    open: HashMap<QueueName, Open>,
    /// Numbers every consumer ever started, across connections, so that a late report from a consumer
    /// of an earlier connection or a cancelled one is not taken for a live one's.
    generation: u64,
    /// Counts [`attach`](Self::attach)es: a failure reported for an earlier connection is not the
    /// current one's.
    attachment: u64,
    events: UnboundedSender<Event>,
    /// Bounds every call to the broker (`HOPPER_AMQP_TIMEOUT`).
    limit: Duration,
}

/// The consumers of one queue that may still be sent a job.
#[derive(Debug, Default)]
struct Open {
    /// Consuming: generation and consumer tag.
    ready: Vec<(u64, String)>,
    /// `basic.consume` sent, `consume-ok` not yet seen.
    starting: HashSet<u64>,
}

impl Open {
    fn count(&self) -> usize {
        self.ready.len() + self.starting.len()
    }
}

/// Resolves once a spent consumer's cancel has reached the broker (or failed, the channel being gone):
/// only then may its delivery be acked.
pub(crate) type Spent = Option<oneshot::Receiver<()>>;

impl std::fmt::Debug for QueueConsumers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueConsumers")
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl QueueConsumers {
    /// The consumers of `queues`; nothing is consumed until they are attached to a connection.
    pub(crate) fn new(
        ns: &Namespace,
        queues: &[QueueName],
        worker_id: &str,
        events: UnboundedSender<Event>,
        limit: Duration,
    ) -> Self {
        Self {
            limit,
            worker_id: worker_id.to_owned(),
            ns: ns.clone(),
            queues: queues.to_vec(),
            channels: HashMap::new(),
            open: HashMap::new(),
            generation: 0,
            attachment: 0,
            events,
        }
    }

    /// Opens a channel per queue on `connection` and declares the queues; consumes nothing yet. The
    /// consumers of an earlier connection are forgotten (they died with it).
    pub(crate) async fn attach(&mut self, connection: &Connection) -> Result<(), BrokerError> {
        self.open.clear();
        self.channels.clear();
        self.attachment += 1;
        let limit = self.limit;
        for queue in &self.queues {
            let channel = within(limit, connection.create_channel()).await?;
            let name = topology::job_queue(&self.ns, queue);
            within(limit, topology::declare_job_queue(&channel, &name)).await?;
            // Per consumer (global QoS is refused by quorum queues), for every consumer made below.
            within(
                limit,
                channel.basic_qos(1, BasicQosOptions { global: false }),
            )
            .await?;
            self.channels.insert(queue.clone(), (name, channel));
        }
        Ok(())
    }

    pub(crate) fn queues(&self) -> impl Iterator<Item = &QueueName> {
        self.queues.iter()
    }

    pub(crate) fn attachment(&self) -> u64 {
        self.attachment
    }

    /// Whether `generation` is a consumer of `queue` that may still be sent a job: one that ends
    /// unasked means the channel or the queue is gone.
    pub(crate) fn is_open(&self, queue: &QueueName, generation: u64) -> bool {
        self.open
            .get(queue)
            .is_some_and(|open| open.ready.iter().any(|(g, _)| *g == generation))
    }

    /// Makes `queue` have `wanted` consumers, each able to take one job (0: none). Starts or cancels
    /// consumers in the background; their outcome comes back as events.
    pub(crate) fn want(&mut self, queue: &QueueName, wanted: usize) {
        let Some((name, channel)) = self.channels.get(queue) else {
            return;
        };
        let open = self.open.entry(queue.clone()).or_default();
        while open.count() < wanted {
            self.generation += 1;
            open.starting.insert(self.generation);
            tokio::spawn(start(
                Starting {
                    queue: queue.clone(),
                    name: name.clone(),
                    tag: format!("{}/{}/{}", self.worker_id, queue, self.generation),
                    generation: self.generation,
                    attachment: self.attachment,
                },
                channel.clone(),
                self.events.clone(),
                self.limit,
            ));
        }
        // Consumers still starting are counted, not cancelled: once they have started, the next call
        // cancels whatever is too many.
        while open.count() > wanted {
            let Some((_, tag)) = open.ready.pop() else {
                break;
            };
            drop(cancel(
                channel.clone(),
                tag,
                self.attachment,
                self.events.clone(),
                self.limit,
            ));
        }
    }

    /// A consumer's `consume-ok` arrived. False if it is not wanted any more (its connection was
    /// replaced): its channel is gone with that connection.
    pub(crate) fn started(&mut self, queue: &QueueName, generation: u64, tag: String) -> bool {
        let Some(open) = self.open.get_mut(queue) else {
            return false;
        };
        if !open.starting.remove(&generation) {
            return false;
        }
        open.ready.push((generation, tag));
        true
    }

    /// The consumer `generation` of `queue` was sent a job, so it may take no other: cancels it.
    /// `None` if it was not open (already cancelled, or of an earlier connection).
    pub(crate) fn spend(&mut self, queue: &QueueName, generation: u64) -> Spent {
        let open = self.open.get_mut(queue)?;
        let at = open.ready.iter().position(|(g, _)| *g == generation)?;
        let (_, tag) = open.ready.swap_remove(at);
        let (_, channel) = self.channels.get(queue)?;
        Some(cancel(
            channel.clone(),
            tag,
            self.attachment,
            self.events.clone(),
            self.limit,
        ))
    }

    /// Stops consuming and closes the channels, all at once and within `limit`; the broker requeues
    /// whatever was delivered and not yet acked. A broker that does not answer is left to notice when
    /// the connection is closed or cut.
    pub(crate) async fn close(&mut self, limit: Duration) {
        self.open.clear();
        let mut closing = tokio::task::JoinSet::new();
        for (queue, (_, channel)) in self.channels.drain() {
            closing.spawn(async move {
                if let Err(error) =
                    within(limit, channel.close(200, "worker stopping".into())).await
                {
                    tracing::debug!(%queue, %error, "closing a consumer channel failed");
                }
            });
        }
        closing.join_all().await;
    }
}

/// A consumer on its way.
struct Starting {
    queue: QueueName,
    /// The queue's name on the broker.
    name: String,
    tag: String,
    generation: u64,
    attachment: u64,
}

/// Consumes, says so, then hands every delivery to the dispatcher.
async fn start(
    starting: Starting,
    channel: Channel,
    events: UnboundedSender<Event>,
    limit: Duration,
) {
    let consumed = within(
        limit,
        channel.basic_consume(
            starting.name.as_str().into(),
            starting.tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        ),
    )
    .await;
    match consumed {
        Ok(consumer) => {
            // Sent before any delivery of it: the dispatcher learns of a consumer before its job.
            let started = Event::ConsumerStarted {
                queue: starting.queue.clone(),
                generation: starting.generation,
                tag: starting.tag,
            };
            if events.send(started).is_ok() {
                forward(starting.queue, starting.generation, consumer, events).await;
            }
        }
        Err(error) => {
            let _ = events.send(Event::ConsumersFailed {
                attachment: starting.attachment,
                error,
            });
        }
    }
}

/// Cancels a consumer in the background; the receiver resolves once the broker has confirmed it or
/// the attempt failed (or got no answer within `limit`).
fn cancel(
    channel: Channel,
    tag: String,
    attachment: u64,
    events: UnboundedSender<Event>,
    limit: Duration,
) -> oneshot::Receiver<()> {
    let (done, cancelled) = oneshot::channel();
    tokio::spawn(async move {
        let cancelling = channel.basic_cancel(tag.as_str().into(), BasicCancelOptions::default());
        if let Err(error) = within(limit, cancelling).await {
            let _ = events.send(Event::ConsumersFailed { attachment, error });
        }
        let _ = done.send(());
    });
    cancelled
}

/// Hands every delivery of one consumer to the dispatcher, then says the consumer ended.
async fn forward(
    queue: QueueName,
    generation: u64,
    mut consumer: Consumer,
    events: UnboundedSender<Event>,
) {
    while let Some(item) = consumer.next().await {
        match item {
            Ok(delivery) => {
                let event = Event::Delivery {
                    queue: queue.clone(),
                    generation,
                    delivery: Box::new(delivery),
                };
                if events.send(event).is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = events.send(Event::ConsumerEnded {
                    queue,
                    generation,
                    error: Some(error),
                });
                return;
            }
        }
    }
    let _ = events.send(Event::ConsumerEnded {
        queue,
        generation,
        error: None,
    });
}
