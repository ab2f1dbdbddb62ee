//! The Scale door as its clients call it, for the Scale test files: a node with a types file and the
//! door open, one request with its status, `Location` and JSON body, and the keys of an answer.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::api_client::Api;
use crate::helpers::TestEnv;

pub(crate) async fn scale_node(env: &TestEnv, types: &str) -> Api {
    let path = env.path("types.toml");
    std::fs::write(&path, types).expect("types file");
    let flags = env
        .api_flags()
        .set("--job-types", path.display().to_string())
        .set("--open-doors", "scale");
    env.api_with(flags).await
}

/// One request; the status, the `Location` header and the JSON body (`Null` for none).
pub(crate) async fn call(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = api.client.request(method, format!("{}{path}", api.url));
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("ASCII").to_owned());
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, location, body)
}

/// POSTs `body` to `path`: the status, the `Location` if any, and the JSON body.
pub(crate) async fn post(
    api: &Api,
    path: &str,
    body: &Value,
) -> (StatusCode, Option<String>, Value) {
    call(api, Method::POST, path, Some(body)).await
}

/// GETs `path`: the status and the JSON body.
pub(crate) async fn get(api: &Api, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = call(api, Method::GET, path, None).await;
    (status, body)
}

/// The keys of a JSON object, in order.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// The job type fields of the v6 seed's queue status example.
pub(crate) const V6_SEED_TYPE: [&str; 10] = [
    "id",
    "name",
    "version",
    "title",
    "description",
    "is_active",
    "is_paused",
    "is_published",
    "icon_code",
    "unmet_resources",
];

/// `value` has every one of `wanted` among its keys.
pub(crate) fn has_every(value: &Value, wanted: &[&str]) {
    let got = keys(value);
    let missing: Vec<&&str> = wanted.iter().filter(|k| !got.contains(k)).collect();
    assert!(missing.is_empty(), "missing {missing:?} in {value}");
}
