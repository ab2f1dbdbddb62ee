//! A POST body as Scale's views take it: `parser_classes = (JSONParser,)`, so DRF's rules and words
//! (reference §6). The body is read by hand rather than with axum's `Json`, whose refusals are its own.

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};

use super::ScaleError;
use crate::doors::json_object::NotAnObject;

/// The body's JSON object. An empty body is an empty object, as DRF gives `request.data` for a request
/// without content; a body of another media type is 415, malformed JSON 400, in DRF's words.
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, ScaleError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if !is_json(&media_type) {
        return Err(ScaleError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            body: json!({ "detail": format!("Unsupported media type \"{media_type}\" in request.") }),
        });
    }
    crate::doors::json_object::parse(body).map_err(|refused| {
        ScaleError::bad_parameter(match refused {
            // DRF parses it and the view then fails on `request.data.get` (a 500); say what it needs.
            NotAnObject::Other(kind) => {
                format!("JSON parse error - the body must be a JSON object, not {kind}")
            }
            NotAnObject::Malformed(error) => format!("JSON parse error - {error}"),
        })
    })
}

/// `application/json`, with or without parameters (`; charset=utf-8`), as DRF's `media_type_matches`.
fn is_json(media_type: &str) -> bool {
    media_type
        .split(';')
        .next()
        .is_some_and(|main| main.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(header::CONTENT_TYPE, value.parse().expect("header"));
        }
        headers
    }

    #[test]
    fn drf_refusals_in_drf_words() {
        let plain = json_object(&headers(Some("text/plain")), b"x").expect_err("415");
        assert_eq!(plain.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            plain.body,
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        );
        let none = json_object(&headers(None), b"{}").expect_err("no type");
        assert_eq!(
            none.body,
            json!({"detail": "Unsupported media type \"\" in request."})
        );
        let broken = json_object(&headers(Some("application/json")), b"{\"a\":").expect_err("400");
        assert_eq!(broken.status, StatusCode::BAD_REQUEST);
        let detail = broken.body["detail"].as_str().expect("detail");
        assert!(detail.starts_with("JSON parse error - "), "{detail}");
        let list = json_object(&headers(Some("application/json")), b"[1]").expect_err("list");
        assert!(
            list.body["detail"]
                .as_str()
                .expect("detail")
                .contains("not an array")
        );
    }

    #[test]
    fn objects_and_empty_bodies_are_taken() {
        let map = json_object(
            &headers(Some("application/json; charset=utf-8")),
            b"{\"a\":1}",
        )
        .expect("object");
        assert_eq!(map.get("a"), Some(&json!(1)));
        assert!(json_object(&headers(None), b"").expect("empty").is_empty());
    }
}
