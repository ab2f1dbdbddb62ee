//! Batchelor's answers: always HTTP 200 with `{"status":"success","result":...}` or
//! `{"status":"failure","message":...,"code":...}`, encoded as PHP's `json_encode` does with the
//! request's output modifiers (`pretty`, `escape`, `numeric`, `unicode`, `fraction`); `fopen` with
//! `send` answers the file's bytes themselves.

use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::php_json::{Modifiers, encode};

/// A method's refusal: the original's message, and its exception code (0 for most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub message: String,
    pub code: i64,
}

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 0,
        }
    }
}

impl From<crate::jobs::Unavailable> for Failure {
    fn from(unavailable: crate::jobs::Unavailable) -> Self {
        Self {
            message: unavailable.to_string(),
            code: 503,
        }
    }
}

/// What a method answers when it succeeds.
pub(crate) enum Success {
    Result(Value),
    /// `select`: the new hostid, remembered in the `hostid` cookie.
    Selected(String),
    /// `fopen` with `send`: the bytes, their MIME type and the name to save them under.
    File {
        bytes: Vec<u8>,
        mime: String,
        name: String,
    },
}

/// The whole answer to a request.
pub(crate) fn answer(outcome: Result<Success, Failure>, modifiers: &Modifiers) -> Response {
    let envelope = |value: Value| {
        (
            StatusCode::OK,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            encode(&value, modifiers),
        )
    };
    match outcome {
        Ok(Success::Result(result)) => {
            envelope(json!({"status": "success", "result": result})).into_response()
        }
        Ok(Success::Selected(hostid)) => {
            let mut response =
                envelope(json!({"status": "success", "result": hostid})).into_response();
            if let Ok(cookie) = HeaderValue::from_str(&format!("hostid={hostid}; path=/")) {
                response.headers_mut().insert(SET_COOKIE, cookie);
            }
            response
        }
        Ok(Success::File { bytes, mime, name }) => {
            let disposition = format!("attachment; filename=\"{}\"", name.replace('"', ""));
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            if let Ok(mime) = HeaderValue::from_str(&mime) {
                headers.insert(CONTENT_TYPE, mime);
            }
            if let Ok(disposition) = HeaderValue::from_str(&disposition) {
                headers.insert(CONTENT_DISPOSITION, disposition);
            }
            response
        }
        Err(failure) => envelope(json!({
            "status": "failure", "message": failure.message, "code": failure.code,
        }))
        .into_response(),
    }
}
