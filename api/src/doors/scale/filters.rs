//! Scale's repeatable filters: `/load/`'s `job_type_*` query keys and the v5 requeue's body lists,
//! parsed as `util/rest.py`'s `parse_int_list`, `parse_string_list`, `parse_string` and `parse_int`.

use serde_json::Value;

use super::{Params, Raw, ScaleError};

/// What Python's `int(text)` gives: surrounding whitespace is stripped, one sign is allowed, and the
/// rest must be ASCII digits. `Big` keeps a valid integer too large for `i64` apart from garbage,
/// because DRF clamps a huge `page_size` instead of ignoring it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PyInt {
    Small(i64),
    Big { negative: bool },
}

pub(crate) fn python_int(text: &str) -> Option<PyInt> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        t.parse::<i64>()
            .map_or(PyInt::Big { negative }, PyInt::Small),
    )
}

/// `'Parameter must be a valid integer: "%s"'` (`parse_int`, `parse_int_list`; reference §1.1).
pub(crate) fn not_an_integer(name: &str) -> ScaleError {
    ScaleError::bad_parameter(format!("Parameter must be a valid integer: \"{name}\""))
}

/// One value through Python's `int()`: text as above; a JSON number as itself (a float truncated
/// toward zero, as `int(5.7)` is 5); a boolean as 0 or 1. Integers outside `i64` are refused with the
/// same 400: Scale would pass them to PostgreSQL and answer 500, so a 400 is the kinder difference.
fn int_of(raw: &Raw<'_>, name: &str) -> Result<i64, ScaleError> {
    let value = match raw {
        Raw::Text(t) => match python_int(t) {
            Some(PyInt::Small(n)) => Some(n),
            _ => None,
        },
        Raw::Json(Value::String(t)) => match python_int(t) {
            Some(PyInt::Small(n)) => Some(n),
            _ => None,
        },
        Raw::Json(Value::Number(n)) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.2e18)
                .map(|f| f.trunc() as i64)
        }),
        Raw::Json(Value::Bool(b)) => Some(i64::from(*b)),
        Raw::Json(_) => None,
    };
    value.ok_or_else(|| not_an_integer(name))
}

/// `parse_int_list(..., required=False)`: absent gives an empty list, which filters nothing.
pub(crate) fn int_list(params: &Params<'_>, name: &str) -> Result<Vec<i64>, ScaleError> {
    params
        .list(name)
        .unwrap_or_default()
        .iter()
        .map(|raw| int_of(raw, name))
        .collect()
}

/// `parse_int(..., required=False)`. Scale passes any non-text JSON value on unchecked (a float or a
/// boolean would then reach the queue); Hopper takes only whole numbers and answers the integer 400.
pub(crate) fn optional_int(params: &Params<'_>, name: &str) -> Result<Option<i64>, ScaleError> {
    match params.value(name) {
        None => Ok(None),
        Some(Raw::Json(Value::Number(n))) => {
            n.as_i64().map(Some).ok_or_else(|| not_an_integer(name))
        }
        Some(raw @ (Raw::Text(_) | Raw::Json(Value::String(_)))) => int_of(&raw, name).map(Some),
        Some(Raw::Json(_)) => Err(not_an_integer(name)),
    }
}

/// `parse_int(...)` of a required parameter: `'Missing required parameter: "%s"'` when absent.
pub(crate) fn required_int(params: &Params<'_>, name: &str) -> Result<i64, ScaleError> {
    optional_int(params, name)?
        .ok_or_else(|| ScaleError::bad_parameter(format!("Missing required parameter: \"{name}\"")))
}

/// Text of one string-list element: Django compares `str(value)` with the column, so a JSON number
/// becomes its decimal text. Arrays and objects have no meaning as a name; Scale answers 500 for
/// them, Hopper a 400 naming the parameter.
fn text_of(raw: &Raw<'_>, name: &str) -> Result<String, ScaleError> {
    match raw {
        Raw::Text(t) => Ok((*t).to_owned()),
        Raw::Json(Value::String(t)) => Ok(t.clone()),
        Raw::Json(Value::Number(n)) => Ok(n.to_string()),
        Raw::Json(Value::Bool(b)) => Ok(if *b { "True" } else { "False" }.to_owned()),
        Raw::Json(_) => Err(ScaleError::bad_parameter(format!(
            "Parameter must be a string or a list of strings: \"{name}\""
        ))),
    }
}

