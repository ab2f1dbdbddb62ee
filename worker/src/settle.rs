//! Settling deliveries: ack what was claimed or needs no run, hand back what this worker does not take,
//! and keep what no worker can act on in the dead-letter queue.

use std::time::Duration;

use hopper_common::{QueueName, topology, within};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};

use crate::consumers::Spent;
use crate::order::Shared;

/// Pause before handing back a message that could not be dead-lettered, so that a broker refusing the
/// dead-letter queue does not turn into a hot redelivery loop.
const DEAD_LETTER_RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub(crate) enum Settle {
    /// Claimed, or known to need no run: ack.
    Done,
    /// Not taken here: requeue for any worker.
    HandBack,
}

/// Acks or requeues a delivery without holding up the caller, within `limit`. Either gives its consumer
/// credit for another job, so it waits until the consumer's cancel (`spent`) has reached the broker:
/// the consumer must not be sent a second job.
pub(crate) fn settle(delivery: Delivery, how: Settle, spent: Spent, limit: Duration) {
    tokio::spawn(async move {
        if let Some(cancelled) = spent {
            // An error means the cancel's task is gone, and with it the channel: nothing to wait for.
            let _ = cancelled.await;
        }
        let result = match how {
            Settle::Done => within(limit, delivery.ack(BasicAckOptions::default())).await,
            Settle::HandBack => {
                let options = BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                };
                within(limit, delivery.nack(options)).await
            }
        };
        if let Err(error) = result {
            // The channel closed, or the broker does not answer: the link's watchdog replaces the
            // connection, and the broker requeues the delivery itself.
            tracing::debug!(%error, ?how, "cannot settle delivery");
        }
    });
}

/// Keeps a delivery no worker can act on in the dead-letter queue and counts it, then acks it. If it
/// cannot be kept there, it is handed back: never dropped silently.
pub(crate) async fn dead_letter(
    shared: &Shared,
    queue: &QueueName,
    delivery: Delivery,
    spent: Spent,
    reason: &str,
) {
    let name = topology::job_queue(&shared.ns, queue);
    let limit = shared.amqp_limit;
    match shared
        .publisher
        .dead_letter(&name, &delivery.data, reason)
        .await
    {
        Ok(()) => {
            let count = shared.store.count_dead_letter().await;
            tracing::warn!(%queue, reason, ?count, "message dead-lettered");
            settle(delivery, Settle::Done, spent, limit);
        }
        Err(error) => {
            tracing::error!(%queue, reason, %error, "cannot dead-letter a message; handing it back");
            tokio::time::sleep(DEAD_LETTER_RETRY_PAUSE).await;
            settle(delivery, Settle::HandBack, spent, limit);
        }
    }
}
