use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, PublisherConfirm};

use crate::amqp_connection::{AmqpConnection, probe, within};
use crate::reconnect::{Held, Reconnect};
use crate::{BrokerError, Command, JobId, Namespace, QueueName, topology};

/// Pause after the first failed connect; it doubles with each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Publishes commands with publisher confirms: a publish returns only once the broker has taken
/// responsibility for the message.
///
/// The connection is opened on first use and re-opened when it is found closed, so an API node can start,
/// and keep answering (with 503s), while RabbitMQ is down: one caller at a time, with backoff, as
/// [`Reconnect`] describes. Meanwhile every publish fails at once with [`BrokerError::Reconnecting`]
/// instead of each queueing behind a connect that may take the time limit.
///
/// Every call has a time limit (`HOPPER_AMQP_TIMEOUT`). A call that fails for want of an answer drops
/// the link, cutting its socket (see `amqp_connection.rs`), so a broker that hangs is treated like one
/// that is gone: the next call connects again, with backoff.
pub struct Publisher {
    url: String,
    /// Shown in RabbitMQ's connection list, so operators can tell the nodes apart.
    connection_name: String,
    ns: Namespace,
    limit: Duration,
    link: Reconnect<Arc<Link>>,
}

struct Link {
    // Kept so the connection lives as long as its channels, and can be cut.
    connection: AmqpConnection,
    /// For submits to job queues.
    jobs: Channel,
    /// For cancels to workers' control queues. Its own channel, because a cancel for a worker that is
    /// gone comes back unroutable, and lapin hands a returned message to the next confirm of its
    /// channel: on a shared channel a submit's confirm could receive it.
    control: Channel,
    /// Bounds every call on this link (`HOPPER_AMQP_TIMEOUT`).
    limit: Duration,
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
    /// No connection is made until the first call. `limit` bounds every call to the broker.
    pub fn new(url: &str, ns: Namespace, connection_name: &str, limit: Duration) -> Self {
        Self {
            url: url.to_owned(),
            connection_name: connection_name.to_owned(),
            ns,
            limit,
            link: Reconnect::new("RabbitMQ", FIRST_BACKOFF, MAX_BACKOFF),
        }
    }

    /// Succeeds when the broker answers a round trip within the limit (for readiness checks). A broker
    /// that keeps the connection open but does not answer fails it, and the link is dropped.
    pub async fn check(&self) -> Result<(), BrokerError> {
        let link = self.link().await?;
        let answered = probe(&link.value.jobs, self.limit).await;
        self.settle(&link, answered)
    }

    /// The link, if both its channels are still open, or a new one.
    async fn link(&self) -> Result<Held<Arc<Link>>, BrokerError> {
        self.link
            .get(
                |link| link.jobs.status().connected() && link.control.status().connected(),
                || self.connect(),
                BrokerError::Reconnecting,
            )
            .await
            .inspect_err(|error| crate::metrics::broker_error(&self.ns, error))
    }

    async fn connect(&self) -> Result<Arc<Link>, BrokerError> {
        // One limit for the whole connect: the handshake, then the channels with what is left of it.
        let deadline = tokio::time::Instant::now() + self.limit;
        let connection = AmqpConnection::open(&self.url, &self.connection_name, self.limit).await?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let channels = within(left, async {
            let (jobs, control) = (
                connection.connection().create_channel().await?,
                connection.connection().create_channel().await?,
            );
            for channel in [&jobs, &control] {
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await?;
            }
            Ok((jobs, control))
        })
        .await;
        let (jobs, control) = match channels {
            Ok(channels) => channels,
            Err(error) => {
                connection.abandon();
                return Err(error);
            }
        };
        tracing::info!("connected to RabbitMQ");
        Ok(Arc::new(Link {
            connection,
            jobs,
            control,
            limit: self.limit,
            declared: Mutex::default(),
        }))
    }

    /// Bounds a whole publish (declare, send, confirm) by the one limit, not each of its steps.
    async fn bounded<T>(
        &self,
        publish: impl std::future::Future<Output = Result<T, BrokerError>>,
    ) -> Result<T, BrokerError> {
        tokio::time::timeout(self.limit, publish)
            .await
            .unwrap_or(Err(BrokerError::Timeout(self.limit)))
    }

    /// Passes a call's outcome on. A call that failed for want of an answer, or on a broken
    /// connection, drops the link it used (unless it was replaced already) and cuts its socket, so that
    /// the next call connects again instead of waiting on a broker that no longer answers.
    fn settle<T>(
        &self,
        link: &Held<Arc<Link>>,
        result: Result<T, BrokerError>,
    ) -> Result<T, BrokerError> {
        // Every call that got a link passes here; those that did not are counted in `link`.
        if let Err(error) = &result {
            crate::metrics::broker_error(&self.ns, error);
        }
        match &result {
            Ok(_) => self.link.outage.answered(),
            Err(error) if error.is_outage() => {
                self.link.outage.failed(error);
                if let Some(dropped) = self.link.forget(link.generation) {
                    dropped.connection.abandon();
                }
            }
            Err(_) => {}
        }
        result
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
        let held = self.link().await?;
        let link = &held.value;
        let payload = Command::Submit {
            job: job.clone(),
            threads,
        }
        .encode();
        let published = async {
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
        };
        let published = self.bounded(published).await;
        self.settle(&held, published)
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
        let held = self.link().await?;
        let link = &held.value;
        let name = topology::dead_letter_queue(&self.ns);
        let mut headers = FieldTable::default();
        headers.insert(
            "x-hopper-reason".into(),
            AMQPValue::LongString(reason.into()),
        );
        headers.insert("x-hopper-queue".into(), AMQPValue::LongString(queue.into()));
        let properties = topology::message_properties().with_headers(headers);
        let published = async {
            link.ensure_declared(&name).await?;
            let confirm = link.send(&link.jobs, &name, payload, properties).await?;
            link.confirmed(&name, confirm).await
        };
        let published = self.bounded(published).await;
        self.settle(&held, published)
    }

    /// Tells the worker that runs `job` to terminate it. [`BrokerError::Unroutable`] means that worker
    /// is not connected.
    pub async fn cancel(&self, job: &JobId, worker: &str) -> Result<(), BrokerError> {
        self.control(&Command::Cancel { job: job.clone() }, worker)
            .await
    }

    /// Sends `command` (cancel, suspend, resume) to `worker`'s control queue; `Unroutable` if the
    /// worker is not connected.
    pub async fn control(&self, command: &Command, worker: &str) -> Result<(), BrokerError> {
        let held = self.link().await?;
        let link = &held.value;
        let payload = command.encode();
        let published = self
            .bounded(link.publish(
                &link.control,
                &topology::control_queue(&self.ns, worker),
                &payload,
            ))
            .await;
        self.settle(&held, published)
    }
}

impl Link {
    async fn ensure_declared(&self, name: &str) -> Result<(), BrokerError> {
        if self.declared().contains(name) {
            return Ok(());
        }
        within(self.limit, topology::declare_job_queue(&self.jobs, name)).await?;
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
        within(
            self.limit,
            channel.basic_publish("".into(), queue.into(), options, payload, properties),
        )
        .await
    }

    async fn confirmed(&self, queue: &str, confirm: PublisherConfirm) -> Result<(), BrokerError> {
        let confirmation = within(self.limit, confirm).await?;
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
