//! Who calls the TaskAPI door: `Authorization: Bearer <secret>`, one of HOPPER_TOKENS with its role, as
//! in Hopper's own API. The original has no authentication at all, so its clients send no token; an
//! operator who wants them in unchanged opens the door (`HOPPER_OPEN_DOORS=taskapi`), and a request
//! without a token then has role `submit`. A token that is sent must be valid either way.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::error::Refusal;
use crate::peer::Peer;
use crate::{AppState, Role};

/// A caller let in; its role is checked per operation with [`Caller::may`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    role: Role,
}

impl Caller {
    /// Refuses with 403 unless the caller's role allows `what`.
    pub(crate) fn may(self, needs: Role, what: &str) -> Result<(), Refusal> {
        if self.role >= needs {
            return Ok(());
        }
        Err(Refusal::Http(
            StatusCode::FORBIDDEN,
            format!(
                "a token with role {} may not {what}; it needs role {} or admin",
                self.role.as_str(),
                needs.as_str()
            ),
        ))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let Ok(peer) = Peer::from_request_parts(parts, state).await;
        let refused = |why: &str| {
            tracing::info!(client = %peer, door = super::DOOR, reason = why, "request refused");
            Refusal::Http(StatusCode::UNAUTHORIZED, why.to_owned())
        };
        match crate::doors::bearer::role(&parts.headers, &state.tokens) {
            Ok(Some(role)) => Ok(Self { role }),
            Ok(None) if state.taskapi.open => Ok(Self { role: Role::Submit }),
            Ok(None) => Err(refused(
                "Not authenticated: send 'Authorization: Bearer <secret>' with one of HOPPER_TOKENS \
                 (or open this door to token-less clients with HOPPER_OPEN_DOORS=taskapi)",
            )),
            Err(why) => Err(refused(why)),
        }
    }
}
