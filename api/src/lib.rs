//! hopper-api: a stateless HTTP node. It checks tokens and requests, records jobs in Redis, publishes
//! submit and cancel commands to RabbitMQ, and answers status from Redis. Any number of nodes can run
//! behind a load balancer; none keeps state of its own.

mod config;
mod doors;
mod health;
pub mod jobs;
pub mod load_history;
mod metrics;
mod peer;
mod readiness;
mod serve;
mod state;
mod tokens;
mod tries;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hopper_common::HashEncoding;
use serde_json::json;

pub use config::{ApiConfig, OpenDoors};
pub use doors::batchelor::BatchelorArgs;
pub use doors::scale::ScaleArgs;
pub use doors::taskapi::TaskApiArgs;
pub use jobs::{Admission, JobRequest, Refusal};
pub use readiness::{Checked, Readiness};
pub use serve::{Stopping, run, serve};
pub use state::AppState;
pub use tokens::{Role, Tokens};
pub use tries::TriesPolicy;

/// The node's sweeper (see [`hopper_common::Sweeper`]): every API node takes its turn at finding lost
/// workers' jobs, so recovery goes on even while no worker runs.
fn sweeper(state: &AppState, config: &ApiConfig) -> hopper_common::Sweeper {
    hopper_common::Sweeper::new(
        state.jobs.store.clone(),
        state.jobs.publisher.clone(),
        config.liveness.clone(),
        &format!("hopper-api {}", config.listen),
    )
}

/// Checks once, at start, that Redis keeps job records compact (see
/// [`hopper_common::Store::hash_encoding`]), and warns if it does not. Says nothing when Redis is down
/// (the node starts anyway, and reports not ready) or refuses `CONFIG` (managed Redis): then only debug.
async fn check_redis_encoding(store: hopper_common::Store) {
    match store.hash_encoding().await {
        Ok(HashEncoding::Unknown(why)) => {
            tracing::debug!(%why, "cannot read Redis's hash-max-listpack-value; not checked");
        }
        Ok(found) => match found.warning() {
            Some(warning) => tracing::warn!("{warning}"),
            None => tracing::debug!(
                ?found,
                "Redis's hash-max-listpack-value keeps job records compact"
            ),
        },
        Err(error) => {
            tracing::debug!(%error, "cannot check Redis's hash-max-listpack-value at start");
        }
    }
}

/// The whole HTTP surface of a node.
pub fn app(state: AppState) -> Router {
    let namespace: std::sync::Arc<str> = state.jobs.store.namespace().as_str().into();
    Router::new()
        .route("/qe", post(doors::gsvar::handle))
        .route("/qe/", post(doors::gsvar::handle))
        .route("/", post(doors::gsvar::handle))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::serve))
        .merge(doors::documented())
        .merge(doors::batchelor::router())
        .merge(doors::scale::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(axum::middleware::from_fn(doors::trace))
        // Outermost, so a request's time includes everything the node did for it.
        .layer(axum::middleware::from_fn_with_state(
            namespace,
            metrics::track,
        ))
        .with_state(state)
}

/// Unknown paths answer in the format of the door they were meant for: problem details under `/api/v1`,
/// and GSvar's JSON elsewhere, saying where the front doors are, so that a GSvar configured with a
/// wrong `qe_api_base_url` logs something a person can act on.
async fn not_found(uri: Uri) -> Response {
    match doors::door_of(uri.path()) {
        "native" => {
            return doors::native::Problem::not_found(format!("no such endpoint: {}", uri.path()))
                .into_response();
        }
        "taskapi" => return doors::taskapi::no_such_path().into_response(),
        "scale" => return doors::scale::not_found(&uri),
        _ => {}
    }
    let result =
        "no such endpoint: GSvar's qe_api_base_url should point at http://<host>:<port>/qe";
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "result": result, "exit_code": 1 })),
    )
        .into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    if doors::door_of(uri.path()) == "taskapi" {
        return doors::taskapi::Refusal::Http(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed".to_owned(),
        )
        .into_response();
    }
    if doors::door_of(uri.path()) == "scale" {
        return doors::scale::method_not_allowed(&method);
    }
    if doors::door_of(uri.path()) == "native" {
        return doors::native::Problem::method_not_allowed(format!(
            "{method} is not allowed on {}; see /openapi.json",
            uri.path()
        ))
        .into_response();
    }
    let result = "method not allowed: the GSvar front door takes POST with a JSON body";
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "result": result, "exit_code": 1 })),
    )
        .into_response()
}
