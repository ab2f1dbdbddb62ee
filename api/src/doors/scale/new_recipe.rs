//! Being built (issue 13).

use axum::response::{IntoResponse, Response};

use super::ScaleError;

pub(crate) async fn v5() -> Response {
    ScaleError::http404().into_response()
}

pub(crate) async fn v6() -> Response {
    ScaleError::http404().into_response()
}
