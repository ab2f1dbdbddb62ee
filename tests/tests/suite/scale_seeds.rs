//! The seeds' examples (`../shared/seeds/002_...` for v5, `004_...` for v6), replayed against Hopper:
//! each request as the seed writes it, and the answer's shape checked against the seed's. Where the
//! seed and Scale 6.9.0's source disagree the source wins, and the test says so (docs/scale.md).

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestEnv;
use crate::scale_client::{V6_SEED_TYPE, call, has_every, keys, scale_node};

/// A type with the seed's id 1234 and Scale-like input names (Hopper's inputs are identifiers, so the
/// seed's "Param 1" cannot be one).
const TYPES: &str = r#"
[[type]]
name = "seed-type"
version = "1.0"
id = 1234
title = "My Job Type"
program = "analyze.php"
args = ["${param_1}", "${param_2}"]
inputs = ["param_1", "param_2"]
queues = ["default"]
priority = 1

[[type]]
name = "georef"
id = 5
program = "analyze.php"
args = ["${image}", "${georeference_data}"]
inputs = ["image", "georeference_data"]
queues = ["default"]

[[recipe]]
name = "MyRecipe"
version = "1.0.0"
id = 1234
description = "This is a description of the recipe"
jobs = [{ name = "kml", type = "georef" }]
"#;

/// The fields of a job in the v5 seed's job list (its requeue answer).
const SEED_JOB: [&str; 20] = [
    "id",
    "job_type",
    "job_type_rev",
    "event",
    "error",
    "status",
    "priority",
    "num_exes",
    "timeout",
    "max_tries",
    "cpus_required",
    "mem_required",
    "disk_in_required",
    "disk_out_required",
    "created",
    "queued",
    "started",
    "ended",
    "last_status_change",
    "last_modified",
];
/// What the v5 seed's job details (its new-job answer) have besides.
const SEED_JOB_DETAILS: [&str; 6] = [
    "data",
    "results",
    "input_files",
    "recipes",
    "job_exes",
    "products",
];
/// The fields of a job type in the v5 seed's job list.
const SEED_TYPE: [&str; 11] = [
    "id",
    "name",
    "version",
    "title",
    "description",
    "is_system",
    "is_long_running",
    "is_active",
    "is_operational",
    "is_paused",
    "icon_code",
];
/// What the v5 seed's job details' job type has besides.
const SEED_TYPE_FULL: [&str; 14] = [
    "uses_docker",
    "docker_privileged",
    "docker_image",
    "priority",
    "timeout",
    "max_tries",
    "cpus_required",
    "mem_required",
    "disk_out_const_required",
    "disk_out_mult_required",
    "created",
    "archived",
    "paused",
    "last_modified",
];

