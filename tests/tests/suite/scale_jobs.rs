//! NGA Scale's new job (v5 `POST /queue/new-job/`, v6 `POST /v6/jobs/`), the details behind its
//! `Location`, the queue status, the job types list, and DRF's framework answers (404, 405, 415,
//! malformed JSON), replaying the seeds' examples and Scale's own view tests (`TestQueueNewJobView`,
//! `TestQueueStatusView`, `test_v6_404`; reference §1.4, §1.5, §6).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestEnv};
use crate::scale_client::{call, scale_node};

/// The seed's kml-footprint type (id 8, priority 2, timeout 600 s), a second type with priority 123
/// (Scale's `TestQueueStatusView` queue row) and a paused third.
pub(crate) const TYPES: &str = r#"
[[type]]
name = "kml-footprint"
version = "1.0.0"
id = 8
title = "KML Footprint"
description = "Creates a KML representation of the data"
category = "footprints"
program = "analyze.php"
args = ["${input_file}", "${job_output_dir}"]
inputs = ["input_file"]
queues = ["default"]
priority = 2
timeout = "10min"

[[type]]
name = "indexer"
id = 9
program = "analyze.php"
queues = ["default"]
priority = 123

[[type]]
name = "archiver"
id = 10
program = "analyze.php"
queues = ["default"]
priority = 1
paused = true
"#;

pub(crate) fn kml(path: &str) -> Value {
    // The seed's request, with a value where the seed sends a Scale file id (Hopper keeps no files).
    json!({
        "job_type_id": 8,
        "job_data": {
            "version": "1.0",
            "input_data": [{"name": "input_file", "value": path}],
            "output_data": [{"name": "output_file", "workspace_id": 15}]
        }
    })
}

