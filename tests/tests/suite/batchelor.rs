//! The Batchelor front door, driven as Batchelor's own documentation drives it (docs/batchelor.md).

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_client::Api;
use crate::helpers::{TestEnv, eventually};

const TYPES: &str = r#"
[[type]]
name = "default"
version = "1"
program = "upper.sh"
args = ["${indata}", "${result}"]
inputs = ["indata", "result"]
queues = ["default"]

[[type]]
name = "hold"
version = "1"
program = "hold.php"
args = ["${indata}", "${result}"]
inputs = ["indata", "result"]
queues = ["default"]

[[type]]
name = "fail"
version = "1"
program = "analyze.php"
args = ["-exit", "3", "${indata}", "${result}"]
inputs = ["indata", "result"]
queues = ["default"]
"#;

/// An API node with the Batchelor door open, its jobs under `<work>/batchelor`, dates in Stockholm.
pub(crate) async fn node(env: &TestEnv, fetch: &str) -> Api {
    let types = env.path("types.toml");
    std::fs::write(&types, TYPES).expect("types file");
    let flags = env
        .api_flags()
        .set("--job-types", types.display().to_string())
        .set("--open-doors", "batchelor")
        .set(
            "--batchelor-root",
            env.path("batchelor").display().to_string(),
        )
        .set("--timezone", "Europe/Stockholm")
        .set("--batchelor-fetch-urls", fetch);
    env.api_with(flags).await
}

/// Calls `method` with `input` and answers the envelope (the HTTP status is always 200).
pub(crate) async fn call(api: &Api, method: &str, input: &Value) -> Value {
    let response = api
        .client
        .post(format!("{}/api/json/{method}", api.url))
        .header("X-Batchelor-Hostid", "test-queue")
        .json(input)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON envelope")
}

pub(crate) fn result(envelope: Value) -> Value {
    assert_eq!(envelope["status"], "success", "{envelope}");
    envelope["result"].clone()
}

pub(crate) fn failure(envelope: &Value) -> &str {
    assert_eq!(envelope["status"], "failure", "{envelope}");
    envelope["message"].as_str().expect("message")
}

/// enqueue, watch, stat, readdir, fopen (raw, base64, a directory as a zip), queue and dequeue, as
/// the original's documentation shows them.
#[tokio::test]
async fn a_job_is_enqueued_watched_read_and_dequeued() {
    let env = TestEnv::new();
    let api = node(&env, "").await;
    let _worker = env.worker("w1", &["default"], 1).await;
    assert_eq!(result(call(&api, "version", &json!({})).await), "2.0");
    let queued = result(
        call(
            &api,
            "enqueue",
            &json!({"data": "hello world", "type": "data", "task": "default", "name": "Job 1"}),
        )
        .await,
    );
    let identity = queued["identity"].clone();
    let jobid = identity["jobid"].as_str().expect("jobid");
    assert!(uuid::Uuid::parse_str(jobid).is_ok(), "{queued}");
    let dir = identity["result"].as_str().expect("result");
    assert!(
        dir.len() == 14 && dir.chars().all(|c| c.is_ascii_digit()),
        "{dir}"
    );
    assert_eq!(
        queued["submit"],
        json!({"task": "default", "name": "Job 1"})
    );
    assert_eq!(queued["status"]["queued"]["timezone"], "Europe/Stockholm");
    assert_eq!(queued["status"]["queued"]["timezone_type"], 3);

    let watched = result(call(&api, "watch", &json!({"stamp": 0})).await);
    assert_eq!(watched[0]["identity"], identity);
    let stamp = watched[0]["status"]["stamp"].as_i64().expect("stamp");
    assert_eq!(
        result(call(&api, "watch", &json!({"stamp": stamp})).await),
        json!([])
    );

    let done = eventually("the job to succeed", || async {
        let status = result(call(&api, "stat", &identity).await);
        (status["state"] == "success").then_some(status)
    })
    .await;
    assert!(
        done["started"]["date"].is_string() && done["finished"]["date"].is_string(),
        "{done}"
    );

    let listing = result(call(&api, "readdir", &identity).await);
    let names: Vec<&str> = listing
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(
        names.contains(&"indata") && names.contains(&"result/output-upper.txt"),
        "{listing}"
    );
    let file = json!({"job": identity, "file": "result/output-upper.txt", "send": false});
    let encoded = result(call(&api, "fopen", &file).await);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().expect("base64"))
        .expect("base64");
    assert_eq!(bytes, b"HELLO WORLD");
    let raw = api
        .client
        .post(format!("{}/api/json/fopen", api.url))
        .header("X-Batchelor-Hostid", "test-queue")
        .json(&json!({"job": identity, "file": "result"}))
        .send()
        .await
        .expect("fopen");
    assert_eq!(raw.headers()["content-type"], "application/zip");
    assert!(raw.bytes().await.expect("zip").starts_with(b"PK"));
    let outside = json!({"job": identity, "file": "../../etc/passwd", "send": false});
    assert_eq!(call(&api, "fopen", &outside).await["status"], "failure");

    let completed = result(
        call(
            &api,
            "queue",
            &json!({"sort": "started", "filter": "completed"}),
        )
        .await,
    );
    assert_eq!(completed[0]["identity"], identity);
    assert_eq!(
        result(call(&api, "opendir", &json!({})).await),
        json!([identity])
    );
    assert_eq!(result(call(&api, "dequeue", &identity).await), true);
    assert_eq!(
        failure(&call(&api, "stat", &identity).await),
        format!("The job {jobid} is missing")
    );
    assert_eq!(result(call(&api, "queue", &json!({})).await), json!([]));
}

