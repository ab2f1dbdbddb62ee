//! Job types: operators' command templates, submitted by name with inputs through the native API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestEnv};
use crate::native_client::Native;

const TYPES: &str = r#"
[[type]]
name = "footprint"
version = "1.0"
title = "Footprint"
program = "analyze.php"
args = ["-sample", "${sample}", "-out", "${job_output_dir}", "-id", "${job_id}"]
inputs = ["sample"]
queues = ["default"]
threads = 1
max_tries = 2
timeout = "1h"

[[type]]
name = "footprint"
version = "2.0"
program = "analyze.php"
args = ["-v2", "${sample}"]
inputs = ["sample"]
queues = ["default"]
"#;

/// An API node of `env` given the job types `text`, written to the file `name`.
async fn api_with_types(env: &TestEnv, name: &str, text: &str) -> crate::api_client::Api {
    let file = env.path(name);
    std::fs::write(&file, text).expect("types file");
    env.api_with(
        env.api_flags()
            .set("--job-types", file.display().to_string()),
    )
    .await
}

/// A typed submit runs its type's program with the inputs filled in as whole arguments (a value with
/// spaces, `$` and even `${job_id}` arrives exactly as sent), `${job_id}` and `${job_output_dir}` filled by
/// the worker (which makes the directory), and the type's settings; the job shows its type, can be
/// found by it, and the type lists its jobs.
#[tokio::test]
async fn a_typed_job_runs_its_template_with_its_inputs() {
    let env = TestEnv::new();
    let api = api_with_types(&env, "types.toml", TYPES).await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let native = Native::new(&api, TOKEN);
    let sample = "Sample 1 $HOME ${job_id}";
    let body = json!({
        "type": "footprint", "version": "1.0", "inputs": {"sample": sample},
        "working_directory": env.work.display().to_string(),
    });
    let job = native.submit(&body).await;
    let id = job["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (job["type"].clone(), job["version"].clone()),
        (json!("footprint"), json!("1.0"))
    );
    assert_eq!(job["max_tries"], 2);
    assert_eq!(job["priority"], 100, "the type's default priority");
    assert_eq!(job["timeout"], "1h");
    assert_eq!(job["queues"], json!(["default"]));
    let job = native.until_state(&id, &["succeeded"]).await;
    let out_dir = env.work.join(format!("job-{id}"));
    assert!(
        out_dir.is_dir(),
        "the worker did not make {}",
        out_dir.display()
    );
    let printed: Value = serde_json::from_str(
        job["output"]
            .as_str()
            .expect("output")
            .lines()
            .next()
            .expect("a line"),
    )
    .expect("analyze.php prints its arguments as JSON");
    let expected_out = out_dir.display().to_string();
    assert_eq!(
        printed,
        json!(["-sample", sample, "-out", expected_out, "-id", id])
    );

    let newest = native
        .submit(&json!({
            "type": "footprint", "inputs": {"sample": "S2"},
            "working_directory": env.work.display().to_string(),
        }))
        .await;
    assert_eq!(newest["version"], "2.0", "no version asks for the highest");
    let listed = native
        .call(Method::GET, "/api/v1/jobs?type=footprint", None, &[])
        .await;
    assert_eq!(
        listed.body["jobs"].as_array().map(Vec::len),
        Some(2),
        "{}",
        listed.body
    );
    let catalog = native
        .call(Method::GET, "/api/v1/job-types", None, &[])
        .await;
    assert_eq!(catalog.status, StatusCode::OK);
    assert_eq!(catalog.body[0]["name"], "footprint");
    assert_eq!(catalog.body[0]["inputs"], json!(["sample"]));
    native.conforms().await;
}

/// A typed submit that names an unknown type, misses an input or brings one the type does not take,
/// or names both a program and a type, is refused naming the field; nothing is written.
#[tokio::test]
async fn typed_submits_that_cannot_be_filled_are_refused() {
    let env = TestEnv::new();
    let api = api_with_types(&env, "types.toml", TYPES).await;
    let native = Native::new(&api, TOKEN);
    let work = env.work.display().to_string();
    let cases = [
        (
            json!({"type": "nope", "working_directory": work}),
            "type",
            "unknown job type 'nope'; known: footprint 1.0, footprint 2.0",
        ),
        (
            json!({"type": "footprint", "working_directory": work}),
            "inputs",
            "missing input 'sample'",
        ),
        (
            json!({"type": "footprint", "inputs": {"sample": "a", "smaple": "b"}, "working_directory": work}),
            "inputs",
            "unknown input 'smaple'",
        ),
        (
            json!({"type": "footprint", "program": "analyze.php", "working_directory": work}),
            "type",
            "not both",
        ),
        (
            json!({"program": "analyze.php", "inputs": {"a": "b"}, "queues": ["default"], "working_directory": work}),
            "inputs",
            "go with a type",
        ),
    ];
    for (body, field, detail) in cases {
        let answer = native
            .call(Method::POST, "/api/v1/jobs", Some(&body), &[])
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        assert_eq!(answer.body["field"], field, "{}", answer.body);
        assert!(
            answer.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains(detail)),
            "expected {detail:?}: {}",
            answer.body
        );
    }
    assert_eq!(env.request_keys().await, Vec::<String>::new());
    native.conforms().await;
}

