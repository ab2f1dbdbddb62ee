//! The worker's link to RabbitMQ: one connection carrying the control queue's consumer and the job
//! queues' consumers. When it breaks (a broker restart, a network cut) or the broker stops answering on
//! it, the dispatcher opens a new one, with backoff, while the scripts already running go on: they need
//! nothing from the broker until they end, and their ends are recorded in Redis.
//!
//! A broker that hangs keeps the connection open and sends nothing, which to the consumers looks like
//! empty queues. So a watchdog makes one round trip on the link every `HOPPER_CHECK_INTERVAL`; when it
//! gets no answer within `HOPPER_AMQP_TIMEOUT`, the link counts as lost and is cut (see
//! `hopper_common::AmqpConnection`).

use std::sync::Arc;
use std::time::Duration;

use hopper_common::{AmqpConnection, BrokerError, Namespace, Outage, probe, within};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::consumers::QueueConsumers;
use crate::control;
use crate::event::Event;
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
    /// Bounds every call (`HOPPER_AMQP_TIMEOUT`).
    limit: Duration,
    /// How often the watchdog checks that the broker answers (`HOPPER_CHECK_INTERVAL`).
    check_interval: Duration,
    current: Option<Current>,
    /// Counts connections, so that the end of a closed one's control consumer is not taken for the
    /// live one's.
    epoch: u64,
    /// One warning per outage, however many attempts it takes to reconnect.
    pub(crate) outage: Outage,
}

struct Current {
    connection: AmqpConnection,
    /// The control consumer's task and the watchdog's.
    tasks: [JoinHandle<()>; 2],
}

/// Where a link's broker is and how it is watched.
#[derive(Debug, Clone)]
pub(crate) struct LinkSettings {
    pub(crate) url: String,
    pub(crate) limit: Duration,
    pub(crate) check_interval: Duration,
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
        settings: LinkSettings,
        ns: Namespace,
        worker_id: &str,
        running: Arc<Running>,
        events: UnboundedSender<Event>,
    ) -> Self {
        Self {
            url: settings.url,
            name: format!("hopper-worker {worker_id}"),
            ns,
            worker_id: worker_id.to_owned(),
            running,
            events,
            limit: settings.limit,
            check_interval: settings.check_interval,
            current: None,
            epoch: 0,
            outage: Outage::new(
                "RabbitMQ",
                "running jobs go on and their ends are recorded in Redis; the worker takes no new \
                 job until it has reconnected",
            ),
        }
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    /// Connects, retrying with backoff until `stop`, then opens the control queue and attaches the
    /// consumers' channels (declaring the queues again: the broker may have lost them). `Ok(false)`
    /// if stopped first, even in the middle of an attempt.
    ///
    /// The connection this replaces, if any, is cut without asking the broker: it was lost, and a
    /// broker that hangs would never answer a polite close.
    ///
    /// On the first connection, a failure after connecting is fatal: it is a setting to fix (another
    /// worker runs under this identity, a queue was declared with other arguments). Later, or when the
    /// broker only failed to answer in time, it is retried like the connection itself: the broker may
    /// still be starting.
    pub(crate) async fn establish(
        &mut self,
        consumers: &mut QueueConsumers,
        stop: &CancellationToken,
    ) -> anyhow::Result<bool> {
        let first = self.epoch == 0;
        if let Some(current) = self.current.take() {
            current.abandon();
        }
        let mut delay = Duration::from_millis(500);
        loop {
            let attempt = tokio::select! {
                () = stop.cancelled() => return Ok(false),
                attempt = self.try_establish(consumers) => attempt,
            };
            match attempt {
                Ok(()) => {
                    self.outage.answered();
                    return Ok(true);
                }
                Err(error) if first && error.fatal => return Err(error.error),
                Err(error) => {
                    hopper_common::metrics::broker_failure(&self.ns, "connect");
                    self.outage.failed(&format!("{:#}", error.error));
                    tracing::debug!(retry_in = ?delay, "cannot reach RabbitMQ yet");
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
        let connection = AmqpConnection::open(&self.url, &self.name, self.limit)
            .await
            .map_err(|e| Failed::new(e.into(), false))?;
        // Whatever fails from here leaves a connection that must not linger.
        let attached = self.attach(&connection, consumers).await;
        match attached {
            Ok(tasks) => {
                self.current = Some(Current { connection, tasks });
                Ok(())
            }
            Err(failed) => {
                connection.abandon();
                Err(failed)
            }
        }
    }

    /// Opens the control queue, the consumers' channels and the watchdog on `connection`.
    async fn attach(
        &mut self,
        connection: &AmqpConnection,
        consumers: &mut QueueConsumers,
    ) -> Result<[JoinHandle<()>; 2], Failed> {
        self.epoch += 1;
        let control = control::listen(
            connection.connection(),
            &self.ns,
            &self.worker_id,
            self.running.clone(),
            self.events.clone(),
            self.epoch,
            self.limit,
        )
        .await
        .map_err(|error| {
            Failed::broker(
                error,
                format!(
                    "cannot open the control queue; is another worker running as '{}'?",
                    self.worker_id
                ),
            )
        })?;
        let rest = async {
            consumers
                .attach(connection.connection())
                .await
                .map_err(|e| Failed::broker(e, "cannot declare the job queues".to_owned()))?;
            let channel = within(self.limit, connection.connection().create_channel())
                .await
                .map_err(|e| Failed::broker(e, "cannot open the watchdog's channel".to_owned()))?;
            Ok(tokio::spawn(watch(
                channel,
                self.limit,
                self.check_interval,
                self.epoch,
                self.events.clone(),
            )))
        }
        .await;
        match rest {
            Ok(watchdog) => Ok([control, watchdog]),
            Err(failed) => {
                control.abort();
                Err(failed)
            }
        }
    }

    /// Closes the connection, if any, politely if the broker answers within `limit`; the broker requeues
    /// what was delivered and not acked.
    pub(crate) async fn close(&mut self, limit: Duration) {
        if let Some(current) = self.current.take() {
            for task in &current.tasks {
                task.abort();
            }
            current.connection.close(limit, "worker stopping").await;
        }
    }
}

impl Current {
    fn abandon(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.connection.abandon();
    }
}

/// Checks every `interval` that the broker answers on the link; says so once it does not, and stops.
async fn watch(
    channel: lapin::Channel,
    limit: Duration,
    interval: Duration,
    epoch: u64,
    events: UnboundedSender<Event>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = probe(&channel, limit).await {
            let _ = events.send(Event::LinkSilent { epoch, error });
            return;
        }
    }
}

/// A failed attempt, and whether retrying cannot help: the broker answered no (another worker holds
/// this identity's control queue, a queue was declared with other arguments).
struct Failed {
    error: anyhow::Error,
    fatal: bool,
}

impl Failed {
    fn new(error: anyhow::Error, fatal: bool) -> Self {
        Self { error, fatal }
    }

    fn broker(error: BrokerError, context: String) -> Self {
        let fatal = !error.is_outage();
        Self::new(anyhow::Error::new(error).context(context), fatal)
    }
}
