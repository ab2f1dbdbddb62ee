//! The ceilings: what RabbitMQ and Redis allow from this machine with the same concurrency, measured
//! without Hopper in between.
//!
//! - publishes: confirmed, persistent publishes of a submit-sized message to one quorum queue, declared
//!   like Hopper's own job queues, each client waiting for its confirm before the next (as a submit
//!   does). The queue is private (`<ns>.bench-ceiling-<random>`) and deleted afterwards.
//! - HSETs: one small field each, to a private hash deleted afterwards.
//!
//! A submit costs at least one of each, so neither rate can be beaten by Hopper's submits; status costs
//! one Redis read, so the HSET rate is its yardstick.

use std::sync::Arc;

use anyhow::{Context, bail};
use hopper_common::{AmqpConnection, within};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeleteOptions};

use crate::load::{self, Outcome, Until};
use crate::report::Report;
use crate::{Bench, Settings};

/// A message of the size and shape of Hopper's submit command.
const PAYLOAD: &[u8] = br#"{"kind":"submit","job":"1234567","threads":1}"#;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceilings {
    publishes_per_s: f64,
    hsets_per_s: f64,
}

impl Ceilings {
    pub(crate) fn publishes(&self) -> (f64, &'static str) {
        (self.publishes_per_s, "confirmed publishes")
    }

    pub(crate) fn hsets(&self) -> (f64, &'static str) {
        (self.hsets_per_s, "Redis HSETs")
    }
}

pub(crate) async fn run(bench: &mut Bench) -> anyhow::Result<Report> {
    let settings = &bench.settings;
    let publishes = publish_rate(settings).await?;
    let hsets = hset_rate(settings).await?;
    bench.ceilings = Some(Ceilings {
        publishes_per_s: publishes.rate(),
        hsets_per_s: hsets.rate(),
    });
    let errors = publishes.errors + hsets.errors;
    let first_error = publishes.first_error.clone().or(hsets.first_error.clone());
    Ok(Report::new(
        "ceiling",
        format!(
            "{} clients, {} each",
            settings.clients,
            humantime::format_duration(settings.duration)
        ),
    )
    .figure("publishes_per_s", publishes.rate(), "/s", None)
    .latencies("publish_", &publishes.latencies)
    .figure("hsets_per_s", hsets.rate(), "/s", None)
    .latencies("hset_", &hsets.latencies)
    .errors(errors, first_error))
}

async fn publish_rate(settings: &Settings) -> anyhow::Result<Outcome<()>> {
    // Every call bounded, as Hopper's own: a broker that hangs fails the scenario, naming the call.
    let limit = settings.call_timeout;
    let connection = AmqpConnection::open(&settings.amqp_url, "hopper-bench ceiling", limit)
        .await
        .with_context(|| {
            format!(
                "cannot connect to RabbitMQ at --amqp-url {}",
                settings.amqp_url
            )
        })?;
    let channel = within(limit, connection.connection().create_channel()).await?;
    within(
        limit,
        channel.confirm_select(ConfirmSelectOptions::default()),
    )
    .await?;
    let name: Arc<str> = format!(
        "{}.bench-ceiling-{}",
        settings.namespace,
        uuid::Uuid::new_v4().simple()
    )
    .into();
    within(
        limit,
        hopper_common::topology::declare_job_queue(&channel, &name),
    )
    .await?;
    let publisher = channel.clone();
    let queue = name.clone();
    let outcome = load::run(
        settings.clients,
        Until::Elapsed(settings.duration),
        move |_| {
            let (channel, queue) = (publisher.clone(), queue.clone());
            async move {
                let options = BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                };
                let confirmed = within(limit, async {
                    channel
                        .basic_publish(
                            "".into(),
                            queue.as_ref().into(),
                            options,
                            PAYLOAD,
                            hopper_common::topology::message_properties(),
                        )
                        .await?
                        .await
                })
                .await?;
                if confirmed.is_nack() {
                    bail!("RabbitMQ refused (nacked) a publish to {queue}");
                }
                Ok(())
            }
        },
    )
    .await;
    // Deleted whatever happened above: a benchmark must not leave a queue full of messages behind.
    within(
        limit,
        channel.queue_delete(name.as_ref().into(), QueueDeleteOptions::default()),
    )
    .await
    .with_context(|| format!("cannot delete the ceiling's queue {name}; delete it by hand"))?;
    connection.close(limit, "bench done").await;
    outcome
}

async fn hset_rate(settings: &Settings) -> anyhow::Result<Outcome<()>> {
    // One multiplexed connection, as Hopper uses, so the ceiling is what Hopper's way of talking to
    // Redis allows: concurrent requests share it and are pipelined.
    let client = redis::Client::open(settings.redis_url.as_str())
        .with_context(|| format!("bad --redis-url {}", settings.redis_url))?;
    let connection = client
        .get_multiplexed_async_connection_with_config(&settings.redis_config())
        .await
        .context("cannot reach Redis")?;
    let key: Arc<str> = format!(
        "{}:bench-ceiling-{}",
        settings.namespace,
        uuid::Uuid::new_v4().simple()
    )
    .into();
    let (writer, hash) = (connection.clone(), key.clone());
    let outcome = load::run(
        settings.clients,
        Until::Elapsed(settings.duration),
        move |n| {
            let (mut conn, key) = (writer.clone(), hash.clone());
            async move {
                // A bounded set of fields keeps the hash small however long the run.
                let _: u64 = redis::cmd("HSET")
                    .arg(key.as_ref())
                    .arg(n % 1000)
                    .arg("succeeded")
                    .query_async(&mut conn)
                    .await?;
                Ok(())
            }
        },
    )
    .await;
    let mut conn = connection;
    let _: u64 = redis::cmd("DEL")
        .arg(key.as_ref())
        .query_async(&mut conn)
        .await?;
    outcome
}
