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
use hopper_common::{BrokerError, CancelOutcome, JobId, QueueName};

pub(crate) use error::GsvarError;
use reply::{DeleteReply, SubmitReply, UpdateReply};
use request::Action;

use crate::peer::Peer;
use crate::{AppState, JobRequest, Tokens};

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
        Action::Submit(job) => submit(&state, job).await,
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
    let spec = match state.admission.admit(request) {
        Ok(spec) => spec,
        Err(refusal) => {
            let id = state
                .store
                .reject(&refusal.spec, &refusal.reason)
                .await
                .map_err(GsvarError::store)?;
            tracing::info!(job = %id, reason = %refusal.reason, "submit refused");
            return Ok(Json(SubmitReply::rejected(&id, &refusal.reason)).into_response());
        }
    };
    // Provisional until its submit is published: a job whose submit this node could not finish is not
    // left looking queued with nothing behind it (see Store::create_provisional).
    let id = state
        .store
        .create_provisional(&spec, state.provisional)
        .await
        .map_err(GsvarError::store)?;
    if let Err(error) = state
        .publisher
        .submit(&id, spec.threads, &spec.queues)
        .await
    {
        // Recorded but not published to every queue: take it back so nothing is left looking queued (a
        // message that did get through then finds no job and is dead-lettered) and say 503, so GSvar
        // submits again. No worker can have claimed it, since it is not confirmed; if Redis does not
        // answer the withdraw either, the job stays unconfirmed and expires by itself.
        if let Err(cleanup) = state.store.withdraw(&id).await {
            tracing::warn!(job = %id, error = %cleanup, "cannot withdraw a job whose publish failed; it expires");
        }
        return Err(GsvarError::broker(error));
    }
    // Until this succeeds the job can neither run nor last: so 503, and GSvar submits again. (Had Redis
    // carried out the confirm and lost only its answer, the job runs, and GSvar's second submit runs it
    // again: the one ambiguity a time limit cannot remove, as with a lost HTTP answer.)
    match state.store.confirm(&id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(job = %id, "job expired before its submit was published; refused");
            return Err(GsvarError::Unavailable(
                "Hopper took too long to queue the job; nothing was changed, try again",
            ));
        }
        Err(error) => return Err(GsvarError::store(error)),
    }
    tracing::info!(job = %id, queues = %QueueName::join(&spec.queues), script = %spec.script, "job queued");
    Ok(Json(SubmitReply::queued(&id, &spec.queues)).into_response())
}

async fn update(state: &AppState, raw_id: &str) -> Result<Response, GsvarError> {
    let Ok(id) = JobId::parse(raw_id) else {
        return Ok(Json(UpdateReply::unknown(raw_id)).into_response());
    };
    let reply = match state.store.status(&id).await.map_err(GsvarError::store)? {
        Some(job) => UpdateReply::of(&job),
        None => UpdateReply::unknown(raw_id),
    };
    Ok(Json(reply).into_response())
}

async fn delete(state: &AppState, raw_id: &str) -> Result<Response, GsvarError> {
    let done = |result: String| {
        Ok(Json(DeleteReply {
            result,
            exit_code: 0,
        })
        .into_response())
    };
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
    match state.store.cancel(&id).await.map_err(GsvarError::store)? {
        CancelOutcome::Missing => done(format!("unknown job id '{id}'; nothing to delete")),
        CancelOutcome::Canceled => {
            tracing::info!(job = %id, "queued job canceled");
            done(format!("job {id} canceled before it started"))
        }
        CancelOutcome::AlreadyEnded(ended) => done(format!("job {id} had already ended ({ended})")),
        CancelOutcome::Requested { worker } => match state.publisher.cancel(&id, &worker).await {
            Ok(()) => {
                tracing::info!(job = %id, %worker, "running job told to stop");
                done(format!(
                    "job {id} canceled; worker {worker} is terminating it"
                ))
            }
            // The worker's control queue is gone with its connection: it is not running anything.
            // The cancel is recorded, so the job ends canceled whenever its fate is settled.
            Err(BrokerError::Unroutable(_)) => {
                tracing::warn!(job = %id, %worker, "cancel for a job whose worker is not connected");
                done(format!(
                    "job {id} canceled; its worker {worker} is not connected"
                ))
            }
            Err(error) => Err(GsvarError::broker(error)),
        },
    }
}
