//! The GSvar front door's reply contract, as the real GSvarServer client checks it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{READ_TOKEN, TOKEN, TestEnv};

/// GSvar rejects a qe_job_id that is not a string of 1-10 characters; we also keep it SQL-safe.
fn assert_job_id(reply: &Value) -> String {
    let id = reply["qe_job_id"]
        .as_str()
        .unwrap_or_else(|| panic!("qe_job_id not a string: {reply}"));
    assert!((1..=10).contains(&id.len()), "qe_job_id length: {reply}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "{reply}"
    );
    id.to_owned()
}

/// GSvar reads exit_code with QJsonValue::toInt, which turns anything but a number into 0 (success).
fn assert_exit_code_number(reply: &Value) -> i64 {
    reply["exit_code"]
        .as_i64()
        .unwrap_or_else(|| panic!("exit_code not a JSON integer: {reply}"))
}

/// A submit answers a JSON object with a string result, a numeric exit code 0 and a valid id; unknown
/// fields (qe_job_queue, qe_job_type, anything else) are ignored; empty queue names are dropped.
#[tokio::test]
async fn submit_reply_has_the_shape_gsvar_checks() {
    let env = TestEnv::new();
    let api = env.api().await;
    let mut body = api.submit_body("analyze.php", &["-folder", "x"], &["", "default", ""]);
    body["qe_job_queue"] = json!("");
    body["qe_job_type"] = json!("single sample");
    body["something_new"] = json!({"nested": [1, 2]});
    let (status, reply) = api.post(&body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(reply["result"].is_string(), "{reply}");
    assert_eq!(assert_exit_code_number(&reply), 0, "{reply}");
    let id = assert_job_id(&reply);
    let job = env.job(&id).await.expect("job recorded");
    let queues: Vec<&str> = job.spec.queues.iter().map(|q| q.as_str()).collect();
    assert_eq!(queues, ["default"], "empty queue names must be dropped");
    env.amqp_queue("default");
}

/// Before any worker takes it, a job answers `started` with an empty queue; status is never `queued`.
#[tokio::test]
async fn queued_job_answers_started_with_empty_queue() {
    let env = TestEnv::new();
    let api = env.api().await;
    env.amqp_queue("default");
    let id = api.submit("analyze.php", &[], &["default"]).await;
    let reply = api.update(&id).await;
    assert_eq!(reply["status"], "started", "{reply}");
    assert_eq!(reply["queue"], "", "{reply}");
    assert_eq!(assert_exit_code_number(&reply), 0);
    assert!(reply["result"].is_string());
}

/// An id Hopper never issued, or one that could not be an id, answers `error` (so GSvar stops polling).
#[tokio::test]
async fn unknown_job_id_answers_error() {
    let env = TestEnv::new();
    let api = env.api().await;
    for id in ["424242", "", "not an id!", "12345678901"] {
        let reply = api.update(id).await;
        assert_eq!(reply["status"], "error", "{id:?}: {reply}");
        assert_eq!(reply["queue"], "", "{reply}");
        assert!(
            reply["result"]
                .as_str()
                .is_some_and(|r| r.contains("unknown job id")),
            "{reply}"
        );
        assert_exit_code_number(&reply);
    }
}

/// Delete answers exit_code 0 for an empty id (job canceled before submission), an unknown id and an
/// id that cannot exist.
#[tokio::test]
async fn delete_of_empty_or_unknown_id_succeeds() {
    let env = TestEnv::new();
    let api = env.api().await;
    for id in ["", "999999", "x y"] {
        let reply = api.delete(id).await;
        assert_eq!(assert_exit_code_number(&reply), 0, "{id:?}: {reply}");
        assert!(reply["result"].is_string());
    }
}

/// A missing, wrong, empty or mistyped token answers 401 with a JSON body, and nothing is created.
#[tokio::test]
async fn bad_tokens_answer_401_and_create_nothing() {
    let env = TestEnv::new();
    let api = env.api().await;
    let good = api.submit_body("analyze.php", &[], &["default"]);
    let tokens = [
        None,
        Some(json!("wrong")),
        Some(json!("")),
        Some(json!(42)),
        Some(json!(null)),
    ];
    for token in tokens {
        let mut body = good.clone();
        match &token {
            None => drop(body.as_object_mut().expect("object").remove("token")),
            Some(value) => body["token"] = value.clone(),
        }
        let (status, reply) = api.post(&body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}: {reply}");
        assert!(
            reply["result"]
                .as_str()
                .is_some_and(|r| r.contains("token")),
            "{reply}"
        );
        assert_exit_code_number(&reply);
    }
    assert!(
        env.request_keys().await.is_empty(),
        "a refused request left keys behind"
    );
}

/// A read token may poll status but not submit or delete (403, JSON body, nothing created).
#[tokio::test]
async fn read_token_may_only_read() {
    let env = TestEnv::new();
    let api = env.api().await;
    let mut body = api.submit_body("analyze.php", &[], &["default"]);
    body["token"] = json!(READ_TOKEN);
    let (status, reply) = api.post(&body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    assert!(
        reply["result"]
            .as_str()
            .is_some_and(|r| r.contains("role read")),
        "{reply}"
    );
    let delete = json!({"action": "delete", "token": READ_TOKEN, "qe_job_id": "1"});
    assert_eq!(api.post(&delete).await.0, StatusCode::FORBIDDEN);
    let update = json!({"action": "update", "token": READ_TOKEN, "qe_job_id": "1"});
    let (status, reply) = api.post(&update).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["status"], "error");
    assert!(env.request_keys().await.is_empty());
}

/// Bodies that are not JSON objects, unknown or missing actions, and missing or mistyped fields answer
/// 400 with a JSON body naming the problem; nothing is created.
#[tokio::test]
async fn malformed_requests_answer_400_naming_the_problem() {
    let env = TestEnv::new();
    let api = env.api().await;
    for (raw, expected) in [
        ("", "not valid JSON"),
        ("{\"action\":", "not valid JSON"),
        ("[1,2]", "must be a JSON object"),
        ("\"submit\"", "must be a JSON object"),
        ("null", "must be a JSON object"),
    ] {
        let (status, reply) = api.post_bytes("/qe", raw.to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw:?}: {reply}");
        assert!(
            reply["result"]
                .as_str()
                .is_some_and(|r| r.contains(expected)),
            "{raw:?}: {reply}"
        );
        assert_exit_code_number(&reply);
    }
    let submit = api.submit_body("analyze.php", &["a"], &["default"]);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"token": TOKEN}), "missing field 'action'"),
        (
            json!({"token": TOKEN, "action": "check"}),
            "unknown action 'check'",
        ),
        (
            json!({"token": TOKEN, "action": 7}),
            "field 'action' must be a string",
        ),
        (
            json!({"token": TOKEN, "action": "update"}),
            "missing field 'qe_job_id'",
        ),
        (
            json!({"token": TOKEN, "action": "update", "qe_job_id": 5}),
            "field 'qe_job_id' must be a string",
        ),
        (
            json!({"token": TOKEN, "action": "delete"}),
            "missing field 'qe_job_id'",
        ),
        (
            with(&submit, "threads", json!("4")),
            "field 'threads' must be an integer",
        ),
        (
            with(&submit, "threads", json!(4.5)),
            "field 'threads' must be an integer",
        ),
        (
            with(&submit, "queues", json!("default")),
            "field 'queues' must be an array of strings",
        ),
        (
            with(&submit, "queues", json!([1])),
            "field 'queues' must be an array of strings",
        ),
        (
            with(&submit, "script_args", json!("-a -b")),
            "field 'script_args' must be an array of strings",
        ),
        (
            with(&submit, "script_args", json!(["-a", 1])),
            "field 'script_args' must be an array of strings",
        ),
        (
            with(&submit, "script", json!(null)),
            "field 'script' must be a string",
        ),
        (
            without(&submit, "working_directory"),
            "missing field 'working_directory'",
        ),
        (without(&submit, "threads"), "missing field 'threads'"),
    ];
    for (body, expected) in cases {
        let (status, reply) = api.post(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {reply}");
        assert!(
            reply["result"]
                .as_str()
                .is_some_and(|r| r.contains(expected)),
            "{expected}: {reply}"
        );
    }
    assert!(
        env.request_keys().await.is_empty(),
        "a malformed request left keys behind"
    );
}

