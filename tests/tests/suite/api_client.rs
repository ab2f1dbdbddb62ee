//! A GSvar-speaking client of one in-process API node, as `TestEnv::api` starts it: submit, update and
//! delete as GSvarServer posts them, and waiting for a job to end.

use std::path::PathBuf;

use hopper_common::Shutdown;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::helpers::{TOKEN, eventually};

/// A GSvar-speaking client of one in-process API node.
pub struct Api {
    pub url: String,
    /// The working directory submits name.
    pub work: PathBuf,
    pub client: reqwest::Client,
    /// Stops the node when the client is dropped.
    pub stop: Shutdown,
    pub _server: JoinHandle<anyhow::Result<()>>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.stop.stop_now();
    }
}

impl Api {
    /// POSTs raw bytes to `path`; returns the status and the body, which must be JSON.
    pub async fn post_bytes(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("HTTP request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("reply is not JSON: {text:?}"));
        (status, json)
    }

    pub async fn post(&self, body: &Value) -> (StatusCode, Value) {
        self.post_bytes("/qe", serde_json::to_vec(body).expect("JSON"))
            .await
    }

    /// A GSvar submit body: the token, one thread, and the test's work directory.
    pub fn submit_body(&self, script: &str, args: &[&str], queues: &[&str]) -> Value {
        json!({
            "action": "submit",
            "token": TOKEN,
            "threads": 1,
            "queues": queues,
            "script": script,
            "script_args": args,
            "working_directory": self.work.display().to_string(),
        })
    }

    /// Posts a submit body that must be accepted; returns the job id.
    pub async fn submit_ok(&self, body: Value) -> String {
        let (status, reply) = self.post(&body).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["exit_code"], 0, "submit refused: {reply}");
        reply["qe_job_id"]
            .as_str()
            .expect("qe_job_id is a string")
            .to_owned()
    }

    pub async fn submit(&self, script: &str, args: &[&str], queues: &[&str]) -> String {
        self.submit_ok(self.submit_body(script, args, queues)).await
    }

    pub async fn update(&self, id: &str) -> Value {
        let body = json!({"action": "update", "token": TOKEN, "qe_job_id": id, "qe_job_queue": ""});
        let (status, reply) = self.post(&body).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        reply
    }

    pub async fn delete(&self, id: &str) -> Value {
        let body = json!({"action": "delete", "token": TOKEN, "qe_job_id": id, "qe_job_type": "single sample"});
        let (status, reply) = self.post(&body).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        reply
    }

    /// Polls update until the status is `finished` or `error`, and returns that reply.
    pub async fn until_ended(&self, id: &str) -> Value {
        eventually(&format!("job {id} to end"), || async {
            let reply = self.update(id).await;
            (reply["status"] != "started").then_some(reply)
        })
        .await
    }
}
