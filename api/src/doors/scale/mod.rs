//! The NGA Scale queue-services door (`docs/scale.md`): Scale 6.9.0's `/v5/` and `/v6/` endpoints for
//! load, queue status, new jobs and recipes, requeue and the details behind their `Location`s, each
//! answering Scale's exact bodies and errors (DRF's `{"detail": ...}`), over the job core.

mod auth;
mod body;
mod created;
pub(crate) mod filters;
mod iso;
mod job_data;
mod job_details;
mod job_type_view;
mod job_types;
mod job_view;
mod load;
mod new_job;
mod new_recipe;
pub(crate) mod pagination;
mod post;
mod queue_status;
mod recipe_details;
mod recipe_type_view;
mod recipe_view;
mod requeue;
mod requeue_selection;
mod routes;
mod settings;
pub(crate) mod status;
pub(crate) mod time_range;

pub(crate) use routes::{method_not_allowed, not_found, router};
pub use settings::ScaleArgs;
pub(crate) use settings::Settings;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Which of Scale's API versions a request came through: they differ in the shapes of job and job
/// type objects, and in which endpoints exist (the v5-only ones answer 404 under `/v6/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    V5,
    V6,
}

impl Version {
    /// The version of a path: `/v6/...` is v6; `/v5/...` and the seed's unversioned paths are v5.
    pub(crate) fn of(path: &str) -> Self {
        if path.starts_with("/v6/") {
            Self::V6
        } else {
            Self::V5
        }
    }

    /// The path prefix that `Location`s and links use.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Self::V5 => "/v5",
            Self::V6 => "/v6",
        }
    }
}

/// An answer Scale gives instead of results: the status and the exact JSON body, so the door returns
/// it as is and clients that read `result['detail']` (as Scale's own tests do) see the same text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScaleError {
    pub status: StatusCode,
    pub body: Value,
}

impl ScaleError {
    /// `util.rest.BadParameter`: an `APIException` with status 400, which DRF renders as
    /// `{"detail": msg}` (reference §1.1, §6).
    pub(crate) fn bad_parameter(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "detail": message.into() }),
        }
    }

    /// DRF's `NotFound(msg)`: 404 `{"detail": msg}` (§6).
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: json!({ "detail": message.into() }),
        }
    }

    /// Django's `Http404` as DRF renders it: `404 {"detail": "Not found."}`, for unknown ids and for
    /// the v5-only endpoints under `/v6/`.
    pub(crate) fn http404() -> Self {
        Self::not_found("Not found.")
    }

    /// A view's own `Response('Invalid job data: ...', 400)`: a bare JSON string, without `detail`
    /// (reference §1.5, §6).
    pub(crate) fn bare(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: Value::String(message.into()),
        }
    }
}

impl ScaleError {
    /// Redis or RabbitMQ did not answer: 503, with what went wrong.
    pub(crate) fn unavailable(detail: String) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: json!({ "detail": detail }),
        }
    }
}

/// The request's own URL, absolute, as DRF builds `next` and `previous` from it.
pub(crate) fn absolute_url(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{proto}://{host}{uri}")
}

/// A time as DRF writes a datetime: ISO 8601 in UTC with `Z`, microseconds only when there are any.
pub(crate) fn drf_time(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    if ms.is_multiple_of(1000) {
        humantime::format_rfc3339_seconds(at).to_string()
    } else {
        humantime::format_rfc3339_micros(at).to_string()
    }
}

impl IntoResponse for ScaleError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// One raw parameter value as `util/rest.py#_get_param` sees it: the query string only ever gives
/// text, a JSON body may give any JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw<'a> {
    Text(&'a str),
    Json(&'a Value),
}

/// The request's parameters, read the way Scale reads them: `request.query_params` first, then
/// `request.data` (the JSON body), so a POST may carry its filters in either (§1.1).
#[derive(Debug, Default)]
pub(crate) struct Params<'a> {
    query: Vec<(String, String)>,
    body: Option<&'a Map<String, Value>>,
}

impl<'a> Params<'a> {
    /// From a raw query string (without `?`), split the way Django's `QueryDict` does (`&` and `;`).
    pub(crate) fn new(raw_query: &str, body: Option<&'a Map<String, Value>>) -> Self {
        Self {
            query: query_pairs(raw_query),
            body,
        }
    }

    /// `_get_param`: the last value of a repeated query key (`QueryDict.get`), else the body's value;
    /// a JSON `null` counts as absent, as `value is None` does in Scale.
    pub(crate) fn value(&self, name: &str) -> Option<Raw<'_>> {
        if let Some((_, v)) = self.query.iter().rev().find(|(k, _)| k == name) {
            return Some(Raw::Text(v));
        }
        self.body
            .and_then(|b| b.get(name))
            .filter(|v| !v.is_null())
            .map(Raw::Json)
    }

    /// `_get_param_list`: every value of a repeated query key (`getlist`; commas are not split), else
    /// the body's value (a JSON array, normally); `None` when absent.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<Raw<'_>>> {
        let query: Vec<Raw<'_>> = self
            .query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| Raw::Text(v))
            .collect();
        if !query.is_empty() {
            return Some(query);
        }
        self.body
            .and_then(|b| b.get(name))
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::Array(items) => items.iter().map(Raw::Json).collect(),
                other => vec![Raw::Json(other)],
            })
    }
}

/// Query pairs as Python's `parse_qsl(keep_blank_values=True)` and Django's `QueryDict` give them:
/// `&` and `;` both separate, empty fields are skipped, a key without `=` has the value "".
pub(crate) fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split(['&', ';'])
        .filter(|field| !field.is_empty())
        .flat_map(|field| form_urlencoded::parse(field.as_bytes()).into_owned())
        .collect()
}
