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

/// Readiness: this node could reach both Redis and RabbitMQ at its last check (see `readiness.rs`), and
/// is not shutting down. Answers at once, whatever Redis and RabbitMQ do meanwhile.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // A node that is draining answers what it still has, but a load balancer should send it nothing
    // new. Redis and RabbitMQ are not asked: the answer is no whatever they say.
    if state.shutting_down.is_cancelled() {
        let reason = "shutting down: finishing the requests in flight, taking no new ones";
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "reason": reason })),
        );
    }
    let checked = state.readiness.current().await;
    let ready = checked.ready();
    let (redis, rabbitmq) = (checked.redis, checked.rabbitmq);
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::ApiConfig;

    /// A node that has begun to shut down is not ready, and says why, without asking Redis or
    /// RabbitMQ (they point nowhere here).
    #[tokio::test]
    async fn readyz_answers_503_while_shutting_down() {
        let config = ApiConfig::try_parse_from([
            "hopper-api",
            "--tokens=secret",
            "--work-roots=/tmp",
            "--redis-url=redis://127.0.0.1:1",
            "--amqp-url=amqp://127.0.0.1:1/%2f",
        ])
        .expect("valid flags");
        let state = AppState::from_config(&config).expect("state");
        state.shutting_down.cancel();
        let (status, Json(body)) = readyz(State(state)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["ready"], false);
        assert!(
            body["reason"]
                .as_str()
                .is_some_and(|r| r.contains("shutting down")),
            "{body}"
        );
    }
}
