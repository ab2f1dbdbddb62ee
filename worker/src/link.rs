//! The worker's link to RabbitMQ: one connection carrying the control queue's consumer and the job
//! queues' consumers. When it breaks (a broker restart, a network cut), the dispatcher opens a new one,
//! with backoff, while the scripts already running go on: they need nothing from the broker until they
//! end, and their ends are recorded in Redis.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hopper_common::Namespace;
use lapin::{Connection, ConnectionProperties};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::consumers::QueueConsumers;
use crate::control;
use crate::dispatcher::Event;
use crate::running::Running;

/// Longest pause between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) struct Link {
    url: String,
    /// Shown in RabbitMQ's connection list, so operators can tell the workers apart.
    name: String,
    ns: Namespace,
    worker_id: String,
    running: Arc<Running>,
    events: UnboundedSender<Event>,
    current: Option<(Connection, JoinHandle<()>)>,
    /// Counts connections, so that the end of a closed one's control consumer is not taken for the
    /// live one's.
    epoch: u64,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("name", &self.name)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl Link {
    pub(crate) fn new(
        url: &str,
        ns: Namespace,
        worker_id: &str,
        running: Arc<Running>,
        events: UnboundedSender<Event>,
    ) -> Self {
        Self {
            url: url.to_owned(),
            name: format!("hopper-worker {worker_id}"),
            ns,
            worker_id: worker_id.to_owned(),
            running,
            events,
            current: None,
            epoch: 0,
        }
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Connects, retrying with backoff until `stop`, then opens the control queue and attaches the
    /// consumers' channels (declaring the queues again: the broker may have lost them). `Ok(false)`
    /// if stopped first.
    ///
    /// On the first connection, a failure after connecting is fatal: it is a setting to fix (another
    /// worker runs under this identity, a queue was declared with other arguments). Later, it is
    /// retried like the connection itself: the broker may still be starting.
    pub(crate) async fn establish(
        &mut self,
        consumers: &mut QueueConsumers,
        stop: &CancellationToken,
    ) -> anyhow::Result<bool> {
        let first = self.epoch == 0;
        self.close().await;
        let mut delay = Duration::from_millis(500);
        loop {
            match self.try_establish(consumers).await {
                Ok(()) => return Ok(true),
                Err(error) if first && error.connected => return Err(error.error),
                Err(error) => {
                    tracing::warn!(error = format!("{:#}", error.error), retry_in = ?delay, "cannot reach RabbitMQ")
                }
            }
            tokio::select! {
                () = stop.cancelled() => return Ok(false),
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_BACKOFF);
        }
    }

    async fn try_establish(&mut self, consumers: &mut QueueConsumers) -> Result<(), Failed> {
        let properties =
            ConnectionProperties::default().with_connection_name(self.name.as_str().into());
        let connection = Connection::connect(&self.url, properties)
            .await
            .map_err(|e| Failed::before_connecting(e.into()))?;
        self.epoch += 1;
        let control = control::listen(
            &connection,
            &self.ns,
            &self.worker_id,
            self.running.clone(),
            self.events.clone(),
            self.epoch,
        )
        .await
        .with_context(|| {
            format!(
                "cannot open the control queue; is another worker running as '{}'?",
                self.worker_id
            )
        })
        .map_err(Failed::after_connecting)?;
        let attached = consumers
            .attach(&connection)
            .await
            .context("cannot declare the job queues");
        if let Err(error) = attached {
            control.abort();
            return Err(Failed::after_connecting(error));
        }
        self.current = Some((connection, control));
        Ok(())
    }

    /// Closes the connection, if any; the broker requeues what was delivered and not acked.
    pub(crate) async fn close(&mut self) {
        if let Some((connection, control)) = self.current.take() {
            control.abort();
            if let Err(error) = connection.close(200, "worker stopping".into()).await {
                tracing::debug!(%error, "closing the broker connection failed");
            }
        }
    }
}

/// A failed attempt, and whether the connection itself had been made.
struct Failed {
    error: anyhow::Error,
    connected: bool,
}

impl Failed {
    fn before_connecting(error: anyhow::Error) -> Self {
        Self {
            error,
            connected: false,
        }
    }

    fn after_connecting(error: anyhow::Error) -> Self {
        Self {
            error,
            connected: true,
        }
    }
}