/// The seed's new job and Scale's `TestQueueNewJobView.test_successful`: 201, a `Location` that
/// answers the same job, status QUEUED, the type's fields; the id is Hopper's, so Hopper's own API
/// reads and cancels the same job.
#[tokio::test]
async fn a_new_job_is_queued_and_its_location_shows_it() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let (status, location, job) = call(
        &api,
        Method::POST,
        "/queue/new-job/",
        Some(&kml("/data/a b.kml")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("an integer id");
    let location = location.expect("Location");
    assert_eq!(location, format!("{}/v5/jobs/{id}/", api.url));
    assert_eq!(job["status"], "QUEUED");
    assert_eq!(job["num_exes"], 1);
    assert_eq!(job["priority"], 2);
    assert_eq!(job["timeout"], 600);
    assert_eq!(job["job_type"]["id"], 8);
    assert_eq!(job["job_type"]["title"], "KML Footprint");
    assert_eq!(job["job_type"]["is_paused"], false);
    assert_eq!(
        job["inputs"],
        json!([{"name": "input_file", "type": "property", "value": "/data/a b.kml"}])
    );
    assert_eq!(job["outputs"], json!([]));
    assert!(
        job["queued"].is_string() && job["created"].is_string(),
        "{job}"
    );
    // The seed's details carry these keys; Hopper has every one, null where it has no such notion.
    for key in [
        "job_type_rev",
        "event",
        "error",
        "cpus_required",
        "mem_required",
        "disk_in_required",
        "disk_out_required",
        "started",
        "ended",
        "last_status_change",
        "last_modified",
        "data",
        "results",
        "recipes",
        "job_exes",
    ] {
        assert!(job.get(key).is_some(), "no {key} in {job}");
    }

    let path = location.trim_start_matches(&api.url);
    let (status, _, again) = call(&api, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], id);
    let (_, _, v6) = call(&api, Method::GET, &format!("/v6/jobs/{id}/"), None).await;
    assert_eq!(v6["input"]["json"]["input_file"], "/data/a b.kml");
    assert_eq!(v6["job_type"]["unmet_resources"], Value::Null);
    assert!(
        v6["job_type"].get("category").is_none(),
        "v6's base type: {v6}"
    );

    let native = api
        .client
        .get(format!("{}/api/v1/jobs/{id}", api.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("GET");
    let native: Value = native.json().await.expect("JSON");
    assert_eq!(native["type"], "kml-footprint");
    assert_eq!(native["inputs"]["input_file"], "/data/a b.kml");
    assert_eq!(native["labels"]["door"], "scale");
    let canceled = api
        .client
        .delete(format!("{}/api/v1/jobs/{id}", api.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert!(canceled.status().is_success());
    let (_, _, after) = call(&api, Method::GET, path, None).await;
    assert_eq!(after["status"], "CANCELED");
}

/// v6's new job: `input` in v6 data, 201 with the v6 details and a `/v6/` Location; its
/// configuration's priority is honoured.
#[tokio::test]
async fn a_v6_new_job_takes_v6_data() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let body = json!({"job_type_id": 8, "input": {"files": {}, "json": {"input_file": "/d/x.kml"}},
                      "configuration": {"priority": 7}});
    let (status, location, job) = call(&api, Method::POST, "/v6/jobs/", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(
        location,
        Some(format!("{}/v6/jobs/{}/", api.url, job["id"]))
    );
    assert_eq!(job["status"], "QUEUED");
    assert_eq!(job["priority"], 7);
    assert_eq!(job["input"]["json"]["input_file"], "/d/x.kml");

    let unknown = json!({"job_type_id": 8, "input": {"json": {"input_file": "a", "extra": "b"}}});
    let (status, _, refused) = call(&api, Method::POST, "/v6/jobs/", Some(&unknown)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let detail = refused["detail"].as_str().expect("v6 refuses with detail");
    assert!(
        detail.starts_with("Invalid job data: unknown input 'extra'"),
        "{detail}"
    );
}

/// `TestQueueNewJobView`'s refusals, each with Scale's body, and nothing written for any of them.
#[tokio::test]
async fn refused_new_jobs_say_why_in_scales_words_and_write_nothing() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let detail = |text: &str| json!({ "detail": text });
    let cases = [
        // test_bad_job_type_id
        (
            json!({"job_type_id": -1234, "job_data": {}}),
            StatusCode::NOT_FOUND,
            detail("Not found."),
        ),
        // test_bad_type_job_type_id
        (
            json!({"job_type_id": "BAD", "job_data": {}}),
            StatusCode::BAD_REQUEST,
            detail("Parameter must be a valid integer: \"job_type_id\""),
        ),
        // test_missing_job_type_id
        (
            json!({"job_data": {}}),
            StatusCode::BAD_REQUEST,
            detail("Missing required parameter: \"job_type_id\""),
        ),
        // test_bad_type_args
        (
            json!({"job_type_id": 8, "job_data": "BAD"}),
            StatusCode::BAD_REQUEST,
            detail("Parameter must be a valid JSON object: \"job_data\""),
        ),
        (
            json!({"job_type_id": 8, "job_data": {"version": "2.0"}}),
            StatusCode::BAD_REQUEST,
            json!("Invalid job data: 2.0 is an unsupported version number"),
        ),
    ];
    for (body, status, answer) in cases {
        let (got, _, got_body) = call(&api, Method::POST, "/v5/queue/new-job/", Some(&body)).await;
        assert_eq!((got, &got_body), (status, &answer), "{body}");
    }
    // test_invalid_args: the data lacks the type's required input; the body is a bare string.
    let (status, _, bare) = call(
        &api,
        Method::POST,
        "/queue/new-job/",
        Some(&json!({"job_type_id": 8, "job_data": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = bare
        .as_str()
        .expect("a bare JSON string, as Scale's view returns");
    assert!(
        text.starts_with("Invalid job data: missing input 'input_file'"),
        "{text}"
    );
    let file = json!({"job_type_id": 8, "job_data": {"input_data": [{"name": "input_file", "file_id": 9876}]}});
    let (_, _, bare) = call(&api, Method::POST, "/queue/new-job/", Some(&file)).await;
    assert!(
        bare.as_str()
            .expect("bare")
            .contains("send the file's path"),
        "{bare}"
    );

    // DRF's parser: another media type is 415, broken JSON 400.
    let url = format!("{}/v5/queue/new-job/", api.url);
    let plain = api
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .body("job_type_id=8");
    let plain = plain.send().await.expect("POST");
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        plain.json::<Value>().await.expect("JSON"),
        detail("Unsupported media type \"text/plain\" in request.")
    );
    let broken = api
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"job_type_id\": 8,");
    let broken = broken.send().await.expect("POST");
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let broken: Value = broken.json().await.expect("JSON");
    assert!(
        broken["detail"]
            .as_str()
            .expect("detail")
            .starts_with("JSON parse error - "),
        "{broken}"
    );
    assert!(
        env.job_keys().await.is_empty(),
        "a refused job left {:?}",
        env.job_keys().await
    );
}

/// `test_v6_404`: the v5-only POSTs answer 404 under `/v6/`; a known path with another method is
/// DRF's 405, and unknown ids and paths its 404.
#[tokio::test]
async fn v5_only_endpoints_are_not_found_under_v6_and_methods_are_checked() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let not_found = json!({"detail": "Not found."});
    for path in [
        "/v6/queue/new-job/",
        "/v6/queue/new-recipe/",
        "/v6/queue/requeue-jobs/",
    ] {
        let (status, _, body) = call(&api, Method::POST, path, Some(&kml("/x"))).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, not_found.clone()),
            "{path}"
        );
    }
    for (method, path) in [
        (Method::GET, "/v5/queue/new-job/"),
        (Method::POST, "/v6/queue/status/"),
    ] {
        let (status, _, body) = call(&api, method.clone(), path, None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(
            body,
            json!({"detail": format!("Method \"{method}\" not allowed.")})
        );
    }
    for path in [
        "/v5/jobs/999999/",
        "/v6/jobs/not-an-id!/",
        "/v5/no-such-thing/",
    ] {
        let (status, _, body) = call(&api, Method::GET, path, None).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, not_found.clone()),
            "{path}"
        );
    }
    assert!(env.job_keys().await.is_empty());
}
