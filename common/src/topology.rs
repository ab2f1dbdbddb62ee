//! The RabbitMQ topology: queue names, their arguments, and how messages are published.
//!
//! - `<ns>.<queue>`: one durable quorum queue per user queue (megSAP's `default_srv010` becomes
//!   `hopper.default_srv010`), declared by API nodes on first use and by workers at start.
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

/// The AMQP queue on which a worker receives cancel commands.
pub fn control_queue(ns: &Namespace, worker_id: &str) -> String {
    format!("{ns}.worker:{worker_id}")
}

/// Declares a job queue: durable and of quorum type, so accepted jobs survive a broker restart and are
/// replicated when the broker is a cluster.
pub async fn declare_job_queue(channel: &Channel, name: &str) -> Result<(), lapin::Error> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
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
