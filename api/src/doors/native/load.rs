//! `GET /api/v1/load`: the load history, a record per interval (a minute) for 31 days.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::model::time;
use super::problem::Problem;
use crate::load_history::{Counts, Record};
use crate::{AppState, Role};

/// Most records one answer holds: a week of minutes.
const MAX_RECORDS: u32 = 10_080;

/// The query (for the documentation; read by hand, as the listing's is).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct LoadParams {
    /// RFC 3339; default: a day before `until`.
    since: Option<String>,
    /// RFC 3339; default: now.
    until: Option<String>,
    /// One queue's jobs instead of all.
    queue: Option<String>,
    /// One job type's jobs instead of all.
    r#type: Option<String>,
}

/// Jobs pending, queued and running at one time.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoadPoint {
    /// RFC 3339, UTC.
    pub time: String,
    pub pending: u64,
    pub queued: u64,
    pub running: u64,
}

/// The load history, oldest first: one point per interval (`HOPPER_LOAD_INTERVAL`, a minute), kept 31
/// days. Takes `queue` or `type` (not both) for one queue's or type's jobs; a queue or type a record
/// does not name counts zero then. At most 10,080 points (a week of minutes) per answer.
#[utoipa::path(
    get, path = "/api/v1/load", tag = "fleet",
    params(LoadParams),
    responses(
        (status = 200, body = Vec<LoadPoint>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn load(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<LoadPoint>>, Problem> {
    caller.may(Role::Read, "read the load history")?;
    let (mut since, mut until, mut queue, mut job_type) = (None, None, None, None);
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "since" => since = Some(time_param("since", &value)?),
            "until" => until = Some(time_param("until", &value)?),
            "queue" => queue = Some(value),
            "type" => job_type = Some(value),
            other => {
                return Err(Problem::malformed(
                    format!(
                        "unknown query parameter '{}'",
                        hopper_common::excerpt(other)
                    ),
                    Some(other.to_owned()),
                ));
            }
        }
    }
    if queue.is_some() && job_type.is_some() {
        return Err(Problem::invalid(
            "type",
            "give queue or type, not both".to_owned(),
        ));
    }
    let until = until.unwrap_or_else(crate::load_history::now_ms);
    let since = since.unwrap_or_else(|| until.saturating_sub(86_400_000));
    let records = state
        .jobs
        .store
        .load(since, until, MAX_RECORDS)
        .await
        .map_err(crate::jobs::Unavailable::store)?;
    let points = records
        .iter()
        .filter_map(|text| serde_json::from_str::<Record>(text).ok())
        .map(|record| {
            let counts = match (&queue, &job_type) {
                (Some(q), _) => record.queues.get(q).copied().unwrap_or_default(),
                (_, Some(t)) => record.types.get(t).copied().unwrap_or_default(),
                _ => record.all,
            };
            point(record.at, counts)
        })
        .collect();
    Ok(Json(points))
}

fn point(at: u64, counts: Counts) -> LoadPoint {
    LoadPoint {
        time: time(at),
        pending: counts.pending,
        queued: counts.queued,
        running: counts.running,
    }
}

fn time_param(field: &str, value: &str) -> Result<u64, Problem> {
    super::listing::parse_time(value).map_err(|why| Problem::invalid(field, why))
}
