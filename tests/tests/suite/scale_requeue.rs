//! NGA Scale's requeue: v5 `POST /queue/requeue-jobs/` answers the matched jobs after the requeue, v6
//! `POST /v6/jobs/requeue/` answers 202. Replays Scale's `TestRequeueJobsView` (`test_requeue_failed`,
//! `test_requeue_canceled`, `test_requeue_ignored`, `test_priority`, `test_v6`) against real nodes and
//! workers, with each filter and Scale's 400s.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_client::Api;
use crate::helpers::{TOKEN, TestEnv, eventually};
use crate::native_client::Native;
use crate::scale_client::scale_node;

const TYPES: &str = r#"
[[type]]
name = "flaky"
id = 1
category = "checks"
program = "analyze.php"
args = ["-exit", "${code}"]
inputs = ["code"]
queues = ["default"]
max_tries = 2

[[type]]
name = "holder"
id = 2
category = "waits"
program = "hold.php"
queues = ["default"]

[[type]]
name = "other"
id = 3
program = "analyze.php"
args = ["-exit", "${code}"]
inputs = ["code"]
queues = ["default"]
"#;

async fn node(env: &TestEnv) -> Api {
    scale_node(env, TYPES).await
}

async fn post(api: &Api, path: &str, body: &Value) -> (StatusCode, Value) {
    let (status, _, body) = crate::scale_client::post(api, path, body).await;
    (status, body)
}

/// A Scale job of type `type_id` through v5 new-job; its id.
async fn new_job(api: &Api, type_id: u32, inputs: &[(&str, &str)]) -> u64 {
    let input_data: Vec<Value> = inputs
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let body =
        json!({"job_type_id": type_id, "job_data": {"version": "1.0", "input_data": input_data}});
    let (status, job) = post(api, "/v5/queue/new-job/", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    job["id"].as_u64().expect("id")
}

/// The job's Scale status, as `/v5/jobs/{id}/` shows it.
async fn status(api: &Api, id: u64) -> String {
    let job: Value = api
        .client
        .get(format!("{}/v5/jobs/{id}/", api.url))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    job["status"].as_str().expect("status").to_owned()
}

async fn until_status(api: &Api, id: u64, wanted: &str) {
    eventually(&format!("job {id} to be {wanted}"), || async {
        (status(api, id).await == wanted).then_some(())
    })
    .await;
}

/// v5 requeue; asserts 200 and returns the page.
async fn requeue(api: &Api, body: &Value) -> Value {
    let (status, page) = post(api, "/v5/queue/requeue-jobs/", body).await;
    assert_eq!(status, StatusCode::OK, "{body}: {page}");
    page
}

fn ids(page: &Value) -> Vec<u64> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|job| job["id"].as_u64().expect("id"))
        .collect()
}

/// test_requeue_failed and test_requeue_ignored: a job whose program failed (not retried, as Scale's
/// algorithm errors are not) is QUEUED again with a fresh set of tries (`max_tries` = its 1 run + the
/// type's 2), then runs again; a COMPLETED job matched in the same request is shown unchanged, first,
/// as the older change.
#[tokio::test]
async fn a_failed_job_is_queued_with_a_fresh_set_of_tries_and_runs_again() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let worker = env.worker("w1", &["default"], 2).await;
    let completed = new_job(&api, 1, &[("code", "0")]).await;
    until_status(&api, completed, "COMPLETED").await;
    let failed = new_job(&api, 1, &[("code", "3")]).await;
    until_status(&api, failed, "FAILED").await;
    worker.stop().await.expect("worker stops");

    let page = requeue(&api, &json!({"job_ids": [failed, completed]})).await;
    assert_eq!(
        (page["count"].clone(), ids(&page)),
        (json!(2), vec![completed, failed])
    );
    let (done, again) = (&page["results"][0], &page["results"][1]);
    assert_eq!(
        (&done["status"], &done["num_exes"], &done["max_tries"]),
        (&json!("COMPLETED"), &json!(1), &json!(2))
    );
    assert_eq!(
        (&again["status"], &again["num_exes"], &again["max_tries"]),
        (&json!("QUEUED"), &json!(2), &json!(3)),
        "{again}"
    );
    assert_eq!(again["error"], Value::Null);
    assert_eq!(again["job_type"]["name"], "flaky");

    let _worker = env.worker("w2", &["default"], 2).await;
    until_status(&api, failed, "FAILED").await;
    let job = env.job(&failed.to_string()).await.expect("job");
    assert_eq!(job.history.len(), 2, "its run, then one more");
    env.check_indexes().await;
}

