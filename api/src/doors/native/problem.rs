//! Errors of the native API as RFC 9457 problem details (`application/problem+json`): a stable `type`,
//! a `title` per kind, the `status`, a `detail` saying what to do, and `field` naming the request field
//! at fault when there is one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::jobs::{Invalid, Unavailable};

/// One refused request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:hopper:problem:invalid-field`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    /// What went wrong, and what to do about it.
    pub detail: String,
    /// The request field at fault, as the client named it (`queues`, `labels.team`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &'static str, detail: String) -> Self {
        Self {
            kind: format!("urn:hopper:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail,
            field: None,
        }
    }

    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing or invalid token",
            detail.into(),
        )
    }

    pub(crate) fn forbidden(detail: String) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The token's role may not do this",
            detail,
        )
    }

    pub(crate) fn not_found(detail: String) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such resource",
            detail,
        )
    }

    pub(crate) fn method_not_allowed(detail: String) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            detail,
        )
    }

    pub(crate) fn conflict(detail: String) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            "The job is not in a state that allows this",
            detail,
        )
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            format!("the request body is larger than {limit} bytes (HOPPER_MAX_BODY)"),
        )
    }

    /// The body is not JSON, or not of the request's shape.
    pub(crate) fn malformed(detail: String, field: Option<String>) -> Self {
        Self {
            field,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                "Malformed request",
                detail,
            )
        }
    }

    /// Well-formed, but refused: a value out of range, an unknown queue, a bound passed.
    pub(crate) fn invalid(field: impl Into<String>, detail: String) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "A field is invalid",
                detail,
            )
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<Unavailable> for Problem {
    fn from(unavailable: Unavailable) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Hopper cannot reach Redis or RabbitMQ",
            unavailable.message.to_owned(),
        )
    }
}

impl From<Invalid> for Problem {
    fn from(invalid: Invalid) -> Self {
        Self::invalid(field_name(invalid.field), invalid.message)
    }
}

/// The core's name for a field, as this API calls it.
pub(crate) fn field_name(core: &str) -> &str {
    match core {
        "script" => "program",
        other => other,
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let unavailable = status == StatusCode::SERVICE_UNAVAILABLE;
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"hopper\""),
            );
        }
        response
    }
}
