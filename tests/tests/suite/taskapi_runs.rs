//! A TaskAPI task's runs: retries of failed and expired runs, a rerun asked by an update, and a delete
//! that ends a running task (docs/taskapi.md).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestEnv;
use crate::taskapi::{script, work};
use crate::taskapi_client::{TaskApi, node};

/// A failed run with starts left runs again (the original retried only expired tasks); with none left
/// the task ends in state 3.
#[tokio::test]
async fn a_failed_run_is_retried_while_starts_are_left() {
    let env = TestEnv::new();
    let api = node(&env, "2min").await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let client = TaskApi::open(&api);
    client
        .create(&json!({"id": "failing", "retriesLeft": 3, "subParams": {"executable": script(&env, "analyze.php"), "arguments": "-exit 3"}}))
        .await;
    let failed = client.until_state("failing", 3).await;
    assert_eq!(failed["retriesLeft"], 0, "{failed}");
    let job = env
        .job(&failed["clusterId"].to_string())
        .await
        .expect("job");
    assert_eq!(job.history.len(), 3, "three starts: {:?}", job.history);
}

/// Past its expiry a task's processes are ended; it runs again while it has starts left, then ends
/// timed out (4). While it runs, `expirationDate` says when. `+MaxRuntime` is the task's own limit;
/// without it, HOPPER_TASKAPI_EXPIRY.
#[tokio::test]
async fn an_expired_task_is_ended_retried_and_then_timed_out() {
    let env = TestEnv::new();
    let api = node(&env, "1s").await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let client = TaskApi::open(&api);
    client
        .create(&json!({"id": "own-limit", "subParams": {"executable": script(&env, "hold.php"), "+MaxRuntime": "1", "initialdir": work(&env)}}))
        .await;
    client
        .create(&json!({"id": "default-limit", "retriesLeft": 1, "subParams": {"executable": script(&env, "hold.php")}}))
        .await;
    let running = client.until_state("own-limit", 1).await;
    assert!(running["expirationDate"].is_string(), "{running}");
    let pids = env.started_pids(&running["clusterId"].to_string()).await;
    let timed_out = client.until_state("own-limit", 4).await;
    assert_eq!(timed_out["retriesLeft"], 0);
    assert_eq!(timed_out["expirationDate"], Value::Null);
    for pid in pids {
        assert!(
            crate::cancel::gone(pid),
            "process {pid} outlived its task's expiry"
        );
    }
    client.until_state("default-limit", 4).await;
}

/// An update with state 0 runs an ended task again with the starts it gives; one asking for a state
/// Hopper sets, or changing what Hopper owns, is refused. A delete ends a running task's processes.
#[tokio::test]
async fn an_update_runs_an_ended_task_again_and_a_delete_ends_a_running_one() {
    let env = TestEnv::new();
    let api = node(&env, "2min").await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let client = TaskApi::open(&api);
    client
        .create(&json!({"id": "again", "subParams": {"executable": script(&env, "analyze.php")}}))
        .await;
    let done = client.until_state("again", 2).await;
    let update = |state: i64, tries: i64, cluster: Value| json!({"state": state, "retriesLeft": tries, "clusterId": cluster, "procId": null, "expirationDate": null});
    let (status, answer) = client
        .post("/api/tasks/again", &update(3, 1, Value::Null))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (status, answer) = client
        .post("/api/tasks/again", &update(0, 1, json!(123_456_789)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, answer) = client.post("/api/tasks/again", &json!({"state": 0})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "every field is required: {answer}"
    );
    let (status, rerun) = client
        .post("/api/tasks/again", &update(0, 3, done["clusterId"].clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{rerun}");
    assert!(rerun["state"] == 0 || rerun["state"] == 1, "{rerun}");
    let done_again = client.until_state("again", 2).await;
    assert_eq!(done_again["retriesLeft"], 2, "{done_again}");
    assert_eq!(done_again["clusterId"], done["clusterId"]);
    let (status, _) = client
        .post("/api/tasks/missing", &update(0, 1, Value::Null))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    client
        .create(&json!({"id": "long", "subParams": {"executable": script(&env, "hold.php"), "initialdir": work(&env)}}))
        .await;
    let running = client.until_state("long", 1).await;
    let pids = env.started_pids(&running["clusterId"].to_string()).await;
    let (_, deleted) = client.call(Method::DELETE, "/api/tasks/long", None).await;
    assert_eq!(deleted, json!({"deleted_flag": true}));
    for pid in pids {
        crate::helpers::eventually(&format!("process {pid} to end"), || async {
            crate::cancel::gone(pid).then_some(())
        })
        .await;
    }
}
