//! `readdir` and `fopen`: a job's directory, `<HOPPER_BATCHELOR_ROOT>/<hostid>/<result>/`, listed
//! and read; nothing outside it (see `files.rs`).

use base64::Engine;
use serde_json::{Map, Value};

use super::files;
use super::methods::{Call, identified};
use super::reply::{Failure, Success};
use super::view::Kept;

pub(crate) async fn call(method: &str, call: &Call<'_>) -> Result<Success, Failure> {
    let Some(root) = call.state.batchelor.root.clone() else {
        return Err(Failure::new(
            "This server keeps no job files: HOPPER_BATCHELOR_ROOT is not set",
        ));
    };
    if method == "readdir" {
        let job = identified(call, &call.input).await?;
        let dir = root.join(&call.hostid).join(Kept::of(&job).result);
        let entries = files::list(&dir).map_err(|e| Failure::new(e.to_string()))?;
        return Ok(Success::Result(
            serde_json::to_value(entries).unwrap_or_default(),
        ));
    }
    let identity = match call.input.get("job") {
        Some(Value::Object(identity)) => identity.clone(),
        _ => Map::new(),
    };
    let job = identified(call, &identity).await?;
    let file = call.input.get("file").and_then(Value::as_str).unwrap_or("");
    let send = call
        .input
        .get("send")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let dir = root.join(&call.hostid).join(Kept::of(&job).result);
    let opened = files::open(&dir, file, files::DEFAULT_READ_LIMIT)
        .map_err(|e| Failure::new(e.to_string()))?;
    let (bytes, mime, name) = opened.into_parts();
    if send {
        Ok(Success::File { bytes, mime, name })
    } else {
        Ok(Success::Result(Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )))
    }
}