/// test_requeue_canceled: a dependent job canceled while it waited (it never ran) comes back PENDING,
/// waiting on its parent again; a status filter leaves the parent, QUEUED, alone.
#[tokio::test]
async fn a_canceled_job_that_never_ran_comes_back_pending() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let native = Native::new(&api, TOKEN);
    let parent = new_job(&api, 2, &[]).await;
    let body = json!({
        "type": "flaky", "inputs": {"code": "0"}, "after": [parent.to_string()],
        "working_directory": api.work.display().to_string(),
    });
    let child = native.submit(&body).await;
    let child: u64 = child["id"].as_str().expect("id").parse().expect("number");
    assert_eq!(
        native.delete(&child.to_string()).await.status,
        StatusCode::OK
    );
    assert_eq!(status(&api, child).await, "CANCELED");

    let page = requeue(&api, &json!({"status": "CANCELED"})).await;
    assert_eq!(ids(&page), vec![child]);
    assert_eq!(page["results"][0]["status"], "PENDING");
    assert_eq!(status(&api, parent).await, "QUEUED");
    env.check_indexes().await;
}

/// test_priority: a canceled job requeued with `priority` carries it and runs before a job queued
/// before it at the type's priority, once the one slot frees.
#[tokio::test]
async fn a_priority_override_changes_the_priority_and_the_claim_order() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let native = Native::new(&api, TOKEN);
    let _worker = env.worker("w1", &["default"], 1).await;
    let holder = new_job(&api, 2, &[]).await;
    env.started_pids(&holder.to_string()).await;
    let urgent = new_job(&api, 3, &[("code", "0")]).await;
    let waiting = new_job(&api, 3, &[("code", "0")]).await;
    assert_eq!(
        native.delete(&urgent.to_string()).await.status,
        StatusCode::OK
    );

    let page = requeue(&api, &json!({"job_ids": [urgent], "priority": 1})).await;
    let item = &page["results"][0];
    assert_eq!(
        (&item["status"], &item["priority"]),
        (&json!("QUEUED"), &json!(1))
    );
    env.release(&holder.to_string());
    until_status(&api, waiting, "COMPLETED").await;
    until_status(&api, urgent, "COMPLETED").await;
    let started = |job: hopper_common::Job| job.started_ms.expect("started");
    let urgent_start = started(env.job(&urgent.to_string()).await.expect("job"));
    let waiting_start = started(env.job(&waiting.to_string()).await.expect("job"));
    assert!(urgent_start <= waiting_start, "the requeued job ran first");
    env.check_indexes().await;
}

/// Each v5 filter picks its jobs (type ids, names and categories, status in the query string, error
/// categories, the last change's range), an unknown name matches nothing, and the results come oldest
/// change first.
#[tokio::test]
async fn each_filter_picks_the_jobs_it_names() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let worker = env.worker("w1", &["default"], 3).await;
    let flaky = new_job(&api, 1, &[("code", "3")]).await;
    let other_failed = new_job(&api, 3, &[("code", "3")]).await;
    let other_done = new_job(&api, 3, &[("code", "0")]).await;
    until_status(&api, flaky, "FAILED").await;
    until_status(&api, other_failed, "FAILED").await;
    until_status(&api, other_done, "COMPLETED").await;
    worker.stop().await.expect("worker stops");
    let before = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();

    let none = requeue(&api, &json!({"job_type_names": ["nope"]})).await;
    assert_eq!(
        none,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    let system = json!({"job_type_categories": ["checks"], "error_categories": ["SYSTEM"]});
    assert_eq!(ids(&requeue(&api, &system).await), Vec::<u64>::new());
    let (status_code, completed) =
        post(&api, "/v5/queue/requeue-jobs/?status=COMPLETED", &json!({})).await;
    assert_eq!(
        (status_code, ids(&completed)),
        (StatusCode::OK, vec![other_done])
    );

    let by_id = requeue(&api, &json!({"job_type_ids": [3]})).await;
    assert_eq!(ids(&by_id), vec![other_done, other_failed]);
    assert_eq!(by_id["results"][1]["status"], "QUEUED");
    let algorithm = json!({"job_type_categories": ["checks"], "error_categories": ["ALGORITHM"]});
    let by_category = requeue(&api, &algorithm).await;
    assert_eq!(ids(&by_category), vec![flaky]);
    assert_eq!(by_category["results"][0]["status"], "QUEUED");

    let queued = requeue(&api, &json!({"status": "QUEUED"})).await;
    assert_eq!(
        ids(&queued),
        vec![other_failed, flaky],
        "oldest change first"
    );
    let since = requeue(&api, &json!({"started": before})).await;
    assert_eq!(ids(&since), vec![other_failed, flaky]);
    let until = requeue(&api, &json!({"ended": before})).await;
    assert_eq!(ids(&until), vec![other_done]);
    let named = requeue(
        &api,
        &json!({"job_type_names": ["flaky"], "status": "QUEUED"}),
    )
    .await;
    assert_eq!(ids(&named), vec![flaky]);
}

