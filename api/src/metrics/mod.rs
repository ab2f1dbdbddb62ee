//! `GET /metrics`, in Prometheus's text format (docs/metrics.md lists every metric). Two kinds live
//! side by side:
//! - what this process counts as it happens (requests, submits, Redis and RabbitMQ errors), recorded
//!   through the `metrics` facade into the process's one recorder (`hopper_common::metrics`);
//! - what describes the whole deployment (the jobs of each queue, the slots of each live worker), read
//!   from Redis when scraped (`fleet.rs`), since no one process sees it.
//!
//! No token is asked, as is usual for Prometheus targets: what it shows is counts, and the names of
//! queues and workers, never a job's content or a secret. Keep it to the monitoring network, like the
//! rest of an API node (README, "Security notes").

mod fleet;
mod http;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use hopper_common::{JobSpec, Namespace};

use crate::AppState;

pub(crate) use fleet::Fleet;
pub(crate) use http::track;

/// The media type of Prometheus's text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Installs the process's recorder (once, whichever node or worker comes first) and describes the
/// API's metrics.
pub(crate) fn install() {
    hopper_common::metrics::recorder();
    ::metrics::describe_counter!(
        "hopper_http_requests_total",
        "HTTP requests answered, by front door, method, route template and status"
    );
    ::metrics::describe_histogram!(
        "hopper_http_request_duration_seconds",
        ::metrics::Unit::Seconds,
        "Time from a request's arrival to its answer's head, by front door, method and route template"
    );
    ::metrics::describe_counter!(
        "hopper_jobs_submitted_total",
        "Jobs queued (recorded and published), by front door and by each queue they may run in"
    );
    ::metrics::describe_counter!(
        "hopper_jobs_refused_total",
        "Submits refused for a lasting reason (a bound, a bad field, an unknown queue), by front door"
    );
}

/// `GET /metrics`: this process's metrics, then the deployment's as Redis has them now.
pub(crate) async fn serve(State(state): State<AppState>) -> Response {
    let mut text = hopper_common::metrics::recorder().render();
    text.push_str(&state.fleet.render(&state.jobs).await);
    ([(CONTENT_TYPE, TEXT_FORMAT)], text).into_response()
}

/// Counts a job queued, once for each queue it may run in.
pub(crate) fn job_queued(ns: &Namespace, spec: &JobSpec) {
    let door = door_label(spec).to_owned();
    for queue in &spec.queues {
        ::metrics::counter!(
            "hopper_jobs_submitted_total",
            "namespace" => ns.to_string(),
            "door" => door.clone(),
            "queue" => queue.as_str().to_owned()
        )
        .increment(1);
    }
}

/// Counts a submit refused for a lasting reason.
pub(crate) fn job_refused(ns: &Namespace, door: &str) {
    ::metrics::counter!(
        "hopper_jobs_refused_total",
        "namespace" => ns.to_string(),
        "door" => door.to_owned()
    )
    .increment(1);
}

/// Counts a submit refused for a lasting reason, once its spec is read.
pub(crate) fn spec_refused(ns: &Namespace, spec: &JobSpec) {
    job_refused(ns, door_label(spec));
}

/// The front door that made a job: its `door` label, which Hopper sets, never the client.
fn door_label(spec: &JobSpec) -> &str {
    spec.labels.get("door").map_or("none", String::as_str)
}
