//! NGA Scale's queue status (`GET /queue/status/`, reference §1.4) and job types list, replaying
//! Scale's `TestQueueStatusView` and the v6 seed's example.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestEnv;
use crate::scale_client::{V6_SEED_TYPE, call, has_every, scale_node};
use crate::scale_jobs::{TYPES, kml};

/// `TestQueueStatusView.test_successful` and the v6 seed: queued jobs grouped by type with count,
/// the earliest queued time and the best priority; unpaused types first, then by priority.
#[tokio::test]
async fn the_queue_status_groups_queued_jobs_by_type() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let (_, _, empty) = call(&api, Method::GET, "/queue/status/", None).await;
    assert_eq!(
        empty,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    for (type_id, data) in [
        (9, json!({})),
        (9, json!({})),
        (8, kml("/a")["job_data"].clone()),
        (10, json!({})),
    ] {
        let body = json!({"job_type_id": type_id, "job_data": data});
        let (status, _, job) = call(&api, Method::POST, "/v5/queue/new-job/", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
    }
    let (status, _, queue) = call(&api, Method::GET, "/v5/queue/status/", None).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert_eq!(queue["count"], 3);
    let rows = queue["results"].as_array().expect("results");
    let ids: Vec<&Value> = rows.iter().map(|r| &r["job_type"]["id"]).collect();
    assert_eq!(
        ids,
        [&json!(8), &json!(9), &json!(10)],
        "priority 2, then 123, then the paused type"
    );
    assert_eq!(rows[1]["count"], 2);
    assert_eq!(rows[1]["highest_priority"], 123);
    assert!(rows[1]["longest_queued"].is_string());
    assert_eq!(rows[2]["job_type"]["is_paused"], true);
    assert_eq!(
        rows[0]["job_type"]["category"], "footprints",
        "v5's base type"
    );

    let (_, _, v6) = call(&api, Method::GET, "/v6/queue/status/?page_size=1", None).await;
    assert_eq!(v6["count"], 3);
    assert!(v6["next"].as_str().expect("next").contains("page=2"));
    // The v6 seed's example keys, every one.
    has_every(&v6["results"][0]["job_type"], &V6_SEED_TYPE);
}

/// The job types behind `job_type_id`, ordered by name and version, in DRF's pages.
#[tokio::test]
async fn the_job_types_are_listed() {
    let env = TestEnv::new();
    let api = scale_node(&env, TYPES).await;
    let (status, _, types) = call(&api, Method::GET, "/v6/job-types/", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&Value> = types["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(
        names,
        [
            &json!("archiver"),
            &json!("indexer"),
            &json!("kml-footprint")
        ]
    );
    let (_, _, v5) = call(&api, Method::GET, "/v5/job-types/", None).await;
    assert_eq!(v5["results"][2]["max_tries"], 1);
    assert_eq!(v5["results"][2]["timeout"], 600);
}
