//! The Batchelor front door: Batchelor 2.x's JSON API, `/api/json/<method>` (or `/api/json/index` with
//! the method in the body), so that its clients work against Hopper unchanged. Jobs are queued for a
//! task processor (a job type), scoped to a queue (`hostid`), and read back from their own directories.
//! Shapes, states, dates and messages follow the original's source; docs/batchelor.md says where Hopper
//! differs and why.

mod enqueue;
mod fetch;
mod files;
mod hostid;
mod methods;
mod php_date;
mod php_json;
mod queue;
mod reading;
mod reply;
mod settings;
mod upload;
mod view;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::any;
use serde_json::{Map, Value};

use crate::AppState;
use crate::peer::Peer;

pub(crate) use php_date::Zone;
pub use settings::BatchelorArgs;

/// The door's name: its jobs' `door` label, and the namespace of their `jobid`s.
pub(crate) const DOOR: &str = "batchelor";

/// The door's settings, as it uses them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub root: Option<std::path::PathBuf>,
    pub fetch_hosts: Vec<String>,
    pub zone: Zone,
    /// Whether requests without a token are let in (`HOPPER_OPEN_DOORS=batchelor`).
    pub open: bool,
}

impl Settings {
    pub(crate) fn new(args: &BatchelorArgs, open: bool) -> Result<Self, String> {
        let zone = match &args.timezone {
            Some(name) => Zone::parse(name)?,
            None => Zone::host(),
        };
        Ok(Self {
            root: args.batchelor_root.clone(),
            fetch_hosts: args.batchelor_fetch_urls.clone(),
            zone,
            open,
        })
    }
}

/// The door's routes.
pub(crate) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/api/json/{method}", any(handle))
}

async fn handle(
    State(state): State<AppState>,
    Path(method): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    parts: RequestParts,
    body: Bytes,
) -> Response {
    let modifiers = php_json::Modifiers::from_params(|name| params.get(name).cloned());
    if let Err(why) = authorized(&state, &parts.headers) {
        let mut response = reply::answer(
            Err(reply::Failure {
                message: why,
                code: 401,
            }),
            &modifiers,
        );
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    }
    let upload = upload::read(&parts.headers, &body).await;
    let mut input = match &upload {
        Some(Ok(form)) => form.fields.clone(),
        _ => parse_input(&body),
    };
    let mut method = method;
    if let Some(Value::String(named)) = input.remove("method") {
        method = named;
    } else if method == "index" {
        method = String::new();
    }
    let param = params.get("hostid").cloned().or_else(|| {
        input
            .get("hostid")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let outcome = match hostid::detect(param.as_deref(), &parts.headers, parts.peer.as_deref()) {
        Err(why) => Err(reply::Failure::new(why)),
        Ok(hostid) => {
            let upload = match upload {
                Some(Ok(form)) => form.job_data(),
                Some(Err(why)) => return reply::answer(Err(reply::Failure::new(why)), &modifiers),
                None => None,
            };
            let call = methods::Call {
                state: &state,
                hostid,
                input,
                upload,
            };
            methods::call(&method, call).await
        }
    };
    reply::answer(outcome, &modifiers)
}

/// The body as the original reads it: a JSON object, and `[]` (nothing) when it is missing or not JSON.
fn parse_input(body: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A bearer token of HOPPER_TOKENS with role `submit`, or none when the door is open.
fn authorized(state: &AppState, headers: &HeaderMap) -> Result<(), String> {
    match super::bearer::role(headers, &state.tokens) {
        Ok(Some(role)) if role >= crate::Role::Submit => Ok(()),
        Ok(Some(_)) => Err("This token's role may not use the Batchelor API: it needs role submit".to_owned()),
        Ok(None) if state.batchelor.open => Ok(()),
        Ok(None) => Err("Not authenticated: send 'Authorization: Bearer <secret>' with one of HOPPER_TOKENS (or open this door with HOPPER_OPEN_DOORS=batchelor)".to_owned()),
        Err(why) => Err(why.to_owned()),
    }
}

/// The headers and the client's address, taken before the body.
struct RequestParts {
    headers: HeaderMap,
    peer: Option<String>,
}

impl FromRequestParts<AppState> for RequestParts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(peer) = Peer::from_request_parts(parts, state).await;
        Ok(Self {
            headers: parts.headers.clone(),
            peer: peer.ip(),
        })
    }
}
