//! The load history: one record per interval however many API nodes run, counting jobs pending,
//! queued and running, in all and per queue.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestEnv, eventually};
use crate::native_client::Native;

/// Two API nodes record every second between them, each second once; the records count this test's
/// jobs, in all and for their queue.
#[tokio::test]
async fn the_load_is_recorded_once_per_interval_and_counts_the_jobs() {
    let env = TestEnv::new();
    let flags = env.api_flags().set("--load-interval", "1s");
    let api = env.api_with(flags.clone()).await;
    let _other = env.api_with(flags).await;
    let native = Native::new(&api, TOKEN);
    let a = native
        .submit(&native.job("analyze.php", &[], &["default"]))
        .await;
    native
        .submit(&native.job("analyze.php", &[], &["default"]))
        .await;
    let mut body = native.job("analyze.php", &[], &["default"]);
    body["after"] = json!([a["id"]]);
    native.submit(&body).await;
    let since = "2000-01-01T00:00:00Z";
    let points = eventually("three records counting the jobs", || async {
        let answer = native
            .call(
                Method::GET,
                &format!("/api/v1/load?since={since}"),
                None,
                &[],
            )
            .await;
        let points = answer.body.as_array()?.clone();
        let counted: Vec<&Value> = points
            .iter()
            .filter(|p| p["queued"] == 2 && p["pending"] == 1 && p["running"] == 0)
            .collect();
        (counted.len() >= 3).then_some(points)
    })
    .await;
    let times: Vec<&str> = points
        .iter()
        .map(|p| p["time"].as_str().expect("time"))
        .collect();
    let mut distinct = times.clone();
    distinct.dedup();
    assert_eq!(times, distinct, "an interval was recorded twice");
    let per_queue = native
        .call(
            Method::GET,
            &format!("/api/v1/load?since={since}&queue=default"),
            None,
            &[],
        )
        .await;
    let last = per_queue
        .body
        .as_array()
        .and_then(|p| p.last().cloned())
        .expect("a point");
    assert_eq!(
        (last["queued"].clone(), last["pending"].clone()),
        (json!(2), json!(1))
    );
    let elsewhere = native
        .call(
            Method::GET,
            &format!("/api/v1/load?since={since}&queue=nowhere"),
            None,
            &[],
        )
        .await;
    let last = elsewhere
        .body
        .as_array()
        .and_then(|p| p.last().cloned())
        .expect("a point");
    assert_eq!(last["queued"], 0);
    native.conforms().await;
}
