//! Reading request bodies as the original's Pydantic models read them, with its errors: every field at
//! fault is reported at once, each with its place (`["body", "retriesLeft"]`), Pydantic's message and
//! kind. Like Pydantic's default (lax) mode, an integer may come as a JSON number or a string of
//! digits, and keys the model does not know are ignored.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::error::{FieldError, Refusal};

/// A JSON object body being read, collecting the errors of its fields.
pub(crate) struct Body {
    fields: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Body {
    /// Parses `bytes` as a JSON object; an empty body is `{}` when `empty_ok` (every field has a
    /// default), else "Field required".
    pub(crate) fn parse(bytes: &[u8], empty_ok: bool) -> Result<Self, Refusal> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            if empty_ok {
                return Ok(Self::of(Map::new()));
            }
            return Err(Refusal::Invalid(vec![error(
                &["body"],
                "missing",
                "Field required",
                Some(Value::Null),
            )]));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => Ok(Self::of(fields)),
            Ok(other) => Err(Refusal::Invalid(vec![error(
                &["body"],
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
                Some(other),
            )])),
            Err(why) => Err(Refusal::Invalid(vec![FieldError {
                loc: vec![json!("body"), json!(why.column())],
                msg: format!("JSON decode error: {why}"),
                kind: "json_invalid",
                input: Some(json!({})),
            }])),
        }
    }

    fn of(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            errors: Vec::new(),
        }
    }

    /// An integer field; `default` when absent (`None`: required).
    pub(crate) fn int(&mut self, name: &str, default: Option<i64>) -> i64 {
        match self.fields.get(name) {
            None => self
                .absent(name, default.is_some())
                .unwrap_or(default.unwrap_or(0)),
            Some(value) => match as_int(value) {
                Ok(n) => n,
                Err((kind, msg)) => self.fail(name, kind, msg, value.clone()).unwrap_or(0),
            },
        }
    }

    /// An integer field that may also be `null` (`None`); required.
    pub(crate) fn nullable_int(&mut self, name: &str) -> Option<i64> {
        match self.fields.get(name) {
            None => self.absent(name, false).unwrap_or(None),
            Some(Value::Null) => None,
            Some(value) => match as_int(value) {
                Ok(n) => Some(n),
                Err((kind, msg)) => self.fail(name, kind, msg, value.clone()).unwrap_or(None),
            },
        }
    }

    /// A string field, `""` when absent.
    pub(crate) fn string(&mut self, name: &str) -> String {
        match self.fields.get(name) {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(value) => {
                let value = value.clone();
                self.fail(name, "string_type", "Input should be a valid string", value)
                    .unwrap_or_default()
            }
        }
    }

    /// A field that may be absent or `null` and is kept as it came.
    pub(crate) fn raw(&mut self, name: &str, required: bool) -> Option<Value> {
        match self.fields.get(name) {
            None => {
                let _ = self.absent::<()>(name, !required);
                None
            }
            Some(value) => Some(value.clone()),
        }
    }

    /// A map of strings, `{}` when absent.
    pub(crate) fn string_map(&mut self, name: &str) -> BTreeMap<String, String> {
        let Some(value) = self.fields.get(name).cloned() else {
            return BTreeMap::new();
        };
        let Value::Object(map) = value else {
            return self
                .fail(
                    name,
                    "dict_type",
                    "Input should be a valid dictionary",
                    value,
                )
                .unwrap_or_default();
        };
        let mut strings = BTreeMap::new();
        for (key, value) in map {
            match value {
                Value::String(s) => {
                    strings.insert(key, s);
                }
                other => self.errors.push(error(
                    &["body", name, &key],
                    "string_type",
                    "Input should be a valid string",
                    Some(other),
                )),
            }
        }
        strings
    }

    /// Records a value error on a field (a rule of Hopper's, beyond the type).
    pub(crate) fn refuse(
        &mut self,
        loc: &[&str],
        msg: impl std::fmt::Display,
        input: Option<Value>,
    ) {
        self.errors.push(FieldError::value(loc, msg, input));
    }

    /// Ends the reading: the refusal with every error found, if any.
    pub(crate) fn finish(self) -> Result<(), Refusal> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Invalid(self.errors))
        }
    }

    fn absent<T>(&mut self, name: &str, has_default: bool) -> Option<T> {
        if !has_default {
            self.errors.push(error(
                &["body", name],
                "missing",
                "Field required",
                Some(Value::Object(self.fields.clone())),
            ));
        }
        None
    }

    fn fail<T>(&mut self, name: &str, kind: &'static str, msg: &str, input: Value) -> Option<T> {
        self.errors
            .push(error(&["body", name], kind, msg, Some(input)));
        None
    }
}

fn error(loc: &[&str], kind: &'static str, msg: &str, input: Option<Value>) -> FieldError {
    FieldError {
        loc: loc.iter().map(|part| json!(part)).collect(),
        msg: msg.to_owned(),
        kind,
        input,
    }
}

/// Pydantic's lax integer: a JSON integer, a float without a fraction, or a string of one.
fn as_int(value: &Value) -> Result<i64, (&'static str, &'static str)> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .ok_or((
                "int_from_float",
                "Input should be a valid integer, got a number with a fractional part",
            )),
        Value::String(s) => s.trim().parse().map_err(|_| {
            (
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            )
        }),
        _ => Err(("int_type", "Input should be a valid integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(refusal: Refusal) -> Vec<(String, &'static str)> {
        let Refusal::Invalid(errors) = refusal else {
            panic!("not a validation error");
        };
        errors
            .into_iter()
            .map(|e| (serde_json::to_string(&e.loc).expect("loc"), e.kind))
            .collect()
    }

    /// Types are checked as Pydantic checks them, every error is reported, defaults fill what is
    /// absent, and a body that is not a JSON object is refused as a whole.
    #[test]
    fn fields_are_read_as_pydantic_reads_them() {
        let mut body =
            Body::parse(br#"{"a": "7", "b": 2.0, "m": {"k": "v"}}"#, false).expect("json");
        assert_eq!(
            (
                body.int("a", None),
                body.int("b", None),
                body.int("c", Some(2))
            ),
            (7, 2, 2)
        );
        assert_eq!(body.string_map("m").get("k").map(String::as_str), Some("v"));
        assert!(body.finish().is_ok());

        let mut body =
            Body::parse(br#"{"a": "x", "b": 1.5, "m": {"k": 1}, "s": 5}"#, false).expect("json");
        body.int("a", None);
        body.int("b", None);
        body.int("missing", None);
        body.string_map("m");
        body.string("s");
        assert_eq!(
            kinds(body.finish().expect_err("invalid")),
            [
                (r#"["body","a"]"#.to_owned(), "int_parsing"),
                (r#"["body","b"]"#.to_owned(), "int_from_float"),
                (r#"["body","missing"]"#.to_owned(), "missing"),
                (r#"["body","m","k"]"#.to_owned(), "string_type"),
                (r#"["body","s"]"#.to_owned(), "string_type"),
            ]
        );
        assert_eq!(
            kinds(Body::parse(b"[1]", true).err().expect("array")),
            [(r#"["body"]"#.to_owned(), "model_attributes_type")]
        );
        assert_eq!(
            kinds(Body::parse(b"{", true).err().expect("broken")).len(),
            1
        );
        assert!(Body::parse(b"", true).is_ok());
        assert_eq!(
            kinds(Body::parse(b" ", false).err().expect("empty")),
            [(r#"["body"]"#.to_owned(), "missing")]
        );
    }
}
