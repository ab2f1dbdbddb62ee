//! Finding jobs: listing pages, filters and counts from the indexes, and the queues and workers views;
//! the indexes agree with the jobs after every kind of transition.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TOKEN, TestEnv};
use crate::native_client::Native;

fn ids(page: &Value) -> Vec<String> {
    page["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Follows `next` from `path` to the end; returns every id in order.
async fn all_pages(native: &Native<'_>, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let answer = native.call(Method::GET, &path, None, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        found.extend(ids(&answer.body));
        next = answer.body["next"].as_str().map(str::to_owned);
    }
    found
}

/// Pages come newest first and together hold every job once; each filter, and filters combined,
/// select just their jobs; counts agree.
#[tokio::test]
async fn pages_filters_and_counts_find_exactly_the_jobs_asked_for() {
    let env = TestEnv::new();
    let api = env
        .api_with(env.api_flags().set("--known-queues", "default,other"))
        .await;
    let native = Native::new(&api, TOKEN);
    let mut made = Vec::new();
    for n in 0..7 {
        let mut body = native.job(
            "analyze.php",
            &[],
            &[if n % 2 == 0 { "default" } else { "other" }],
        );
        body["labels"] = json!({"batch": if n < 4 { "a" } else { "b" }});
        made.push(
            native.submit(&body).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let gsvar = api.submit("analyze.php", &[], &["default"]).await;
    for id in [&made[1], &made[4]] {
        native
            .call(Method::DELETE, &format!("/api/v1/jobs/{id}"), None, &[])
            .await;
    }
    let mut newest_first = made.clone();
    newest_first.push(gsvar.clone());
    newest_first.reverse();

    assert_eq!(
        all_pages(&native, "/api/v1/jobs?limit=3").await,
        newest_first
    );
    assert_eq!(
        all_pages(&native, "/api/v1/jobs?state=canceled").await,
        vec![made[4].clone(), made[1].clone()]
    );
    assert_eq!(
        all_pages(&native, "/api/v1/jobs?queue=other&state=queued").await,
        vec![made[5].clone(), made[3].clone()]
    );
    assert_eq!(
        all_pages(&native, "/api/v1/jobs?label=batch:b&queue=default&limit=1").await,
        vec![made[6].clone(), made[4].clone()]
    );
    assert_eq!(
        all_pages(&native, "/api/v1/jobs?label=door:gsvar").await,
        vec![gsvar.clone()]
    );
    assert_eq!(
        all_pages(&native, "/api/v1/jobs?created_after=2999-01-01T00:00:00Z").await,
        Vec::<String>::new()
    );
    let counts = native
        .call(Method::GET, "/api/v1/jobs/counts?queue=default", None, &[])
        .await;
    assert_eq!(
        counts.body["counts"],
        json!({"pending": 0, "blocked": 0, "queued": 4, "running": 0, "suspended": 0, "succeeded": 0, "failed": 0, "canceled": 1})
    );
    let bad = native
        .call(Method::GET, "/api/v1/jobs?state=lost&limit=5000", None, &[])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "state");
    env.check_indexes().await;
    native.conforms().await;
}

/// The queues view counts each queue's jobs and names its workers; the workers view shows each live
/// worker's slots, busy slots and jobs.
#[tokio::test]
async fn queues_and_workers_show_what_runs_where() {
    let env = TestEnv::new();
    let api = env.api().await;
    let native = Native::new(&api, TOKEN);
    let _worker = env.worker("w1", &["default"], 2).await;
    let held = native
        .submit(&native.job("hold.php", &[], &["default"]))
        .await;
    let held = held["id"].as_str().expect("id").to_owned();
    native.until_state(&held, &["running"]).await;
    let workers = native.call(Method::GET, "/api/v1/workers", None, &[]).await;
    let w1 = &workers.body[0];
    assert_eq!(w1["id"], "w1", "{}", workers.body);
    assert_eq!(w1["slots"], 2);
    assert_eq!(w1["busy"], 1);
    assert_eq!(w1["jobs"], json!([held]));
    assert_eq!(w1["queues"], json!(["default"]));
    assert!(w1["last_seen"].is_string());
    let queues = native.call(Method::GET, "/api/v1/queues", None, &[]).await;
    let default = &queues.body[0];
    assert_eq!(default["name"], "default", "{}", queues.body);
    assert_eq!(default["counts"]["running"], 1);
    assert_eq!(default["workers"], json!(["w1"]));
    assert_eq!(default["oldest_queued"], Value::Null);
    env.release(&held);
    native.until_state(&held, &["succeeded"]).await;
    env.check_indexes().await;
    native.conforms().await;
}

/// A job past its retention leaves every index when the sweeper prunes it.
#[tokio::test]
async fn ended_jobs_leave_the_indexes_after_their_retention() {
    let env = TestEnv::new();
    let api = env
        .api_with(
            env.api_flags()
                .set("--retention", "1s")
                .set("--sweep-interval", "1s"),
        )
        .await;
    let native = Native::new(&api, TOKEN);
    let id = native
        .submit(&native.job("analyze.php", &[], &["default"]))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    native
        .call(Method::DELETE, &format!("/api/v1/jobs/{id}"), None, &[])
        .await;
    env.check_indexes().await;
    crate::helpers::eventually("the canceled job to leave every index", || async {
        let keys = env.keys().await;
        keys.iter().all(|k| !k.contains(":idx:")).then_some(())
    })
    .await;
    assert!(
        env.job(&id).await.is_none(),
        "its hash outlived its retention"
    );
}
