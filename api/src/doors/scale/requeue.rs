//! Requeue: v5 `POST /queue/requeue-jobs/` (`RequeueJobsView.post`, reference §1.7) answers a DRF page
//! of the matched jobs as they are after the requeue; v6 `POST /v6/jobs/requeue/` (`_post_v6`) takes
//! v6's filters and answers `202 Accepted` without a body. Both requeue before they answer (Scale's v6
//! does it later, from a message). Which jobs match and what happens to each: `requeue_selection.rs`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::filters::{int_list, optional_int, optional_text, requeue_filters, string_list};
use super::pagination::paginate;
use super::post::Post;
use super::requeue_selection::{Selection, requeue};
use super::time_range::optional_range;
use super::{Params, Raw, ScaleError, job_view};
use crate::AppState;

pub(crate) async fn v5(post: Post) -> Response {
    match listed(&post).await {
        Ok(page) => axum::Json(page).into_response(),
        Err(error) => error.into_response(),
    }
}

pub(crate) async fn v6(post: Post) -> Response {
    match accepted(&post).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(error) => error.into_response(),
    }
}

/// v5: the filters in Scale's order, the requeue, then the page of every matched job.
async fn listed(post: &Post) -> Result<Value, ScaleError> {
    let (state, params) = (&post.state, post.params());
    let (started, ended) = optional_range(&params, now())?;
    let filters = requeue_filters(&params)?;
    let priority = priority(filters.priority)?;
    let selection = Selection {
        started,
        ended,
        status: filters.status,
        job_ids: filters.job_ids,
        job_type_ids: filters.job_type_ids,
        job_type_names: filters.job_type_names,
        job_type_categories: filters.job_type_categories,
        error_categories: filters.error_categories,
        ..Selection::default()
    };
    let matched = selection.find(&state.jobs).await?;
    let jobs = requeue(&state.jobs, matched, priority).await?;
    // Scale pages after the requeue too: a bad `page` is a 404 for a requeue already done.
    let page = paginate(jobs.len(), &super::absolute_url(&post.headers, &post.uri))?;
    let results: Vec<Value> = jobs[page.items.clone()]
        .iter()
        .map(|job| job_view::list_item(job, &state.jobs.job_types))
        .collect();
    Ok(serde_json::to_value(page.envelope(results)).unwrap_or_default())
}

/// v6: the filters in `_post_v6`'s order, then the requeue.
async fn accepted(post: &Post) -> Result<(), ScaleError> {
    let (state, params) = (&post.state, post.params());
    let (started, ended) = optional_range(&params, now())?;
    let error_categories = string_list(&params, "error_categories")?;
    let error_ids = int_list(&params, "error_ids")?;
    let job_ids = int_list(&params, "job_ids")?;
    let status = optional_text(&params, "status")?;
    let mut job_type_ids = int_list(&params, "job_type_ids")?;
    let priority = priority(optional_int(&params, "priority")?)?;
    let job_type_names = string_list(&params, "job_type_names")?;
    let batch_ids = int_list(&params, "batch_ids")?;
    let recipe_ids = int_list(&params, "recipe_ids")?;
    let is_superseded = optional_bool(&params, "is_superseded")?;
    job_type_ids.extend(named_type_ids(state, &params)?);
    let selection = Selection {
        started,
        ended,
        status,
        job_ids,
        job_type_ids,
        job_type_names,
        error_categories,
        recipe_ids,
        matches_nothing: !error_ids.is_empty()
            || !batch_ids.is_empty()
            || is_superseded == Some(true),
        ..Selection::default()
    };
    let matched = selection.find(&state.jobs).await?;
    requeue(&state.jobs, matched, priority).await?;
    Ok(())
}

/// Django's `timezone.now()`, for durations (`P1D`: a day before now).
fn now() -> DateTime<Utc> {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default()
}

/// The priority override, within the core's range (Scale takes any integer; Hopper's claim order has
/// room for -99999 to 99999).
fn priority(asked: Option<i64>) -> Result<Option<i32>, ScaleError> {
    crate::jobs::check_priority(asked).map_err(ScaleError::bad_parameter)?;
    Ok(asked.and_then(|p| i32::try_from(p).ok()))
}

