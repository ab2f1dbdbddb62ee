use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::jobs::Unavailable;

/// A GSvar request that is not carried out. Every variant answers with a JSON object carrying `result`
/// and `exit_code`, in the front door's own format. None of them answers 200: GSvar then leaves its job
/// as it was and asks again on its next tick, instead of marking the job failed for good.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GsvarError {
    /// The body is not a JSON object, names an unknown action, or lacks or mistypes a field.
    #[error("{0}")]
    BadRequest(String),
    /// No token, or one that matches no configured token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The token is valid but its role may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    /// Redis or RabbitMQ could not be reached; the cause was logged by the core, once, and is not
    /// shown.
    #[error("{0}")]
    Unavailable(#[from] Unavailable),
}

impl GsvarError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for GsvarError {
    fn into_response(self) -> Response {
        let body = json!({ "result": self.to_string(), "exit_code": 1 });
        (self.status(), Json(body)).into_response()
    }
}