/// test_v6: `/v6/jobs/requeue/` answers 202 without a body, the job already requeued; its filters
/// (recipe ids, job types by name and version, batch ids that no Hopper job has); an unknown type is
/// Scale's 400, and the v5 path under `/v6/` is 404.
#[tokio::test]
async fn v6_requeues_and_answers_accepted() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let native = Native::new(&api, TOKEN);
    let plain = new_job(&api, 1, &[("code", "0")]).await;
    let body = json!({
        "type": "other", "inputs": {"code": "0"}, "labels": {"recipe": "7"},
        "working_directory": api.work.display().to_string(),
    });
    let in_recipe = native.submit(&body).await;
    let in_recipe: u64 = in_recipe["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("number");
    for id in [plain, in_recipe] {
        assert_eq!(native.delete(&id.to_string()).await.status, StatusCode::OK);
    }

    let accepted = api
        .client
        .post(format!("{}/v6/jobs/requeue/", api.url))
        .json(&json!({"recipe_ids": [7]}))
        .send()
        .await
        .expect("POST");
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    assert_eq!(accepted.text().await.expect("body"), "");
    assert_eq!(status(&api, in_recipe).await, "QUEUED");
    assert_eq!(status(&api, plain).await, "CANCELED");

    let in_batch = json!({"job_ids": [plain], "batch_ids": [1]});
    assert_eq!(
        post(&api, "/v6/jobs/requeue/", &in_batch).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        status(&api, plain).await,
        "CANCELED",
        "no Hopper job is in a batch"
    );
    let by_type = json!({"job_types": [{"name": "flaky", "version": "1.0"}], "priority": 5});
    assert_eq!(
        post(&api, "/v6/jobs/requeue/", &by_type).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(status(&api, plain).await, "QUEUED");
    let job = env.job(&plain.to_string()).await.expect("job");
    assert_eq!(job.spec.priority, Some(5));

    let unknown = json!({"job_types": [{"name": "flaky", "version": "9"}]});
    assert_eq!(
        post(&api, "/v6/jobs/requeue/", &unknown).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Job Type with name: flaky and version: 9 does not exist"})
        )
    );
    assert_eq!(
        post(&api, "/v6/queue/requeue-jobs/", &json!({})).await,
        (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
    );
}

/// Bad parameters answer Scale's 400s, in its words, before anything is requeued.
#[tokio::test]
async fn bad_parameters_answer_scale_400s() {
    let env = TestEnv::new();
    let api = node(&env).await;
    let cases = [
        (
            "/v5/queue/requeue-jobs/",
            json!({"job_ids": ["x"]}),
            "Parameter must be a valid integer: \"job_ids\"",
        ),
        (
            "/queue/requeue-jobs/",
            json!({"job_type_ids": [1.5, "y"]}),
            "Parameter must be a valid integer: \"job_type_ids\"",
        ),
        (
            "/v5/queue/requeue-jobs/",
            json!({"started": "yesterday"}),
            "Invalid ISO timestamp format for parameter: started",
        ),
        (
            "/v5/queue/requeue-jobs/",
            json!({"started": "2015-01-02T00:00:00Z", "ended": "2015-01-01T00:00:00Z"}),
            "Start time must come before end time",
        ),
        (
            "/v5/queue/requeue-jobs/",
            json!({"priority": "high"}),
            "Parameter must be a valid integer: \"priority\"",
        ),
        (
            "/v5/queue/requeue-jobs/",
            json!({"priority": 100_000}),
            "priority must be between -99999 and 99999 (lower runs first), not 100000",
        ),
        (
            "/v6/jobs/requeue/",
            json!({"error_ids": ["e"]}),
            "Parameter must be a valid integer: \"error_ids\"",
        ),
        (
            "/v6/jobs/requeue/",
            json!({"is_superseded": "maybe"}),
            "Parameter must be a valid boolean: \"is_superseded\"",
        ),
        (
            "/v6/jobs/requeue/",
            json!({"started": "P1Y"}),
            "Invalid ISO timestamp format for parameter: started",
        ),
    ];
    for (path, body, detail) in cases {
        assert_eq!(
            post(&api, path, &body).await,
            (StatusCode::BAD_REQUEST, json!({"detail": detail})),
            "{path} {body}"
        );
    }
}