/// v5 `GET /load/` and v6 `GET http://.../v6/load` (no trailing slash: Django's APPEND_SLASH
/// redirects it): DRF's envelope in its order, and the seed's sample fields.
#[tokio::test]
async fn the_seeds_load_examples() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let at = SystemTime::now() - Duration::from_secs(7200);
    let ms = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("time")
        .as_millis() as u64;
    let record = json!({"at": ms, "all": {"pending": 1, "queued": 0, "running": 0}, "queues": {}, "types": {}});
    env.store
        .record_load(ms, &record.to_string(), Duration::from_secs(86_400))
        .await
        .expect("Redis");
    let (status, _, v5) = call(&api, Method::GET, "/load/", None).await;
    assert_eq!(status, StatusCode::OK, "{v5}");
    assert_eq!(keys(&v5), ["count", "next", "previous", "results"]);
    let sample = &v5["results"][0];
    assert_eq!(
        keys(sample),
        ["time", "pending_count", "queued_count", "running_count"]
    );
    assert_eq!(sample["pending_count"], 1, "{v5}");

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let moved = no_redirects
        .get(format!("{}/v6/load", api.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(moved.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(moved.headers()["location"], "/v6/load/");
    let (status, _, v6) = call(&api, Method::GET, "/v6/load", None).await;
    assert_eq!(status, StatusCode::OK, "followed to /v6/load/: {v6}");
    assert_eq!(v6["results"][0], v5["results"][0]);
}

/// v5 `GET /queue/status/` and v6 `GET /v6/queue/status/`. The v5 seed shows Scale 3's
/// `{"queue_status": [...]}` with flat `job_type_name` fields; Scale 6.9.0's source answers DRF's
/// pages with a nested `job_type`, as the v6 seed does, and so does Hopper under both versions.
#[tokio::test]
async fn the_seeds_queue_status_examples() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let body = json!({"job_type_id": 1234, "job_data": {"input_data": [
        {"name": "param_1", "value": "HELLO"}, {"name": "param_2", "value": "/data/9876"}]}});
    let (status, _, _) = call(&api, Method::POST, "/queue/new-job/", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, v5) = call(&api, Method::GET, "/queue/status/", None).await;
    let row = &v5["results"][0];
    assert_eq!(
        keys(row),
        ["job_type", "count", "longest_queued", "highest_priority"]
    );
    assert_eq!(
        (&row["count"], &row["highest_priority"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(row["job_type"]["title"], "My Job Type");
    let (_, _, v6) = call(&api, Method::GET, "/v6/queue/status/", None).await;
    has_every(&v6["results"][0]["job_type"], &V6_SEED_TYPE);
}

/// v5 `POST /queue/new-job/`: the seed's body as written is refused with Scale's bare-string 400,
/// since its "Param 2" is a Scale file id, which Hopper does not store; with the file given by path,
/// the answer is 201 with every field of the seed's response.
#[tokio::test]
async fn the_seeds_new_job_example() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let seed = json!({
        "job_type_id": 1234,
        "job_data": {
            "version": "1.0",
            "input_data": [{"name": "Param 1", "value": "HELLO"}, {"name": "Param 2", "file_id": 9876}],
            "output_data": [{"name": "Param 3", "workspace_id": 15}]
        }
    });
    let (status, _, refused) = call(&api, Method::POST, "/queue/new-job/", Some(&seed)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused,
        json!(
            "Invalid job data: input Param 2 names Scale files, which Hopper does not store; send the file's path as its \"value\""
        )
    );
    let by_path = json!({
        "job_type_id": 1234,
        "job_data": {
            "version": "1.0",
            "input_data": [{"name": "param_1", "value": "HELLO"}, {"name": "param_2", "value": "/data/9876.kml"}],
            "output_data": [{"name": "Param 3", "workspace_id": 15}]
        }
    });
    let (status, location, job) = call(&api, Method::POST, "/queue/new-job/", Some(&by_path)).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert!(location.is_some());
    has_every(&job, &[&SEED_JOB[..], &SEED_JOB_DETAILS[..]].concat());
    has_every(
        &job["job_type"],
        &[&SEED_TYPE[..], &SEED_TYPE_FULL[..]].concat(),
    );
    assert_eq!(
        job["status"], "QUEUED",
        "the seed: the status will always be QUEUED"
    );
    assert_eq!(
        job["data"]["input_data"],
        json!([{"name": "param_1", "value": "HELLO"}, {"name": "param_2", "value": "/data/9876.kml"}])
    );
}

/// v5 `POST /queue/new-recipe/`: the seed's body as written names Scale files, refused with the bare
/// string; with paths for values, 201 and every field of the seed's recipe details.
#[tokio::test]
async fn the_seeds_new_recipe_example() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let seed = json!({
        "recipe_type_id": 1234,
        "recipe_data": {
            "version": "1.0",
            "input_data": [{"name": "image", "file_id": 1234}, {"name": "georeference_data", "file_id": 1235}],
            "workspace_id": 12
        }
    });
    let (status, _, refused) = call(&api, Method::POST, "/queue/new-recipe/", Some(&seed)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = refused.as_str().expect("a bare JSON string");
    assert!(
        text.starts_with("Invalid recipe data: input image names Scale files"),
        "{text}"
    );
    let by_path = json!({
        "recipe_type_id": 1234,
        "recipe_data": {
            "version": "1.0",
            "input_data": [{"name": "image", "value": "/data/1234.png"},
                           {"name": "georeference_data", "value": "/data/1235.xml"}],
            "workspace_id": 12
        }
    });
    let (status, location, recipe) =
        call(&api, Method::POST, "/queue/new-recipe/", Some(&by_path)).await;
    assert_eq!(status, StatusCode::CREATED, "{recipe}");
    assert_eq!(
        location,
        Some(format!("{}/v5/recipes/{}/", api.url, recipe["id"]))
    );
    let got = keys(&recipe);
    for key in [
        "id",
        "recipe_type",
        "event",
        "created",
        "completed",
        "last_modified",
        "data",
        "input_files",
        "jobs",
    ] {
        assert!(got.contains(&key), "{key} not in {recipe}");
    }
    let got = keys(&recipe["recipe_type"]);
    for key in [
        "id",
        "name",
        "version",
        "description",
        "is_active",
        "definition",
        "created",
        "last_modified",
        "archived",
    ] {
        assert!(got.contains(&key), "{key} not in {}", recipe["recipe_type"]);
    }
    assert_eq!(
        recipe["recipe_type"]["description"],
        "This is a description of the recipe"
    );
    assert_eq!(recipe["jobs"][0]["job_name"], "kml");
    assert_eq!(recipe["jobs"][0]["job"]["status"], "QUEUED");
}

/// v5 `POST /queue/requeue-jobs/`: the seed's answer is a page of the jobs model; a job that had
/// been queued and was canceled is QUEUED again, "the status will be QUEUED if the job has been
/// previously queued".
#[tokio::test]
async fn the_seeds_requeue_example() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let body = json!({"job_type_id": 1234, "job_data": {"input_data": [
        {"name": "param_1", "value": "HELLO"}, {"name": "param_2", "value": "/data/x"}]}});
    let (_, _, job) = call(&api, Method::POST, "/queue/new-job/", Some(&body)).await;
    let id = job["id"].clone();
    let canceled = api
        .client
        .delete(format!("{}/api/v1/jobs/{id}", api.url))
        .bearer_auth(crate::helpers::TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert!(canceled.status().is_success());
    let request = json!({"status": "CANCELED", "job_type_ids": [1234], "priority": 10});
    let (status, _, page) = call(&api, Method::POST, "/queue/requeue-jobs/", Some(&request)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(keys(&page), ["count", "next", "previous", "results"]);
    let item = &page["results"][0];
    assert_eq!(
        (&item["id"], &item["status"], &item["priority"]),
        (&id, &json!("QUEUED"), &json!(10))
    );
    has_every(item, &SEED_JOB);
    has_every(&item["job_type"], &SEED_TYPE);
}
