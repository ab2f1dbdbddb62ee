//! The NGA Scale queue-services door (issue 13): the pure pieces first, parameter parsing and DRF
//! pagination, each answering Scale 6.9.0's exact error bodies (`docs/scale.md` once the door lands).

mod auth;
#[allow(dead_code)]
pub(crate) mod filters;
mod iso;
mod load;
#[allow(dead_code)]
pub(crate) mod pagination;
#[allow(dead_code)]
pub(crate) mod status;
#[allow(dead_code)]
pub(crate) mod time_range;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An answer Scale gives instead of results: the status and the exact JSON body, so the door returns
/// it as is and clients that read `result['detail']` (as Scale's own tests do) see the same text.
#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)]
pub(crate) struct ScaleError {
    pub status: StatusCode,
    pub body: Value,
}

#[allow(dead_code)]
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

/// The door's routes: each under `/v5/` and `/v6/`, and the seed's unversioned paths as v5.
pub(crate) fn router() -> axum::Router<crate::AppState> {
    let load = axum::routing::get(load::load);
    axum::Router::new()
        .route("/v5/load/", load.clone())
        .route("/v6/load/", load.clone())
        .route("/load/", load)
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
#[allow(dead_code)]
pub(crate) enum Raw<'a> {
    Text(&'a str),
    Json(&'a Value),
}

/// The request's parameters, read the way Scale reads them: `request.query_params` first, then
/// `request.data` (the JSON body), so a POST may carry its filters in either (§1.1).
#[derive(Debug, Default)]
#[allow(dead_code)]
pub(crate) struct Params<'a> {
    query: Vec<(String, String)>,
    body: Option<&'a Map<String, Value>>,
}

#[allow(dead_code)]
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
