//! Recovering jobs whose attempt ended without a verdict of their own: lost workers (heartbeat
//! expired), claims nobody holds, scripts a killed worker left behind, drains on shutdown, and messages
//! no worker can act on.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

use hopper_common::{Claim, Claimant, Failure, JobId, JobSpec, JobState, QueueName};
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use nix::errno::Errno;
use nix::sys::signal::killpg;
use nix::unistd::Pid;

use crate::helpers::{Api, Flags, TestEnv, Worker, amqp_url, eventually};

/// Worker flags for quick liveness: a 3 s heartbeat (refreshed every second), sweeps every 500 ms, and
/// a kill grace that fits the heartbeat.
pub fn quick(flags: Flags) -> Flags {
    flags
        .set("--heartbeat-ttl", "3s")
        .set("--sweep-interval", "500ms")
        .set("--kill-grace", "2s")
}

pub fn spec(env: &TestEnv, script: &str, args: &[&str], max_tries: u32) -> JobSpec {
    JobSpec {
        threads: 1,
        queues: vec![QueueName::parse("default").expect("queue")],
        script: script.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        working_directory: env.work.clone(),
        max_tries,
        ..JobSpec::default()
    }
}

/// Records a job as claimed by `worker`, with no message behind it, as if that worker had taken it.
pub async fn claimed_by(env: &TestEnv, worker: &str, spec: &JobSpec) -> JobId {
    let id = env.store.create(spec).await.expect("create");
    let claimant = Claimant {
        worker,
        host: "elsewhere",
        token: "claim-1",
    };
    let queue = QueueName::parse("default").expect("queue");
    let claim = env
        .store
        .claim(&id, &claimant, &queue, 1, None)
        .await
        .expect("claim");
    assert!(matches!(claim, Claim::Claimed(_)), "{claim:?}");
    id
}

pub async fn ended(env: &TestEnv, id: &JobId) -> hopper_common::Job {
    eventually(&format!("job {id} to end"), || async {
        env.job(id.as_str())
            .await
            .filter(|job| job.state.is_final())
    })
    .await
}

/// A job whose worker vanished (no heartbeat at all) and has no tries left fails `worker lost`, found
/// by a sweeping worker; the attempt is in its history; the lost worker is forgotten.
#[tokio::test]
async fn lost_worker_job_without_tries_fails_worker_lost() {
    let env = TestEnv::new();
    let flags = quick(env.worker_flags("w1", &["default"], 1));
    let _worker = env.worker_with(flags).await;
    let id = claimed_by(&env, "ghost", &spec(&env, "analyze.php", &[], 1)).await;
    let job = ended(&env, &id).await;
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert_eq!(job.failure, Some(Failure::WorkerLost));
    assert_eq!(job.attempts, 1);
    assert_eq!(job.history.len(), 1, "{:?}", job.history);
    assert_eq!(job.history[0].worker, "ghost");
    assert_eq!(job.history[0].outcome, "worker_lost");
    assert!(env.ttl(id.as_str()).await > 0, "an ended job must expire");
    eventually("the ghost to be forgotten", || async {
        let keys = env.keys().await;
        (!keys.iter().any(|k| k.contains("ghost"))).then_some(())
    })
    .await;
    env.check_indexes().await;
}

/// A lost worker's job with tries left goes back to its queue and runs again on a live worker; each
/// attempt is in the history. The sweeper here is an API node's: recovery does not need a free worker
/// to notice.
#[tokio::test]
async fn lost_worker_job_with_tries_left_runs_again() {
    let env = TestEnv::new();
    let api = env
        .api_with(
            env.api_flags()
                .set("--heartbeat-ttl", "3s")
                .set("--sweep-interval", "500ms"),
        )
        .await;
    // Long sweeps on the worker: the API node does the recovery.
    let flags = env
        .worker_flags("w1", &["default"], 1)
        .set("--sweep-interval", "1h");
    let _worker = env.worker_with(flags).await;
    let id = claimed_by(&env, "ghost", &spec(&env, "analyze.php", &[], 2)).await;
    let job = ended(&env, &id).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 2);
    assert_eq!(job.worker.as_deref(), Some("w1"));
    let outcomes: Vec<&str> = job.history.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["worker_lost", "succeeded"]);
    assert_eq!(job.history[1].attempt, 2);
    let reply = api.update(id.as_str()).await;
    assert_eq!(reply["status"], "finished", "{reply}");
    env.check_indexes().await;
}