/// `parse_string_list(..., required=False)`: values as given, empty ones included (they match nothing).
pub(crate) fn string_list(params: &Params<'_>, name: &str) -> Result<Vec<String>, ScaleError> {
    params
        .list(name)
        .unwrap_or_default()
        .iter()
        .map(|raw| text_of(raw, name))
        .collect()
}

/// `parse_string(..., required=False)` of a filter: "" is no filter, as Scale's `if status:` has it.
pub(crate) fn optional_text(params: &Params<'_>, name: &str) -> Result<Option<String>, ScaleError> {
    let text = params
        .value(name)
        .map(|raw| text_of(&raw, name))
        .transpose()?;
    Ok(text.filter(|t| !t.is_empty()))
}

/// The filters of `GET /load/` (`JobLoadView.list`, §1.3). Empty means "no filter".
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LoadFilters {
    pub job_type_ids: Vec<i64>,
    pub job_type_names: Vec<String>,
    pub job_type_categories: Vec<String>,
    /// Scale parses these as strings and lets the database cast them, so `abc` is a 500 there; Hopper
    /// checks them as integers up front and answers Scale's integer 400 instead.
    pub job_type_priorities: Vec<i64>,
}

/// `/load/`'s filters, in Scale's order (after `started`/`ended`, whose errors come first).
pub(crate) fn load_filters(params: &Params<'_>) -> Result<LoadFilters, ScaleError> {
    Ok(LoadFilters {
        job_type_ids: int_list(params, "job_type_id")?,
        job_type_names: string_list(params, "job_type_name")?,
        job_type_categories: string_list(params, "job_type_category")?,
        job_type_priorities: int_list(params, "job_type_priority")?,
    })
}

/// The filters of v5 `POST /queue/requeue-jobs/` (`RequeueJobsView.post`, §1.7), besides
/// `started`/`ended` (see `time_range::optional_range`). `/queue/status/` has none but pagination.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RequeueFilters {
    /// Not validated by Scale (any text; the docs' choices are CANCELED and FAILED); "" is no filter.
    pub status: Option<String>,
    pub job_ids: Vec<i64>,
    pub job_type_ids: Vec<i64>,
    pub job_type_names: Vec<String>,
    pub job_type_categories: Vec<String>,
    pub error_categories: Vec<String>,
    pub priority: Option<i64>,
}

/// The requeue filters, in the order `RequeueJobsView.post` parses them (so the first bad one is the
/// one reported).
pub(crate) fn requeue_filters(params: &Params<'_>) -> Result<RequeueFilters, ScaleError> {
    let status = optional_text(params, "status")?;
    Ok(RequeueFilters {
        status,
        job_ids: int_list(params, "job_ids")?,
        job_type_ids: int_list(params, "job_type_ids")?,
        job_type_names: string_list(params, "job_type_names")?,
        job_type_categories: string_list(params, "job_type_categories")?,
        error_categories: string_list(params, "error_categories")?,
        priority: optional_int(params, "priority")?,
    })
}

#[cfg(test)]
mod tests {
    // A failed unwrap in a table-driven test names the case in its panic; that is the point here.
    #![allow(clippy::unwrap_used, clippy::type_complexity)]

    use super::*;
    use serde_json::json;

