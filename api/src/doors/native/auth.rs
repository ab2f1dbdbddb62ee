//! Who calls the native API: `Authorization: Bearer <secret>`, checked against the same
//! `HOPPER_TOKENS` as every door, with the same roles.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::problem::Problem;
use crate::peer::Peer;
use crate::{AppState, Role};

/// A caller whose token matched; its role is checked per operation with [`Caller::may`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    role: Role,
}

impl Caller {
    /// Refuses with 403 unless the caller's role allows `what`, which needs `needs`.
    pub(crate) fn may(self, needs: Role, what: &str) -> Result<(), Problem> {
        if self.role >= needs {
            return Ok(());
        }
        Err(Problem::forbidden(format!(
            "a token with role {} may not {what}; it needs role {} or admin",
            self.role.as_str(),
            needs.as_str()
        )))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let Ok(peer) = Peer::from_request_parts(parts, state).await;
        let refused = |why: &'static str| {
            // Who knocked with a wrong key, for the operator; the token itself never reaches a log.
            tracing::info!(client = %peer, door = "native", reason = why, "request refused");
            Problem::unauthorized(why)
        };
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(refused(
                "missing token: send 'Authorization: Bearer <secret>' with one of HOPPER_TOKENS",
            ));
        };
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| refused("the Authorization header must be 'Bearer <secret>'"))?;
        let role = state
            .tokens
            .role_of(secret.trim())
            .ok_or_else(|| refused("invalid token: it matches none of HOPPER_TOKENS"))?;
        Ok(Self { role })
    }
}
