//! `GET /v5/load/` and `/v6/load/` (and the seed's unversioned `/load/`, served as v5): the job load
//! history, summed over the job types asked for at each sample time, oldest first, in DRF's pages
//! (reference §1.3). The samples are the core's load history (one record a minute, kept 31 days).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::filters::{LoadFilters, load_filters};
use super::pagination::paginate;
use super::time_range::load_range;
use super::{Params, ScaleError};
use crate::AppState;
use crate::jobs::job_types::JobType;
use crate::load_history::{Counts, Record};

/// Most samples read for one request: 31 days of one a minute.
const MOST_SAMPLES: u32 = 31 * 24 * 60 + 1;

pub(crate) async fn load(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    match answer(&state, &headers, &uri, raw.as_deref().unwrap_or("")).await {
        Ok(body) => axum::Json(body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    raw: &str,
) -> Result<Value, ScaleError> {
    super::auth::check(state, headers)?;
    let params = Params::new(raw, None);
    let now = DateTime::<Utc>::from_timestamp_millis(
        i64::try_from(crate::load_history::now_ms()).unwrap_or(0),
    )
    .unwrap_or_default();
    let range = load_range(&params, now)?;
    let filters = load_filters(&params)?;
    let since = ms(range.started);
    let until = range.ended.map_or(u64::MAX >> 11, ms);
    let records = state
        .jobs
        .store
        .load(since, until, MOST_SAMPLES)
        .await
        .map_err(|e| ScaleError::unavailable(e.to_string()))?;
    let wanted = types_wanted(&filters, state.jobs.job_types.all());
    let samples: Vec<Value> = records
        .iter()
        .filter_map(|text| serde_json::from_str::<Record>(text).ok())
        .filter_map(|record| sample(&record, wanted.as_deref()))
        .collect();
    let page = paginate(samples.len(), &super::absolute_url(headers, uri))?;
    let results = samples[page.items.clone()].to_vec();
    Ok(serde_json::to_value(page.envelope(results)).unwrap_or_default())
}

/// The names of the job types the filters pick (every filter given must match, as Django's chained
/// filters do); `None` when no filter is given.
fn types_wanted(filters: &LoadFilters, types: &[JobType]) -> Option<Vec<String>> {
    let unfiltered = filters.job_type_ids.is_empty()
        && filters.job_type_names.is_empty()
        && filters.job_type_categories.is_empty()
        && filters.job_type_priorities.is_empty();
    if unfiltered {
        return None;
    }
    let picked = |t: &&JobType| {
        (filters.job_type_ids.is_empty() || filters.job_type_ids.contains(&i64::from(t.id)))
            && (filters.job_type_names.is_empty() || filters.job_type_names.contains(&t.name))
            && (filters.job_type_categories.is_empty()
                || t.category
                    .as_ref()
                    .is_some_and(|c| filters.job_type_categories.contains(c)))
            && (filters.job_type_priorities.is_empty()
                || filters.job_type_priorities.contains(&i64::from(t.priority)))
    };
    Some(
        types
            .iter()
            .filter(picked)
            .map(|t| t.name.clone())
            .collect(),
    )
}

/// One sample as Scale groups it: the counts of the wanted types summed, or of every job when no type
/// filter is given. A sample with none of the wanted types has no rows in Scale, so no group.
fn sample(record: &Record, wanted: Option<&[String]>) -> Option<Value> {
    let counts = match wanted {
        None => record.all,
        Some(names) => {
            let rows: Vec<&Counts> = names.iter().filter_map(|n| record.types.get(n)).collect();
            if rows.is_empty() {
                return None;
            }
            rows.iter().fold(Counts::default(), |sum, c| Counts {
                pending: sum.pending + c.pending,
                queued: sum.queued + c.queued,
                running: sum.running + c.running,
            })
        }
    };
    Some(json!({
        "time": super::drf_time(record.at),
        "pending_count": counts.pending,
        "queued_count": counts.queued,
        "running_count": counts.running,
    }))
}

fn ms(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}
