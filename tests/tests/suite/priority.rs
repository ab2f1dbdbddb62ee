//! Priorities: a submit message is a token for its queue, and a worker claims the best job queued
//! there (lower priority numbers first, then the oldest), whichever job the message named.

use std::path::PathBuf;

use hopper_common::{
    Claimant, Ending, Failure, JobId, JobSpec, JobState, NextClaim, QueueName, RetryOptions,
    RetryOutcome, Store,
};
use serde_json::json;

use crate::helpers::{TOKEN, TestEnv, eventually};
use crate::native_client::Native;
use crate::prometheus::scrape;
use crate::scale::runs;

fn claimant(token: &str) -> Claimant<'_> {
    Claimant {
        worker: "w1",
        host: "host",
        token,
    }
}

fn spec(priority: Option<i32>, threads: u32) -> JobSpec {
    JobSpec {
        threads,
        queues: vec![QueueName::parse("default").expect("queue")],
        script: "analyze.php".into(),
        working_directory: PathBuf::from("/tmp"),
        max_tries: 1,
        priority,
        ..JobSpec::default()
    }
}

/// Spends a message of job `delivered` from queue `default` with claim token `token`, offering
/// (slots, the worker's threads).
async fn next(
    store: &Store,
    delivered: &JobId,
    token: &str,
    offer: (u32, u32),
    again: bool,
) -> NextClaim {
    let queue = QueueName::parse("default").expect("queue");
    store
        .claim_next(delivered, &claimant(token), &queue, offer, again)
        .await
        .expect("claim")
}

fn claimed(claim: &NextClaim) -> (&JobId, u32) {
    match claim {
        NextClaim::Claimed { job, threads, .. } => (job, *threads),
        other => panic!("expected a claim, got {other:?}"),
    }
}

/// Whatever message is spent, the best queued job is claimed: lowest priority number first, the
/// oldest among equals. A job wider than the slots offered is not jumped over; its width is answered.
/// A claim asked again with its token answers the job it claimed; a message left over claims nothing.
#[tokio::test]
async fn a_message_claims_the_best_job_of_its_queue() {
    let env = TestEnv::new();
    let store = &env.store;
    let old_low = store.create(&spec(Some(200), 1)).await.expect("create");
    let default = store.create(&spec(None, 1)).await.expect("create");
    let urgent = store.create(&spec(Some(-5), 1)).await.expect("create");
    let also_urgent = store.create(&spec(Some(-5), 1)).await.expect("create");
    let wide = store.create(&spec(Some(0), 4)).await.expect("create");

    // The oldest message is spent on the most urgent job, the oldest of two equals.
    let first = next(store, &old_low, "t1", (1, 8), false).await;
    assert_eq!(claimed(&first), (&urgent, 1));
    let repeated = next(store, &old_low, "t1", (1, 8), true).await;
    assert_eq!(repeated, first, "a claim asked again answers the same");
    let second = next(store, &default, "t2", (1, 8), false).await;
    assert_eq!(claimed(&second), (&also_urgent, 1));

    // Next is the wide job: one slot is not enough, and the narrower jobs behind it wait.
    let narrow = next(store, &default, "t3", (1, 8), false).await;
    assert_eq!(narrow, NextClaim::Wider(4));
    // On a worker with 2 threads it needs (and gets) both; the note says it asked for more.
    let on_small = next(store, &default, "t4", (2, 2), false).await;
    assert_eq!(claimed(&on_small), (&wide, 2));
    let job = store.get(&wide).await.expect("get").expect("job");
    assert!(
        job.note
            .as_deref()
            .is_some_and(|n| n.contains("asked for 4 threads")),
        "{job:?}"
    );
    // Offered more slots than it needs, a job takes only its own.
    let rest = next(store, &urgent, "t5", (4, 8), false).await;
    assert_eq!(claimed(&rest), (&default, 1));
    let last = next(store, &urgent, "t6", (1, 8), false).await;
    assert_eq!(claimed(&last), (&old_low, 1));
    let left_over = next(store, &wide, "t7", (1, 8), false).await;
    assert_eq!(left_over, NextClaim::Nothing(JobState::Running));
    let unknown = JobId::parse("999999").expect("id");
    let stray = next(store, &unknown, "t8", (1, 8), false).await;
    assert_eq!(stray, NextClaim::Missing);
    env.check_indexes().await;
}

