//! `GET /metrics` on an API node and on a worker: Prometheus's text format, with the real numbers of
//! what the test did. Every test process shares one recorder (API nodes and workers run in-process), so
//! each test reads only the series of its own namespace, and counters as they change.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TOKEN, TestEnv, eventually};
use crate::prometheus::{Metrics, scrape};

/// Where a test's worker serves its own metrics: it writes the address into its heartbeat.
pub(crate) async fn worker_metrics_url(env: &TestEnv, worker: &str) -> String {
    let workers = env.store.live_workers().await.expect("Redis");
    let about = &workers
        .iter()
        .find(|w| w.id == worker)
        .expect("the worker is live")
        .about;
    let address = about["metrics"].as_str().expect("a metrics address");
    format!("http://{address}/metrics")
}

/// Scrapes `url` until `ready` holds for the scrape, and returns it: gauges read from Redis may lag
/// by a second (scrapes share one reading for that long), and a job's end reaches Redis a moment after
/// its client sees it.
async fn scrape_until(url: &str, what: &str, ready: impl Fn(&Metrics) -> bool) -> Metrics {
    eventually(what, || async {
        let metrics = scrape(url).await;
        ready(&metrics).then_some(metrics)
    })
    .await
}

/// After jobs ran, an API node's `/metrics` counts the GSvar requests by route and status, the
/// jobs submitted to the queue, the queue's jobs by state and the worker's busy and free slots; the
/// worker's own `/metrics` counts the jobs it started and ended and shows its slots.
#[tokio::test]
async fn metrics_show_requests_jobs_queues_and_slots() {
    let env = TestEnv::new();
    let ns = env.ns.to_string();
    let ns = ns.as_str();
    let api = env.api().await;
    let worker_flags = env
        .worker_flags("w1", &["mq"], 3)
        .set("--metrics-listen", "127.0.0.1:0");
    let _worker = env.worker_with(worker_flags).await;
    let api_metrics = format!("{}/metrics", api.url);
    let worker_metrics = worker_metrics_url(&env, "w1").await;

    for _ in 0..2 {
        let id = api.submit("analyze.php", &[], &["mq"]).await;
        assert_eq!(api.until_ended(&id).await["status"], "finished");
    }
    // One job holds every slot, so the next two wait in the queue.
    let mut hold = api.submit_body("hold.php", &[], &["mq"]);
    hold["threads"] = Value::from(3);
    let held = api.submit_ok(hold).await;
    env.started_pids(&held).await;
    for _ in 0..2 {
        api.submit("analyze.php", &[], &["mq"]).await;
    }

    let queue = [("namespace", ns), ("queue", "mq")];
    let slots = |state| [("namespace", ns), ("worker", "w1"), ("state", state)];
    let in_state = |state| [("namespace", ns), ("queue", "mq"), ("state", state)];
    let metrics = scrape_until(&api_metrics, "the queue's counts", |m| {
        m.sum("hopper_queue_jobs", &in_state("succeeded")) == Some(2.0)
            && m.sum("hopper_queue_jobs", &in_state("queued")) == Some(2.0)
    })
    .await;
    assert_eq!(
        metrics.sum("hopper_scrape_redis_up", &[queue[0]]),
        Some(1.0)
    );
    for (state, jobs) in [("queued", 2.0), ("running", 1.0), ("failed", 0.0)] {
        let labels = in_state(state);
        assert_eq!(
            metrics.sum("hopper_queue_jobs", &labels),
            Some(jobs),
            "{state}"
        );
    }
    assert_eq!(
        metrics.sum("hopper_worker_slots", &slots("busy")),
        Some(3.0)
    );
    assert_eq!(
        metrics.sum("hopper_worker_slots", &slots("free")),
        Some(0.0)
    );
    let submitted = [queue[0], queue[1], ("door", "gsvar")];
    assert_eq!(
        metrics.sum("hopper_jobs_submitted_total", &submitted),
        Some(5.0)
    );
    assert_eq!(metrics.types["hopper_queue_jobs"], "gauge");
    assert_eq!(metrics.types["hopper_jobs_submitted_total"], "counter");

    // The GSvar route: exactly the requests made between two scrapes, all answered 200, each timed.
    let qe = [
        ("namespace", ns),
        ("door", "gsvar"),
        ("method", "POST"),
        ("route", "/qe"),
    ];
    let ok = [qe[0], qe[1], qe[2], qe[3], ("status", "200")];
    let before = metrics.count("hopper_http_requests_total", &ok);
    assert!(before >= 7.0, "5 submits and at least 2 updates: {before}");
    api.update(&held).await;
    api.update(&held).await;
    api.delete("999999").await;
    let after = scrape(&api_metrics).await;
    assert_eq!(after.count("hopper_http_requests_total", &ok), before + 3.0);
    assert_eq!(
        after.label_values("hopper_http_requests_total", &qe, "status"),
        ["200"]
    );
    assert_eq!(
        after.types["hopper_http_request_duration_seconds"],
        "histogram"
    );
    assert_eq!(
        after.sum("hopper_http_request_duration_seconds_count", &qe),
        Some(before + 3.0)
    );

    // A job's end is counted just after Redis took it, so a moment after its client may see it.
    let succeeded = [queue[0], queue[1], ("outcome", "succeeded")];
    let own = scrape_until(&worker_metrics, "the worker to count two ends", |m| {
        m.sum("hopper_jobs_ended_total", &succeeded) == Some(2.0)
    })
    .await;
    assert_eq!(own.sum("hopper_jobs_started_total", &queue), Some(3.0));
    assert_eq!(
        own.label_values("hopper_jobs_ended_total", &queue, "outcome"),
        ["succeeded"]
    );
    assert_eq!(own.sum("hopper_slots", &slots("busy")), Some(3.0));
    assert_eq!(own.sum("hopper_slots", &slots("free")), Some(0.0));

    // Once the slots are free again, the queued jobs run; every count follows.
    env.release(&held);
    scrape_until(&worker_metrics, "every job to end on the worker", |m| {
        m.sum("hopper_jobs_ended_total", &succeeded) == Some(5.0)
            && m.sum("hopper_slots", &slots("free")) == Some(3.0)
    })
    .await;
    let done = scrape_until(&api_metrics, "the queue to empty", |m| {
        m.sum("hopper_queue_jobs", &in_state("succeeded")) == Some(5.0)
    })
    .await;
    assert_eq!(
        done.sum("hopper_queue_jobs", &in_state("queued")),
        Some(0.0)
    );
    assert_eq!(done.sum("hopper_worker_slots", &slots("busy")), Some(0.0));
    assert_eq!(done.sum("hopper_worker_slots", &slots("free")), Some(3.0));
}

