//! Batchelor jobs beyond the documented flow: uploads and URLs as input, suspend and resume, a
//! dequeue that ends a running job, failed jobs, and queues kept apart (docs/batchelor.md).

use hopper_common::JobState;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::batchelor::{call, failure, node, result};
use crate::helpers::{TestEnv, eventually};

/// Polls `stat` until the job's state is `state`.
async fn until_state(api: &crate::api_client::Api, identity: &Value, state: &str) -> Value {
    eventually(&format!("the job to be {state}"), || async {
        let status = result(call(api, "stat", identity).await);
        (status["state"] == state).then_some(status)
    })
    .await
}

/// A multipart upload is a job's input as a file; a URL is fetched only from a listed host; a task
/// that exits other than 0 ends `error`.
#[tokio::test]
async fn input_comes_as_data_upload_or_listed_url() {
    let env = TestEnv::new();
    let api = node(&env, "127.0.0.1").await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"from a file".to_vec()).file_name("indata.txt"),
        )
        .text("task", "default")
        .text("name", "uploaded");
    let uploaded: Value = api
        .client
        .post(format!("{}/api/json/enqueue", api.url))
        .header("X-Batchelor-Hostid", "test-queue")
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("JSON");
    let uploaded = result(uploaded);
    assert_eq!(
        uploaded["submit"],
        json!({"task": "default", "name": "uploaded"})
    );
    until_state(&api, &uploaded["identity"], "success").await;
    let read =
        json!({"job": uploaded["identity"], "file": "result/output-upper.txt", "send": false});
    assert_eq!(result(call(&api, "fopen", &read).await), "RlJPTSBBIEZJTEU=");

    let url = format!("{}/healthz", api.url);
    let fetched = result(call(&api, "enqueue", &json!({"data": url, "type": "url"})).await);
    until_state(&api, &fetched["identity"], "success").await;
    let elsewhere = json!({"data": "http://192.0.2.1/secret", "type": "url"});
    let refused = call(&api, "enqueue", &elsewhere).await;
    assert!(
        failure(&refused).contains("HOPPER_BATCHELOR_FETCH_URLS"),
        "{refused}"
    );

    let failing = result(
        call(
            &api,
            "enqueue",
            &json!({"data": "x", "type": "data", "task": "fail"}),
        )
        .await,
    );
    until_state(&api, &failing["identity"], "error").await;
    let errors = result(call(&api, "queue", &json!({"filter": "error"})).await);
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{errors}");
}

/// suspend and resume work (the original's local queue never implemented them), and a dequeue of a
/// running job ends it: the job is gone from its queue, and Hopper's record says canceled.
#[tokio::test]
async fn a_running_job_is_suspended_resumed_and_dequeued() {
    let env = TestEnv::new();
    let api = node(&env, "").await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let queued = result(
        call(
            &api,
            "enqueue",
            &json!({"data": "x", "type": "data", "task": "hold"}),
        )
        .await,
    );
    let identity = queued["identity"].clone();
    assert!(failure(&call(&api, "resume", &identity).await).contains("can not be resumed"));
    until_state(&api, &identity, "running").await;
    assert_eq!(result(call(&api, "suspend", &identity).await), true);
    until_state(&api, &identity, "suspend").await;
    assert_eq!(
        result(call(&api, "queue", &json!({"filter": "running"})).await)[0]["identity"],
        identity
    );
    assert_eq!(result(call(&api, "resume", &identity).await), true);
    until_state(&api, &identity, "resumed").await;
    let jobid = identity["jobid"].as_str().expect("jobid");
    let id = env
        .store
        .named("batchelor", jobid)
        .await
        .expect("Redis")
        .expect("named job");
    assert_eq!(result(call(&api, "dequeue", &identity).await), true);
    assert!(failure(&call(&api, "stat", &identity).await).contains("is missing"));
    eventually("the job to end canceled", || async {
        let job = env.store.get(&id).await.expect("Redis").expect("job");
        (job.state == JobState::Canceled).then_some(())
    })
    .await;
}

/// Each queue sees only its own jobs: another hostid, a selected queue's cookie, or another client
/// address finds none of them; a hostid that could leave its directory is refused.
#[tokio::test]
async fn queues_are_kept_apart() {
    let env = TestEnv::new();
    let api = node(&env, "").await;
    let queued = result(call(&api, "enqueue", &json!({"data": "x", "type": "data"})).await);
    let ask = |path: &'static str, hostid: Option<&'static str>, input: Value| {
        let mut request = api
            .client
            .post(format!("{}/api/json/{path}", api.url))
            .json(&input);
        if let Some(hostid) = hostid {
            request = request.header("X-Batchelor-Hostid", hostid);
        }
        async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.expect("JSON")
        }
    };
    let other = ask("stat", Some("another-queue"), queued["identity"].clone()).await;
    assert!(failure(&other).contains("is missing"), "{other}");
    assert_eq!(result(ask("opendir", None, json!({})).await), json!([]));
    let by_param = ask("opendir?hostid=test-queue", None, json!({})).await;
    assert_eq!(result(by_param), json!([queued["identity"]]));
    let escaping = ask("opendir", Some("../elsewhere"), json!({})).await;
    assert!(failure(&escaping).contains("invalid"), "{escaping}");
}