/// The original's failures, in its envelope and words, always with HTTP 200; the method may also come
/// in the body of `/api/json/index`, and `pretty=1` indents.
#[tokio::test]
async fn refusals_answer_as_the_original_does() {
    let env = TestEnv::new();
    let api = node(&env, "").await;
    let cases = [
        ("nope", json!({}), "The method nope is missing"),
        (
            "stat",
            json!({"jobid": "x"}),
            "The result key is missing in job identity",
        ),
        (
            "dequeue",
            json!({"jobid": "x", "result": "1"}),
            "The job x is missing",
        ),
        (
            "fopen",
            json!({"job": {"jobid": "x", "result": "1"}, "file": "result"}),
            "The job x is missing",
        ),
        (
            "enqueue",
            json!({"data": "x", "type": "pipe"}),
            "Input type pipe (another job's output) is not supported here; send the data itself",
        ),
        ("index", json!({}), "The method name is empty"),
        (
            "enqueue",
            json!({"type": "data"}),
            "The data key is missing in job data",
        ),
        (
            "enqueue",
            json!({"data": "x"}),
            "The type key is missing in job data",
        ),
        (
            "enqueue",
            json!({"data": "x", "type": "data", "task": "vorbis"}),
            "The task processor vorbis is missing",
        ),
        (
            "enqueue",
            json!({"data": "x", "type": "telepathy"}),
            "Invalid enum value telepathy",
        ),
        ("queue", json!({"filter": "all"}), "Invalid enum value all"),
        ("queue", json!({"sort": "published"}), "Not yet implemented"),
        (
            "stat",
            json!({"result": "1"}),
            "The jobid key is missing in job identity",
        ),
        (
            "stat",
            json!({"jobid": "x", "result": "1"}),
            "The job x is missing",
        ),
    ];
    for (method, input, message) in cases {
        assert_eq!(
            failure(&call(&api, method, &input).await),
            message,
            "{method} {input}"
        );
    }
    assert_eq!(
        result(call(&api, "index", &json!({"method": "version"})).await),
        "2.0"
    );
    let pretty = api
        .client
        .get(format!("{}/api/json/version?pretty=1", api.url))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("text");
    assert_eq!(
        pretty,
        "{\n    \"status\": \"success\",\n    \"result\": \"2.0\"\n}"
    );
    let selected = api
        .client
        .post(format!("{}/api/json/select", api.url))
        .json(&json!({"queue": "myqueue"}))
        .send()
        .await
        .expect("select");
    let cookie = selected.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    let hostid = result(selected.json().await.expect("JSON"));
    assert_eq!(
        cookie,
        format!("hostid={}; path=/", hostid.as_str().expect("hostid"))
    );
    let closed = env.api().await;
    let refused = closed
        .client
        .post(format!("{}/api/json/version", closed.url))
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}
