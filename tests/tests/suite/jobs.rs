//! Running jobs: the php path, argv, exit codes and signals, output, and what the worker records.

use serde_json::Value;

use crate::helpers::TestEnv;

fn result(reply: &Value) -> &str {
    reply["result"]
        .as_str()
        .unwrap_or_else(|| panic!("result not a string: {reply}"))
}

/// Arguments with spaces, quotes, `$(…)`, `;`, globs, newlines, empty strings and non-ASCII arrive in
/// the script's argv unchanged (no shell anywhere), and the job finishes.
#[tokio::test]
async fn arguments_arrive_unchanged_in_argv() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let args = [
        "-folder",
        "/data/Sample 1/",
        "it's",
        "\"quoted\"",
        "$(touch pwned)",
        "`touch pwned`",
        "a; touch pwned",
        "| cat",
        "&&",
        "*",
        "~",
        "line\nbreak",
        "",
        "Ünïcödé ✓ 基因组",
        "-threads",
        "4",
    ];
    let id = api.submit("analyze.php", &args, &["default"]).await;
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "finished", "{reply}");
    assert_eq!(reply["exit_code"], 0);
    let first_line = result(&reply).lines().next().expect("output");
    let argv: Vec<String> = serde_json::from_str(first_line).expect("argv JSON");
    assert_eq!(argv, args);
    assert!(
        !env.path("pwned").exists(),
        "an argument was run by a shell"
    );
}

/// A script exiting non-zero answers `error` with its exit code, a first line naming it, and its
/// stdout and stderr.
#[tokio::test]
async fn failing_script_reports_exit_code_and_output() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let id = api
        .submit("analyze.php", &["-exit", "3"], &["default"])
        .await;
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["exit_code"], 3);
    assert_eq!(reply["queue"], "default");
    assert_eq!(env.job(&id).await.expect("job").exit_code, Some(3));
    let text = result(&reply);
    assert!(text.starts_with("job failed with exit code 3\n"), "{text}");
    assert!(text.contains(r#"["-exit","3"]"#), "stdout missing: {text}");
    assert!(
        text.contains("analyze.php: done in"),
        "stderr missing: {text}"
    );
}

/// A script killed by a signal answers `error`, names the signal, and exit_code is 128 + signal.
/// (A `.sh` script: the `sh` interpreter mapping runs too.)
#[tokio::test]
async fn killed_script_names_the_signal() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let id = api.submit("killed.sh", &[], &["default"]).await;
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["exit_code"], 137);
    let text = result(&reply);
    assert!(
        text.starts_with("job was killed by signal 9 (SIGKILL)\n"),
        "{text}"
    );
    assert!(text.contains("about to be killed"), "{text}");
    let job = env.job(&id).await.expect("job");
    assert_eq!(
        job.failure,
        Some(hopper_common::Failure::Signal(9)),
        "{job:?}"
    );
}

/// `.py` scripts run with python3 (the third default interpreter mapping).
#[tokio::test]
async fn python_scripts_run_with_python3() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let id = api.submit("echo.py", &["a b", "ü"], &["default"]).await;
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "finished", "{reply}");
    assert_eq!(result(&reply), "a b\nü\n");
}

/// A script printing 1 MB: the log file keeps all of it; the result is at most 64 KiB and keeps the
/// head, the tail and stderr.
#[tokio::test]
async fn megabyte_of_output_is_logged_whole_and_clipped_in_the_result() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let id = api.submit("loud.php", &[], &["default"]).await;
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "finished", "{reply}");
    let text = result(&reply);
    // Within 64 KiB, and within what GSvar's database keeps uncut (65,000 characters).
    assert!(text.len() <= 65_000, "result is {} bytes", text.len());
    assert!(text.starts_with("BEGIN\n"), "head lost");
    let stated: usize = hopper_common::stated_omission(text)
        .map(|n| n as _)
        .expect("an omission marker with a count");
    let stderr = "loud.php: stderr line\n";
    let shown = text.len() - hopper_common::omission_marker(stated as u64).len() - stderr.len();
    assert_eq!(
        stated + shown,
        1_000_000,
        "the marker miscounts what it left out"
    );
    assert!(
        text.ends_with("END\nloud.php: stderr line\n"),
        "tail lost: {:?}",
        &text[text.len() - 100..]
    );
    let out = std::fs::metadata(env.logs.join(format!("{id}.out"))).expect(".out file");
    assert_eq!(out.len(), 1_000_000);
    let err = std::fs::read_to_string(env.logs.join(format!("{id}.err"))).expect(".err file");
    assert_eq!(err, "loud.php: stderr line\n");
}

