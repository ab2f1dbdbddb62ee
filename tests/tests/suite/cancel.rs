//! Delete: a queued job never starts; a running job's whole process group is terminated.

use crate::helpers::{Api, TestEnv, eventually};

/// Whether a process is gone: no such pid, or a zombie nobody reaped yet (it runs nothing anymore).
pub fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(") ")
            .next()
            .is_some_and(|rest| rest.starts_with('Z')),
    }
}

/// Deletes `id`, which must answer exit_code 0, after which update must answer `error`, canceled.
async fn delete_and_see_canceled(api: &Api, id: &str) {
    let reply = api.delete(id).await;
    assert_eq!(reply["exit_code"], 0, "{reply}");
    let update = api.update(id).await;
    assert_eq!(update["status"], "error", "{update}");
    let result = update["result"].as_str().unwrap_or_default();
    assert!(result.contains("canceled"), "{update}");
}

/// Waits until the worker has recorded the job's end.
async fn recorded_end(env: &TestEnv, id: &str) -> hopper_common::Job {
    eventually("the end to be recorded", || async {
        env.job(id).await.filter(|job| job.state.is_final())
    })
    .await
}

/// Deleting a queued job answers 0, update then says canceled, and the job never starts even once a
/// worker serves its queue.
#[tokio::test]
async fn deleted_queued_job_never_starts() {
    let env = TestEnv::new();
    let api = env.api().await;
    let queue = env.amqp_queue("default");
    let id = api.submit("hold.php", &[], &["default"]).await;
    delete_and_see_canceled(&api, &id).await;

    let _worker = env.worker("w1", &["default"], 2).await;
    let sentinel = api.submit("analyze.php", &[], &["default"]).await;
    assert_eq!(api.until_ended(&sentinel).await["status"], "finished");
    // Nothing left in the queue, and the idle worker consumes it again: one consumer per free slot.
    eventually("the canceled job's message to be dropped", || async {
        (env.queue_counts(&queue).await? == (0, 2)).then_some(())
    })
    .await;
    assert!(
        !env.path(&format!("{id}.started")).exists(),
        "a canceled job ran"
    );
    assert!(
        !env.logs.join(format!("{id}.out")).exists(),
        "a canceled job ran"
    );
    let job = env.job(&id).await.expect("job");
    assert_eq!(job.state, hopper_common::JobState::Canceled);
    assert_eq!(api.update(&id).await["status"], "error");
    env.check_indexes().await;
}

/// Deleting a running job answers 0 at once, update says canceled, SIGTERM reaches the script and the
/// child it started (the whole process group), both are gone afterwards, and the worker records the
/// job canceled.
#[tokio::test]
async fn deleted_running_job_loses_its_whole_process_group() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let id = api.submit("hold.php", &["-child"], &["default"]).await;
    let pids = env.started_pids(&id).await;
    assert_eq!(pids.len(), 2, "script and child");
    assert!(pids.iter().all(|&pid| !gone(pid)));
    delete_and_see_canceled(&api, &id).await;
    for pid in pids {
        eventually(&format!("process {pid} to be gone"), || async {
            gone(pid).then_some(())
        })
        .await;
    }
    let child_term =
        std::fs::read_to_string(env.path(&format!("{id}.child-term"))).unwrap_or_default();
    assert_eq!(
        child_term, "term\n",
        "SIGTERM did not reach the script's child"
    );
    let job = recorded_end(&env, &id).await;
    assert_eq!(job.state, hopper_common::JobState::Canceled, "{job:?}");
    assert!(job.ended_ms.is_some());
    env.check_indexes().await;
}

/// A script that ignores SIGTERM gets SIGTERM first, then SIGKILL after the grace period.
#[tokio::test]
async fn job_ignoring_sigterm_is_killed_after_the_grace() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env
        .worker_with(
            env.worker_flags("w1", &["default"], 1)
                .set("--kill-grace", "3s"),
        )
        .await;
    let id = api.submit("stubborn.sh", &[], &["default"]).await;
    let pids = env.started_pids(&id).await;
    assert_eq!(api.delete(&id).await["exit_code"], 0);
    let term_file = env.path(&format!("{id}.term"));
    eventually("SIGTERM to reach the script", || async {
        std::fs::read_to_string(&term_file)
            .is_ok_and(|t| t.contains("term"))
            .then_some(())
    })
    .await;
    // It survived SIGTERM (the grace has seconds left), and SIGKILL ends it once the grace is over.
    assert!(!gone(pids[0]), "killed before the grace period was over");
    eventually("the stubborn script to be killed", || async {
        gone(pids[0]).then_some(())
    })
    .await;
    let job = recorded_end(&env, &id).await;
    assert_eq!(job.state, hopper_common::JobState::Canceled);
}

/// Deleting a job that already ended answers 0 and leaves its outcome as it was.
#[tokio::test]
async fn delete_of_ended_job_keeps_its_outcome() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let id = api.submit("analyze.php", &[], &["default"]).await;
    assert_eq!(api.until_ended(&id).await["status"], "finished");
    let reply = api.delete(&id).await;
    assert_eq!(reply["exit_code"], 0, "{reply}");
    assert!(
        reply["result"]
            .as_str()
            .is_some_and(|r| r.contains("already ended")),
        "{reply}"
    );
    assert_eq!(api.update(&id).await["status"], "finished");
}

/// A job listed in two queues that one worker both serves reaches it twice; the copy that loses the
/// claim must not make the worker forget the running one, so a delete still terminates it.
#[tokio::test]
async fn job_in_two_queues_of_one_worker_can_still_be_canceled() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["q1", "q2"], 2).await;
    let id = api.submit("hold.php", &[], &["q1", "q2"]).await;
    let pids = env.started_pids(&id).await;
    let (q1, q2) = (env.amqp_queue("q1"), env.amqp_queue("q2"));
    eventually("both copies to be consumed", || async {
        let drained = env.queue_counts(&q1).await?.0 == 0 && env.queue_counts(&q2).await?.0 == 0;
        drained.then_some(())
    })
    .await;
    assert_eq!(api.delete(&id).await["exit_code"], 0);
    eventually("the script to be gone", || async {
        gone(pids[0]).then_some(())
    })
    .await;
}