/// A program named by absolute path runs when it lies in a script directory, and is refused when it
/// does not, even through a link that sits inside one.
#[tokio::test]
async fn a_program_by_path_runs_only_inside_the_script_directories() {
    let env = TestEnv::new();
    let scripts = env.path("scripts");
    std::fs::create_dir_all(&scripts).expect("script dir");
    let inside = scripts.join("hello.sh");
    std::fs::write(&inside, "#!/bin/sh\necho \"hello $1\"\n").expect("script");
    std::os::unix::fs::symlink("/bin/sh", scripts.join("escape.sh")).expect("link");
    let dirs = scripts.display().to_string();
    let api = env
        .api_with(env.api_flags().set("--script-dirs", dirs.clone()))
        .await;
    let _worker = env
        .worker_with(
            env.worker_flags("w1", &["default"], 1)
                .set("--script-dirs", dirs),
        )
        .await;
    let native = Native::new(&api, TOKEN);
    let job = native
        .submit(&native.job(&inside.display().to_string(), &["world"], &["default"]))
        .await;
    let id = job["id"].as_str().expect("id").to_owned();
    let job = native.until_state(&id, &["succeeded"]).await;
    assert!(
        job["output"]
            .as_str()
            .is_some_and(|o| o.contains("hello world")),
        "{job}"
    );
    for outside in [scripts.join("escape.sh"), "/bin/sh".into()] {
        let body = native.job(&outside.display().to_string(), &[], &["default"]);
        let answer = native
            .call(Method::POST, "/api/v1/jobs", Some(&body), &[])
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.body
        );
        assert_eq!(answer.body["field"], "program");
        assert!(
            answer.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("is not a file in the script directories")),
            "{}",
            answer.body
        );
    }
    native.conforms().await;
}

/// A paused type's jobs are taken and wait, queued and unpublished, however long; once an API node runs
/// with the type resumed, they are published and run. Other jobs of their queue run meanwhile and do
/// not start them.
#[tokio::test]
async fn a_paused_types_jobs_wait_until_it_is_resumed() {
    let env = TestEnv::new();
    let paused = "[[type]]\nname = \"later\"\nprogram = \"analyze.php\"\nargs = [\"-n\", \"${n}\"]\ninputs = [\"n\"]\nqueues = [\"default\"]\npaused = true\n";
    let api = api_with_types(&env, "paused.toml", paused).await;
    let native = Native::new(&api, TOKEN);
    let _worker = env.worker("w1", &["default"], 1).await;
    let job = native
        .submit(&json!({"type": "later", "inputs": {"n": "1"}, "working_directory": env.work.display().to_string()}))
        .await;
    assert_eq!(job["state"], "queued");
    let id = job["id"].as_str().expect("id").to_owned();
    let held = format!("{}:held:later", env.ns);
    assert!(env.keys().await.contains(&held), "the job is not held");
    let queue = env.amqp_queue("default");
    assert_eq!(
        env.queue_counts(&queue).await.map(|(ready, _)| ready),
        Some(0)
    );
    // Another job of the same queue runs meanwhile: its message claims the best claimable job of the
    // queue, which must not be the held one.
    let other = native
        .submit(&native.job("analyze.php", &[], &["default"]))
        .await;
    native
        .until_state(other["id"].as_str().expect("id"), &["succeeded"])
        .await;
    assert_eq!(
        native.get(&id).await.body["state"],
        "queued",
        "it ran while its type was paused"
    );
    env.check_indexes().await;

    let resumed = env.path("resumed.toml");
    std::fs::write(&resumed, paused.replace("paused = true", "paused = false"))
        .expect("types file");
    let _resumed_node = env
        .api_with(
            env.api_flags()
                .set("--job-types", resumed.display().to_string())
                .set("--sweep-interval", "1s"),
        )
        .await;
    native.until_state(&id, &["succeeded"]).await;
    assert!(!env.keys().await.contains(&held));
    native.conforms().await;
}
