//! RabbitMQ up but not answering: connections accepted and never answered, or a broker that stops
//! answering in the middle of a connection (a frozen peer), through the fault proxy.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::time::Instant;

use crate::api_node::{ApiNode, api_settings};
use crate::binaries::{Process, Settings};
use crate::checker::{all_finished_once, assert_jobs_are_exactly, until_ended};
use crate::hold::{alive, pids, started};
use crate::load::{Load, check_all_answered_within};
use crate::proxy::Proxy;
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::{World, amqp_addr, amqp_url_via, redis_url};

/// HOPPER_AMQP_TIMEOUT and HOPPER_CHECK_INTERVAL in these tests.
const LIMIT: Duration = Duration::from_secs(2);
const INTERVAL: Duration = Duration::from_millis(500);
/// Room for a loaded two-core machine, on top of what a bound promises.
const SLACK: Duration = Duration::from_millis(1500);

/// What the worker says once per RabbitMQ outage, and once when it is over.
pub const BROKER_WARNING: &str = "RabbitMQ is not answering";
const BROKER_BACK: &str = "RabbitMQ answers again";

fn limits(settings: Settings) -> Settings {
    settings
        .set("HOPPER_AMQP_TIMEOUT", "2s")
        .set("HOPPER_CHECK_INTERVAL", "500ms")
}

/// An API node whose RabbitMQ freezes under load: every request is answered within the limit (2 s) and
/// a little, as 200 or 503; submits answer 503 while status reads, which need only Redis, answer 200;
/// `/readyz` answers at once and says 503, naming RabbitMQ, within the limit plus the check interval.
/// Once it answers again every accepted job runs once and nothing refused is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_answers_in_time_while_rabbitmq_hangs() {
    let world = World::new();
    world.amqp_queue("dead-letter");
    let proxy = Proxy::start(&amqp_addr()).await;
    let settings = limits(api_settings(&world)).set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()));
    let mut api = ApiNode::start(&world, "api", settings).await;
    let worker = worker_settings(&world, "w1", &["default"]).set("HOPPER_THREADS", "8");
    let _worker = WorkerNode::start(&world, "worker", worker).await;
    let load = Load::start(&api.gsvar, 6, "default");
    load.until("10 submits accepted", 10, |a| a.accepted.is_some())
        .await;

    let frozen = Instant::now();
    proxy.freeze();
    let (noticed, body) = api.until_not_ready(frozen, LIMIT + INTERVAL + SLACK).await;
    assert_eq!(body["redis"], "ok", "{body}");
    assert!(
        body["rabbitmq"].as_str().is_some_and(|r| r != "ok"),
        "{body}"
    );
    let refused = |a: &crate::load::Answer| {
        a.action == "submit"
            && a.sent > noticed
            && a.status == Some(StatusCode::SERVICE_UNAVAILABLE)
    };
    load.until("10 submits refused while it hangs", 10, refused)
        .await;
    let restored = Instant::now();
    proxy.restore();
    api.until_ready(DEADLINE).await;
    load.until("10 submits accepted after", 10, |a| {
        a.sent > restored && a.accepted.is_some()
    })
    .await;
    let answers = load.stop().await;

    let accepted = check_all_answered_within(&answers, LIMIT + SLACK);
    for answer in answers
        .iter()
        .filter(|a| a.sent > noticed && a.answered() < restored)
    {
        let expected = match answer.action {
            "update" => StatusCode::OK,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        assert_eq!(answer.status, Some(expected), "while it hung: {answer:?}");
    }
    all_finished_once(&api.gsvar, &redis_url(), &world.ns, &accepted, DEADLINE).await;
    assert_jobs_are_exactly(&redis_url(), &world.ns, &accepted).await;
}

/// A worker whose RabbitMQ freezes while a job runs: the script goes on and its end is recorded; the
/// worker says so once, however many reconnects it tries; once the broker answers again it reconnects
/// and runs the job that waited meanwhile, every job once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_goes_on_while_rabbitmq_hangs() {
    let world = World::new();
    let api = ApiNode::start(&world, "api", api_settings(&world)).await;
    let proxy = Proxy::start(&amqp_addr()).await;
    let settings = limits(worker_settings(&world, "w1", &["default"]))
        .set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()))
        .set("HOPPER_LOG", "info,hopper_worker=debug");
    let worker = WorkerNode::start(&world, "worker", settings).await;
    let held = api.gsvar.submit_ok("hold.php", &[], "default").await;
    let attempt = started(&world, &held, "", DEADLINE).await;

    proxy.freeze();
    worker.process.until_logged(BROKER_WARNING, 1).await;
    let waiting = api.gsvar.submit_ok("analyze.php", &[], "default").await;
    assert!(
        pids(&attempt).iter().all(|&pid| alive(pid)),
        "the script must go on"
    );
    world.release(&held);
    until_ended(&api.gsvar, &redis_url(), &world.ns, &held, DEADLINE)
        .await
        .assert_finished(&held);
    // Several reconnects fail while it hangs (each waits out the limit): still one warning.
    worker
        .process
        .until_logged("cannot reach RabbitMQ yet", 2)
        .await;
    proxy.restore();
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &waiting, DEADLINE).await;
    ended.assert_finished(&waiting);
    assert_eq!(ended.attempts(), 1);
    let log = worker.process.log();
    assert_eq!(log.matches(BROKER_WARNING).count(), 1, "{log}");
    assert_eq!(log.matches(BROKER_BACK).count(), 1, "{log}");
}

