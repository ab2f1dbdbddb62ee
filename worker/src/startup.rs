//! The named steps of a worker's start and end, so that `run` reads as the order they come in: open the
//! store, end what a previous run left, connect, be heard, serve, sign off.

use std::time::Duration;

use anyhow::Context;
use hopper_common::Store;

use crate::WorkerConfig;
use crate::leftovers::Leftovers;

/// How long a stopping worker may spend on its last words to Redis: its heartbeat's removal.
const SIGN_OFF_GRACE: Duration = Duration::from_secs(1);

/// The job store, without connecting (the worker starts, and waits, while Redis is down).
pub(crate) fn open_store(config: &WorkerConfig) -> anyhow::Result<Store> {
    Store::new(
        &config.connection.redis_url,
        config.connection.namespace.clone(),
        config.connection.retention,
        config.connection.redis_timeout,
    )
    .context("bad setting HOPPER_REDIS_URL")
}

/// Takes over this identity's record of job processes, and ends the scripts a previous run under it
/// left running, before anything else: no job may run twice at once. Their jobs are given back once
/// the worker is heard (`Liveness::give_back_stranded`).
pub(crate) async fn end_leftovers(config: &WorkerConfig) -> anyhow::Result<Leftovers> {
    let leftovers = Leftovers::open(&config.log_dir, &config.worker_id, config.kill_grace)
        .with_context(|| {
            format!(
                "cannot keep track of job processes (records in HOPPER_LOG_DIR {}, a guardian run by sh); \
                 is another worker running as '{}'?",
                config.log_dir.display(),
                config.worker_id
            )
        })?;
    let ended = leftovers.end_all(config.kill_grace).await;
    if !ended.is_empty() {
        tracing::warn!(jobs = ?ended, "ended scripts a previous run of this worker left running");
    }
    Ok(leftovers)
}

/// What the heartbeat says of this worker: host, pid, queues, threads, and where its metrics are.
pub(crate) fn about(
    config: &WorkerConfig,
    host: &str,
    metrics: Option<std::net::SocketAddr>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut about = serde_json::Map::from_iter([
        ("host".to_owned(), host.into()),
        ("pid".to_owned(), std::process::id().into()),
        (
            "queues".to_owned(),
            hopper_common::QueueName::join(&config.queues.0).into(),
        ),
        ("threads".to_owned(), config.threads.into()),
    ]);
    if let Some(address) = metrics {
        // In the heartbeat, so operators and tools reading it can find where to scrape.
        about.insert("metrics".to_owned(), address.to_string().into());
    }
    about
}

/// Removes this worker's heartbeat, if Redis answers at once; otherwise the heartbeat expires by
/// itself. A stopping worker does not wait on a Redis that hangs.
pub(crate) async fn sign_off(store: &Store, worker_id: &str) {
    if !store.answering() {
        tracing::debug!("Redis does not answer; this worker's heartbeat expires by itself");
        return;
    }
    match tokio::time::timeout(SIGN_OFF_GRACE, store.sign_off(worker_id)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(%error, "cannot remove this worker's heartbeat; it expires by itself");
        }
        Err(_) => {
            tracing::debug!("Redis does not answer; this worker's heartbeat expires by itself")
        }
    }
}
