//! `GET /api/v1/jobs/{id}/logs`: a job's stdout or stderr as plain text, or followed live as
//! Server-Sent Events until the job ends.

use std::convert::Infallible;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hopper_common::LogStream;
use utoipa::IntoParams;

use super::auth::Caller;
use super::jobs::{job_id, no_job};
use super::problem::Problem;
use crate::jobs::logs::{Follow, Followed};
use crate::{AppState, Role};

/// Where to read on from: the stream position after the bytes of this answer.
const OFFSET_HEADER: HeaderName = HeaderName::from_static("hopper-log-offset");
/// The job's state when the log was read; once it has ended, the log is complete.
const STATE_HEADER: HeaderName = HeaderName::from_static("hopper-job-state");

/// The query (documentation only: it is read by [`LogQuery::parse`], which answers with problem
/// details).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct LogParams {
    /// `stdout` (the default) or `stderr`.
    stream: Option<String>,
    /// `true`: answer `text/event-stream`, sending new output as it comes, until the job has ended.
    follow: Option<bool>,
    /// Start at this byte of the stream (default 0): the `Hopper-Log-Offset` of an earlier answer, or
    /// the `id` of the last event received. When following, a `Last-Event-ID` header does the same.
    offset: Option<u64>,
}

struct LogQuery {
    stream: LogStream,
    follow: bool,
    offset: Option<u64>,
}

impl LogQuery {
    fn parse(raw: Option<&str>) -> Result<Self, Problem> {
        let mut query = Self {
            stream: LogStream::Stdout,
            follow: false,
            offset: None,
        };
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let shown = hopper_common::excerpt(&value);
            match key.as_ref() {
                "stream" => {
                    query.stream = LogStream::parse(&value).ok_or_else(|| {
                        let why = format!("unknown stream '{shown}'; streams are stdout, stderr");
                        Problem::invalid("stream", why)
                    })?;
                }
                "follow" => {
                    query.follow = value.parse().map_err(|_| {
                        Problem::invalid(
                            "follow",
                            format!("follow is true or false, not '{shown}'"),
                        )
                    })?;
                }
                "offset" => {
                    query.offset = Some(value.parse().map_err(|_| {
                        let why = format!("offset is a byte position (0 or more), not '{shown}'");
                        Problem::invalid("offset", why)
                    })?);
                }
                _ => {
                    return Err(Problem::malformed(
                        format!("unknown query parameter '{}'", hopper_common::excerpt(&key)),
                        Some(key.into_owned()),
                    ));
                }
            }
        }
        Ok(query)
    }
}

/// Read a job's stdout or stderr, or follow it live.
///
/// Without `follow`, the stream's bytes from `offset` on, as `text/plain`; `Hopper-Log-Offset` says
/// where to read on from, and `Hopper-Job-State` whether more may come. With `follow=true`,
/// Server-Sent Events: one event per chunk of new output (its data the text, its `id` the stream
/// position after it), then, once the job has ended and everything was sent, an event `end` whose data
/// is the job's final state. Of a stream longer than the worker's `HOPPER_LOG_CAP`, the head and the
/// tail are kept, and a line `[... N bytes omitted ...]` stands for the rest.
#[utoipa::path(
    get, path = "/api/v1/jobs/{id}/logs", tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), LogParams),
    responses(
        (status = 200, description = "The output (text/plain), or its events (text/event-stream, with follow=true)",
            content((String = "text/plain"), (String = "text/event-stream")),
            headers(
                ("Hopper-Log-Offset" = u64, description = "text/plain only: the stream position after this text, to read on from"),
                ("Hopper-Job-State" = String, description = "text/plain only: the job's state when read; once ended, the log is complete"),
            )),
        (status = 400, description = "An unknown query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad `stream`, `follow` or `offset`; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    caller.may(Role::Read, "read logs")?;
    let id = job_id(&raw)?;
    let query = LogQuery::parse(query.as_deref())?;
    if query.follow {
        // An EventSource that reconnects says where it was with `Last-Event-ID`.
        let resumed = headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let offset = query.offset.or(resumed).unwrap_or(0);
        // The stream ends when the node shuts down, so that it does not hold the shutdown up; the
        // client resumes from the last id it received, on this node or another.
        let stop = state.shutting_down.clone();
        let follow = state.jobs.follow(&id, query.stream, offset, stop).await?;
        let follow = follow.ok_or_else(|| no_job(&raw))?;
        return Ok(events(follow));
    }
    let offset = query.offset.unwrap_or(0);
    let log = state.jobs.log(&id, query.stream, offset).await?;
    let log = log.ok_or_else(|| no_job(&raw))?;
    let state = log.state.map_or("unknown", |s| s.as_str());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (OFFSET_HEADER, HeaderValue::from(log.next)),
            (STATE_HEADER, HeaderValue::from_static(state)),
        ],
        log.bytes,
    )
        .into_response())
}

/// The followed stream as Server-Sent Events.
fn events(follow: Follow) -> Response {
    let events = futures_lite::stream::unfold(follow, |mut follow| async move {
        let event = match follow.next().await? {
            Ok(Followed::Output { text, next }) => Event::default()
                .id(next.to_string())
                .data(event_lines(&text)),
            Ok(Followed::End { state, next }) => Event::default()
                .event("end")
                .id(next.to_string())
                .data(state.map_or("gone", |s| s.as_str())),
            // Logged where it was made; the client resumes from the last id it received.
            Err(_) => return None,
        };
        Some((Ok::<_, Infallible>(event), follow))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response();
    // Proxies such as nginx would otherwise hold the events back in their buffers.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Text as event data: SSE splits lines at CR, LF and CRLF alike, so each becomes one line break
/// (a plain read keeps the bytes as they were).
fn event_lines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}
