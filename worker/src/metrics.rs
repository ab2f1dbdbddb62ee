//! The worker's own metrics: the jobs it starts and ends, its thread slots, and its failed calls to
//! Redis and RabbitMQ (counted in `hopper_common`). A worker has no HTTP server of its own, so it serves
//! `GET /metrics` only when `HOPPER_METRICS_LISTEN` names an address (docs/metrics.md). API nodes show
//! the whole deployment's queues and slots from Redis; this is what only the worker knows, exactly and
//! at once.

use std::net::SocketAddr;

use anyhow::Context;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use hopper_common::{Namespace, QueueName};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The media type of Prometheus's text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Installs the process's recorder and serves `GET /metrics` on `address` until `stop`; returns the
/// address it listens on (the port chosen, for port 0). Called at start, so that an address that
/// cannot be had stops the worker before it takes any job.
pub(crate) async fn start(
    address: SocketAddr,
    stop: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    hopper_common::metrics::recorder();
    describe();
    let setting = "bad setting HOPPER_METRICS_LISTEN (--metrics-listen)";
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("{setting}: cannot listen on {address}"))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("{setting}: cannot listen on {address}"))?;
    tokio::spawn(serve(listener, stop));
    Ok(bound)
}

async fn serve(listener: TcpListener, stop: CancellationToken) {
    let app = axum::Router::new().route(
        "/metrics",
        get(|| async {
            let text = hopper_common::metrics::recorder().render();
            ([(CONTENT_TYPE, TEXT_FORMAT)], text)
        }),
    );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await;
    if let Err(error) = served {
        tracing::warn!(%error, "the metrics endpoint (HOPPER_METRICS_LISTEN) stopped");
    }
}

fn describe() {
    ::metrics::describe_counter!(
        "hopper_jobs_started_total",
        "Jobs this worker claimed and started, by the queue it took them from"
    );
    ::metrics::describe_counter!(
        "hopper_jobs_ended_total",
        "Jobs this worker ran to an end, by queue and outcome: succeeded, failed, canceled, requeued \
         (it stopped under the job, which had tries left), not_owned (Redis had given the job to \
         another worker or ended it), unrecorded (the worker had to exit before Redis took the end)"
    );
    ::metrics::describe_gauge!(
        "hopper_slots",
        "This worker's thread slots, by state: busy (taken by its jobs) or free"
    );
    ::metrics::describe_gauge!(
        "hopper_reserved_slots",
        "Slots this worker holds for a job wider than its free slots (0 when none): it takes no \
         other job until that many are free, so narrower jobs cannot starve the wide one"
    );
}

pub(crate) fn job_started(ns: &Namespace, queue: &QueueName) {
    ::metrics::counter!(
        "hopper_jobs_started_total",
        "namespace" => ns.to_string(),
        "queue" => queue.as_str().to_owned()
    )
    .increment(1);
}

pub(crate) fn job_ended(ns: &Namespace, queue: &QueueName, outcome: &'static str) {
    ::metrics::counter!(
        "hopper_jobs_ended_total",
        "namespace" => ns.to_string(),
        "queue" => queue.as_str().to_owned(),
        "outcome" => outcome
    )
    .increment(1);
}

/// Sets the slot gauges to what the dispatcher holds now.
pub(crate) fn slots(ns: &Namespace, worker: &str, busy: u32, free: u32) {
    for (state, slots) in [("busy", busy), ("free", free)] {
        ::metrics::gauge!(
            "hopper_slots",
            "namespace" => ns.to_string(),
            "worker" => worker.to_owned(),
            "state" => state
        )
        .set(slots);
    }
}

/// Sets the reservation gauge: the slots held for a wide job, 0 when none.
pub(crate) fn reserved(ns: &Namespace, worker: &str, slots: u32) {
    ::metrics::gauge!(
        "hopper_reserved_slots",
        "namespace" => ns.to_string(),
        "worker" => worker.to_owned()
    )
    .set(slots);
}
