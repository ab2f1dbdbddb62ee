//! A job's stdout and stderr over HTTP (`GET /api/v1/jobs/{id}/logs`), shipped by a real worker: read
//! while the job runs, followed live as Server-Sent Events, read back whole after its end from another
//! node, and kept within `HOPPER_LOG_CAP` with an exact count of what was left out.

use hopper_common::{JobState, LogBudget, LogPiece};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use crate::api_client::Api;
use crate::helpers::{DEADLINE, TOKEN, TestEnv, eventually};
use crate::native_client::Native;
use crate::recovery::{claimed_by, ended, quick, spec};

/// A plain read: status, headers and text.
async fn read(api: &Api, id: &str, query: &str) -> (StatusCode, HeaderMap, String) {
    let response = api
        .client
        .get(format!("{}/api/v1/jobs/{id}/logs?{query}", api.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("HTTP request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

/// A read that must succeed: the text, its `Hopper-Log-Offset` and its `Hopper-Job-State`.
async fn text(api: &Api, id: &str, query: &str) -> (String, u64, String) {
    let (status, headers, text) = read(api, id, query).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    let header = |name: &str| headers[name].to_str().expect("header").to_owned();
    let offset = header("hopper-log-offset").parse().expect("an offset");
    (text, offset, header("hopper-job-state"))
}

/// One Server-Sent Event.
#[derive(Debug, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub id: String,
    pub data: String,
}

fn output(id: u64, data: &str) -> SseEvent {
    SseEvent {
        event: String::new(),
        id: id.to_string(),
        data: data.to_owned(),
    }
}

fn end(id: u64, state: &str) -> SseEvent {
    SseEvent {
        event: "end".to_owned(),
        id: id.to_string(),
        data: state.to_owned(),
    }
}

/// A followed log: the events of a streaming answer, as they arrive.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    pub async fn open(api: &Api, id: &str, query: &str, headers: &[(&str, &str)]) -> Self {
        let mut request = api
            .client
            .get(format!(
                "{}/api/v1/jobs/{id}/logs?follow=true{query}",
                api.url
            ))
            .bearer_auth(TOKEN);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("HTTP request");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped), or `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(at) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..at + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout(DEADLINE, self.response.chunk())
                .await
                .expect("an event within the deadline")
                .expect("the event stream");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk?));
        }
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent {
        event: String::new(),
        id: String::new(),
        data: String::new(),
    };
    let mut data = Vec::new();
    for line in block
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(':'))
    {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "event" => event.event = value,
            "id" => event.id = value,
            "data" => data.push(value),
            _ => panic!("unexpected field in {block:?}"),
        }
    }
    event.data = data.join("\n");
    (!data.is_empty()).then_some(event)
}

/// A running job's output reads back as far as it was printed, from any node; a follower gets later
/// lines while the job still runs, then an `end` event; after its end the whole log reads back from
/// another node, from any offset, and expires with the job.
#[tokio::test]
async fn a_running_jobs_log_is_read_followed_live_and_kept() {
    let env = TestEnv::new();
    let api = env.api().await;
    let other = env.api().await;
    let _worker = env.worker("w1", &["default"], 1).await;
    let native = Native::new(&api, TOKEN);
    let job = native
        .submit(&native.job("drip.php", &[], &["default"]))
        .await;
    let id = job["id"].as_str().expect("id").to_owned();
    let (first, offset, state) = eventually("the first line in the log", || async {
        let read = text(&api, &id, "stream=stdout").await;
        (read.0 == "one\n").then_some(read)
    })
    .await;
    assert_eq!(
        (first.as_str(), offset, state.as_str()),
        ("one\n", 4, "running")
    );
    let err = eventually("stderr in the log", || async {
        let (err, ..) = text(&other, &id, "stream=stderr").await;
        (!err.is_empty()).then_some(err)
    })
    .await;
    assert_eq!(err, "warming up\n");
    assert_eq!(
        env.key_ttl(&format!("log:{id}")).await,
        -1,
        "expires while it runs"
    );

    let mut events = Events::open(&other, &id, "", &[]).await;
    assert_eq!(events.next().await, Some(output(4, "one\n")));
    env.release(&id);
    assert_eq!(events.next().await, Some(output(8, "two\n")));
    let state = env.job(&id).await.expect("the job").state;
    assert_eq!(state.as_str(), "running", "the line came while the job ran");
    std::fs::write(env.path(&format!("release-{id}-end")), "").expect("release file");
    assert_eq!(events.next().await, Some(output(14, "three\n")));
    assert_eq!(events.next().await, Some(end(14, "succeeded")));
    assert_eq!(events.next().await, None, "the stream ends with the job");

    let whole = text(&other, &id, "").await;
    assert_eq!(
        whole,
        ("one\ntwo\nthree\n".to_owned(), 14, "succeeded".to_owned())
    );
    let (rest, ..) = text(&api, &id, "stream=stdout&offset=4").await;
    assert_eq!(rest, "two\nthree\n");
    let (err, ..) = text(&api, &id, "stream=stderr").await;
    assert_eq!(err, "warming up\n");
    // Resuming a follow, by offset or as an EventSource does: the rest, then the end at once.
    let mut resumed = Events::open(&api, &id, "", &[("Last-Event-ID", "8")]).await;
    assert_eq!(resumed.next().await, Some(output(14, "three\n")));
    assert_eq!(resumed.next().await, Some(end(14, "succeeded")));
    let mut resumed = Events::open(&api, &id, "&offset=14", &[]).await;
    assert_eq!(resumed.next().await, Some(end(14, "succeeded")));
    // The log goes with the job.
    let (job_ttl, log_ttl) = (env.ttl(&id).await, env.key_ttl(&format!("log:{id}")).await);
    assert!(
        log_ttl > 0 && (job_ttl - log_ttl).abs() <= 5,
        "job {job_ttl}, log {log_ttl}"
    );
    let head_ttl = env.key_ttl(&format!("log:{id}:stdout")).await;
    assert!(head_ttl > 0, "{head_ttl}");
}

/// A log past `HOPPER_LOG_CAP` keeps its head and its tail, in Redis no more than the cap, and says
/// exactly how many bytes it left out, read whole, from an offset in the gap, and followed; the job's
/// `output` is what it was.
#[tokio::test]
async fn a_log_past_its_cap_keeps_head_and_tail_with_the_omitted_count() {
    let env = TestEnv::new();
    let api = env.api().await;
    let flags = env.worker_flags("w1", &["default"], 1);
    let _worker = env.worker_with(flags.set("--log-cap", "1KiB")).await;
    let native = Native::new(&api, TOKEN);
    let job = native
        .submit(&native.job("loud.php", &[], &["default"]))
        .await;
    let id = job["id"].as_str().expect("id").to_owned();
    let job = native.until_state(&id, &["succeeded"]).await;
    assert!(
        job["output"].as_str().expect("output").len() > 60_000,
        "the output excerpt does not follow the log cap"
    );
    let file = std::fs::read(env.logs.join(format!("{id}.out"))).expect("the .out file");
    assert_eq!(file.len(), 1_000_000, "the file keeps everything");

    let (whole, offset, state) = text(&api, &id, "").await;
    assert_eq!((offset, state.as_str()), (1_000_000, "succeeded"));
    let stated = hopper_common::stated_omission(&whole).expect("an omission marker");
    let marker = hopper_common::omission_marker(stated);
    assert_eq!(
        whole.len() - marker.len(),
        1024,
        "head and tail fill the cap"
    );
    assert_eq!(stated + 1024, 1_000_000, "the marker miscounts");
    let tail = std::str::from_utf8(&file[1_000_000 - 512..]).expect("ASCII");
    assert_eq!(
        whole,
        format!(
            "{}{marker}{tail}",
            std::str::from_utf8(&file[..512]).expect("ASCII")
        )
    );
    assert!(whole.starts_with("BEGIN\n") && whole.ends_with("END\n"));

    let (from_gap, ..) = text(&api, &id, "offset=600").await;
    let omitted = 1_000_000 - 512 - 600;
    assert_eq!(
        from_gap,
        format!("{}{tail}", hopper_common::omission_marker(omitted))
    );

    let mut events = Events::open(&api, &id, "", &[]).await;
    assert_eq!(events.next().await, Some(output(1_000_000, &whole)));
    assert_eq!(events.next().await, Some(end(1_000_000, "succeeded")));

    for key in ["stdout", "stdout:tail"] {
        let length: u64 = redis_strlen(&env, &format!("log:{id}:{key}")).await;
        assert_eq!(length, 512, "{key} holds half the cap");
    }
}

async fn redis_strlen(env: &TestEnv, key: &str) -> u64 {
    let client = redis::Client::open(crate::helpers::redis_url()).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis");
    redis::cmd("STRLEN")
        .arg(format!("{}:{key}", env.ns))
        .query_async(&mut conn)
        .await
        .expect("STRLEN")
}

/// A queued job has an empty log; an unknown job, a bad stream, offset or follow, and an unknown
/// parameter are problem details; every answer is as the OpenAPI document says.
#[tokio::test]
async fn logs_answer_as_documented() {
    let env = TestEnv::new();
    let api = env.api().await;
    let native = Native::new(&api, TOKEN);
    // No worker serves `default`: the job stays queued.
    let job = native
        .submit(&native.job("drip.php", &[], &["default"]))
        .await;
    let id = job["id"].as_str().expect("id");
    let logs = format!("/api/v1/jobs/{id}/logs");
    let answer = native.call(Method::GET, &logs, None, &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["hopper-job-state"], "queued");
    assert!(answer.body.is_null(), "{}", answer.body);

    let unknown = native
        .call(Method::GET, "/api/v1/jobs/999999999/logs", None, &[])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["type"], "urn:hopper:problem:not-found");
    let followed = native
        .call(
            Method::GET,
            "/api/v1/jobs/999999999/logs?follow=true",
            None,
            &[],
        )
        .await;
    assert_eq!(followed.status, StatusCode::NOT_FOUND);
    for (query, field) in [
        ("stream=stdin", "stream"),
        ("offset=-1", "offset"),
        ("follow=maybe", "follow"),
    ] {
        let answer = native
            .call(Method::GET, &format!("{logs}?{query}"), None, &[])
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(answer.body["field"], field, "{}", answer.body);
    }
    let unknown_parameter = native
        .call(Method::GET, &format!("{logs}?colour=red"), None, &[])
        .await;
    assert_eq!(unknown_parameter.status, StatusCode::BAD_REQUEST);
    let anonymous = Native::anonymous(&api);
    let refused = anonymous.call(Method::GET, &logs, None, &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    native.conforms().await;
    anonymous.conforms().await;
}

/// The log of a job whose worker was lost keeps what was shipped, and the sweeper that fails the job
/// lets it expire with the job, though no worker made a last flush.
#[tokio::test]
async fn a_lost_workers_log_expires_with_its_job() {
    let env = TestEnv::new();
    let _sweeping = env
        .worker_with(quick(env.worker_flags("w1", &["default"], 1)))
        .await;
    let id = claimed_by(&env, "ghost", &spec(&env, "drip.php", &[], 1)).await;
    let budget = Some(LogBudget::of_cap(1024));
    let shipped = LogPiece {
        at: 0,
        since: 0,
        bytes: b"one\n",
    };
    let write = env.store.log_write(
        &id,
        "ghost-attempt",
        budget,
        false,
        [shipped, LogPiece::default()],
    );
    assert!(write.await.expect("Redis"));
    assert_eq!(env.key_ttl(&format!("log:{id}")).await, -1);
    let job = ended(&env, &id).await;
    assert_eq!(job.state, JobState::Failed);
    let api = env.api().await;
    assert_eq!(text(&api, id.as_str(), "").await.0, "one\n");
    for key in [format!("log:{id}"), format!("log:{id}:stdout")] {
        // The sweeper sets it just after it has ended the job.
        let ttl = eventually(&format!("{key} to expire"), || async {
            Some(env.key_ttl(&key).await).filter(|ttl| *ttl > 0)
        })
        .await;
        let job_ttl = env.ttl(id.as_str()).await;
        assert!(
            (job_ttl - ttl).abs() <= 5,
            "{key}: {ttl}, the job's {job_ttl}"
        );
    }
}
