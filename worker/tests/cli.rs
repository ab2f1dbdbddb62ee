//! The real `hopper-worker` binary: it refuses to start on a missing or bad setting, naming the
//! setting, and its `--help` explains every setting.

use std::process::{Command, Output};

fn worker(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopper-worker"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run hopper-worker")
}

const GOOD: [(&str, &str); 4] = [
    ("HOPPER_QUEUES", "default"),
    ("HOPPER_SCRIPT_DIRS", "/tmp"),
    ("HOPPER_LOG_DIR", "/tmp"),
    ("HOPPER_WORK_ROOTS", "/tmp"),
];

/// Each bad or missing setting stops the worker with a message naming its variable.
#[test]
fn bad_or_missing_settings_are_named() {
    let cases = [
        ("HOPPER_QUEUES", Some("bad queue")),
        ("HOPPER_QUEUES", Some(",")),
        ("HOPPER_QUEUES", None),
        ("HOPPER_THREADS", Some("0")),
        ("HOPPER_THREADS", Some("many")),
        ("HOPPER_SCRIPT_DIRS", None),
        ("HOPPER_LOG_DIR", None),
        ("HOPPER_WORK_ROOTS", Some("relative")),
        ("HOPPER_INTERPRETERS", Some("php")),
        ("HOPPER_KILL_GRACE", Some("soon")),
        // Longer than two thirds of the default 15 s heartbeat: scripts could outlive it.
        ("HOPPER_KILL_GRACE", Some("11s")),
        ("HOPPER_HEARTBEAT_TTL", Some("500ms")),
        ("HOPPER_SWEEP_INTERVAL", Some("10ms")),
        ("HOPPER_DRAIN", Some("soon")),
        ("HOPPER_WORKER_ID", Some("a b")),
        ("HOPPER_AMQP_URL", Some("nope")),
        ("HOPPER_RETENTION", Some("1500ms")),
        ("HOPPER_INTERPRETERS", Some("")),
        ("HOPPER_SCRIPT_DIRS", Some("/nonexistent/hopper-scripts")),
        ("HOPPER_WORK_ROOTS", Some("/nonexistent/hopper-work")),
        ("HOPPER_LOG_DIR", Some("/proc/hopper-logs")),
        ("HOPPER_REDIS_TIMEOUT", Some("10ms")),
        ("HOPPER_AMQP_TIMEOUT", Some("forever")),
        ("HOPPER_CHECK_INTERVAL", Some("1ms")),
        ("HOPPER_LOG_CAP", Some("16MB")),
        ("HOPPER_LOG_CAP", Some("100")),
        ("HOPPER_LOG_CAP", Some("2GiB")),
        ("HOPPER_METRICS_LISTEN", Some("nowhere")),
    ];
    for (var, value) in cases {
        let mut env: Vec<_> = GOOD
            .iter()
            .copied()
            .filter(|(name, _)| *name != var)
            .collect();
        env.extend(value.map(|v| (var, v)));
        let output = worker(&env, &[]);
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{var}={value:?} accepted");
        assert!(message.contains(var), "{var}={value:?}: {message}");
    }
}

/// `--help` explains every setting, each with its variable.
#[test]
fn help_lists_every_setting() {
    let output = worker(&[], &["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for var in [
        "HOPPER_QUEUES",
        "HOPPER_THREADS",
        "HOPPER_SCRIPT_DIRS",
        "HOPPER_LOG_DIR",
        "HOPPER_LOG_CAP",
        "HOPPER_WORK_ROOTS",
        "HOPPER_INTERPRETERS",
        "HOPPER_KILL_GRACE",
        "HOPPER_DRAIN",
        "HOPPER_HEARTBEAT_TTL",
        "HOPPER_SWEEP_INTERVAL",
        "HOPPER_WORKER_ID",
        "HOPPER_REDIS_URL",
        "HOPPER_AMQP_URL",
        "HOPPER_NAMESPACE",
        "HOPPER_RETENTION",
        "HOPPER_LOG",
        "HOPPER_LOG_FORMAT",
        "HOPPER_REDIS_TIMEOUT",
        "HOPPER_AMQP_TIMEOUT",
        "HOPPER_CHECK_INTERVAL",
        "HOPPER_METRICS_LISTEN",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "--help misses {var}"
        );
    }
    // The drain follows either signal, as the README says: Ctrl-C sends SIGINT.
    let drain = help
        .split("--drain")
        .nth(1)
        .and_then(|rest| rest.split("[env: HOPPER_DRAIN").next())
        .expect("--drain is explained");
    assert!(
        drain.contains("SIGTERM") && drain.contains("SIGINT"),
        "--drain's help names only one signal: {drain}"
    );
}

/// A setting that stops the worker at start is reported once, not once by the logger and again by
/// `main`.
#[test]
fn a_fatal_error_is_printed_once() {
    let mut env: Vec<_> = GOOD
        .iter()
        .copied()
        .filter(|(name, _)| *name != "HOPPER_SCRIPT_DIRS")
        .collect();
    env.push(("HOPPER_SCRIPT_DIRS", "/nonexistent/hopper-scripts"));
    let output = worker(&env, &[]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        message.matches("/nonexistent/hopper-scripts").count(),
        1,
        "{message}"
    );
}

/// A metrics address that cannot be had stops the worker at start, naming the setting, before it
/// connects anywhere or takes a job.
#[test]
fn a_metrics_address_in_use_is_refused() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let mut env = GOOD.to_vec();
    env.push(("HOPPER_METRICS_LISTEN", &address));
    let output = worker(&env, &[]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("HOPPER_METRICS_LISTEN") && message.contains(&address),
        "{message}"
    );
}
