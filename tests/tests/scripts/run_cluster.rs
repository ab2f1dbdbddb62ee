//! `scripts/run-cluster` run for real (see `cluster.rs`): jobs through the balancer, an API node killed
//! under it, and Ctrl-C, once and twice.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};

use hopper_tests::eventually_within as eventually;

use crate::cluster::{DEADLINE, QUEUES, RunCluster, group_is_empty, is_gone};

/// Jobs submitted through the balancer run on the worker of the queue they name, in each of two
/// queues, and end `finished`; one Ctrl-C then stops run-cluster (status 130) and leaves no process
/// behind: none of its process group, and not HAProxy, which runs in a group of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_through_the_balancer_succeed_and_ctrl_c_leaves_no_process() {
    let mut run = RunCluster::start("10s").await;
    for queue in QUEUES {
        let id = run
            .submit(queue, &["-name", queue])
            .await
            .expect("a submit through the balancer");
        let reply = run.finished(&id).await;
        assert_eq!(reply["status"], "finished", "{reply}");
        assert_eq!(reply["queue"], queue, "{reply}");
    }
    let haproxy = run.member("haproxy").pid;

    run.ctrl_c();
    let status = run.exit_within(Duration::from_secs(40)).await;
    assert_eq!(status.code(), Some(130), "{status}");
    run.said("run-cluster: stopped").await;
    assert!(
        group_is_empty(run.group),
        "a process of run-cluster's group is left"
    );
    assert!(is_gone(haproxy), "HAProxy (pid {haproxy}) is still running");
}

/// An API node killed with SIGKILL is taken out by HAProxy's health check (GET /readyz, two failures
/// a second apart), after which every request through the balancer succeeds on the other node;
/// run-cluster reports the exit and does not start the node again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_api_node_is_routed_around_and_not_restarted() {
    let mut run = RunCluster::start("10s").await;
    let killed = run.member("api-2").clone();
    kill(killed.pid, Signal::SIGKILL).expect("SIGKILL to api-2");

    run.said(&format!("api-2 (pid {}", killed.pid)).await;
    run.said("it is not restarted").await;
    eventually("HAProxy to mark api-2 down", DEADLINE, || {
        std::future::ready(
            run.haproxy_log()
                .contains("api_nodes/api-2 is DOWN")
                .then_some(()),
        )
    })
    .await;

    let mut jobs = Vec::new();
    for round in 0..10 {
        let queue = QUEUES[round % QUEUES.len()];
        let id = run
            .submit(queue, &["-name", queue])
            .await
            .unwrap_or_else(|e| panic!("submit {round} through the balancer failed: {e}"));
        jobs.push(id);
    }
    for id in &jobs {
        let reply = run.finished(id).await;
        assert_eq!(reply["status"], "finished", "job {id}: {reply}");
    }
    // Not restarted: nothing listens on its address, and no new api-2 appears in the output.
    let address = killed.address.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(address).is_err(),
        "something listens on api-2's address {address} again"
    );
    assert_eq!(
        run.said_so_far().matches("api-2 ").count(),
        2,
        "api-2 appears once in the table and once when it exited:\n{}",
        run.said_so_far()
    );

    run.ctrl_c();
    let status = run.exit_within(Duration::from_secs(40)).await;
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(
        group_is_empty(run.group),
        "a process of run-cluster's group is left"
    );
}

/// A second, separate Ctrl-C cuts the workers' drain short: run-cluster exits within the kill grace
/// (2 s) and a little, not after the 60 s drain; the job it stopped ends `worker_shutdown`; no process
/// is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_stops_at_once() {
    let mut run = RunCluster::start("60s").await;
    let job = run
        .submit(QUEUES[0], &["-sleep", "600"])
        .await
        .expect("a submit through the balancer");
    eventually(&format!("job {job} to run"), DEADLINE, || async {
        (run.job_field(&job, "state").await == "running").then_some(())
    })
    .await;

    run.ctrl_c();
    run.said("Ctrl-C again to stop them now").await;
    // Only a signal separate from the first stops at once: time passing is the condition here.
    tokio::time::sleep(hopper_common::SAME_REQUEST).await;
    run.ctrl_c();
    let status = run.exit_within(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(130), "{status}");
    run.said("run-cluster: stopped").await;
    assert_eq!(
        run.job_field(&job, "reason").await,
        "worker_shutdown",
        "{}",
        run.log_of("worker-alpha-1")
    );
    assert!(
        group_is_empty(run.group),
        "a process of run-cluster's group is left"
    );
}
