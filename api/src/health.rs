//! Operations endpoints for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

/// Liveness: the process answers. Says nothing about Redis or RabbitMQ, so an orchestrator does not
/// restart every node during a broker outage.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: this node can reach both Redis and RabbitMQ right now.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let redis = state.store.ping().await.map_err(|e| e.to_string());
    let rabbitmq = state.publisher.check().await.map_err(|e| e.to_string());
    let ready = redis.is_ok() && rabbitmq.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let show = |r: &Result<(), String>| r.as_ref().err().map_or("ok".to_owned(), Clone::clone);
    (
        status,
        Json(json!({ "ready": ready, "redis": show(&redis), "rabbitmq": show(&rabbitmq) })),
    )
}
