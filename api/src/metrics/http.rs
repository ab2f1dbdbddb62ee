//! Every request counted and timed, by front door, method, route and status.
//!
//! The route is the template a request matched (`/api/v1/jobs/{id}`), never its path: each job id would
//! otherwise make a series of its own. A request no route matched is `unmatched`, and a method outside
//! HTTP's own is `other`, so no client can grow the number of series.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// The route of a request that matched none (it got the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// Runs the request, then counts and times it. The state is the node's namespace, for the label.
pub(crate) async fn track(State(ns): State<Arc<str>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let door = crate::doors::door_of(request.uri().path());
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    ::metrics::histogram!(
        "hopper_http_request_duration_seconds",
        "namespace" => ns.clone(),
        "door" => door,
        "method" => method,
        "route" => route.clone()
    )
    .record(started.elapsed());
    ::metrics::counter!(
        "hopper_http_requests_total",
        "namespace" => ns,
        "door" => door,
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A method a client made up is not a label value of its own.
    #[test]
    fn unknown_methods_share_one_label() {
        let made_up = Method::from_bytes(b"BREW").expect("a valid method token");
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
    }
}
