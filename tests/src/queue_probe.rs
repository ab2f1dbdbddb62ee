//! Asking RabbitMQ how many messages and consumers a queue has, the way tests poll for a condition:
//! many times a second. One connection per probe, opened on first use and kept, each question bounded
//! in time: a new connection for every poll (a TCP and AMQP handshake each time) made the polls the
//! heaviest load a busy machine's broker saw, and the first to miss their deadline.

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};
use tokio::sync::Mutex;

/// Longest one question may take; past it the connection is dropped and the next question opens a
/// new one.
const LIMIT: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct QueueProbe {
    open: Mutex<Option<(Connection, Channel)>>,
}

impl std::fmt::Debug for QueueProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueProbe").finish_non_exhaustive()
    }
}

impl QueueProbe {
    /// (messages ready, consumers) of queue `name`, by a passive declare; `None` if it does not exist
    /// or the broker did not answer within the limit.
    pub async fn counts(&self, name: &str) -> Option<(u32, u32)> {
        let mut open = self.open.lock().await;
        let asked = tokio::time::timeout(LIMIT, async {
            let channel = channel(&mut open).await?;
            let options = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            // A queue that does not exist closes the channel (404); the next question opens another.
            channel
                .queue_declare(name.into(), options, FieldTable::default())
                .await
                .ok()
                .map(|q| (q.message_count(), q.consumer_count()))
        })
        .await;
        match asked {
            Ok(counts) => counts,
            Err(_) => {
                *open = None;
                None
            }
        }
    }
}

/// The open channel, or a new one (on a new connection if the old one is gone).
async fn channel(open: &mut Option<(Connection, Channel)>) -> Option<Channel> {
    if let Some((connection, channel)) = open.as_ref() {
        if channel.status().connected() {
            return Some(channel.clone());
        }
        if connection.status().connected() {
            let channel = connection.create_channel().await.ok()?;
            open.as_mut()?.1 = channel.clone();
            return Some(channel);
        }
    }
    let connection = Connection::connect(&crate::amqp_url(), ConnectionProperties::default())
        .await
        .ok()?;
    let channel = connection.create_channel().await.ok()?;
    *open = Some((connection, channel.clone()));
    Some(channel)
}
