//! Provisional jobs as a worker meets them: a front door creates a job, publishes its submit and only
//! then confirms it, so a worker may receive the message of a job that is not confirmed yet, or never
//! will be (its node answered 503 when Redis did not answer the confirm).

use std::time::Duration;

use hopper_common::{JobId, JobSpec, Publisher, QueueName};

use crate::helpers::{TestEnv, amqp_url, eventually};

fn hold(env: &TestEnv) -> JobSpec {
    JobSpec {
        threads: 1,
        queues: vec![QueueName::parse("default").expect("queue")],
        script: "hold.php".to_owned(),
        args: Vec::new(),
        working_directory: env.work.clone(),
        max_tries: 1,
        ..JobSpec::default()
    }
}

/// A provisional `hold.php` job lasting `lasting`, its submit published as a front door does, and not
/// confirmed.
async fn published_unconfirmed(env: &TestEnv, lasting: Duration) -> JobId {
    let spec = hold(env);
    let id = env
        .store
        .create_provisional(&spec, lasting)
        .await
        .expect("create");
    let publisher = Publisher::new(
        &amqp_url(),
        env.ns.clone(),
        "provisional test",
        Duration::from_secs(5),
    );
    publisher
        .submit(&id, 1, &spec.queues)
        .await
        .expect("publish");
    id
}

/// A job whose submit was published but never confirmed never runs: the worker finds it unconfirmed
/// and waits; once it has expired the message finds no job and is dead-lettered.
#[tokio::test]
async fn a_published_job_never_confirmed_never_runs() {
    let env = TestEnv::new();
    let dead = env.amqp_queue("dead-letter");
    let _worker = env.worker("w1", &["default"], 1).await;
    let id = published_unconfirmed(&env, Duration::from_secs(2)).await;
    eventually("the message to be dead-lettered", || async {
        (env.queue_counts(&dead).await?.0 == 1).then_some(())
    })
    .await;
    assert!(
        env.job(id.as_str()).await.is_none(),
        "the job did not expire"
    );
    let started = env.work.join(format!("{id}.started"));
    assert!(!started.exists(), "the unconfirmed job ran");
}

/// A job whose message reaches the worker before its confirm runs as soon as it is confirmed.
#[tokio::test]
async fn a_job_confirmed_after_its_message_arrived_runs() {
    let env = TestEnv::new();
    let _worker = env.worker("w1", &["default"], 1).await;
    let id = published_unconfirmed(&env, Duration::from_secs(60)).await;
    // The worker has the message (it is gone from the queue) and waits for the confirm.
    let queue = env.amqp_queue("default");
    eventually("the worker to take the message", || async {
        (env.queue_counts(&queue).await?.0 == 0).then_some(())
    })
    .await;
    let started = env.work.join(format!("{id}.started"));
    assert!(!started.exists(), "the unconfirmed job ran");
    assert!(env.store.confirm(&id).await.expect("confirm"));
    eventually("the job to start once confirmed", || {
        std::future::ready(started.exists().then_some(()))
    })
    .await;
    std::fs::write(env.work.join(format!("release-{id}")), "").expect("release");
    // The indexes are compared with the jobs one read at a time: only once nothing moves.
    eventually("the job to end", || async {
        env.job(id.as_str())
            .await
            .filter(|j| j.state.is_final())
            .map(drop)
    })
    .await;
    env.check_indexes().await;
}