    fn detail(e: ScaleError) -> (u16, String) {
        (
            e.status.as_u16(),
            e.body["detail"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn python_int_forms() {
        let cases = [
            ("12", Some(PyInt::Small(12))),
            (" 12\t", Some(PyInt::Small(12))),
            ("+5", Some(PyInt::Small(5))),
            ("-3", Some(PyInt::Small(-3))),
            ("007", Some(PyInt::Small(7))),
            ("99999999999999999999", Some(PyInt::Big { negative: false })),
            ("-99999999999999999999", Some(PyInt::Big { negative: true })),
            ("", None),
            ("1.0", None),
            ("abc", None),
            ("1 2", None),
            ("+-1", None),
            ("0x10", None),
        ];
        for (text, want) in cases {
            assert_eq!(python_int(text), want, "{text:?}");
        }
    }

    #[test]
    fn load_filters_from_repeated_keys() {
        let p = Params::new(
            "job_type_id=1&job_type_id=2&job_type_name=a,b&job_type_name=c%20d&job_type_category=x&job_type_priority=%2B10",
            None,
        );
        assert_eq!(
            load_filters(&p),
            Ok(LoadFilters {
                job_type_ids: vec![1, 2],
                job_type_names: vec!["a,b".into(), "c d".into()], // commas are not split
                job_type_categories: vec!["x".into()],
                job_type_priorities: vec![10],
            })
        );
        assert_eq!(
            load_filters(&Params::new("", None)),
            Ok(LoadFilters::default())
        );
    }

    #[test]
    fn bad_values_answer_scale_400s() {
        let cases = [
            (
                "job_type_id=1&job_type_id=BAD",
                "Parameter must be a valid integer: \"job_type_id\"",
            ),
            (
                "job_type_id=",
                "Parameter must be a valid integer: \"job_type_id\"",
            ),
            (
                "job_type_id=1.5",
                "Parameter must be a valid integer: \"job_type_id\"",
            ),
            (
                "job_type_id=99999999999999999999",
                "Parameter must be a valid integer: \"job_type_id\"",
            ),
            (
                "job_type_priority=high",
                "Parameter must be a valid integer: \"job_type_priority\"",
            ),
            // The first bad parameter in Scale's order wins.
            (
                "job_type_priority=x&job_type_id=y",
                "Parameter must be a valid integer: \"job_type_id\"",
            ),
        ];
        for (query, want) in cases {
            assert_eq!(
                detail(load_filters(&Params::new(query, None)).unwrap_err()),
                (400, want.into()),
                "{query}"
            );
        }
    }

    #[test]
    fn requeue_filters_from_body_or_query() {
        let body = json!({
            "status": "FAILED", "job_ids": [1, "2", 3.7, true], "job_type_ids": [],
            "job_type_names": ["a", 5], "error_categories": ["SYSTEM"], "priority": 123
        });
        let p = Params::new("", body.as_object());
        assert_eq!(
            requeue_filters(&p),
            Ok(RequeueFilters {
                status: Some("FAILED".into()),
                job_ids: vec![1, 2, 3, 1],
                job_type_names: vec!["a".into(), "5".into()],
                error_categories: vec!["SYSTEM".into()],
                priority: Some(123),
                ..RequeueFilters::default()
            })
        );
        // The query string is read first; an empty body matches everything.
        let body = json!({"priority": "BAD"});
        let p = Params::new("priority=7", body.as_object());
        assert_eq!(requeue_filters(&p).unwrap().priority, Some(7));
        assert_eq!(
            requeue_filters(&Params::new("status=", None)),
            Ok(RequeueFilters::default())
        );
        let cases = [
            (
                json!({"job_ids": ["x"]}),
                "Parameter must be a valid integer: \"job_ids\"",
            ),
            (
                json!({"job_ids": [null]}),
                "Parameter must be a valid integer: \"job_ids\"",
            ),
            (
                json!({"job_type_ids": [[1]]}),
                "Parameter must be a valid integer: \"job_type_ids\"",
            ),
            (
                json!({"priority": "BAD"}),
                "Parameter must be a valid integer: \"priority\"",
            ),
            (
                json!({"priority": 1.5}),
                "Parameter must be a valid integer: \"priority\"",
            ),
        ];
        for (body, want) in cases {
            let p = Params::new("", body.as_object());
            assert_eq!(
                detail(requeue_filters(&p).unwrap_err()),
                (400, want.into()),
                "{body}"
            );
        }
    }
}
