//! The GSvar generic queuing-engine front door: `POST /qe` and `POST /` with actions submit, update and
//! delete, wire-compatible with GSvarServer's `QueuingEngineControllerGeneric`.

mod error;
#[cfg(test)]
mod fuzz;
mod reply;
mod request;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hopper_common::JobId;

pub(crate) use error::GsvarError;
use reply::{DeleteReply, SubmitReply, UpdateReply};
use request::Action;

use crate::jobs::{Canceled, Invalid, JobRequest, NotSubmitted, OnRefusal, Submitted};
use crate::peer::Peer;
use crate::{AppState, Tokens};

pub(crate) async fn handle(
    State(state): State<AppState>,
    peer: Peer,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GsvarError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => GsvarError::TooLarge(state.max_body),
        _ => GsvarError::BadRequest(rejection.body_text()),
    })?;
    let action = decode(&state.tokens, &body).inspect_err(|error| {
        // Who knocked with a wrong key, for the operator; the token itself never reaches a log.
        if let GsvarError::Unauthorized(_) | GsvarError::Forbidden(_) = error {
            tracing::info!(client = %peer, door = "gsvar", reason = %error, "request refused");
        }
    })?;
    match action {
        Action::Submit(job) => submit(&state, *job).await,
        Action::Update { id } => update(&state, &id).await,
        Action::Delete { id } => delete(&state, &id).await,
    }
}

/// Everything between the raw body and what it asks for: the JSON, the token and its role, the fields.
/// It touches neither Redis nor RabbitMQ, so the fuzz tests drive exactly this.
fn decode(tokens: &Tokens, body: &[u8]) -> Result<Action, GsvarError> {
    let body = request::object(body)?;
    let role = tokens
        .role_of(request::token(&body)?)
        .ok_or(GsvarError::Unauthorized(
            "invalid token: it matches none of HOPPER_TOKENS",
        ))?;
    let verb = request::verb(&body)?;
    if role < verb.needs() {
        return Err(GsvarError::Forbidden(format!(
            "a token with role {} may not {}; it needs role {} or admin",
            role.as_str(),
            verb.describe(),
            verb.needs().as_str()
        )));
    }
    request::action(&body, verb)
}

async fn submit(state: &AppState, request: JobRequest) -> Result<Response, GsvarError> {
    let reply = match state.jobs.submit(request, OnRefusal::Record).await {
        Ok(Submitted::Queued { id, queues }) => SubmitReply::queued(&id, &queues),
        Ok(Submitted::Recorded { id, reason, .. }) => SubmitReply::rejected(&id, &reason),
        Err(NotSubmitted::Invalid(invalid)) => {
            return Err(GsvarError::BadRequest(gsvar_field(invalid)));
        }
        Err(NotSubmitted::Unavailable(unavailable)) => return Err(unavailable.into()),
    };
    Ok(Json(reply).into_response())
}

/// The core's message with GSvar's own name for the field (`script_args`, not `args`).
fn gsvar_field(invalid: Invalid) -> String {
    match invalid.field {
        "args" => invalid.message.replacen("args", "script_args", 1),
        _ => invalid.message,
    }
}

async fn update(state: &AppState, raw_id: &str) -> Result<Response, GsvarError> {
    let Ok(id) = JobId::parse(raw_id) else {
        return Ok(Json(UpdateReply::unknown(raw_id)).into_response());
    };
    let reply = match state.jobs.status(&id).await? {
        Some(job) => UpdateReply::of(&job),
        None => UpdateReply::unknown(raw_id),
    };
    Ok(Json(reply).into_response())
}

async fn delete(state: &AppState, raw_id: &str) -> Result<Response, GsvarError> {
    // GSvar sends an empty id for a job canceled before it was ever submitted.
    if raw_id.is_empty() {
        return done("no job id given; nothing to delete".to_owned());
    }
    let Ok(id) = JobId::parse(raw_id) else {
        return done(format!(
            "unknown job id '{}'; nothing to delete",
            hopper_common::excerpt(raw_id)
        ));
    };
    done(match state.jobs.cancel(&id).await? {
        Canceled::Missing => format!("unknown job id '{id}'; nothing to delete"),
        Canceled::Dequeued => format!("job {id} canceled before it started"),
        Canceled::AlreadyEnded(ended) => format!("job {id} had already ended ({ended})"),
        Canceled::Stopping { worker } => {
            format!("job {id} canceled; worker {worker} is terminating it")
        }
        Canceled::WorkerGone { worker } => {
            format!("job {id} canceled; its worker {worker} is not connected")
        }
    })
}

fn done(result: String) -> Result<Response, GsvarError> {
    Ok(Json(DeleteReply {
        result,
        exit_code: 0,
    })
    .into_response())
}