/// A worker told to stop (SIGTERM) while its RabbitMQ is frozen exits within HOPPER_DRAIN (3 s) +
/// HOPPER_KILL_GRACE (1 s) + the second it keeps for recording ends, and the job it stopped ends
/// `worker_shutdown`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_stops_in_time_while_rabbitmq_hangs() {
    let world = World::new();
    let api = ApiNode::start(&world, "api", api_settings(&world)).await;
    let proxy = Proxy::start(&amqp_addr()).await;
    let settings = limits(worker_settings(&world, "w1", &["default"]))
        .set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()))
        .set("HOPPER_DRAIN", "3s")
        .set("HOPPER_KILL_GRACE", "1s");
    let mut worker = WorkerNode::start(&world, "worker", settings).await;
    let job = api.gsvar.submit_ok("hold.php", &[], "default").await;
    started(&world, &job, "", DEADLINE).await;

    proxy.freeze();
    worker.process.until_logged(BROKER_WARNING, 1).await;
    let stopped = Instant::now();
    worker.process.sigterm();
    let bound = Duration::from_secs(3 + 1 + 1) + SLACK;
    let status = worker
        .process
        .wait_exit(bound + Duration::from_secs(10))
        .await;
    assert!(
        stopped.elapsed() <= bound,
        "stopped after {:?}\n{}",
        stopped.elapsed(),
        worker.process.tail()
    );
    assert_eq!(status.code(), Some(0), "{status}");
    until_ended(&api.gsvar, &redis_url(), &world.ns, &job, DEADLINE)
        .await
        .assert_error(&job, "worker_shutdown");
}

/// A worker started while RabbitMQ accepts connections and never answers them (the wedged broker a
/// new user met): it says so, once, keeps no thread behind for each attempt, and stops at once on
/// SIGTERM instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_started_against_a_wedged_rabbitmq_warns_and_stops() {
    let world = World::new();
    let proxy = Proxy::start(&amqp_addr()).await;
    proxy.blackhole();
    let settings = limits(worker_settings(&world, "w1", &["default"]))
        .set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()))
        .set("HOPPER_LOG", "info,hopper_worker=debug");
    let mut process = Process::spawn("hopper-worker", "worker", &settings, world.dir());
    process.until_logged("cannot reach RabbitMQ yet", 2).await;
    let threads = threads_of(process.pid());
    // Each unanswered connect is given up on whole: no thread or socket is left waiting for ever.
    process.until_logged("cannot reach RabbitMQ yet", 4).await;
    assert!(
        threads_of(process.pid()) < threads + 2,
        "threads grew from {threads} to {} over two unanswered connects",
        threads_of(process.pid())
    );
    assert!(process.try_exit().is_none(), "{}", process.tail());
    let stopped = Instant::now();
    process.sigterm();
    let status = process.wait_exit(Duration::from_secs(10)).await;
    assert!(
        stopped.elapsed() <= SLACK,
        "stopped after {:?}",
        stopped.elapsed()
    );
    assert_eq!(status.code(), Some(0), "{status}");
    let log = process.log();
    assert_eq!(log.matches(BROKER_WARNING).count(), 1, "{log}");
    assert!(!log.contains("hopper-worker serving"), "{log}");
}

/// How many threads process `pid` has.
fn threads_of(pid: nix::unistd::Pid) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, Iterator::count)
}

/// An API node started while RabbitMQ accepts connections and never answers says nothing of being
/// ready, and `/readyz` answers 503 naming RabbitMQ; once the broker answers, the node logs "ready" and
/// `/readyz` answers 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_says_ready_only_when_readyz_does() {
    let world = World::new();
    let proxy = Proxy::start(&amqp_addr()).await;
    proxy.blackhole();
    let settings = limits(api_settings(&world))
        .set("HOPPER_AMQP_URL", amqp_url_via(proxy.port()))
        .set(
            "HOPPER_LISTEN",
            format!("127.0.0.1:{}", crate::wait::free_port()),
        );
    let port = settings
        .get("HOPPER_LISTEN")
        .map(str::to_owned)
        .expect("listen");
    let process = Process::spawn("hopper-api", "api", &settings, world.dir());
    let gsvar = crate::gsvar::Gsvar::new(format!("http://{port}"), world.work.clone());
    let body = eventually("/readyz to say RabbitMQ is out", DEADLINE, || async {
        let (status, body, _) = gsvar.readiness().await?;
        (status == StatusCode::SERVICE_UNAVAILABLE && body["rabbitmq"] != "ok").then_some(body)
    })
    .await;
    assert_eq!(body["redis"], "ok", "{body}");
    assert!(
        !process.log().contains("hopper-api ready"),
        "said ready while /readyz says 503:\n{}",
        process.log()
    );
    proxy.restore();
    process.until_logged("hopper-api ready", 1).await;
    assert_eq!(gsvar.readyz().await, Some(StatusCode::OK));
}