/// `parse_bool(..., required=False)`: `true`, `t`, `1`, `false`, `f`, `0` in any case, or a JSON
/// boolean. Scale passes other JSON values on unchecked; Hopper answers the same 400 as for bad text.
fn optional_bool(params: &Params<'_>, name: &str) -> Result<Option<bool>, ScaleError> {
    let text = match params.value(name) {
        None => return Ok(None),
        Some(Raw::Json(Value::Bool(b))) => return Ok(Some(*b)),
        Some(Raw::Text(t)) => t.trim().to_lowercase(),
        Some(Raw::Json(Value::String(t))) => t.trim().to_lowercase(),
        Some(Raw::Json(_)) => String::new(),
    };
    match text.as_str() {
        "true" | "t" | "1" => Ok(Some(true)),
        "false" | "f" | "0" => Ok(Some(false)),
        _ => Err(ScaleError::bad_parameter(format!(
            "Parameter must be a valid boolean: \"{name}\""
        ))),
    }
}

/// v6's `job_types: [{"name": ..., "version": ...}]`, each the id of a type of the file, as
/// `_post_v6` adds them to `job_type_ids`; an entry without both, or one the file lacks, is a 400 in
/// Scale's words.
fn named_type_ids(state: &AppState, params: &Params<'_>) -> Result<Vec<i64>, ScaleError> {
    let Some(entries) = params.list("job_types") else {
        return Ok(Vec::new());
    };
    let text = |raw: &Raw<'_>| match raw {
        Raw::Text(t) => (*t).to_owned(),
        Raw::Json(v) => v.to_string(),
    };
    let all: Vec<String> = entries.iter().map(text).collect();
    let invalid =
        || ScaleError::bad_parameter(format!("Job types argument invalid: [{}]", all.join(", ")));
    let mut ids = Vec::with_capacity(entries.len());
    for entry in &entries {
        let Raw::Json(Value::Object(entry)) = entry else {
            return Err(invalid());
        };
        let (Some(name), Some(version)) = (entry.get("name"), entry.get("version")) else {
            return Err(invalid());
        };
        let as_text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let (name, version) = (as_text(name), as_text(version));
        let job_type = state
            .jobs
            .job_types
            .get(&name, Some(&version))
            .filter(|t| t.version == version)
            .ok_or_else(|| {
                ScaleError::bad_parameter(format!(
                    "Job Type with name: {name} and version: {version} does not exist"
                ))
            })?;
        ids.push(i64::from(job_type.id));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    // A failed unwrap in a table-driven test names the case in its panic; that is the point here.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    /// `parse_bool`'s words, in any case and with spaces, from the query or the body; anything else is
    /// Scale's 400.
    #[test]
    fn booleans_as_scale_reads_them() {
        let cases = [
            ("is_superseded=TRUE", None, Some(true)),
            ("is_superseded=%20f", None, Some(false)),
            ("is_superseded=1", None, Some(true)),
            ("", Some(json!({"is_superseded": false})), Some(false)),
            ("", Some(json!({"is_superseded": "t"})), Some(true)),
            ("", None, None),
        ];
        for (query, body, want) in cases {
            let body = body.unwrap_or_else(|| json!({}));
            let params = Params::new(query, body.as_object());
            assert_eq!(
                optional_bool(&params, "is_superseded"),
                Ok(want),
                "{query} {body}"
            );
        }
        for body in [json!({"is_superseded": "yes"}), json!({"is_superseded": 1})] {
            let params = Params::new("", body.as_object());
            let error = optional_bool(&params, "is_superseded").unwrap_err();
            assert_eq!(
                error.body,
                json!({"detail": "Parameter must be a valid boolean: \"is_superseded\""})
            );
        }
    }

    /// The override must fit the core's claim order.
    #[test]
    fn priorities_within_the_core_range() {
        assert_eq!(priority(None), Ok(None));
        assert_eq!(priority(Some(-99_999)), Ok(Some(-99_999)));
        assert_eq!(priority(Some(100_000)).unwrap_err().status.as_u16(), 400);
    }
}
