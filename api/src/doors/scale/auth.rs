//! Who calls the Scale door: a bearer token of HOPPER_TOKENS, or nobody when the door is open
//! (`HOPPER_OPEN_DOORS=scale`). Refusals in DRF's words and shape.

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::ScaleError;
use crate::AppState;

/// Lets the request in, or says why not (401).
pub(crate) fn check(state: &AppState, headers: &HeaderMap) -> Result<(), ScaleError> {
    let refused = |detail: &str| ScaleError {
        status: StatusCode::UNAUTHORIZED,
        body: json!({ "detail": detail }),
    };
    match crate::doors::bearer::role(headers, &state.tokens) {
        Ok(Some(_)) => Ok(()),
        Ok(None) if state.open.scale => Ok(()),
        Ok(None) => Err(refused(
            "Authentication credentials were not provided. Send 'Authorization: Bearer <secret>' with one of HOPPER_TOKENS, or open this door with HOPPER_OPEN_DOORS=scale.",
        )),
        Err(_) => Err(refused("Invalid token.")),
    }
}
