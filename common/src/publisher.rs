use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, PublisherConfirm};

use crate::reconnect::Reconnect;
use crate::{BrokerError, Command, JobId, Namespace, QueueName, topology};

/// How long a connect, a declare or a publisher confirm may take before the broker counts as unavailable.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after the first failed connect; it doubles with each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Publishes commands with publisher confirms: a publish returns only once the broker has taken
/// responsibility for the message.
///
/// The connection is opened on first use and re-opened when it is found closed, so an API node can start,
/// and keep answering (with 503s), while RabbitMQ is down: one caller at a time, with backoff, as
/// [`Reconnect`] describes. Meanwhile every publish fails at once with [`BrokerError::Reconnecting`]
/// instead of each queueing behind a connect that may take [`BROKER_TIMEOUT`].
pub struct Publisher {
    url: String,
    /// Shown in RabbitMQ's connection list, so operators can tell the nodes apart.
    connection_name: String,
    ns: Namespace,
    link: Reconnect<Arc<Link>>,
}

struct Link {
    // Kept so the connection lives as long as its channels.
    _connection: Connection,
    /// For submits to job queues.
    jobs: Channel,
    /// For cancels to workers' control queues. Its own channel, because a cancel for a worker that is
    /// gone comes back unroutable, and lapin hands a returned message to the next confirm of its
    /// channel: on a shared channel a submit's confirm could receive it.
    control: Channel,
    /// Job queues already declared on this connection; queues are declared on first use.
    declared: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("ns", &self.ns)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    pub fn new(url: &str, ns: Namespace, connection_name: &str) -> Self {
        Self {
            url: url.to_owned(),
            connection_name: connection_name.to_owned(),
            ns,
            link: Reconnect::new("RabbitMQ", FIRST_BACKOFF, MAX_BACKOFF),
        }
    }

    fn properties(&self) -> ConnectionProperties {
        ConnectionProperties::default().with_connection_name(self.connection_name.as_str().into())
    }

    /// Succeeds when the broker is reachable (for readiness checks).
    pub async fn check(&self) -> Result<(), BrokerError> {
        self.link().await.map(drop)
    }

    /// The live link; `None` if there is none.
    /// The link, if both its channels are still open, or a new one.
    async fn link(&self) -> Result<Arc<Link>, BrokerError> {
        self.link
            .get(
                |link| link.jobs.status().connected() && link.control.status().connected(),
                || self.connect(),
                BrokerError::Reconnecting,
            )
            .await
    }

    async fn connect(&self) -> Result<Arc<Link>, BrokerError> {
        let link = timed(async {
            let connection = Connection::connect(&self.url, self.properties()).await?;
            let (jobs, control) = (
                connection.create_channel().await?,
                connection.create_channel().await?,
            );
            for channel in [&jobs, &control] {
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
            }
            Ok(Link {
                _connection: connection,
                jobs,
                control,
                declared: Mutex::default(),
            })
        })
        .await?;
        tracing::info!("connected to RabbitMQ");
        Ok(Arc::new(link))
    }

    /// Publishes a submit to the queue of every queue the job may run in and waits for every confirm.
    /// All messages are sent before the first confirm is awaited, so a job listing many queues costs
    /// about one broker round trip.
    pub async fn submit(
        &self,
        job: &JobId,
        threads: u32,
        queues: &[QueueName],
    ) -> Result<(), BrokerError> {
        let link = self.link().await?;
        let payload = Command::Submit {
            job: job.clone(),
            threads,
        }
        .encode();
        let mut pending = Vec::with_capacity(queues.len());
        for queue in queues {
            let name = topology::job_queue(&self.ns, queue);
            link.ensure_declared(&name).await?;
            let confirm = link
                .send(&link.jobs, &name, &payload, topology::message_properties())
                .await?;
            pending.push((name, confirm));
        }
        for (name, confirm) in pending {
            link.confirmed(&name, confirm).await?;
        }
        Ok(())
    }

    /// Keeps a message that no worker could act on in the dead-letter queue, with why (`reason`) and
    /// where it came from (`queue`) as headers, so an operator can see it and nothing is dropped
    /// silently.
    pub async fn dead_letter(
        &self,
        queue: &str,
        payload: &[u8],
        reason: &str,
    ) -> Result<(), BrokerError> {
        let link = self.link().await?;
        let name = topology::dead_letter_queue(&self.ns);
        link.ensure_declared(&name).await?;
        let mut headers = FieldTable::default();
        headers.insert(
            "x-hopper-reason".into(),
            AMQPValue::LongString(reason.into()),
        );
        headers.insert("x-hopper-queue".into(), AMQPValue::LongString(queue.into()));
        let properties = topology::message_properties().with_headers(headers);
        let confirm = link.send(&link.jobs, &name, payload, properties).await?;
        link.confirmed(&name, confirm).await
    }

    /// Tells the worker that runs `job` to terminate it. [`BrokerError::Unroutable`] means that worker
    /// is not connected.
    pub async fn cancel(&self, job: &JobId, worker: &str) -> Result<(), BrokerError> {
        let link = self.link().await?;
        let payload = Command::Cancel { job: job.clone() }.encode();
        link.publish(
            &link.control,
            &topology::control_queue(&self.ns, worker),
            &payload,
        )
        .await
    }
}

impl Link {
    async fn ensure_declared(&self, name: &str) -> Result<(), BrokerError> {
        if self.declared().contains(name) {
            return Ok(());
        }
        timed(async { Ok(topology::declare_job_queue(&self.jobs, name).await?) }).await?;
        self.declared().insert(name.to_owned());
        Ok(())
    }

    fn declared(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic while holding this lock cannot leave the set inconsistent: recover it.
        self.declared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn publish(
        &self,
        channel: &Channel,
        queue: &str,
        payload: &[u8],
    ) -> Result<(), BrokerError> {
        let confirm = self
            .send(channel, queue, payload, topology::message_properties())
            .await?;
        self.confirmed(queue, confirm).await
    }

    /// Sends with `mandatory` set, so a message for a queue that does not exist comes back as
    /// unroutable instead of being dropped by the broker.
    async fn send(
        &self,
        channel: &Channel,
        queue: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<PublisherConfirm, BrokerError> {
        let options = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        timed(async {
            Ok(channel
                .basic_publish("".into(), queue.into(), options, payload, properties)
                .await?)
        })
        .await
    }

    async fn confirmed(&self, queue: &str, confirm: PublisherConfirm) -> Result<(), BrokerError> {
        let confirmation = timed(async { Ok(confirm.await?) }).await?;
        if confirmation.is_nack() {
            return Err(BrokerError::Nacked(queue.to_owned()));
        }
        if confirmation.take_message().is_some() {
            // The queue vanished (deleted by an operator): forget it so the next publish declares it.
            self.declared().remove(queue);
            return Err(BrokerError::Unroutable(queue.to_owned()));
        }
        Ok(())
    }
}

async fn timed<T>(
    operation: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<T, BrokerError> {
    tokio::time::timeout(BROKER_TIMEOUT, operation)
        .await
        .unwrap_or(Err(BrokerError::Timeout(BROKER_TIMEOUT)))
}
