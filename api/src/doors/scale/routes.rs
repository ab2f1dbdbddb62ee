//! Where each Scale endpoint is served. Every endpoint is under `/v5/` and `/v6/`, as Scale 6.9.0's
//! namespace versioning mounts them; the seed's unversioned paths are served as v5 (real Scale
//! answered 404 without a version). The three v5-only POSTs answer `404 {"detail": "Not found."}`
//! under `/v6/`, as their views raise `Http404` for `request.version == 'v6'` (reference §0).

use axum::Router;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::{
    ScaleError, job_details, job_types, load, new_job, new_recipe, queue_status, recipe_details,
    requeue,
};
use crate::AppState;

/// The door's routes.
pub(crate) fn router() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ["/v5", "/v6", ""] {
        router = router
            .route(&format!("{prefix}/load/"), get(load::load))
            .route(
                &format!("{prefix}/queue/status/"),
                get(queue_status::status),
            );
    }
    for prefix in ["/v5", ""] {
        router = router
            .route(&format!("{prefix}/queue/new-job/"), post(new_job::v5))
            .route(&format!("{prefix}/queue/new-recipe/"), post(new_recipe::v5))
            .route(&format!("{prefix}/queue/requeue-jobs/"), post(requeue::v5));
    }
    // The details behind the `Location`s, which always carry a version.
    for prefix in ["/v5", "/v6"] {
        router = router
            .route(&format!("{prefix}/jobs/{{id}}/"), get(job_details::details))
            .route(
                &format!("{prefix}/recipes/{{id}}/"),
                get(recipe_details::details),
            )
            .route(&format!("{prefix}/job-types/"), get(job_types::list));
    }
    for v5_only in ["new-job", "new-recipe", "requeue-jobs"] {
        router = router.route(&format!("/v6/queue/{v5_only}/"), post(v5_only_under_v6));
    }
    router
        .route("/v6/jobs/", post(new_job::v6))
        .route("/v6/jobs/requeue/", post(requeue::v6))
        .route("/v6/recipes/", post(new_recipe::v6))
}

/// A v5-only view asked under `/v6/`.
async fn v5_only_under_v6() -> Response {
    ScaleError::http404().into_response()
}

/// An unknown path under Scale's prefixes: DRF's `Http404` body (Django itself would send its HTML
/// page, which no client reads). A path without its trailing slash is redirected to the one with it,
/// as Django's `APPEND_SLASH` does (the v6 seed asks for `GET /v6/load`); Django first checks that
/// the slashed path exists, Hopper lets that one answer 404 if it does not.
pub(crate) fn not_found(uri: &Uri) -> Response {
    let path = uri.path();
    if !path.ends_with('/') {
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        return (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, format!("{path}/{query}"))],
        )
            .into_response();
    }
    ScaleError::http404().into_response()
}

/// A known path asked with another method: DRF's `MethodNotAllowed` (405), in its words.
pub(crate) fn method_not_allowed(method: &Method) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(json!({ "detail": format!("Method \"{method}\" not allowed.") })),
    )
        .into_response()
}