/// A body over the configured limit answers 413 with a JSON body.
#[tokio::test]
async fn oversized_body_answers_413() {
    let env = TestEnv::new();
    let api = env
        .api_with(env.api_flags().set("--max-body", "2048"))
        .await;
    let big = "x".repeat(4096);
    let body = api.submit_body("analyze.php", &[big.as_str()], &["default"]);
    let (status, reply) = api.post(&body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{reply}");
    assert!(
        reply["result"].as_str().is_some_and(|r| r.contains("2048")),
        "{reply}"
    );
    assert!(env.request_keys().await.is_empty());
}

/// GSvar posts to its configured URL as is; `POST /` answers like `POST /qe`.
#[tokio::test]
async fn root_path_is_the_same_front_door() {
    let env = TestEnv::new();
    let api = env.api().await;
    let body = json!({"action": "update", "token": TOKEN, "qe_job_id": "77"});
    let (status, reply) = api
        .post_bytes("/", serde_json::to_vec(&body).expect("json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["status"], "error");
}

fn with(body: &Value, field: &str, value: Value) -> Value {
    let mut body = body.clone();
    body[field] = value;
    body
}

fn without(body: &Value, field: &str) -> Value {
    let mut body = body.clone();
    body.as_object_mut().expect("object").remove(field);
    body
}

/// A wrong path or method answers in JSON too, pointing at `/qe`; `/qe/` is the front door as well.
#[tokio::test]
async fn wrong_paths_and_methods_answer_json() {
    let env = TestEnv::new();
    let api = env.api().await;
    let (status, reply) = api.post_bytes("/jobs", "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        reply["result"].as_str().is_some_and(|r| r.contains("/qe")),
        "{reply}"
    );
    let response = reqwest::get(format!("{}/qe", api.url)).await.expect("GET");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let reply: Value = response.json().await.expect("JSON body");
    assert!(
        reply["result"].as_str().is_some_and(|r| r.contains("POST")),
        "{reply}"
    );
    let body = json!({"action": "update", "token": TOKEN, "qe_job_id": "1"});
    let (status, _) = api
        .post_bytes("/qe/", serde_json::to_vec(&body).expect("json"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A token's role is checked before the request's fields: a read token gets 403 for a submit, however
/// malformed, so it never learns more than that it may not submit.
#[tokio::test]
async fn role_is_checked_before_fields() {
    let env = TestEnv::new();
    let api = env.api().await;
    let body = json!({"action": "submit", "token": READ_TOKEN, "threads": "many"});
    let (status, reply) = api.post(&body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
}