/// A worker whose heartbeat is alive is not judged lost, however long its job runs.
#[tokio::test]
async fn live_heartbeat_keeps_the_job() {
    let env = TestEnv::new();
    let flags = quick(env.worker_flags("w1", &["default"], 1));
    let _worker = env.worker_with(flags).await;
    let id = claimed_by(&env, "alive", &spec(&env, "analyze.php", &[], 1)).await;
    // Keep "alive" heard for three heartbeat periods while sweeps run every 500 ms. What is proved is
    // that nothing happens, so time passing is the condition: there is nothing to await.
    for _ in 0..18 {
        env.store
            .heartbeat("alive", "{}", &[], Duration::from_secs(1))
            .await
            .expect("heartbeat");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let job = env.job(id.as_str()).await.expect("job");
    assert_eq!(job.state, JobState::Running, "{job:?}");
    assert_eq!(job.worker.as_deref(), Some("alive"));
}

/// A job Redis gives to a live worker that does not hold it (a claim whose answer was lost) is given
/// back by that worker's next heartbeat, and runs.
#[tokio::test]
async fn stranded_claim_of_a_live_worker_is_given_back() {
    let env = TestEnv::new();
    let flags = quick(env.worker_flags("w1", &["default"], 1));
    let _worker = env.worker_with(flags).await;
    let id = claimed_by(&env, "w1", &spec(&env, "analyze.php", &[], 2)).await;
    let job = ended(&env, &id).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    let outcomes: Vec<&str> = job.history.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["worker_lost", "succeeded"]);
}

/// A worker restarted under the same identity first ends the process group its previous run left (a
/// script still running), then gives the job back; the job runs again, never beside its old attempt.
#[tokio::test]
async fn restarted_worker_ends_what_its_previous_run_left() {
    let env = TestEnv::new();
    let id = claimed_by(&env, "w1", &spec(&env, "analyze.php", &[], 2)).await;
    // The previous run's script: a process group of its own, noted where the worker notes them.
    let mut leftover = std::process::Command::new("sleep")
        .arg("600")
        .process_group(0)
        .stdout(Stdio::null())
        .spawn()
        .expect("start a leftover");
    let pgid = leftover.id() as i32;
    let stat = std::fs::read_to_string(format!("/proc/{pgid}/stat")).expect("stat");
    let start = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.split(' ').nth(19))
        .expect("start time");
    let notes = env.logs.join(".hopper-worker-w1");
    std::fs::create_dir_all(&notes).expect("notes dir");
    std::fs::write(notes.join(id.as_str()), format!("{pgid} {start}")).expect("note");

    let flags = quick(env.worker_flags("w1", &["default"], 1));
    let _worker = env.worker_with(flags).await;
    // The worker is consuming, so the leftover was ended before it took anything.
    let status = leftover.wait().expect("wait for the leftover");
    assert!(!status.success(), "the leftover must have been killed");
    assert_eq!(killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH));
    let job = ended(&env, &id).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 2);
    assert!(!notes.join(id.as_str()).exists());
}

/// On shutdown a worker stops taking jobs and lets running ones finish within the drain time; a job
/// still running when the drain is cut short is terminated and, with no tries left, fails `worker
/// shutdown`; one with tries left goes back to its queue and another worker finishes it.
#[tokio::test]
async fn drain_lets_jobs_finish_then_gives_back_the_rest() {
    let env = TestEnv::new();
    let api = env
        .api_with(env.api_flags().set("--max-tries", "1,retry=2"))
        .await;
    let flags = env
        .worker_flags("w1", &["default", "retry"], 3)
        .set("--drain", "10min");
    let mut worker = env.worker_with(flags).await;
    let finishing = api.submit("hold.php", &[], &["default"]).await;
    let cut = api.submit("hold.php", &[], &["default"]).await;
    let again = api.submit("hold.php", &[], &["retry"]).await;
    for id in [&finishing, &cut, &again] {
        env.started_pids(id).await;
    }
    worker.shutdown.begin.cancel();
    // Draining: no consumer any more, so a new job waits for another worker.
    let queue = env.amqp_queue("default");
    eventually("the worker to stop consuming", || async {
        (env.queue_counts(&queue).await?.1 == 0).then_some(())
    })
    .await;
    let waiting = api.submit("analyze.php", &[], &["default"]).await;
    env.release(&finishing);
    assert_eq!(api.until_ended(&finishing).await["status"], "finished");
    assert_eq!(api.update(&cut).await["status"], "started");

    worker.shutdown.now.cancel();
    worker.finished().await.expect("worker stops cleanly");
    let reply = api.until_ended(&cut).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert!(
        reply["result"]
            .as_str()
            .is_some_and(|r| r.contains("worker shut down")),
        "{reply}"
    );
    let retried = env.job(&again).await.expect("job");
    assert_eq!(retried.state, JobState::Queued, "{retried:?}");
    assert_eq!(retried.history[0].outcome, "worker_shutdown");

    let _second = env.worker("w2", &["default", "retry"], 2).await;
    env.release(&again);
    assert_eq!(api.until_ended(&again).await["status"], "finished");
    assert_eq!(api.until_ended(&waiting).await["status"], "finished");
    assert_eq!(env.job(&again).await.expect("job").attempts, 2);
    env.check_indexes().await;
}

