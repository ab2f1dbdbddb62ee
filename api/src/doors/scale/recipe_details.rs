//! `GET /v5/recipes/{id}/` and `/v6/recipes/{id}/`: a recipe's details, where new-recipe's `Location`
//! points. A recipe is the set of jobs labelled with its id; one with none is not found.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use hopper_common::{Job, JobQuery};

use super::recipe_view::{self, Recipe};
use super::{ScaleError, Version};
use crate::AppState;
use crate::jobs::recipes::{RECIPE_JOB_LABEL, RECIPE_LABEL};

/// Jobs read per page while gathering a recipe's.
const PAGE: u32 = 500;

pub(crate) async fn details(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let answer = async {
        super::auth::check(&state, &headers)?;
        let id = id.parse::<u64>().map_err(|_| ScaleError::http404())?;
        let jobs = jobs_of(&state, id).await?;
        if jobs.is_empty() {
            return Err(ScaleError::http404());
        }
        let recipe = Recipe::new(id, jobs, &state.jobs.job_types);
        Ok(recipe_view::details(
            &recipe,
            &state.jobs.job_types,
            Version::of(uri.path()),
        ))
    };
    match answer.await {
        Ok(body) => axum::Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Every job of recipe `id`, from the label index, page by page. Only the Scale door's own jobs count:
/// the door label is Hopper's, so a native client's job labelled `recipe=<id>` is never taken for one.
async fn jobs_of(state: &AppState, id: u64) -> Result<Vec<Job>, ScaleError> {
    let mut query = JobQuery {
        labels: BTreeMap::from([(RECIPE_LABEL.to_owned(), id.to_string())]),
        limit: PAGE,
        ..JobQuery::default()
    };
    let mut jobs = Vec::new();
    loop {
        let page = state
            .jobs
            .list(&query)
            .await
            .map_err(|e| ScaleError::unavailable(e.to_string()))?;
        jobs.extend(page.jobs.into_iter().filter(|job| {
            job.spec.labels.get("door").map(String::as_str) == Some("scale")
                && job.spec.labels.contains_key(RECIPE_JOB_LABEL)
        }));
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return Ok(jobs),
        }
    }
}
