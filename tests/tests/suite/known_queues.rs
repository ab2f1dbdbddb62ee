//! Jobs may name only known queues, and only so many: no request makes an API node create broker
//! queues, and a request past a bound is refused before anything is written.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestEnv;

/// A queue no worker has served and the operator has not listed is refused like any lasting refusal
/// (an id whose update repeats the reason, naming the queue), and no broker queue is declared for it.
#[tokio::test]
async fn a_job_naming_an_unknown_queue_is_refused_and_no_broker_queue_is_made() {
    let env = TestEnv::new();
    let api = env.api().await;
    let nowhere = env.amqp_queue("nowhere");
    let body = api.submit_body("analyze.php", &[], &["default", "nowhere"]);
    let (status, reply) = api.post(&body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["exit_code"], 1, "{reply}");
    let result = reply["result"].as_str().expect("result");
    assert!(
        result.contains("unknown queue nowhere: no worker serves it"),
        "{result}"
    );
    let update = api.update(reply["qe_job_id"].as_str().expect("id")).await;
    assert_eq!(update["status"], "error", "{update}");
    assert_eq!(
        env.queue_counts(&nowhere).await,
        None,
        "{nowhere} was declared"
    );
    let default = env.amqp_queue("default");
    assert_eq!(
        env.queue_counts(&default)
            .await
            .map_or(0, |(ready, _)| ready),
        0,
        "the refused job was published to its known queue"
    );
}

/// A worker makes the queues it serves known, to every API node, including one that refused the
/// queue before.
#[tokio::test]
async fn a_queue_becomes_known_when_a_worker_serves_it() {
    let env = TestEnv::new();
    let api = env.api().await;
    let (_, before) = api
        .post(&api.submit_body("analyze.php", &[], &["fresh"]))
        .await;
    assert_eq!(before["exit_code"], 1, "{before}");
    let _worker = env.worker("w1", &["fresh"], 1).await;
    crate::helpers::eventually("the worker's queue to be known", || async {
        let (_, reply) = api
            .post(&api.submit_body("analyze.php", &[], &["fresh"]))
            .await;
        (reply["exit_code"] == 0).then_some(())
    })
    .await;
}

/// One request naming 60,000 queues (500 KB, under the body limit) is refused at once, naming the
/// bound, and writes nothing: no job, no id taken, no broker queue. So are 33 queues, and more script
/// arguments than allowed.
#[tokio::test]
async fn lists_past_their_bounds_are_refused_before_anything_is_written() {
    let env = TestEnv::new();
    let api = env.api().await;
    let hostile: Vec<String> = (0..60_000).map(|n| format!("q{n}")).collect();
    let too_many_args = vec!["a"; 1025];
    let cases = [
        (
            "queues",
            json!(hostile),
            "queues lists 60000 entries; at most 32",
        ),
        ("queues", json!(vec!["default"; 33]), "at most 32"),
        (
            "script_args",
            json!(too_many_args),
            "script_args lists 1025 entries; at most 1024",
        ),
    ];
    for (field, value, reason) in cases {
        let mut body = api.submit_body("analyze.php", &[], &["default"]);
        body[field] = value;
        let (status, reply) = api.post(&body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {reply}");
        assert_eq!(reply["exit_code"], 1, "{reply}");
        let result = reply["result"].as_str().expect("result");
        assert!(result.contains(reason), "{field}: {result}");
    }
    assert_eq!(env.request_keys().await, Vec::<String>::new());
    assert_eq!(env.queue_counts(&env.amqp_queue("q0")).await, None);
}