/// Requests are labelled with the route they matched, never their path, so job ids make no series;
/// a path no route matched is `unmatched`. Refused submits are counted by door.
#[tokio::test]
async fn routes_are_templates_and_refusals_are_counted() {
    let env = TestEnv::new();
    let ns = env.ns.to_string();
    let ns = ns.as_str();
    let api = env.api().await;
    for id in ["4711", "4712"] {
        let answer = api
            .client
            .get(format!("{}/api/v1/jobs/{id}", api.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("GET");
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    }
    let nowhere = reqwest::get(format!("{}/nowhere/4711", api.url))
        .await
        .expect("GET");
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    // GSvar's refusals are recorded as failed jobs: HTTP 200, and counted as refused, not submitted.
    let (status, reply) = api
        .post(&api.submit_body("analyze.php", &[], &["not_known_here"]))
        .await;
    assert_eq!(
        (status, &reply["exit_code"]),
        (StatusCode::OK, &Value::from(1))
    );

    let metrics = scrape(&format!("{}/metrics", api.url)).await;
    let native = [("namespace", ns), ("door", "native"), ("method", "GET")];
    assert_eq!(
        metrics.label_values("hopper_http_requests_total", &native, "route"),
        ["/api/v1/jobs/{id}"]
    );
    let job = [
        native[0],
        native[1],
        native[2],
        ("route", "/api/v1/jobs/{id}"),
        ("status", "404"),
    ];
    assert_eq!(metrics.sum("hopper_http_requests_total", &job), Some(2.0));
    let unmatched = [("namespace", ns), ("route", "unmatched"), ("status", "404")];
    assert_eq!(
        metrics.sum("hopper_http_requests_total", &unmatched),
        Some(1.0)
    );
    let gsvar = [("namespace", ns), ("door", "gsvar")];
    assert_eq!(metrics.sum("hopper_jobs_refused_total", &gsvar), Some(1.0));
    assert_eq!(metrics.sum("hopper_jobs_submitted_total", &gsvar), None);
}

/// With Redis unreachable, `/metrics` still answers at once, says Redis was not read, and counts the
/// failed calls: a submit that answers 503 adds to them.
#[tokio::test]
async fn redis_errors_are_counted_and_metrics_still_answer() {
    let env = TestEnv::new();
    let ns = env.ns.to_string();
    let labels = [("namespace", ns.as_str())];
    let api = env
        .api_with(env.api_flags().set("--redis-url", "redis://127.0.0.1:1"))
        .await;
    let url = format!("{}/metrics", api.url);
    let started = std::time::Instant::now();
    let before = scrape(&url).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(before.sum("hopper_scrape_redis_up", &labels), Some(0.0));
    assert_eq!(before.sum("hopper_queue_jobs", &labels), None);
    let failed = before.count("hopper_redis_errors_total", &labels);
    assert!(failed >= 1.0, "the scrape's own call failed: {failed}");

    let (status, _) = api
        .post(&api.submit_body("analyze.php", &[], &["default"]))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let after = scrape(&url).await;
    assert!(after.count("hopper_redis_errors_total", &labels) >= failed + 1.0);
    for kind in after.label_values("hopper_redis_errors_total", &labels, "kind") {
        assert!(
            ["connect", "reconnecting", "connection"].contains(&kind.as_str()),
            "{kind}"
        );
    }
    let unavailable = [labels[0], ("route", "/qe"), ("status", "503")];
    assert_eq!(
        after.sum("hopper_http_requests_total", &unavailable),
        Some(1.0)
    );
}

/// With RabbitMQ unreachable, a submit answers 503 and the broker errors it met are counted.
#[tokio::test]
async fn broker_errors_are_counted() {
    let env = TestEnv::new();
    let ns = env.ns.to_string();
    let labels = [("namespace", ns.as_str())];
    let api = env
        .api_with(
            env.api_flags()
                .set("--amqp-url", "amqp://guest:guest@127.0.0.1:1/%2f"),
        )
        .await;
    let url = format!("{}/metrics", api.url);
    let before = scrape(&url)
        .await
        .count("hopper_broker_errors_total", &labels);
    let (status, _) = api
        .post(&api.submit_body("analyze.php", &[], &["default"]))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let after = scrape(&url).await;
    assert!(after.count("hopper_broker_errors_total", &labels) >= before + 1.0);
    // Redis answers, so the deployment's gauges are there.
    assert_eq!(after.sum("hopper_scrape_redis_up", &labels), Some(1.0));
}
