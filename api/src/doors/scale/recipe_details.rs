//! Being built (issue 13).

use axum::response::{IntoResponse, Response};

use super::ScaleError;

pub(crate) async fn details() -> Response {
    ScaleError::http404().into_response()
}
