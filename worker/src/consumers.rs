//! The worker's consumers, one per served queue, each on its own channel.
//!
//! RabbitMQ applies `basic.qos` only to consumers created after it, so changing a consumer's prefetch
//! means cancelling it and consuming again. A cancelled consumer's stream still yields every delivery
//! the broker sent before `cancel-ok`, and each of those reaches the dispatcher, so none is left unacked.

use std::collections::HashMap;

use futures_lite::StreamExt;
use hopper_common::{Namespace, QueueName, topology};
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, Consumer};
use tokio::sync::mpsc::UnboundedSender;

use crate::dispatcher::Event;

pub(crate) struct QueueConsumers {
    worker_id: String,
    ns: Namespace,
    queues: Vec<QueueName>,
    /// One channel per queue, on the current connection.
    channels: Vec<(QueueName, String, Channel)>,
    active: HashMap<QueueName, Active>,
    generation: u64,
    events: UnboundedSender<Event>,
}

struct Active {
    tag: String,
    prefetch: u16,
    generation: u64,
}

impl std::fmt::Debug for QueueConsumers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueConsumers")
            .field("queues", &self.active.keys())
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
    ) -> Self {
        Self {
            worker_id: worker_id.to_owned(),
            ns: ns.clone(),
            queues: queues.to_vec(),
            channels: Vec::new(),
            active: HashMap::new(),
            generation: 0,
            events,
        }
    }

    /// Opens a channel per queue on `connection` and declares the queues; consumes nothing yet. The
    /// consumers of an earlier connection are forgotten (they died with it), and generations go on
    /// counting, so a late end of one of them is not taken for a live consumer's.
    pub(crate) async fn attach(&mut self, connection: &Connection) -> Result<(), lapin::Error> {
        self.active.clear();
        self.channels.clear();
        for queue in &self.queues {
            let channel = connection.create_channel().await?;
            let name = topology::job_queue(&self.ns, queue);
            topology::declare_job_queue(&channel, &name).await?;
            self.channels.push((queue.clone(), name, channel));
        }
        Ok(())
    }

    pub(crate) fn queues(&self) -> impl Iterator<Item = &QueueName> {
        self.queues.iter()
    }

    /// Whether `generation` is the live consumer of `queue` (and not one cancelled on purpose).
    pub(crate) fn is_current(&self, queue: &QueueName, generation: u64) -> bool {
        self.active
            .get(queue)
            .is_some_and(|active| active.generation == generation)
    }

    /// Makes `queue`'s consumer have this prefetch; 0 means no consumer at all (a prefetch of 0 would
    /// mean "unlimited" to RabbitMQ).
    pub(crate) async fn set_prefetch(
        &mut self,
        queue: &QueueName,
        prefetch: u16,
    ) -> Result<(), lapin::Error> {
        if self.active.get(queue).map_or(0, |a| a.prefetch) == prefetch {
            return Ok(());
        }
        let Some((_, name, channel)) = self.channels.iter().find(|(q, _, _)| q == queue) else {
            return Ok(());
        };
        if let Some(old) = self.active.remove(queue) {
            channel
                .basic_cancel(old.tag.as_str().into(), BasicCancelOptions::default())
                .await?;
        }
        if prefetch == 0 {
            return Ok(());
        }
        self.generation += 1;
        let tag = format!("{}/{}/{}", self.worker_id, queue, self.generation);
        channel
            .basic_qos(prefetch, BasicQosOptions { global: false })
            .await?;
        let consumer = channel
            .basic_consume(
                name.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tokio::spawn(forward(
            queue.clone(),
            self.generation,
            consumer,
            self.events.clone(),
        ));
        self.active.insert(
            queue.clone(),
            Active {
                tag,
                prefetch,
                generation: self.generation,
            },
        );
        Ok(())
    }

    /// Stops consuming and closes the channels; the broker requeues whatever was delivered and not yet
    /// acked.
    pub(crate) async fn close(&mut self) {
        self.active.clear();
        for (queue, _, channel) in &self.channels {
            if let Err(error) = channel.close(200, "worker stopping".into()).await {
                tracing::debug!(%queue, %error, "closing a consumer channel failed");
            }
        }
    }
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
