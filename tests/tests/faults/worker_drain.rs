//! A worker stopped with SIGTERM drains: it takes no new jobs, lets running ones end for up to
//! HOPPER_DRAIN, then terminates the rest.

use std::time::Duration;

use crate::api_node::{ApiNode, api_settings};
use crate::binaries::Settings;
use crate::checker::until_ended;
use crate::hold::started;
use crate::wait::{DEADLINE, eventually};
use crate::worker_node::{WorkerNode, worker_settings};
use crate::world::{World, redis_url};

fn draining_worker(world: &World, id: &str, queues: &[&str], drain: &str) -> Settings {
    worker_settings(world, id, queues)
        .set("HOPPER_DRAIN", drain)
        .set("HOPPER_HEARTBEAT_TTL", "3s")
        .set("HOPPER_SWEEP_INTERVAL", "1s")
        .set("HOPPER_KILL_GRACE", "1s")
}

fn api(world: &World) -> Settings {
    api_settings(world)
        .set("HOPPER_SWEEP_INTERVAL", "1s")
        .set("HOPPER_MAX_TRIES", "1,retry=2")
}

/// SIGTERM with three held jobs and a 5 s drain: the one released during the drain ends `finished`;
/// the unreleased one-try job is terminated when the drain ends and ends `error` with reason
/// `worker_shutdown`; the unreleased two-try job is re-queued and finished by a second worker
/// (attempts = 2); the worker exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_sigterm_drains() {
    let world = World::new();
    let api = ApiNode::start(&world, "api", api(&world)).await;
    let queues = ["default", "retry"];
    let mut worker = WorkerNode::start(
        &world,
        "worker-1",
        draining_worker(&world, "w1", &queues, "5s"),
    )
    .await;
    let released = api.gsvar.submit_ok("hold.php", &[], "default").await;
    let stopped = api.gsvar.submit_ok("hold.php", &[], "default").await;
    let requeued = api.gsvar.submit_ok("hold.php", &[], "retry").await;
    for job in [&released, &stopped, &requeued] {
        started(&world, job, "", DEADLINE).await;
    }
    let first_attempt = started(&world, &requeued, "", DEADLINE).await;

    worker.process.sigterm();
    world.release(&released);
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &released, DEADLINE).await;
    ended.assert_finished(&released);
    // Drain (5 s) plus kill grace (1 s), with room for recording the ends.
    let status = worker.process.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "hopper-worker exited with {status}");
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &stopped, DEADLINE).await;
    ended.assert_error(&stopped, "worker_shutdown");

    let _second = WorkerNode::start(
        &world,
        "worker-2",
        draining_worker(&world, "w2", &queues, "5s"),
    )
    .await;
    started(&world, &requeued, &first_attempt, DEADLINE).await;
    world.release(&requeued);
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &requeued, DEADLINE).await;
    ended.assert_finished(&requeued);
    assert_eq!(ended.attempts(), 2, "{:?}", ended.hash);
}

/// A second, separate SIGTERM during a long drain (60 s) ends the worker at once instead of waiting it
/// out, and its unreleased job still ends (`error`) rather than staying `started`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_second_sigterm_ends_drain_at_once() {
    let world = World::new();
    let api = ApiNode::start(&world, "api", api(&world)).await;
    let mut worker = WorkerNode::start(
        &world,
        "worker-1",
        draining_worker(&world, "w1", &["default"], "60s"),
    )
    .await;
    let job = api.gsvar.submit_ok("hold.php", &[], "default").await;
    started(&world, &job, "", DEADLINE).await;

    worker.process.sigterm();
    // A draining worker takes no new jobs: its consumer going away shows the first SIGTERM was handled.
    eventually(
        "the draining worker to stop consuming",
        DEADLINE,
        || async { (world.consumers("default").await == 0).then_some(()) },
    )
    .await;
    // Only a signal separate from the first stops at once (signals that arrive together are one
    // request): time passing is the condition here, counted from when the worker had surely taken the
    // first (it stopped consuming), not from when it was sent.
    tokio::time::sleep(hopper_common::SAME_REQUEST).await;
    worker.process.sigterm();
    worker.process.wait_exit(Duration::from_secs(10)).await;
    let ended = until_ended(&api.gsvar, &redis_url(), &world.ns, &job, DEADLINE).await;
    assert_eq!(ended.status, "error", "{:?}", ended.hash);
}
