//! The worker's control queue, on which API nodes send cancel commands for the jobs it runs.

use std::sync::Arc;

use std::time::Duration;

use futures_lite::StreamExt;
use hopper_common::{BrokerError, Command, Namespace, topology, within};
use lapin::Connection;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;

use tokio::sync::mpsc::UnboundedSender;

use crate::event::Event;
use crate::running::Running;

/// Declares this worker's control queue and obeys what arrives on it. If the consumer ends, the
/// dispatcher is told: a worker that cancels could no longer reach must not go on taking jobs. Each
/// call to the broker is bounded by `limit`.
pub(crate) async fn listen(
    connection: &Connection,
    ns: &Namespace,
    worker_id: &str,
    running: Arc<Running>,
    events: UnboundedSender<Event>,
    epoch: u64,
    limit: Duration,
) -> Result<tokio::task::JoinHandle<()>, BrokerError> {
    let channel = within(limit, connection.create_channel()).await?;
    let name = topology::control_queue(ns, worker_id);
    within(limit, topology::declare_control_queue(&channel, &name)).await?;
    // No acks: a cancel is idempotent and recorded in Redis before it is sent, so a lost one is only
    // a delay, never a wrong state.
    let options = BasicConsumeOptions {
        no_ack: true,
        ..Default::default()
    };
    let mut consumer = within(
        limit,
        channel.basic_consume(
            name.as_str().into(),
            "control".into(),
            options,
            FieldTable::default(),
        ),
    )
    .await?;
    Ok(tokio::spawn(async move {
        let _channel = channel;
        while let Some(item) = consumer.next().await {
            match item.map(|delivery| Command::decode(&delivery.data)) {
                Ok(Ok(Command::Cancel { job })) => {
                    let held = running.cancel_or_remember(&job);
                    tracing::info!(job = %job, held, "cancel command received");
                }
                Ok(Ok(Command::Suspend { job, seq })) => {
                    let changed = running.set_paused(&job, true, seq);
                    tracing::info!(job = %job, changed, "suspend command received");
                }
                Ok(Ok(Command::Resume { job, seq })) => {
                    let changed = running.set_paused(&job, false, seq);
                    tracing::info!(job = %job, changed, "resume command received");
                }
                Ok(other) => tracing::warn!(?other, "unexpected message on the control queue"),
                Err(error) => {
                    let _ = events.send(Event::ControlEnded {
                        epoch,
                        error: Some(error),
                    });
                    return;
                }
            }
        }
        let _ = events.send(Event::ControlEnded { epoch, error: None });
    }))
}
