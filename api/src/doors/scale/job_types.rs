//! `GET /v5/job-types/` and `/v6/job-types/`: the job types of the types file, in DRF's pages, ordered
//! by name and version as Scale's default `order_by('name', 'version')`. Scale's filters on this list
//! (`is_active`, `is_system`, `keyword`, ...) are not taken: every type is active and none is a system
//! type, so they would filter nothing or everything.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::pagination::paginate;
use super::{ScaleError, Version, job_type_view};
use crate::AppState;

pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let answer = || {
        super::auth::check(&state, &headers)?;
        let version = Version::of(uri.path());
        let mut types: Vec<_> = state.jobs.job_types.all().iter().collect();
        types.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| crate::jobs::job_types::compare_versions(&a.version, &b.version))
        });
        let page = paginate(types.len(), &super::absolute_url(&headers, &uri))?;
        let results: Vec<Value> = types[page.items.clone()]
            .iter()
            .map(|t| job_type_view::full(t, version))
            .collect();
        Ok::<_, ScaleError>(serde_json::to_value(page.envelope(results)).unwrap_or_default())
    };
    match answer() {
        Ok(body) => axum::Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}
