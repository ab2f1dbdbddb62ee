//! A job's life past its first attempt: time limits, and retries asked by clients.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TOKEN, TestEnv};
use crate::native_client::Native;

fn id_of(job: &serde_json::Value) -> String {
    job["id"].as_str().expect("id").to_owned()
}

/// A job that runs past its time limit is ended like a canceled one (its whole process group), runs
/// again while it has tries left, and then fails with reason `timeout`.
#[tokio::test]
async fn a_job_past_its_time_limit_is_ended_and_tried_again_while_it_has_tries() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let native = Native::new(&api, TOKEN);
    let mut body = native.job("hold.php", &["-child"], &["default"]);
    body["timeout"] = json!("1s");
    body["max_tries"] = json!(2);
    let id = id_of(&native.submit(&body).await);
    let first_pids = env.started_pids(&id).await;
    let job = native.until_state(&id, &["failed"]).await;
    assert_eq!(job["failure"]["reason"], "timeout", "{job}");
    assert_eq!(job["timeout"], "1s");
    assert_eq!(job["attempts"], 2, "{job}");
    let outcomes: Vec<&str> = job["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|a| a["outcome"].as_str().expect("outcome"))
        .collect();
    assert_eq!(outcomes, ["timeout", "timeout"]);
    // The script and the child it started: both ended with the attempt (a zombie awaiting its
    // reaper counts as gone).
    assert_eq!(first_pids.len(), 2);
    for pid in first_pids {
        crate::helpers::eventually(&format!("process {pid} to be gone"), || async {
            crate::cancel::gone(pid).then_some(())
        })
        .await;
    }
    let update = api.update(&id).await;
    assert_eq!(update["status"], "error");
    assert_eq!(update["exit_code"], 124, "{update}");
    env.check_indexes().await;
    native.conforms().await;
}

/// Many clients retrying one failed job at the same moment: exactly one succeeds, the job runs once
/// more with a fresh set of tries, and its history keeps both attempts. A job that succeeded, or one
/// refused at submit, is not retried.
#[tokio::test]
async fn a_failed_job_is_retried_once_however_many_ask() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let native = Native::new(&api, TOKEN);
    let failing = id_of(
        &native
            .submit(&native.job("analyze.php", &["-exit", "3"], &["default"]))
            .await,
    );
    native.until_state(&failing, &["failed"]).await;
    let path = format!("/api/v1/jobs/{failing}/retry");
    let asks = (0..8).map(|_| native.call(Method::POST, &path, None, &[]));
    let answers = join_all(asks).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7,
        "{statuses:?}"
    );
    let _worker = env.worker("w2", &["default"], 2).await;
    let job = crate::helpers::eventually("the retried job to fail again", || async {
        let job = native.get(&failing).await.body;
        (job["state"] == "failed" && job["history"].as_array().is_some_and(|h| h.len() == 2))
            .then_some(job)
    })
    .await;
    assert_eq!(
        job["attempts"], 1,
        "a retry gives a fresh set of tries: {job}"
    );

    let fine = id_of(
        &native
            .submit(&native.job("analyze.php", &[], &["default"]))
            .await,
    );
    native.until_state(&fine, &["succeeded"]).await;
    let again = native
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{fine}/retry"),
            None,
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let (_, refused) = api
        .post(&{
            let mut body = api.submit_body("analyze.php", &[], &["default"]);
            body["threads"] = json!(0);
            body
        })
        .await;
    let refused = refused["qe_job_id"].as_str().expect("id").to_owned();
    let again = native
        .call(
            Method::POST,
            &format!("/api/v1/jobs/{refused}/retry"),
            None,
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("refused at submit"))
    );
    env.check_indexes().await;
    native.conforms().await;
}

/// Runs the futures concurrently, in one task, and collects their outputs in order.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// Whether process `pid` is stopped (state `T` in /proc).
fn stopped(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| rest.starts_with('T'))
        })
        .unwrap_or(false)
}

/// A suspended job's processes are stopped and its time limit waits: it outlives the limit while
/// suspended, goes on when resumed, and succeeds. A suspended job can be canceled; only a running job
/// can be suspended, and only a suspended one resumed.
#[tokio::test]
async fn a_suspended_job_stops_and_its_time_limit_waits() {
    let env = TestEnv::new();
    let api = env.api().await;
    let _worker = env.worker("w1", &["default"], 2).await;
    let native = Native::new(&api, TOKEN);
    let mut body = native.job("hold.php", &["-child"], &["default"]);
    body["timeout"] = json!("2s");
    let id = id_of(&native.submit(&body).await);
    let pids = env.started_pids(&id).await;
    let suspended = native.post(&format!("/api/v1/jobs/{id}/suspend")).await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(suspended.body["state"], "suspended");
    for &pid in &pids {
        crate::helpers::eventually(&format!("process {pid} to stop"), || async {
            stopped(pid).then_some(())
        })
        .await;
    }
    // Time passing is what is tested here: past the limit, and the job must still be suspended.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(native.get(&id).await.body["state"], "suspended");
    assert_eq!(
        native
            .post(&format!("/api/v1/jobs/{id}/suspend"))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let resumed = native.post(&format!("/api/v1/jobs/{id}/resume")).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(resumed.body["state"], "running");
    for &pid in &pids {
        crate::helpers::eventually(&format!("process {pid} to go on"), || async {
            (!stopped(pid)).then_some(())
        })
        .await;
    }
    env.release(&id);
    native.until_state(&id, &["succeeded"]).await;
    assert_eq!(
        native
            .post(&format!("/api/v1/jobs/{id}/resume"))
            .await
            .status,
        StatusCode::CONFLICT
    );

    let other = id_of(
        &native
            .submit(&native.job("hold.php", &["-child"], &["default"]))
            .await,
    );
    let pids = env.started_pids(&other).await;
    assert_eq!(
        native
            .post(&format!("/api/v1/jobs/{other}/suspend"))
            .await
            .status,
        StatusCode::OK
    );
    let canceled = native
        .call(Method::DELETE, &format!("/api/v1/jobs/{other}"), None, &[])
        .await;
    assert_eq!(canceled.status, StatusCode::ACCEPTED, "{}", canceled.body);
    native.until_state(&other, &["canceled"]).await;
    for pid in pids {
        crate::helpers::eventually(&format!("process {pid} to be gone"), || async {
            crate::cancel::gone(pid).then_some(())
        })
        .await;
    }
    env.check_indexes().await;
    native.conforms().await;
}
