//! Metrics, rendered in Prometheus's text format by whoever serves `/metrics` (every API node; a worker
//! when `HOPPER_METRICS_LISTEN` is set).
//!
//! Code records through the `metrics` facade, as it logs through `tracing`: a counter is one line where
//! the event happens, with no handle passed down to it. The facade needs one recorder per process, so
//! it is installed once, by the first caller of [`recorder`], and shared: tests run several API nodes
//! and workers in one process, and each of them serves the same recorder. That is why every metric
//! carries a `namespace` label: it tells deployments (and tests) that share a process, a Prometheus or
//! a dashboard apart. Until the recorder is installed, recording costs next to nothing and is dropped.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{BrokerError, Namespace, StoreError};

/// Buckets of every `*_seconds` histogram: from a fast status answer (about a millisecond) to a submit
/// that waits out a time limit.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes: without it, a node
/// that is never scraped would keep every sample it recorded.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed by the first call.
pub fn recorder() -> &'static PrometheusHandle {
    RECORDER.get_or_init(install)
}

fn install() -> PrometheusHandle {
    // Refused only for an empty list of buckets, which SECONDS_BUCKETS is not; were it refused,
    // histograms would be rendered as summaries.
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
        .unwrap_or_else(|_| PrometheusBuilder::new())
        .build_recorder();
    let handle = recorder.handle();
    if let Err(error) = ::metrics::set_global_recorder(recorder) {
        tracing::warn!(%error, "another metrics recorder is installed; /metrics shows only what is computed when scraped");
    }
    // A thread, not a task: the recorder outlives any one runtime (tests start one per test).
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("hopper-metrics".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start the metrics upkeep; histograms are folded only when scraped");
    }
    describe();
    handle
}

fn describe() {
    ::metrics::describe_counter!(
        "hopper_redis_errors_total",
        "Calls to Redis that failed, by kind: timeout, connect, reconnecting (failed at once while a \
         reconnect backs off), connection, reply (Redis answered with an error), corrupt"
    );
    ::metrics::describe_counter!(
        "hopper_broker_errors_total",
        "Calls to RabbitMQ that failed, by kind: timeout, connect, reconnecting, connection, \
         connection_lost (a worker's consumers lost their connection), protocol, nacked, unroutable, url"
    );
}

/// Counts a failed call to Redis.
pub(crate) fn redis_error(ns: &Namespace, error: &StoreError) {
    let kind = match error {
        StoreError::Url(_) => "url",
        StoreError::Connect(_) => "connect",
        StoreError::Reconnecting(_) => "reconnecting",
        StoreError::Timeout(_) => "timeout",
        StoreError::Redis(error) if error.is_timeout() => "timeout",
        StoreError::Redis(error)
            if error.is_io_error()
                || error.is_connection_dropped()
                || error.is_connection_refusal() =>
        {
            "connection"
        }
        StoreError::Redis(_) => "reply",
        StoreError::Corrupt(_) => "corrupt",
    };
    ::metrics::counter!("hopper_redis_errors_total", "namespace" => ns.to_string(), "kind" => kind)
        .increment(1);
}

/// Counts a failed call to RabbitMQ.
pub(crate) fn broker_error(ns: &Namespace, error: &BrokerError) {
    let kind = match error {
        BrokerError::Url(_) => "url",
        BrokerError::Timeout(_) => "timeout",
        BrokerError::Reconnecting(_) => "reconnecting",
        BrokerError::Nacked(_) => "nacked",
        BrokerError::Unroutable(_) => "unroutable",
        BrokerError::Amqp(error) => match error.kind() {
            lapin::ErrorKind::ProtocolError(_) => "protocol",
            _ => "connection",
        },
    };
    broker_failure(ns, kind);
}

/// Counts a failed call to RabbitMQ made outside the publisher (a worker's consumers), by `kind`.
pub fn broker_failure(ns: &Namespace, kind: &'static str) {
    ::metrics::counter!("hopper_broker_errors_total", "namespace" => ns.to_string(), "kind" => kind)
        .increment(1);
}
