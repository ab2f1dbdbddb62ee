//! `GET /v5/jobs/{id}/` and `/v6/jobs/{id}/`: a job's details, where new-job's `Location` points. Any
//! Hopper job answers (its id is the Scale id), whichever door made it; one without a job type shows
//! `job_type: null`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use hopper_common::JobId;

use super::{ScaleError, Version, job_view};
use crate::AppState;

pub(crate) async fn details(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let answer = async {
        super::auth::check(&state, &headers)?;
        let id = JobId::parse(&id).map_err(|_| ScaleError::http404())?;
        let job = state
            .jobs
            .get(&id)
            .await
            .map_err(|e| ScaleError::unavailable(e.to_string()))?
            .ok_or_else(ScaleError::http404)?;
        Ok::<_, ScaleError>(job_view::details(
            &job,
            &state.jobs.job_types,
            Version::of(uri.path()),
        ))
    };
    match answer.await {
        Ok(body) => axum::Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}