/// Messages no worker can act on (not JSON, not a submit, a submit for a job Redis does not know) go
/// to the dead-letter queue and are counted; the worker goes on running jobs.
#[tokio::test]
async fn unusable_messages_are_dead_lettered_and_counted() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let queue = env.amqp_queue("default");
    let dead = env.amqp_queue("dead-letter");
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    for body in [
        &b"not json"[..],
        br#"{"kind":"cancel","job":"1"}"#,
        br#"{"kind":"submit","job":"999999","threads":1}"#,
    ] {
        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default(),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
    }
    let _ = connection.close(200, "done".into()).await;
    eventually("three dead letters", || async {
        (env.queue_counts(&dead).await?.0 == 3).then_some(())
    })
    .await;
    let counted = env
        .keys()
        .await
        .into_iter()
        .any(|k| k.ends_with(":dead-lettered"));
    assert!(counted, "the dead-letter counter is missing");
    let id = api.submit("analyze.php", &[], &["default"]).await;
    assert_eq!(api.until_ended(&id).await["status"], "finished");
    // Declared durable quorum, like the job queues.
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    channel
        .queue_declare(dead.as_str().into(), passive, FieldTable::default())
        .await
        .expect("dead-letter queue exists");
    let _ = connection.close(200, "done".into()).await;
}

/// The API stamps each job with the tries its queues allow.
#[tokio::test]
async fn max_tries_follow_the_queue_policy() {
    let env = TestEnv::new();
    let api = env
        .api_with(
            env.api_flags()
                .set("--max-tries", "2,long=5")
                .set("--known-queues", "default,long"),
        )
        .await;
    let plain = api.submit("analyze.php", &[], &["default"]).await;
    let long = api.submit("analyze.php", &[], &["default", "long"]).await;
    env.amqp_queue("long");
    assert_eq!(env.job(&plain).await.expect("job").spec.max_tries, 2);
    assert_eq!(env.job(&long).await.expect("job").spec.max_tries, 5);
}

/// A worker with a quick heartbeat running a `hold.php` job: the API node, the worker, the job's id and
/// the pids it wrote.
async fn holding_job(env: &TestEnv) -> (Api, Worker, String, Vec<i32>) {
    let api = env.api().await;
    let worker = env
        .worker_with(quick(env.worker_flags("w1", &["default"], 1)))
        .await;
    let id = api.submit("hold.php", &[], &["default"]).await;
    let pids = env.started_pids(&id).await;
    (api, worker, id, pids)
}

/// A cancel recorded in Redis whose command never reached the worker (sent while it was reconnecting,
/// say) is found by the worker's next heartbeat: the job is terminated and ends canceled.
#[tokio::test]
async fn cancel_recorded_in_redis_is_obeyed_without_its_command() {
    let env = TestEnv::new();
    let (_api, _worker, id, pids) = holding_job(&env).await;
    env.set_fields(&id, &[("cancel", "1")]).await;
    let job = ended(&env, &JobId::parse(&id).expect("id")).await;
    assert_eq!(job.state, JobState::Canceled, "{job:?}");
    for pid in pids {
        assert_eq!(
            nix::sys::signal::kill(Pid::from_raw(pid), None),
            Err(Errno::ESRCH)
        );
    }
}

/// A job Redis gives to another worker (this one was judged lost while cut off) is terminated here, so
/// that it never runs beside its next attempt; its end is not recorded in this worker's name.
#[tokio::test]
async fn job_given_to_another_worker_is_terminated_here() {
    let env = TestEnv::new();
    let (_api, _worker, id, pids) = holding_job(&env).await;
    env.set_fields(&id, &[("worker", "w2")]).await;
    for pid in pids {
        eventually(&format!("process {pid} to be ended"), || async {
            (nix::sys::signal::kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH)).then_some(())
        })
        .await;
    }
    let job = env.job(&id).await.expect("job");
    assert_eq!(job.state, JobState::Running, "{job:?}");
    assert_eq!(job.worker.as_deref(), Some("w2"));
}

/// A claim Redis lost (the job shows `queued` again while this worker runs it) is made again, so the
/// job's end is recorded and it does not wait for a message that will never come.
#[tokio::test]
async fn claim_lost_by_redis_is_made_again() {
    let env = TestEnv::new();
    let (_api, _worker, id, _) = holding_job(&env).await;
    env.set_fields(&id, &[("state", "queued")]).await;
    eventually("the job to be claimed again", || async {
        let job = env.job(&id).await?;
        (job.state == JobState::Running && job.attempts == 2).then_some(())
    })
    .await;
    env.release(&id);
    let job = ended(&env, &JobId::parse(&id).expect("id")).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
}
