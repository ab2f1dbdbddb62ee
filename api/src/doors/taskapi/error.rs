//! The TaskAPI's refusals, shaped as FastAPI shapes them, so that its clients read them as they read
//! the original's: `{"detail": "..."}` for HTTP errors (`404 {"detail":"not-found"}`), and for a body
//! that does not validate, 422 with Pydantic's list of errors, each naming where (`loc`), what
//! (`msg`) and which kind (`type`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::jobs::Unavailable;

/// One refused request.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An HTTP error with a message, as FastAPI's `HTTPException` answers it.
    Http(StatusCode, String),
    /// The request did not validate: Pydantic's errors.
    Invalid(Vec<FieldError>),
}

/// One validation error, as Pydantic reports it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub(crate) struct FieldError {
    /// Where: `["body", "subParams", "arguments"]`, `["path", "task_id"]`...
    #[schema(value_type = Vec<Object>)]
    pub loc: Vec<Value>,
    /// What is wrong, and what to do about it.
    pub msg: String,
    /// Pydantic's kind of error: `missing`, `string_type`, `int_parsing`, `json_invalid`,
    /// `value_error`...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The value refused, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

/// `{"detail": "..."}`, FastAPI's shape for HTTP errors.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Detail {
    pub detail: String,
}

/// 422's body: `{"detail": [ ... ]}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValidationErrors {
    pub detail: Vec<FieldError>,
}

impl FieldError {
    /// A value error on a body field, with Pydantic's "Value error, " prefix.
    pub(crate) fn value(loc: &[&str], msg: impl std::fmt::Display, input: Option<Value>) -> Self {
        Self {
            loc: loc.iter().map(|part| json!(part)).collect(),
            msg: format!("Value error, {msg}"),
            kind: "value_error",
            input,
        }
    }
}

impl Refusal {
    pub(crate) fn not_found() -> Self {
        Self::Http(StatusCode::NOT_FOUND, "not-found".to_owned())
    }

    pub(crate) fn conflict(detail: impl Into<String>) -> Self {
        Self::Http(StatusCode::CONFLICT, detail.into())
    }

    /// A value error on one body field.
    pub(crate) fn field(loc: &[&str], msg: impl std::fmt::Display, input: Option<Value>) -> Self {
        Self::Invalid(vec![FieldError::value(loc, msg, input)])
    }
}

impl From<Unavailable> for Refusal {
    fn from(unavailable: Unavailable) -> Self {
        Self::Http(StatusCode::SERVICE_UNAVAILABLE, unavailable.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Http(status, detail) => (status, Json(Detail { detail })).into_response(),
            Self::Invalid(detail) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(ValidationErrors { detail }),
            )
                .into_response(),
        }
    }
}
