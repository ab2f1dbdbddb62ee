//! The broker topology, confirms before answers, and what clients see when Redis or RabbitMQ is down.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Api, TOKEN, TestEnv, eventually, rabbitmq_rows};

/// Whether `name` is a durable quorum queue with Hopper's delivery limit, read from RabbitMQ itself.
fn is_hopper_job_queue(name: &str) -> bool {
    rabbitmq_rows("list_queues", &["name", "durable", "arguments"], name)
        .iter()
        .any(|row| {
            row[0] == "true"
                && row[1].contains(r#"{"x-queue-type","quorum"}"#)
                && row[1].contains(r#"{"x-delivery-limit",1000000000}"#)
        })
}

/// With no worker running, a submit's messages are already in every listed queue when the client gets
/// its answer (published with confirms), and the API declared them as durable quorum queues (with a
/// delivery limit no hand-back can reach).
#[tokio::test]
async fn submit_is_confirmed_in_every_listed_queue_before_the_answer() {
    let env = TestEnv::new();
    let api = env.api().await;
    let (a, b) = (env.amqp_queue("qa"), env.amqp_queue("qb"));
    env.register(&["qa", "qb"]).await;
    api.submit("analyze.php", &[], &["qa", "qb"]).await;
    assert_eq!(env.queue_counts(&a).await, Some((1, 0)));
    assert_eq!(env.queue_counts(&b).await, Some((1, 0)));
    assert!(
        is_hopper_job_queue(&a),
        "{a} is not a durable quorum queue with a delivery limit"
    );
}

/// A worker declares the queues it serves at start, as durable quorum queues.
#[tokio::test]
async fn worker_declares_its_queues_at_start() {
    let env = TestEnv::new();
    let _worker = env.worker("w1", &["only_here"], 1).await;
    let name = env.amqp_queue("only_here");
    assert_eq!(env.queue_counts(&name).await, Some((0, 1)));
    assert!(is_hopper_job_queue(&name));
}

/// With Redis unreachable every action answers 503 with a JSON body, and /readyz says not ready.
#[tokio::test]
async fn unreachable_redis_answers_503() {
    let env = TestEnv::new();
    let api = env
        .api_with(env.api_flags().set("--redis-url", "redis://127.0.0.1:1"))
        .await;
    env.amqp_queue("default");
    for body in [
        api.submit_body("analyze.php", &[], &["default"]),
        json!({"action": "update", "token": TOKEN, "qe_job_id": "1"}),
        json!({"action": "delete", "token": TOKEN, "qe_job_id": "1"}),
    ] {
        let (status, reply) = api.post(&body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
        assert!(
            reply["result"]
                .as_str()
                .is_some_and(|r| r.contains("Redis")),
            "{reply}"
        );
        assert_eq!(reply["exit_code"], 1);
    }
    let readiness = reqwest::get(format!("{}/readyz", api.url))
        .await
        .expect("readyz");
    assert_eq!(readiness.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// An API node whose RabbitMQ is a closed port.
async fn api_without_broker(env: &TestEnv) -> Api {
    env.api_with(
        env.api_flags()
            .set("--amqp-url", "amqp://guest:guest@127.0.0.1:1/%2f"),
    )
    .await
}

/// With RabbitMQ unreachable a submit answers 503 and leaves no job behind that looks queued.
#[tokio::test]
async fn unreachable_broker_answers_503_and_leaves_no_job() {
    let env = TestEnv::new();
    let api = api_without_broker(&env).await;
    let (status, reply) = api
        .post(&api.submit_body("analyze.php", &[], &["default"]))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    assert!(
        reply["result"]
            .as_str()
            .is_some_and(|r| r.contains("RabbitMQ")),
        "{reply}"
    );
    assert!(
        env.job_keys().await.is_empty(),
        "a job was left behind: {:?}",
        env.job_keys().await
    );
    let readiness = reqwest::get(format!("{}/readyz", api.url))
        .await
        .expect("readyz");
    assert_eq!(readiness.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = readiness.json().await.expect("JSON");
    assert_eq!(body["redis"], "ok");
    assert_ne!(body["rabbitmq"], "ok");
}

/// While RabbitMQ is unreachable the publisher does not try to connect for every call: after a failed
/// attempt the next call fails at once, saying it waits out a backoff, and the API node answers 503.
#[tokio::test]
async fn unreachable_broker_is_retried_with_backoff() {
    let env = TestEnv::new();
    let publisher = hopper_common::Publisher::new(
        "amqp://guest:guest@127.0.0.1:1/%2f",
        env.ns.clone(),
        "backoff test",
        std::time::Duration::from_secs(5),
    );
    let job = hopper_common::JobId::parse("1").expect("job id");
    let queues = [hopper_common::QueueName::parse("default").expect("queue")];
    let first = publisher
        .submit(&job, 1, &queues)
        .await
        .expect_err("no broker");
    assert!(!first.to_string().contains("reconnecting"), "{first}");
    let second = publisher
        .submit(&job, 1, &queues)
        .await
        .expect_err("no broker");
    assert!(
        second.to_string().contains("reconnecting") && second.to_string().contains("next in"),
        "{second}"
    );

    let api = api_without_broker(&env).await;
    let body = api.submit_body("analyze.php", &[], &["default"]);
    let (status, reply) = api.post(&body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    assert!(env.job_keys().await.is_empty());
}

/// /healthz always answers; /readyz answers 200 when Redis and RabbitMQ are both reachable.
#[tokio::test]
async fn health_and_readiness() {
    let env = TestEnv::new();
    let api = env.api().await;
    let health = reqwest::get(format!("{}/healthz", api.url))
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    let readiness = reqwest::get(format!("{}/readyz", api.url))
        .await
        .expect("readyz");
    assert_eq!(readiness.status(), StatusCode::OK);
}

/// The policy in force on a queue, as RabbitMQ reports it.
fn policy_of(queue: &str) -> String {
    let rows = rabbitmq_rows("list_queues", &["name", "policy"], queue);
    rows.first().map(|row| row[0].clone()).unwrap_or_default()
}

/// A RabbitMQ policy for the test's lifetime (removed on drop, even if the test fails).
struct Policy(String);

impl Policy {
    fn set(name: String, pattern: &str, definition: &str) -> Self {
        let status = std::process::Command::new("rabbitmqctl")
            .args([
                "set_policy",
                "-q",
                "--apply-to",
                "queues",
                &name,
                pattern,
                definition,
            ])
            .status()
            .expect("rabbitmqctl (installed with RabbitMQ) must be on PATH");
        assert!(status.success(), "cannot set policy {name}");
        Self(name)
    }
}

impl Drop for Policy {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["clear_policy", "-q", &self.0])
            .status();
    }
}

/// When one of a job's queues refuses the message, the submit answers 503 and leaves no job behind;
/// the copy that did reach another queue finds no job and never runs.
#[tokio::test]
async fn publish_refused_by_one_queue_withdraws_the_job() {
    let env = TestEnv::new();
    let api = env.api().await;
    let (good, refusing) = (env.amqp_queue("good"), env.amqp_queue("refusing"));
    env.register(&["good", "refusing"]).await;
    // The queue exists, and the policy is in force on it, before the submit.
    let connection = lapin::Connection::connect(&crate::helpers::amqp_url(), Default::default())
        .await
        .expect("AMQP");
    let channel = connection.create_channel().await.expect("channel");
    hopper_common::topology::declare_job_queue(&channel, &refusing)
        .await
        .expect("declare");
    let policy_name = format!("{}-refuse", env.ns);
    let _policy = Policy::set(
        policy_name.clone(),
        &format!("^{}\\.refusing$", env.ns),
        r#"{"max-length":0,"overflow":"reject-publish"}"#,
    );
    eventually("the policy to apply", || async {
        (policy_of(&refusing) == policy_name).then_some(())
    })
    .await;
    // A quorum queue lets one message past its limit before it refuses: fill that place first.
    channel
        .confirm_select(Default::default())
        .await
        .expect("confirms");
    let filler = channel
        .basic_publish(
            "".into(),
            refusing.as_str().into(),
            Default::default(),
            b"filler",
            Default::default(),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(filler.is_ack());
    let (status, reply) = api
        .post(&api.submit_body("hold.php", &[], &["good", "refusing"]))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    assert!(
        env.job_keys().await.is_empty(),
        "a withdrawn job was left: {:?}",
        env.job_keys().await
    );
    assert_eq!(
        env.queue_counts(&good).await,
        Some((1, 0)),
        "the copy that got through"
    );

    let _worker = env.worker("w1", &["good"], 1).await;
    let sentinel = api.submit("analyze.php", &[], &["good"]).await;
    assert_eq!(api.until_ended(&sentinel).await["status"], "finished");
    assert_eq!(
        env.queue_counts(&good).await,
        Some((0, 1)),
        "the orphan copy was not consumed"
    );
    assert!(!env.logs.join("1.out").exists(), "the withdrawn job ran");
}
