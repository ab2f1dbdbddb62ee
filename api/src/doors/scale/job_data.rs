//! Scale's job data, read into a job type's inputs: the legacy "1.0" format of v5 (`job_data`,
//! `recipe_data`: `input_data` entries of `{name, value}`) and v6's `{"files": {...}, "json": {...}}`.
//! Hopper's inputs are text filled into the type's arguments, so a property value is taken as it is,
//! and a number or boolean as its JSON text. Hopper keeps no Scale files or workspaces: a `file_id`
//! is refused, saying to send the file's path as a value; `output_data` (where outputs go) is
//! accepted and not used, since every job writes to its own `${job_output_dir}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Why job data cannot be read; the door prefixes it (`Invalid job data: ...`).
pub(crate) type DataError = String;

/// Inputs from v5 job data (`job_data`, or `recipe_data`'s `input_data`). Version "6" data is taken
/// too, as Scale 6.x's `queue_new_job_for_user` does.
pub(crate) fn legacy(data: &Map<String, Value>) -> Result<BTreeMap<String, String>, DataError> {
    let version = match data.get("version") {
        None | Some(Value::Null) => "1.0".to_owned(),
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
    };
    match version.as_str() {
        "1.0" => {}
        "6" => return v6(data),
        other => return Err(format!("{other} is an unsupported version number")),
    }
    let entries = match data.get("input_data") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err("input_data must be a list".to_owned()),
    };
    let mut inputs = BTreeMap::new();
    for entry in entries {
        let Some(entry) = entry.as_object() else {
            return Err("every input_data entry must be an object".to_owned());
        };
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            return Err("every input_data entry needs a \"name\"".to_owned());
        };
        let value = if let Some(value) = entry.get("value") {
            text(name, value)?
        } else if entry.contains_key("file_id") || entry.contains_key("file_ids") {
            return Err(no_files(name));
        } else {
            return Err(format!("input {name} has no \"value\""));
        };
        if inputs.insert(name.to_owned(), value).is_some() {
            return Err(format!("{name} is a duplicate input name"));
        }
    }
    Ok(inputs)
}

/// Inputs from v6 data (`{"files": {name: [ids]}, "json": {name: value}}`).
pub(crate) fn v6(data: &Map<String, Value>) -> Result<BTreeMap<String, String>, DataError> {
    match data.get("files") {
        None | Some(Value::Null) => {}
        Some(Value::Object(files)) => {
            if let Some(name) = files.keys().next() {
                return Err(no_files(name));
            }
        }
        Some(_) => return Err("files must be an object".to_owned()),
    }
    let json = match data.get("json") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(json)) => json,
        Some(_) => return Err("json must be an object".to_owned()),
    };
    json.iter()
        .map(|(name, value)| Ok((name.clone(), text(name, value)?)))
        .collect()
}

/// An input's value as the text filled into the type's arguments.
fn text(name: &str, value: &Value) -> Result<String, DataError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        _ => Err(format!(
            "input {name} must have a string, number or boolean value"
        )),
    }
}

fn no_files(name: &str) -> DataError {
    format!(
        "input {name} names Scale files, which Hopper does not store; send the file's path as its \"value\""
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn legacy_data_gives_inputs() {
        let data = object(json!({"version": "1.0", "input_data": [
            {"name": "input_file", "value": "/data/a b.kml"}, {"name": "level", "value": 3}],
            "output_data": [{"name": "out", "workspace_id": 2}]}));
        let inputs = legacy(&data).expect("inputs");
        assert_eq!(
            inputs.get("input_file").map(String::as_str),
            Some("/data/a b.kml")
        );
        assert_eq!(inputs.get("level").map(String::as_str), Some("3"));
        assert!(legacy(&Map::new()).expect("empty").is_empty());
    }

    #[test]
    fn legacy_refusals_say_what_is_wrong() {
        let cases = [
            (
                json!({"version": "2.0"}),
                "2.0 is an unsupported version number",
            ),
            (json!({"input_data": [{"value": "x"}]}), "needs a \"name\""),
            (
                json!({"input_data": [{"name": "f", "file_id": 9}]}),
                "send the file's path",
            ),
            (
                json!({"input_data": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}),
                "a is a duplicate input name",
            ),
            (
                json!({"input_data": [{"name": "a", "value": [1]}]}),
                "string, number or boolean",
            ),
        ];
        for (data, want) in cases {
            let error = legacy(&object(data.clone())).expect_err("refused");
            assert!(error.contains(want), "{data}: {error}");
        }
    }

    #[test]
    fn v6_data_gives_inputs() {
        let data = object(json!({"files": {}, "json": {"input_file": "/d/x", "n": 2}}));
        let inputs = v6(&data).expect("inputs");
        assert_eq!(inputs.len(), 2);
        assert!(v6(&object(json!({"files": {"f": [1]}}))).is_err());
        let versioned = object(json!({"version": "6", "json": {"a": "b"}}));
        assert_eq!(legacy(&versioned).expect("v6 in v5").len(), 1);
    }
}
