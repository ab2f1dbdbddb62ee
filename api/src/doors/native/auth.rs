//! Who calls the native API: `Authorization: Bearer <secret>`, checked against the same
//! `HOPPER_TOKENS` as every door, with the same roles.

use axum::extract::FromRequestParts;
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
        match crate::doors::bearer::role(&parts.headers, &state.tokens) {
            Ok(Some(role)) => Ok(Self { role }),
            Ok(None) => Err(refused(
                "missing token: send 'Authorization: Bearer <secret>' with one of HOPPER_TOKENS",
            )),
            Err(why) => Err(refused(why)),
        }
    }
}
