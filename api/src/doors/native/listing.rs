//! `GET /api/v1/jobs` and `GET /api/v1/jobs/counts`: finding jobs by state, queue, type, label and
//! creation time, newest first, a page at a time.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use hopper_common::{Group, JobQuery, JobState, QueueName};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::model::JobSummary;
use super::problem::Problem;
use crate::{AppState, Role};

/// Most jobs one page holds.
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;

/// The filters (documentation only: the query is read by [`Filters::parse`], which takes repeated
/// `state` and `label` parameters).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ListParams {
    /// A state to include; repeat for several. Default: every state.
    #[param(inline)]
    state: Option<Vec<String>>,
    /// Only jobs that may run in this queue.
    queue: Option<String>,
    /// Only jobs of this type.
    r#type: Option<String>,
    /// `key:value`; repeat for several, all must match.
    label: Option<Vec<String>>,
    /// RFC 3339: created at or after.
    created_after: Option<String>,
    /// RFC 3339: created before.
    created_before: Option<String>,
    /// The `next` cursor of the previous page.
    cursor: Option<u64>,
    /// Jobs per page, 1-1000 (default 100).
    limit: Option<u32>,
}

/// One page of jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobPage {
    pub jobs: Vec<JobSummary>,
    /// The URL of the next page, or null after the last. A page may hold fewer jobs than `limit`
    /// while more follow (see docs/api.md): follow `next` until it is null.
    pub next: Option<String>,
}

/// Jobs counted by state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobCounts {
    /// Each state and its count.
    pub counts: BTreeMap<String, u64>,
}

/// The parsed query.
struct Filters {
    query: JobQuery,
    /// The query as received, without its cursor, for the `next` link.
    echo: Vec<(String, String)>,
}

impl Filters {
    fn parse(raw: Option<&str>, paged: bool) -> Result<Self, Problem> {
        let mut query = JobQuery {
            states: Vec::new(),
            queues: Vec::new(),
            labels: BTreeMap::new(),
            job_type: None,
            created_after: None,
            created_before: None,
            cursor: None,
            limit: DEFAULT_LIMIT,
        };
        let mut echo = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let (key, value) = (key.into_owned(), value.into_owned());
            let bad = |why: String| Problem::invalid(key.clone(), why);
            match key.as_str() {
                "state" => query.states.push(JobState::parse(&value).ok_or_else(|| {
                    bad(format!(
                        "unknown state '{}'; states are {}",
                        hopper_common::excerpt(&value),
                        JobState::ALL.map(JobState::as_str).join(", ")
                    ))
                })?),
                "queue" => query.queues.push(QueueName::parse(&value).map_err(bad)?),
                "type" => query.job_type = Some(value.clone()),
                "label" => {
                    let (k, v) = value
                        .split_once(':')
                        .ok_or_else(|| bad("a label filter is key:value".to_owned()))?;
                    query.labels.insert(k.to_owned(), v.to_owned());
                }
                "created_after" => query.created_after = Some(parse_time(&value).map_err(bad)?),
                "created_before" => query.created_before = Some(parse_time(&value).map_err(bad)?),
                "cursor" if paged => {
                    query.cursor = Some(value.parse().map_err(|_| {
                        bad("the cursor is the `next` link of a previous page".to_owned())
                    })?);
                    continue;
                }
                "limit" if paged => {
                    query.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| bad(format!("limit must be 1-{MAX_LIMIT}")))?;
                }
                _ => {
                    return Err(Problem::malformed(
                        format!("unknown query parameter '{}'", hopper_common::excerpt(&key)),
                        Some(key.clone()),
                    ));
                }
            }
            echo.push((key, value));
        }
        Ok(Self { query, echo })
    }

    fn next_link(&self, cursor: u64) -> String {
        let mut link = form_urlencoded::Serializer::new(String::new());
        link.extend_pairs(&self.echo);
        link.append_pair("cursor", &cursor.to_string());
        format!("/api/v1/jobs?{}", link.finish())
    }
}

/// RFC 3339 as Unix ms.
pub(crate) fn parse_time(value: &str) -> Result<u64, String> {
    humantime::parse_rfc3339_weak(value)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .ok_or_else(|| {
            format!(
                "'{}' is not an RFC 3339 time such as 2026-11-30T18:30:00Z",
                hopper_common::excerpt(value)
            )
        })
}

/// List jobs, newest first.
///
/// Filters combine: every one given must match. A page costs O(log n + page) whatever the number of
/// stored jobs; combining a label, a queue or a type with another of them checks jobs one by one
/// within the page's budget, so such a page may come back short while `next` goes on.
#[utoipa::path(
    get, path = "/api/v1/jobs", tag = "jobs",
    params(ListParams),
    responses(
        (status = 200, body = JobPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<JobPage>, Problem> {
    caller.may(Role::Read, "list jobs")?;
    let filters = Filters::parse(raw.as_deref(), true)?;
    let page = state.jobs.list(&filters.query).await?;
    Ok(Json(JobPage {
        jobs: page.jobs.into_iter().map(JobSummary::from).collect(),
        next: page.next.map(|cursor| filters.next_link(cursor)),
    }))
}

/// Count jobs by state.
///
/// Takes the filters of the listing but one of `queue`, `label` and `type` at most (and no cursor or
/// limit); costs O(log n) per state.
#[utoipa::path(
    get, path = "/api/v1/jobs/counts", tag = "jobs",
    params(ListParams),
    responses(
        (status = 200, body = JobCounts),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn counts(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<JobCounts>, Problem> {
    caller.may(Role::Read, "count jobs")?;
    let query = Filters::parse(raw.as_deref(), false)?.query;
    let mut groups: Vec<Group> = query.queues.into_iter().map(Group::Queue).collect();
    groups.extend(query.labels.into_iter().map(|(k, v)| Group::Label(k, v)));
    groups.extend(query.job_type.map(Group::Type));
    if groups.len() > 1 {
        return Err(Problem::invalid(
            "queue",
            "counts take one of queue, label and type at most; list to combine them".to_owned(),
        ));
    }
    let group = groups.pop().unwrap_or(Group::All);
    let counted = state
        .jobs
        .count(
            &group,
            &query.states,
            (query.created_after, query.created_before),
        )
        .await?;
    Ok(Json(JobCounts {
        counts: counted
            .into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect(),
    }))
}
