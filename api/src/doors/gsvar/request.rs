//! Decoding GSvar's request bodies, field by field, so that every refusal names the field at fault.

use crate::doors::json_object::NotAnObject;
use serde_json::{Map, Value};

use super::GsvarError;
use crate::{JobRequest, Role};

/// One decoded GSvar request. Fields GSvar sends that Hopper does not need (`qe_job_queue`,
/// `qe_job_type`) and any unknown ones are ignored.
#[derive(Debug)]
pub(super) enum Action {
    Submit(Box<JobRequest>),
    Update { id: String },
    Delete { id: String },
}

/// The body as a JSON object; anything else is refused before the token is even looked at.
pub(super) fn object(body: &[u8]) -> Result<Map<String, Value>, GsvarError> {
    crate::doors::json_object::parse(body).map_err(|refused| {
        GsvarError::BadRequest(match refused {
            NotAnObject::Other(kind) => {
                format!("the request body must be a JSON object, not {kind}")
            }
            NotAnObject::Malformed(error) => format!("the request body is not valid JSON: {error}"),
        })
    })
}

/// The `token` field. A missing or non-string token is unauthorized, not malformed: GSvar keeps its jobs
/// queued on a 401 until the token is fixed.
pub(super) fn token(body: &Map<String, Value>) -> Result<&str, GsvarError> {
    body.get("token")
        .and_then(Value::as_str)
        .ok_or(GsvarError::Unauthorized(
            "missing token: send the qe_secure_token as \"token\"",
        ))
}

/// The action a request asks for, read before its fields so that a token's role is checked first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verb {
    Submit,
    Update,
    Delete,
}

impl Verb {
    /// The least role allowed to do this.
    pub(super) fn needs(self) -> Role {
        match self {
            Self::Update => Role::Read,
            Self::Submit | Self::Delete => Role::Submit,
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            Self::Submit => "submit jobs",
            Self::Update => "read job status",
            Self::Delete => "delete jobs",
        }
    }
}

pub(super) fn verb(body: &Map<String, Value>) -> Result<Verb, GsvarError> {
    match string(body, "action")?.as_str() {
        "submit" => Ok(Verb::Submit),
        "update" => Ok(Verb::Update),
        "delete" => Ok(Verb::Delete),
        other => Err(GsvarError::BadRequest(format!(
            "unknown action '{}': expected submit, update or delete",
            hopper_common::excerpt(other)
        ))),
    }
}

/// The fields of `verb`'s request.
pub(super) fn action(body: &Map<String, Value>, verb: Verb) -> Result<Action, GsvarError> {
    Ok(match verb {
        Verb::Submit => Action::Submit(Box::new(JobRequest {
            door: "gsvar",
            threads: integer(body, "threads")?,
            queues: strings(body, "queues")?,
            script: string(body, "script")?,
            args: strings(body, "script_args")?,
            working_directory: string(body, "working_directory")?,
            ..JobRequest::default()
        })),
        Verb::Update => Action::Update {
            id: string(body, "qe_job_id")?,
        },
        Verb::Delete => Action::Delete {
            id: string(body, "qe_job_id")?,
        },
    })
}

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a Value, GsvarError> {
    body.get(name)
        .ok_or_else(|| GsvarError::BadRequest(format!("missing field '{name}'")))
}

fn mistyped(name: &str, expected: &str, found: &Value) -> GsvarError {
    GsvarError::BadRequest(format!(
        "field '{name}' must be {expected}, not {}",
        crate::doors::json_object::kind(found)
    ))
}

fn string(body: &Map<String, Value>, name: &str) -> Result<String, GsvarError> {
    let value = field(body, name)?;
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| mistyped(name, "a string", value))
}

fn integer(body: &Map<String, Value>, name: &str) -> Result<i64, GsvarError> {
    let value = field(body, name)?;
    match value {
        // Out of i64's range is still an integer; saturate so the range check refuses it with a reason.
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.as_i64().unwrap_or(i64::MAX)),
        _ => Err(mistyped(name, "an integer", value)),
    }
}

fn strings(body: &Map<String, Value>, name: &str) -> Result<Vec<String>, GsvarError> {
    let value = field(body, name)?;
    let items = value
        .as_array()
        .ok_or_else(|| mistyped(name, "an array of strings", value))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| mistyped(name, "an array of strings", value))
        })
        .collect()
}