/// The script runs in the job's working directory; the worker records queue, worker, host, threads
/// and start and end times; update shows the queue while it runs.
#[tokio::test]
async fn running_job_shows_its_queue_and_the_record_is_complete() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let id = api.submit("hold.php", &[], &["default"]).await;
    env.started_pids(&id).await;
    let running = api.update(&id).await;
    assert_eq!(running["status"], "started", "{running}");
    assert_eq!(running["queue"], "default", "{running}");
    env.release(&id);
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "finished", "{reply}");
    assert_eq!(result(&reply), "released\n");
    let job = env.job(&id).await.expect("job");
    assert_eq!(job.queue.as_ref().map(|q| q.as_str()), Some("default"));
    assert_eq!(job.worker.as_deref(), Some("w1"));
    assert!(job.host.as_deref().is_some_and(|h| !h.is_empty()));
    assert_eq!(job.threads_granted, Some(1));
    assert_eq!(job.exit_code, Some(0));
    let (started, ended) = (
        job.started_ms.expect("start time"),
        job.ended_ms.expect("end time"),
    );
    assert!(job.created_ms <= started && started <= ended, "{job:?}");

    let id = api.submit("analyze.php", &[], &["default"]).await;
    let reply = api.until_ended(&id).await;
    let work = env.work.canonicalize().expect("work dir");
    assert!(
        result(&reply).contains(&format!("done in {}", work.display())),
        "{reply}"
    );
}

/// An executable with no interpreter mapping runs directly; a plain file with none could not start.
#[tokio::test]
async fn executables_run_directly_and_plain_files_do_not() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let direct = api.submit("direct-tool", &["a", "b c"], &["default"]).await;
    let reply = api.until_ended(&direct).await;
    assert_eq!(reply["status"], "finished", "{reply}");
    assert_eq!(result(&reply), "direct a b c\n");
    let plain = api.submit("not-executable", &[], &["default"]).await;
    let reply = api.until_ended(&plain).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["exit_code"], 127);
    assert!(result(&reply).contains("not executable"), "{reply}");
    assert!(
        !env.logs.join(format!("{plain}.out")).exists(),
        "it must not have started"
    );
}

/// A working directory that passes the API's checks but does not exist on the worker: could not start.
#[tokio::test]
async fn missing_working_directory_fails_at_the_worker() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let mut body = api.submit_body("analyze.php", &[], &["default"]);
    body["working_directory"] = env.path("not-there").display().to_string().into();
    let id = api.submit_ok(body).await;
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert!(
        result(&reply).starts_with("job could not start: working directory"),
        "{reply}"
    );
}

/// Ended jobs expire after the retention (set by whoever ends them); queued jobs never expire.
#[tokio::test]
async fn ended_jobs_expire_after_the_retention() {
    let env = TestEnv::new();
    let api = env.api_with(env.api_flags().set("--retention", "2h")).await;
    let _worker = env
        .worker_with(
            env.worker_flags("w1", &["default"], 1)
                .set("--retention", "1h"),
        )
        .await;
    env.amqp_queue("nobody");
    env.register(&["nobody"]).await;
    let queued = api.submit("analyze.php", &[], &["nobody"]).await;
    let finished = api.submit("analyze.php", &[], &["default"]).await;
    api.until_ended(&finished).await;
    let mut rejected = api.submit_body("analyze.php", &[], &["default"]);
    rejected["threads"] = 0.into();
    let (_, reply) = api.post(&rejected).await;
    let rejected = reply["qe_job_id"].as_str().expect("id").to_owned();
    assert_eq!(env.ttl(&queued).await, -1, "a queued job must not expire");
    assert!(
        (3500..=3600).contains(&env.ttl(&finished).await),
        "finished: {}",
        env.ttl(&finished).await
    );
    assert!(
        (7100..=7200).contains(&env.ttl(&rejected).await),
        "rejected: {}",
        env.ttl(&rejected).await
    );
    api.delete(&queued).await;
    assert!(
        (7100..=7200).contains(&env.ttl(&queued).await),
        "canceled: {}",
        env.ttl(&queued).await
    );
}

/// Scripts see their job's id, queue, granted threads and worker as HOPPER_* variables. (That the
/// worker's own HOPPER_* settings are hidden from them is proven with the real binary, whose settings
/// are variables: worker/tests/binary.rs.)
#[tokio::test]
async fn scripts_see_their_job_not_the_workers_settings() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 3).await;
    let mut body = api.submit_body("printenv.sh", &[], &["default"]);
    body["threads"] = 2.into();
    let id = api.submit_ok(body).await;
    let reply = api.until_ended(&id).await;
    let hopper_vars: Vec<&str> = result(&reply)
        .lines()
        .filter(|line| line.starts_with("HOPPER_"))
        .collect();
    let expected = [
        format!("HOPPER_JOB_ID={id}"),
        "HOPPER_QUEUE=default".into(),
        "HOPPER_THREADS=2".into(),
        "HOPPER_WORKER_ID=w1".into(),
    ];
    assert_eq!(hopper_vars, expected);
}

/// A second worker with the identity of a running one is refused: it would share its cancel commands.
#[tokio::test]
async fn second_worker_with_the_same_identity_is_refused() {
    let env = TestEnv::new();
    let _first = env.worker("w1", &["default"], 1).await;
    let argv = env
        .worker_flags("w1", &["default"], 1)
        .argv("hopper-worker");
    let config =
        <hopper_worker::WorkerConfig as clap::Parser>::try_parse_from(argv).expect("flags");
    let error = hopper_worker::run(config, hopper_common::Shutdown::default())
        .await
        .expect_err("a second w1 must not start");
    assert!(
        format!("{error:#}").contains("another worker running as 'w1'"),
        "{error:#}"
    );
}
