//! The front doors: each maps one public API onto the job core (`crate::jobs`), in its own vocabulary
//! and error format, and knows nothing of Redis or RabbitMQ.

pub(crate) mod batchelor;
mod bearer;
pub(crate) mod gsvar;
mod json_object;
pub(crate) mod native;
pub(crate) mod scale;
pub(crate) mod taskapi;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;

/// The routes of the doors described by OpenAPI (Hopper's own API and the TaskAPI), with their one
/// document at `/openapi.json`, browsable at `/docs`.
pub(crate) fn documented() -> Router<AppState> {
    let router = OpenApiRouter::with_openapi(native::api_doc());
    let (router, api) = taskapi::routes(native::routes(router)).split_for_parts();
    router.merge(SwaggerUi::new("/docs").url("/openapi.json", api))
}

/// The front door a path belongs to, for logs and metrics.
pub(crate) fn door_of(path: &str) -> &'static str {
    match path {
        "/" | "/qe" | "/qe/" => "gsvar",
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" => "operations",
        _ if path.starts_with("/api/v1/") || path == "/api/v1" => "native",
        _ if path.starts_with("/api/json/") => "batchelor",
        _ if ["/v5/", "/v6/", "/load/", "/queue/"]
            .iter()
            .any(|prefix| path.starts_with(prefix)) =>
        {
            "scale"
        }
        _ if path.starts_with("/api/") || path == "/api" => "taskapi",
        _ if path.starts_with("/docs") => "operations",
        _ => "none",
    }
}

/// Runs each request in a span naming its front door, method and path; the core records the job id in
/// it once known (`job`), so every line logged for a request says which door and job it concerns.
pub(crate) async fn trace(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "request",
        door = door_of(request.uri().path()),
        method = %request.method(),
        path = request.uri().path(),
        job = tracing::field::Empty,
    );
    next.run(request).instrument(span).await
}
