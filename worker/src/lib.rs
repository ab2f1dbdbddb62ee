//! hopper-worker: consumes the queues one compute host serves, claims each job in Redis, runs its
//! script in its own process group, and records every state change in Redis.

mod config;
mod consumers;
mod control;
mod dispatcher;
mod event;
mod interpreters;
mod launch;
mod leftovers;
mod link;
mod liveness;
mod log_shipper;
mod metrics;
mod order;
mod output;
mod process_group;
mod process_setup;
mod reservation;
mod runner;
mod running;
mod settle;
mod slots;
mod startup;
mod typed;

use std::sync::Arc;

use hopper_common::{Publisher, Shutdown, Sweeper};
use tokio_util::sync::CancellationToken;

pub use config::WorkerConfig;
pub use hopper_common::QueueList;
pub use interpreters::Interpreters;

use consumers::QueueConsumers;
use dispatcher::{Dispatcher, Stopping};
use launch::Launcher;
use link::{Link, LinkSettings};
use liveness::Liveness;
use order::Shared;
use runner::Runner;
use running::Running;

/// Runs the worker until `shutdown` (then drains, see [`WorkerConfig::drain`]) or until its broker
/// connection fails (then terminates its running jobs and records them).
pub async fn run(config: WorkerConfig, shutdown: Shutdown) -> anyhow::Result<()> {
    config.check_directories()?;
    config.check_kill_grace()?;
    // Served from here to the end of `run`: while the broker is first awaited, and through the drain.
    let metrics_stop = CancellationToken::new();
    let _stop_metrics = metrics_stop.clone().drop_guard();
    let metrics_address = match config.metrics_listen {
        Some(address) => Some(metrics::start(address, metrics_stop).await?),
        None => None,
    };
    let ns = config.connection.namespace.clone();
    let store = startup::open_store(&config)?;
    let leftovers = startup::end_leftovers(&config).await?;
    let name = format!("hopper-worker {}", config.worker_id);
    let amqp_limit = config.connection.amqp_timeout;
    let publisher = Arc::new(Publisher::new(
        &config.connection.amqp_url,
        ns.clone(),
        &format!("{name} publisher"),
        amqp_limit,
    ));
    let events = tokio::sync::mpsc::unbounded_channel();
    let running = Arc::new(Running::default());
    let link_settings = LinkSettings {
        url: config.connection.amqp_url.clone(),
        limit: amqp_limit,
        check_interval: config.connection.check_interval,
    };
    let mut link = Link::new(
        link_settings,
        ns.clone(),
        &config.worker_id,
        running.clone(),
        events.0.clone(),
    );
    let mut consumers = QueueConsumers::new(
        &ns,
        &config.queues.0,
        &config.worker_id,
        events.0.clone(),
        amqp_limit,
    );
    if !link.establish(&mut consumers, &shutdown.begin).await? {
        return Ok(());
    }
    let host = config::host_name();
    let about = startup::about(&config, &host, metrics_address);
    let liveness = Liveness {
        store: store.clone(),
        publisher: publisher.clone(),
        running: running.clone(),
        worker_id: config.worker_id.clone(),
        host: host.clone(),
        about,
        queues: config.queues.0.clone(),
        settings: config.liveness.clone(),
    };
    // Be heard, and give back what a previous run left in this worker's name, before taking jobs.
    if let Err(error) = liveness.beat().await {
        tracing::warn!(%error, "cannot write this worker's heartbeat yet");
    } else if let Err(error) = liveness.give_back_stranded().await {
        tracing::warn!(%error, "cannot give back the jobs of a previous run yet");
    }
    let background = CancellationToken::new();
    let heart = tokio::spawn(liveness.run(background.clone()));
    let sweeper = Sweeper::new(
        store.clone(),
        publisher.clone(),
        config.liveness.clone(),
        &name,
    );
    let sweeping = tokio::spawn(sweeper.run(background.clone()));
    let shared = Arc::new(Shared {
        store: store.clone(),
        runner: Runner {
            launcher: Launcher {
                script_dirs: config.script_dirs.0.clone(),
                work_roots: Launcher::canonical_roots(&config.work_roots.0),
                interpreters: config.interpreters.resolved(),
            },
            log_dir: config.log_dir.clone(),
            kill_grace: config.kill_grace,
            worker_id: config.worker_id.clone(),
            leftovers,
            store: store.clone(),
            log_budget: hopper_common::LogBudget::of_cap(config.log_cap),
        },
        running,
        worker_id: config.worker_id.clone(),
        host,
        publisher,
        ns,
        amqp_limit,
    });
    tracing::info!(
        worker = %config.worker_id,
        queues = %hopper_common::QueueName::join(&config.queues.0),
        threads = config.threads,
        "hopper-worker serving"
    );
    let result = Dispatcher::new(
        config.threads,
        link,
        consumers,
        events,
        shared,
        Stopping {
            shutdown,
            drain: config.drain,
            kill_grace: config.kill_grace,
        },
    )
    .run()
    .await;
    // The heartbeat goes on until every job's end is recorded: a draining worker is alive. A heartbeat
    // or sweep waiting on a Redis that hangs is not waited for, nor is the sign-off: the heartbeat
    // expires by itself.
    background.cancel();
    let _ = tokio::join!(heart, sweeping);
    startup::sign_off(&store, &config.worker_id).await;
    result
}
