//! The real `hopper-api` binary: it refuses to start on a missing or bad setting, naming the setting,
//! and its `--help` explains every setting.

use std::process::{Command, Output};

/// Runs hopper-api with exactly these environment variables (none inherited).
fn api(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopper-api"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run hopper-api")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const GOOD: [(&str, &str); 3] = [
    ("HOPPER_TOKENS", "secret"),
    ("HOPPER_WORK_ROOTS", "/tmp"),
    ("HOPPER_LISTEN", "127.0.0.1:0"),
];

fn with(var: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut env: Vec<_> = GOOD
        .iter()
        .copied()
        .filter(|(name, _)| *name != var)
        .collect();
    env.push((var, value));
    env
}

/// No token: the node does not start, and says to set HOPPER_TOKENS.
#[test]
fn refuses_to_start_without_a_token() {
    for env in [
        vec![("HOPPER_WORK_ROOTS", "/tmp")],
        with("HOPPER_TOKENS", " "),
    ] {
        let output = api(&env, &[]);
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(message.contains("HOPPER_TOKENS"), "{message}");
        // Said once, and the binary named once.
        assert_eq!(message.matches("hopper-api").count(), 1, "{message}");
        assert_eq!(message.matches("HOPPER_TOKENS=").count(), 1, "{message}");
    }
}

/// A bad token entry is refused by name, without the secret appearing in the message.
#[test]
fn bad_token_entry_is_refused_without_echoing_it() {
    let output = api(&with("HOPPER_TOKENS", "boss:s3cr3t-value"), &[]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("HOPPER_TOKENS") && message.contains("unknown role"),
        "{message}"
    );
    assert!(!message.contains("s3cr3t"), "the secret leaked: {message}");
}

/// Each bad or missing setting stops the node with a message naming its variable.
#[test]
fn bad_settings_are_named() {
    let cases = [
        ("HOPPER_LISTEN", "nowhere"),
        ("HOPPER_NAMESPACE", "a b"),
        ("HOPPER_REDIS_URL", "http://localhost"),
        ("HOPPER_AMQP_URL", "not a url"),
        ("HOPPER_MAX_THREADS", "0"),
        ("HOPPER_WORK_ROOTS", "relative/dir"),
        ("HOPPER_SCRIPT_DIRS", "scripts"),
        ("HOPPER_RETENTION", "forever"),
        ("HOPPER_SHUTDOWN_GRACE", "soon"),
        ("HOPPER_MAX_TRIES", "0"),
        ("HOPPER_MAX_TRIES", "default=many"),
        ("HOPPER_KNOWN_QUEUES", "good,bad queue"),
        ("HOPPER_LOAD_INTERVAL", "often"),
        ("HOPPER_HEARTBEAT_TTL", "500ms"),
        ("HOPPER_SWEEP_INTERVAL", "10ms"),
        ("HOPPER_LOG_FORMAT", "xml"),
        ("HOPPER_LOG", "=!="),
        ("HOPPER_REDIS_TIMEOUT", "0s"),
        ("HOPPER_AMQP_TIMEOUT", "1h"),
        ("HOPPER_CHECK_INTERVAL", "soon"),
    ];
    for (var, value) in cases {
        let output = api(&with(var, value), &[]);
        assert!(!output.status.success(), "{var}={value} accepted");
        assert!(
            stderr(&output).contains(var),
            "{var}={value}: {}",
            stderr(&output)
        );
    }
    let output = api(&[("HOPPER_TOKENS", "secret")], &[]);
    assert!(
        stderr(&output).contains("HOPPER_WORK_ROOTS"),
        "{}",
        stderr(&output)
    );
}

/// `--help` explains every setting, each with its variable.
#[test]
fn help_lists_every_setting() {
    let output = api(&[], &["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for var in [
        "HOPPER_LISTEN",
        "HOPPER_TOKENS",
        "HOPPER_WORK_ROOTS",
        "HOPPER_SCRIPT_DIRS",
        "HOPPER_MAX_THREADS",
        "HOPPER_MAX_BODY",
        "HOPPER_SHUTDOWN_GRACE",
        "HOPPER_MAX_TRIES",
        "HOPPER_KNOWN_QUEUES",
        "HOPPER_JOB_TYPES",
        "HOPPER_LOAD_INTERVAL",
        "HOPPER_HEARTBEAT_TTL",
        "HOPPER_SWEEP_INTERVAL",
        "HOPPER_REDIS_URL",
        "HOPPER_AMQP_URL",
        "HOPPER_NAMESPACE",
        "HOPPER_RETENTION",
        "HOPPER_LOG",
        "HOPPER_LOG_FORMAT",
        "HOPPER_REDIS_TIMEOUT",
        "HOPPER_AMQP_TIMEOUT",
        "HOPPER_CHECK_INTERVAL",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "--help misses {var}"
        );
    }
}

/// A job types file with a mistake stops the node, naming the file, the line and the problem; so does
/// a file that cannot be read.
#[test]
fn a_bad_job_types_file_stops_the_node_naming_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("types.toml");
    std::fs::write(
        &file,
        "[[type]]\nname = \"a\"\nprogram = \"a.sh\"\nqueues = [\"q\"]\nprogramm = \"b.sh\"\n",
    )
    .expect("write");
    let path = file.display().to_string();
    let mut env = GOOD.to_vec();
    env.push(("HOPPER_JOB_TYPES", &path));
    let output = api(&env, &[]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&path) && message.contains("line 5") && message.contains("programm"),
        "{message}"
    );
    let missing = dir.path().join("missing.toml").display().to_string();
    let mut env = GOOD.to_vec();
    env.push(("HOPPER_JOB_TYPES", &missing));
    let message = stderr(&api(&env, &[]));
    assert!(message.contains(&missing), "{message}");
}
