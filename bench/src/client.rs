//! GSvar's requests as a client sends them: `POST /qe` with a JSON body carrying the action and the token.

use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::Settings;

/// One HTTP client shared by all simulated clients; reqwest keeps one connection per concurrent request.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    endpoint: String,
    token: String,
    /// The submit body is the same for every job, so it is encoded once.
    submit_body: Arc<Vec<u8>>,
}

impl Client {
    pub(crate) fn new(settings: &Settings) -> anyhow::Result<Self> {
        let submit_body = serde_json::to_vec(&json!({
            "action": "submit",
            "token": settings.token,
            "threads": 1,
            "queues": [settings.queue],
            "script": settings.script,
            "script_args": ["-name", "hopper-bench"],
            "working_directory": settings.work_dir,
        }))?;
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?,
            endpoint: format!("{}/qe", settings.url.trim_end_matches('/')),
            token: settings.token.clone(),
            submit_body: Arc::new(submit_body),
        })
    }

    /// Fails unless the API answers and accepts the token, so a wrong URL or token is reported once
    /// instead of as thousands of failed requests.
    pub(crate) async fn check(&self) -> anyhow::Result<()> {
        self.update("0").await.map(drop)
    }

    /// Submits one job; its id once the API has answered 200 with exit code 0.
    pub(crate) async fn submit(&self) -> anyhow::Result<String> {
        let reply = self.post(self.submit_body.as_ref().clone()).await?;
        if reply["exit_code"] != 0 {
            bail!("submit refused: {reply}");
        }
        match reply["qe_job_id"].as_str() {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => bail!("submit reply without a job id: {reply}"),
        }
    }

    /// Asks for one job's status; the `status` GSvar would read (`started`, `finished` or `error`).
    pub(crate) async fn update(&self, id: &str) -> anyhow::Result<String> {
        let body = serde_json::to_vec(&json!({
            "action": "update", "token": self.token, "qe_job_id": id, "qe_job_queue": ""
        }))?;
        let reply = self.post(body).await?;
        reply["status"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("update reply without a status: {reply}"))
    }

    async fn post(&self, body: Vec<u8>) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST {}", self.endpoint))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("POST {} answered {status}: {text}", self.endpoint);
        }
        serde_json::from_str(&text).with_context(|| format!("reply is not JSON: {text}"))
    }
}
