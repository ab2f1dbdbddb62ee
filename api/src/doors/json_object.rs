//! A request body that must be one JSON object, as the GSvar and Scale doors take theirs; each door
//! says why one is refused in its own words.

use serde_json::{Map, Value};

/// Why a body is not a JSON object.
#[derive(Debug)]
pub(crate) enum NotAnObject {
    /// It is not JSON at all.
    Malformed(serde_json::Error),
    /// It is JSON of another kind: `"an array"`, `"a string"`, ...
    Other(&'static str),
}

pub(crate) fn parse(body: &[u8]) -> Result<Map<String, Value>, NotAnObject> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(NotAnObject::Other(kind(&other))),
        Err(error) => Err(NotAnObject::Malformed(error)),
    }
}

/// What kind of JSON value it is, as messages say it: "an array", "a string".
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