/// The case: jobs wait behind a running one on a worker with one slot; when the slot frees,
/// the job of highest priority starts first though it was queued last, and the rest follow in
/// priority order, equal priorities oldest first.
#[tokio::test]
async fn a_higher_priority_job_queued_later_starts_first_when_a_slot_frees() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let native = Native::new(&api, TOKEN);
    let blocker = native
        .submit(&native.job("hold.php", &[], &["default"]))
        .await;
    let blocker = blocker["id"].as_str().expect("id").to_owned();
    env.started_pids(&blocker).await;
    let mut order = Vec::new();
    for priority in [100, 100, 1, 50, 100, -3] {
        let mut body = native.job("record.php", &["1000"], &["default"]);
        body["priority"] = json!(priority);
        let job = native.submit(&body).await;
        order.push((priority, job["id"].as_str().expect("id").to_owned()));
    }
    env.release(&blocker);
    for (_, id) in &order {
        native.until_state(id, &["succeeded"]).await;
    }
    // Stable sort: equal priorities keep their submit order.
    order.sort_by_key(|(priority, _)| *priority);
    let expected: Vec<String> = order.into_iter().map(|(_, id)| id).collect();
    let started: Vec<String> = runs(&env).into_iter().map(|run| run.job).collect();
    assert_eq!(started, expected, "runs in start order");
    env.check_indexes().await;
}

/// A wide job of higher priority is not overtaken by narrower ones queued before it: when one slot of
/// two frees, the worker reserves both for it instead of filling the free one with a narrow job.
#[tokio::test]
async fn a_wide_urgent_job_is_not_overtaken_by_narrow_ones() {
    let env = TestEnv::new();
    let api = env.api().await;
    let flags = env
        .worker_flags("w1", &["default"], 2)
        .set("--metrics-listen", "127.0.0.1:0");
    let _worker = env.worker_with(flags).await;
    let native = Native::new(&api, TOKEN);
    let mut blockers = Vec::new();
    for _ in 0..2 {
        let job = native
            .submit(&native.job("hold.php", &[], &["default"]))
            .await;
        let id = job["id"].as_str().expect("id").to_owned();
        env.started_pids(&id).await;
        blockers.push(id);
    }
    let mut narrow = Vec::new();
    for _ in 0..3 {
        let job = native
            .submit(&native.job("record.php", &["1000"], &["default"]))
            .await;
        narrow.push(job["id"].as_str().expect("id").to_owned());
    }
    let mut body = native.job("record.php", &["1000"], &["default"]);
    body["priority"] = json!(1);
    body["threads"] = json!(2);
    let wide = native.submit(&body).await;
    let wide = wide["id"].as_str().expect("id").to_owned();

    // One slot frees: the message that comes for it finds the wide job first, which needs two.
    env.release(&blockers[0]);
    let metrics = crate::metrics::worker_metrics_url(&env, "w1").await;
    let ns = env.ns.to_string();
    let labels = [("namespace", ns.as_str()), ("worker", "w1")];
    eventually("the worker to reserve two slots", || async {
        let scraped = scrape(&metrics).await;
        (scraped.sum("hopper_reserved_slots", &labels) == Some(2.0)).then_some(())
    })
    .await;
    for id in &narrow {
        assert_eq!(
            native.get(id).await.body["state"],
            "queued",
            "{id} jumped ahead"
        );
    }
    env.release(&blockers[1]);
    native.until_state(&wide, &["succeeded"]).await;
    for id in &narrow {
        native.until_state(id, &["succeeded"]).await;
    }
    let runs = runs(&env);
    let wide_run = runs
        .iter()
        .find(|run| run.job == wide)
        .expect("wide job ran");
    assert_eq!(wide_run.threads, 2);
    for run in runs.iter().filter(|run| run.job != wide) {
        assert!(
            run.start >= wide_run.end,
            "{run:?} started before the wide job ended"
        );
    }
    env.check_indexes().await;
}

/// A failed job retried with a new priority (Scale's requeue `priority`) carries it, and re-enters the
/// claim order at it: it is claimed before a job queued earlier at the default priority.
#[tokio::test]
async fn a_job_retried_with_a_new_priority_is_claimed_in_its_new_order() {
    let env = TestEnv::new();
    let store = &env.store;
    let failed = store.create(&spec(None, 1)).await.expect("create");
    let queue = QueueName::parse("default").expect("queue");
    store
        .claim(&failed, &claimant("t1"), &queue, 1, None)
        .await
        .expect("claim");
    let ending = Ending {
        failure: Some(Failure::Exit(3)),
        output: String::new(),
    };
    store.finish(&failed, "w1", &ending).await.expect("finish");
    let waiting = store.create(&spec(None, 1)).await.expect("create");

    let options = RetryOptions {
        tries: Some(4),
        priority: Some(-7),
        ..RetryOptions::default()
    };
    let outcome = store.retry_as(&failed, options).await.expect("retry");
    assert!(matches!(outcome, RetryOutcome::Queued(_)), "{outcome:?}");
    let job = store.get(&failed).await.expect("get").expect("job");
    assert_eq!(
        (job.state, job.spec.priority, job.spec.max_tries),
        (JobState::Queued, Some(-7), 4)
    );
    // The earlier job's message is spent on the retried one, now the more urgent.
    let first = next(store, &waiting, "t2", (1, 8), false).await;
    assert_eq!(claimed(&first), (&failed, 1));
    let second = next(store, &failed, "t3", (1, 8), false).await;
    assert_eq!(claimed(&second), (&waiting, 1));
    env.check_indexes().await;
}
