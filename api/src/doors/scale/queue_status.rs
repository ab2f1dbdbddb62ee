//! `GET /v5/queue/status/` and `/v6/queue/status/` (reference §1.4): the queued jobs grouped by job
//! type, each group with its `count`, `longest_queued` (the earliest time one was queued) and
//! `highest_priority` (the smallest number: lower runs first), ordered as Scale's `order_by(
//! 'job_type__is_paused', 'highest_priority', 'longest_queued')`, in DRF's pages.
//!
//! Scale reads one table of queued executions. Hopper reads the queued jobs of each type from the
//! type's index, a page of a thousand at a time: the answer costs one read per thousand queued jobs.
//! Jobs without a type (GSvar's, the native API's programs) are not Scale's and are not shown; nor
//! are jobs whose type the types file no longer defines, which Scale's join would not find either.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use hopper_common::{JobQuery, JobSpec, JobState};
use serde_json::{Value, json};

use super::pagination::paginate;
use super::{ScaleError, Version, drf_time, job_type_view};
use crate::AppState;
use crate::jobs::job_types::JobType;

/// Jobs read from the index per call.
const BATCH: u32 = 1000;

/// One type's queued jobs, summed.
struct Group<'a> {
    job_type: &'a JobType,
    count: u64,
    longest_queued: u64,
    highest_priority: i32,
}

pub(crate) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match answer(&state, &headers, &uri).await {
        Ok(body) => axum::Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn answer(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Value, ScaleError> {
    super::auth::check(state, headers)?;
    let version = Version::of(uri.path());
    let mut groups = groups(state).await?;
    groups.sort_by(|a, b| {
        (a.job_type.paused, a.highest_priority, a.longest_queued).cmp(&(
            b.job_type.paused,
            b.highest_priority,
            b.longest_queued,
        ))
    });
    let page = paginate(groups.len(), &super::absolute_url(headers, uri))?;
    let results: Vec<Value> = groups[page.items.clone()]
        .iter()
        .map(|group| {
            json!({
                "job_type": job_type_view::base(group.job_type, version),
                "count": group.count,
                "longest_queued": drf_time(group.longest_queued),
                "highest_priority": group.highest_priority,
            })
        })
        .collect();
    Ok(serde_json::to_value(page.envelope(results)).unwrap_or_default())
}

/// Every type with queued jobs. The index is by type name; each version is its own Scale job type.
async fn groups(state: &AppState) -> Result<Vec<Group<'_>>, ScaleError> {
    let types = &state.jobs.job_types;
    let mut names: Vec<&str> = types.all().iter().map(|t| t.name.as_str()).collect();
    names.dedup();
    let mut groups: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    for name in names {
        let mut query = JobQuery {
            states: vec![JobState::Queued],
            job_type: Some(name.to_owned()),
            limit: BATCH,
            ..JobQuery::default()
        };
        loop {
            let page = state
                .jobs
                .list(&query)
                .await
                .map_err(|e| ScaleError::unavailable(e.to_string()))?;
            for job in &page.jobs {
                let Some((name, version)) = &job.spec.job_type else {
                    continue;
                };
                let Some(job_type) = types.get(name, Some(version)) else {
                    continue;
                };
                let queued = job.changed_ms.unwrap_or(job.created_ms);
                let priority = job.spec.priority.unwrap_or(JobSpec::DEFAULT_PRIORITY);
                let group = groups
                    .entry((name.clone(), version.clone()))
                    .or_insert(Group {
                        job_type,
                        count: 0,
                        longest_queued: queued,
                        highest_priority: priority,
                    });
                group.count += 1;
                group.longest_queued = group.longest_queued.min(queued);
                group.highest_priority = group.highest_priority.min(priority);
            }
            match page.next {
                Some(next) => query.cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(groups.into_values().collect())
}
