//! hopper-worker: consumes the queues one compute host serves, claims each job in Redis, runs its
//! script in its own process group, and records every state change in Redis.

mod config;
mod consumers;
mod control;
mod dispatcher;
mod interpreters;
mod launch;
mod output;
mod process_group;
mod reservation;
mod runner;
mod running;
mod slots;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hopper_common::Store;
use lapin::{Connection, ConnectionProperties};
use tokio_util::sync::CancellationToken;

pub use config::{QueueList, WorkerConfig};
pub use interpreters::Interpreters;

use consumers::QueueConsumers;
use dispatcher::{Dispatcher, Shared};
use launch::Launcher;
use runner::Runner;
use running::Running;

/// Runs the worker until `shutdown` is cancelled (then terminates and records its running jobs) or its
/// broker connection fails.
pub async fn run(config: WorkerConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    config.check_directories()?;
    let ns = config.connection.namespace.clone();
    let store = Store::new(
        &config.connection.redis_url,
        ns.clone(),
        config.connection.retention,
        usize::from(config.connection.redis_pool_size),
    )
    .context("bad setting HOPPER_REDIS_URL")?;
    let name = format!("hopper-worker {}", config.worker_id);
    let Some(connection) = connect(&config.connection.amqp_url, &name, &shutdown).await else {
        return Ok(());
    };
    let events = tokio::sync::mpsc::unbounded_channel();
    let running = Arc::new(Running::default());
    let control = control::listen(
        &connection,
        &ns,
        &config.worker_id,
        running.clone(),
        events.0.clone(),
    )
    .await
    .with_context(|| {
        format!(
            "cannot open the control queue; is another worker running as '{}'?",
            config.worker_id
        )
    })?;
    let consumers = QueueConsumers::open(
        &connection,
        &ns,
        &config.queues.0,
        &config.worker_id,
        events.0.clone(),
    )
    .await
    .context("cannot declare the job queues")?;
    let shared = Arc::new(Shared {
        store,
        runner: Runner {
            launcher: Launcher {
                script_dirs: config.script_dirs.0.clone(),
                work_roots: config.work_roots.0.clone(),
                interpreters: config.interpreters.clone(),
            },
            log_dir: config.log_dir.clone(),
            kill_grace: config.kill_grace,
            worker_id: config.worker_id.clone(),
        },
        running,
        worker_id: config.worker_id.clone(),
        host: config::host_name(),
    });
    tracing::info!(
        worker = %config.worker_id,
        queues = %hopper_common::QueueName::join(&config.queues.0),
        threads = config.threads,
        "hopper-worker serving"
    );
    let result = Dispatcher::new(config.threads, consumers, events, shared, &shutdown)
        .run()
        .await;
    control.abort();
    if let Err(error) = connection.close(200, "worker stopping".into()).await {
        tracing::debug!(%error, "closing the broker connection failed");
    }
    result
}

/// Connects to RabbitMQ, retrying with backoff while it is unreachable; `None` if shut down first.
async fn connect(url: &str, name: &str, shutdown: &CancellationToken) -> Option<Connection> {
    let mut delay = Duration::from_millis(500);
    // Shown in RabbitMQ's connection list, so operators can tell the workers apart.
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    loop {
        match Connection::connect(url, properties.clone()).await {
            Ok(connection) => return Some(connection),
            Err(error) => tracing::warn!(%error, retry_in = ?delay, "cannot connect to RabbitMQ"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
