//! A GSvar-speaking client: the submit, update and delete requests GSvarServer posts to `/qe`.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

pub const TOKEN: &str = "fault-token";

/// What a submit was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// HTTP 200 with exit_code 0: the client was promised the job will run.
    Accepted(String),
    /// HTTP 503: nothing was changed, GSvar tries again later.
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct Gsvar {
    pub url: String,
    work: PathBuf,
    client: reqwest::Client,
}

impl Gsvar {
    pub fn new(url: String, work: PathBuf) -> Self {
        // A bound on every request: a node that hangs must fail the test, not stall it.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Self { url, work, client }
    }

    /// Posts a JSON body to `/qe`; the reply must be JSON whatever its status.
    pub async fn post(&self, body: &Value) -> Result<(StatusCode, Value), reqwest::Error> {
        let response = self
            .client
            .post(format!("{}/qe", self.url))
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("reply ({status}) is not JSON: {text:?}"));
        Ok((status, json))
    }

    pub fn submit_body(&self, script: &str, args: &[&str], queue: &str) -> Value {
        json!({
            "action": "submit",
            "token": TOKEN,
            "threads": 1,
            "queues": [queue],
            "script": script,
            "script_args": args,
            "working_directory": self.work.display().to_string(),
        })
    }

    /// Submits and classifies the answer; any answer but 200/exit 0 or 503 fails the test, because
    /// under faults a node must still either take the job or say it did not.
    pub async fn submit(&self, script: &str, args: &[&str], queue: &str) -> Submitted {
        let (status, reply) = self
            .post(&self.submit_body(script, args, queue))
            .await
            .unwrap_or_else(|e| panic!("submit got no HTTP answer: {e}"));
        match status {
            StatusCode::OK => {
                assert_eq!(reply["exit_code"], 0, "submit refused: {reply}");
                let id = reply["qe_job_id"].as_str().expect("qe_job_id is a string");
                Submitted::Accepted(id.to_owned())
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(reply["exit_code"], 1, "{reply}");
                Submitted::Unavailable
            }
            other => panic!("submit answered {other}, expected 200 or 503: {reply}"),
        }
    }

    /// Submits a job that must be accepted; returns its id.
    pub async fn submit_ok(&self, script: &str, args: &[&str], queue: &str) -> String {
        match self.submit(script, args, queue).await {
            Submitted::Accepted(id) => id,
            Submitted::Unavailable => panic!("submit of {script} to {queue} answered 503"),
        }
    }

    /// The update reply, or `None` while the node answers anything but 200 (e.g. 503 in an outage).
    pub async fn update(&self, id: &str) -> Option<Value> {
        let body = json!({"action": "update", "token": TOKEN, "qe_job_id": id, "qe_job_queue": ""});
        match self.post(&body).await {
            Ok((StatusCode::OK, reply)) => Some(reply),
            _ => None,
        }
    }

    /// `GET /readyz`'s status and body, and how long it took; `None` if the node does not answer.
    pub async fn readiness(&self) -> Option<(StatusCode, Value, Duration)> {
        let sent = std::time::Instant::now();
        let response = self
            .client
            .get(format!("{}/readyz", self.url))
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .ok()?;
        let status = response.status();
        let body = response.json().await.ok()?;
        Some((status, body, sent.elapsed()))
    }

    /// `GET /readyz`'s status code, or `None` if the node does not answer at all.
    pub async fn readyz(&self) -> Option<StatusCode> {
        self.readiness().await.map(|(status, _, _)| status)
    }
}
