//! A client of the native API (`/api/v1`) that keeps every exchange, and checks them all against the
//! OpenAPI document the node serves: each status must be documented for its operation, with its
//! content type, and each JSON body must validate against the documented schema (a text body, such as
//! a job's log, only by its status and content type). Every native test ends with that check, so the
//! document cannot drift from what the server does.

use std::sync::Mutex;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_client::Api;
use crate::helpers::eventually;

/// One request and its answer.
#[derive(Debug, Clone)]
struct Exchange {
    method: Method,
    path: String,
    status: StatusCode,
    content_type: String,
    body: Value,
}

/// An answer: status, headers, and the body as JSON (`Null` when empty; a string when the content type
/// is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

pub struct Native<'a> {
    api: &'a Api,
    token: Option<String>,
    seen: Mutex<Vec<Exchange>>,
}

impl<'a> Native<'a> {
    pub fn new(api: &'a Api, token: &str) -> Self {
        Self {
            api,
            token: Some(token.to_owned()),
            seen: Mutex::default(),
        }
    }

    /// A client that sends no `Authorization` header.
    pub fn anonymous(api: &'a Api) -> Self {
        Self {
            token: None,
            ..Self::new(api, "")
        }
    }

    /// Sends a request; `body` is sent as JSON when given. Extra headers as (name, value).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .api
            .client
            .request(method.clone(), format!("{}{path}", self.api.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = if text.is_empty() {
            Value::Null
        } else if is_json(&content_type) {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text:?}"))
        } else {
            Value::String(text)
        };
        self.seen.lock().expect("lock").push(Exchange {
            method,
            path: path.to_owned(),
            status,
            content_type,
            body: body.clone(),
        });
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A submit body: `program` with `args` in `queues`, one thread, the test's work directory.
    pub fn job(&self, program: &str, args: &[&str], queues: &[&str]) -> Value {
        json!({
            "program": program,
            "args": args,
            "queues": queues,
            "working_directory": self.api.work.display().to_string(),
        })
    }

    /// Submits `body`, which must be accepted (201); returns the job.
    pub async fn submit(&self, body: &Value) -> Value {
        let answer = self
            .call(Method::POST, "/api/v1/jobs", Some(body), &[])
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body
    }

    /// Cancels job `id` (`DELETE /api/v1/jobs/{id}`).
    pub async fn delete(&self, id: &str) -> Answer {
        self.call(Method::DELETE, &format!("/api/v1/jobs/{id}"), None, &[])
            .await
    }

    /// POSTs to `path` with no body (retry, suspend, resume).
    pub async fn post(&self, path: &str) -> Answer {
        self.call(Method::POST, path, None, &[]).await
    }

    pub async fn get(&self, id: &str) -> Answer {
        self.call(Method::GET, &format!("/api/v1/jobs/{id}"), None, &[])
            .await
    }

    /// Polls the job until its state is one of `states`; returns it.
    pub async fn until_state(&self, id: &str, states: &[&str]) -> Value {
        eventually(&format!("job {id} to be {states:?}"), || async {
            let job = self.get(id).await.body;
            states.iter().any(|s| job["state"] == *s).then_some(job)
        })
        .await
    }

    /// Checks every exchange so far against the node's OpenAPI document (see the module's doc).
    pub async fn conforms(&self) {
        let document = self
            .api
            .client
            .get(format!("{}/openapi.json", self.api.url))
            .send()
            .await
            .expect("GET /openapi.json")
            .json::<Value>()
            .await
            .expect("OpenAPI JSON");
        let seen = self.seen.lock().expect("lock").clone();
        assert!(!seen.is_empty(), "no exchange to check");
        for exchange in &seen {
            check(&document, exchange);
        }
    }
}

fn check(document: &Value, exchange: &Exchange) {
    let what = format!(
        "{} {} answered {}",
        exchange.method, exchange.path, exchange.status
    );
    let path = exchange.path.split('?').next().unwrap_or_default();
    let (_, item) = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .find(|(template, _)| matches(template, path))
        .unwrap_or_else(|| panic!("{what}: path not in the OpenAPI document"));
    let operation = &item[exchange.method.as_str().to_lowercase()];
    assert!(operation.is_object(), "{what}: method not documented");
    let response = &operation["responses"][exchange.status.as_str()];
    assert!(response.is_object(), "{what}: status not documented");
    let media = exchange
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    assert!(
        response["content"][media].is_object(),
        "{what}: content type {media} not documented"
    );
    if !is_json(media) {
        // Text (a job's log, its events) has no JSON schema to meet.
        return;
    }
    let schema = &response["content"][media]["schema"];
    assert!(schema.is_object(), "{what}: {media} has no schema");
    // The schema's references point into the document: validate with the document as the root, the
    // schema's own keywords put into it (the document's keys are no JSON Schema keywords).
    let mut root = document.clone();
    for (keyword, value) in schema.as_object().expect("schema object") {
        root[keyword] = value.clone();
    }
    let validator = jsonschema::validator_for(&root).expect("the document's schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(&exchange.body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: body does not match its schema: {errors:?}\n{}",
        exchange.body
    );
}

/// Whether a content type is JSON (`application/json`, `application/problem+json`).
fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    media == "application/json" || media.ends_with("+json")
}

/// Whether `path` fits the template (`/api/v1/jobs/{id}` fits `/api/v1/jobs/17`).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}
