//! Jobs that wait on others (`after`): pending until every parent succeeded, blocked while one failed
//! or was canceled, released exactly once, and released even if the process that ended the last
//! parent dies before it publishes.

use hopper_common::{Claimant, Ending, JobSpec, QueueName};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestEnv, eventually};
use crate::native_client::Native;

fn id_of(job: &Value) -> String {
    job["id"].as_str().expect("id").to_owned()
}

async fn submit_after(native: &Native<'_>, program: &str, after: &[&str]) -> Value {
    let mut body = native.job(program, &[], &["default"]);
    body["after"] = json!(after);
    native.submit(&body).await
}

/// A job waits, pending, until every parent has succeeded, then runs; it starts after they ended.
#[tokio::test]
async fn a_dependent_job_runs_once_every_parent_succeeded() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 3).await;
    let native = Native::new(&api, TOKEN);
    let a = id_of(
        &native
            .submit(&native.job("hold.php", &[], &["default"]))
            .await,
    );
    let b = id_of(
        &native
            .submit(&native.job("hold.php", &[], &["default"]))
            .await,
    );
    let child = submit_after(&native, "analyze.php", &[&a, &b]).await;
    assert_eq!(child["state"], "pending", "{child}");
    assert_eq!(child["after"], json!([a, b]));
    let child = id_of(&child);
    native.until_state(&a, &["running"]).await;
    env.release(&a);
    native.until_state(&a, &["succeeded"]).await;
    assert_eq!(native.get(&child).await.body["state"], "pending");
    env.release(&b);
    let done = native.until_state(&child, &["succeeded"]).await;
    let b_job = native.get(&b).await.body;
    assert!(
        done["started"].as_str() >= b_job["ended"].as_str(),
        "{done}\n{b_job}"
    );
    env.check_indexes().await;
    native.conforms().await;
}

/// A canceled parent blocks its dependents and theirs; retrying it makes them wait again, and once it
/// succeeds they run in order. Canceling a pending job blocks its own dependents; an unknown parent
/// is refused.
#[tokio::test]
async fn a_canceled_parent_blocks_and_its_retry_unblocks() {
    let env = TestEnv::new();
    let api = env.api().await;
    let native = Native::new(&api, TOKEN);
    let a = id_of(
        &native
            .submit(&native.job("hold.php", &[], &["default"]))
            .await,
    );
    let b = id_of(&submit_after(&native, "analyze.php", &[&a]).await);
    let c = id_of(&submit_after(&native, "analyze.php", &[&b]).await);
    assert_eq!(native.delete(&a).await.status, StatusCode::OK);
    for id in [&b, &c] {
        assert_eq!(native.get(id).await.body["state"], "blocked");
    }
    let late = submit_after(&native, "analyze.php", &[&b]).await;
    assert_eq!(
        late["state"], "blocked",
        "born blocked behind a blocked parent"
    );
    let retried = native
        .call(Method::POST, &format!("/api/v1/jobs/{a}/retry"), None, &[])
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    for id in [&b, &c] {
        assert_eq!(native.get(id).await.body["state"], "pending");
    }
    env.check_indexes().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    native.until_state(&a, &["running"]).await;
    env.release(&a);
    native.until_state(&c, &["succeeded"]).await;
    native.until_state(&id_of(&late), &["succeeded"]).await;

    let d = id_of(
        &native
            .submit(&native.job("hold.php", &[], &["default"]))
            .await,
    );
    let e = id_of(&submit_after(&native, "analyze.php", &[&d]).await);
    let f = id_of(&submit_after(&native, "analyze.php", &[&e]).await);
    assert_eq!(
        native.delete(&e).await.status,
        StatusCode::OK,
        "a pending job is canceled"
    );
    assert_eq!(native.get(&f).await.body["state"], "blocked");
    env.release(&d);

    let mut body = native.job("analyze.php", &[], &["default"]);
    body["after"] = json!(["999999"]);
    let refused = native
        .call(Method::POST, "/api/v1/jobs", Some(&body), &[])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["field"], "after");
    native.until_state(&d, &["succeeded"]).await;
    env.check_indexes().await;
    native.conforms().await;
}

/// Twenty parents end at the same moment on two workers: the dependent is released exactly once (its
/// count of parents waited on ends at exactly 0, it runs once, nothing is left in the outbox).
#[tokio::test]
async fn release_happens_once_when_parents_end_together() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _w1 = env.worker("w1", &["default"], 10).await;
    let _w2 = env.worker("w2", &["default"], 10).await;
    let native = Native::new(&api, TOKEN);
    let mut parents = Vec::new();
    for _ in 0..20 {
        parents.push(id_of(
            &native
                .submit(&native.job("hold.php", &[], &["default"]))
                .await,
        ));
    }
    let names: Vec<&str> = parents.iter().map(String::as_str).collect();
    let child = id_of(&submit_after(&native, "analyze.php", &names).await);
    for parent in &parents {
        native.until_state(parent, &["running"]).await;
    }
    env.release_all();
    let done = native.until_state(&child, &["succeeded"]).await;
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(done["history"].as_array().map(Vec::len), Some(1));
    let job = env.job(&child).await.expect("child");
    assert_eq!(job.attempts, 1);
    let waiting = env.field(&child, "waiting").await;
    assert_eq!(
        waiting.as_deref(),
        Some("0"),
        "released more or less than once"
    );
    let outbox = env.keys().await.iter().any(|k| k.ends_with(":requeue"));
    assert!(!outbox, "something was left in the outbox");
    env.check_indexes().await;
}

/// The process that ends a dependent's last parent dies before it publishes: the dependent is in the
/// outbox already, and a sweep publishes it, so it runs.
#[tokio::test]
async fn a_release_survives_the_death_of_the_releaser() {
    let env = TestEnv::new();
    let parent_spec = JobSpec {
        threads: 1,
        queues: vec![QueueName::parse("default").expect("queue")],
        script: "analyze.php".to_owned(),
        working_directory: env.work.clone(),
        max_tries: 1,
        ..JobSpec::default()
    };
    let parent = env.store.create(&parent_spec).await.expect("create");
    let child_spec = JobSpec {
        after: vec![parent.clone()],
        ..parent_spec.clone()
    };
    let child = match env
        .store
        .create_dependent(&child_spec)
        .await
        .expect("create")
    {
        hopper_common::Dependent::Created(id, state) => {
            assert_eq!(state, hopper_common::JobState::Pending);
            id
        }
        other => panic!("{other:?}"),
    };
    // A worker that claims the parent, records its success, and dies before publishing what it released.
    let claimant = Claimant {
        worker: "doomed",
        host: "h",
        token: "t",
    };
    let queue = QueueName::parse("default").expect("queue");
    env.store
        .claim(&parent, &claimant, &queue, 1, None)
        .await
        .expect("claim");
    let ending = Ending {
        failure: None,
        output: String::new(),
    };
    let (_, released) = env
        .store
        .finish(&parent, "doomed", &ending)
        .await
        .expect("finish");
    assert_eq!(released.len(), 1, "{released:?}");
    env.register(&["default"]).await;
    let api = env
        .api_with(env.api_flags().set("--sweep-interval", "1s"))
        .await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let native = Native::new(&api, TOKEN);
    native.until_state(child.as_str(), &["succeeded"]).await;
    eventually("the outbox to be empty", || async {
        (!env.keys().await.iter().any(|k| k.ends_with(":requeue"))).then_some(())
    })
    .await;
}
