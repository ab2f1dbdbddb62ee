//! Submits refused for a lasting reason: HTTP 200, exit_code ≠ 0, a real id whose update repeats the
//! reason, and nothing published.

use serde_json::json;

use crate::helpers::TestEnv;

/// Each lasting refusal answers 200 with a numeric non-zero exit code, a real qe_job_id and a result
/// saying why; the id's update answers `error` with the same reason; no message reaches any queue.
#[tokio::test]
async fn lasting_refusals_get_an_id_that_answers_error() {
    let env = TestEnv::new();
    let api = env
        .api_with(env.api_flags().set("--max-threads", "64"))
        .await;
    let queue = env.amqp_queue("default");
    let outside = std::env::temp_dir().display().to_string();
    let inside_with_dots = format!("{}/../work", env.work.display());
    let cases = [
        ("script", json!("../../bin/rm"), "is not a bare file name"),
        ("script", json!("/usr/bin/php"), "is not a bare file name"),
        ("script", json!(".hidden.php"), "is not a bare file name"),
        (
            "script",
            json!("no_such_pipeline.php"),
            "is not in the script directories",
        ),
        ("threads", json!(0), "threads must be between 1 and 64"),
        ("threads", json!(-4), "threads must be between 1 and 64"),
        ("threads", json!(65), "threads must be between 1 and 64"),
        (
            "threads",
            json!(u64::MAX),
            "threads must be between 1 and 64",
        ),
        ("queues", json!([]), "no usable queue"),
        ("queues", json!(["", ""]), "no usable queue"),
        ("queues", json!(["bad queue"]), "may only contain"),
        ("queues", json!(["x".repeat(51)]), "1-50 characters"),
        (
            "working_directory",
            json!(outside),
            "outside the allowed roots",
        ),
        (
            "working_directory",
            json!("relative/dir"),
            "must be an absolute path",
        ),
        ("working_directory", json!(inside_with_dots), "without '..'"),
    ];
    for (field, value, reason) in cases {
        let mut body = api.submit_body("analyze.php", &[], &["default"]);
        body[field] = value.clone();
        let (status, reply) = api.post(&body).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{field}={value}: {reply}");
        let exit_code = reply["exit_code"].as_i64().expect("numeric exit_code");
        assert_ne!(exit_code, 0, "{field}={value} accepted: {reply}");
        let result = reply["result"].as_str().expect("result");
        assert!(result.contains(reason), "{field}={value}: {result}");
        let id = reply["qe_job_id"].as_str().expect("qe_job_id string");
        assert!((1..=10).contains(&id.len()));
        let update = api.update(id).await;
        assert_eq!(update["status"], "error", "{update}");
        assert_eq!(update["queue"], "");
        assert!(
            update["result"]
                .as_str()
                .is_some_and(|r| r.contains(reason)),
            "{update}"
        );
    }
    let published = env
        .queue_counts(&queue)
        .await
        .map_or(0, |(messages, _)| messages);
    assert_eq!(published, 0, "a refused job was published");
    env.check_indexes().await;
}

/// With no HOPPER_SCRIPT_DIRS on the API node, an unknown script is accepted there and the worker
/// reports it: update answers error, "could not start", exit code 127.
#[tokio::test]
async fn unknown_script_without_api_script_dirs_fails_at_the_worker() {
    let env = TestEnv::new();
    let api = env.api_with(env.api_flags().unset("--script-dirs")).await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let id = api.submit("no_such_pipeline.php", &[], &["default"]).await;
    let reply = api.until_ended(&id).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["exit_code"], 127, "{reply}");
    let result = reply["result"].as_str().expect("result");
    assert!(
        result.starts_with("job could not start: script 'no_such_pipeline.php'"),
        "{result}"
    );
}
