//! The RabbitMQ topology: queue names, their arguments, and how messages are published.
//!
//! - `<ns>.<queue>`: one durable quorum queue per user queue (megSAP's `default_srv010` becomes
//!   `hopper.default_srv010`), declared by API nodes on first use and by workers at start.
//! - `<ns>.dead-letter`: messages workers could not act on, with the reason in a header;
//! - `<ns>.worker:<id>`: one exclusive, auto-deleted control queue per running worker, for cancel
//!   commands. It disappears with the worker's connection, so a cancel for a dead worker is unroutable
//!   instead of waiting for a worker that will never come back.

use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

use crate::{Namespace, QueueName};

/// The AMQP queue that carries the jobs of a user queue.
pub fn job_queue(ns: &Namespace, queue: &QueueName) -> String {
    format!("{ns}.{queue}")
}

/// The AMQP queue that keeps messages no worker could act on: ones that are not Hopper commands, and
/// submits for jobs Redis does not know. Operators inspect it; nothing consumes it.
pub fn dead_letter_queue(ns: &Namespace) -> String {
    format!("{ns}.dead-letter")
}

/// The AMQP queue on which a worker receives cancel commands.
pub fn control_queue(ns: &Namespace, worker_id: &str) -> String {
    format!("{ns}.worker:{worker_id}")
}

/// A job message may go back to its queue this many times: in effect, without limit.
///
/// Workers hand back every message they have no room for, and RabbitMQ 4.0-4.2 count each return
/// towards a quorum queue's delivery limit, 20 by default, dropping the message past it: a big job on
/// a busy queue would vanish while Redis still shows it queued. Messages are acked at claim, so they
/// never come back for a job that crashed; there is no poison message to protect against. (A large
/// value rather than -1: older brokers do not document -1 as "unlimited".)
const DELIVERY_LIMIT: i64 = 1_000_000_000;

/// Declares a job queue: durable and of quorum type, so accepted jobs survive a broker restart and are
/// replicated when the broker is a cluster.
pub async fn declare_job_queue(channel: &Channel, name: &str) -> Result<(), lapin::Error> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(DELIVERY_LIMIT),
    );
    channel
        .queue_declare(
            name.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .map(drop)
}

/// Declares a worker's control queue: exclusive, so a second worker started with the same identity fails
/// loudly instead of sharing (and stealing) its cancel commands.
pub async fn declare_control_queue(channel: &Channel, name: &str) -> Result<(), lapin::Error> {
    let options = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..Default::default()
    };
    channel
        .queue_declare(name.into(), options, FieldTable::default())
        .await
        .map(drop)
}

/// Properties of every command message: persistent (delivery mode 2), JSON.
pub fn message_properties() -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
}
