//! A client of the TaskAPI door, as the original's clients call it: JSON in and out, no token unless
//! one is given.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::api_client::Api;
use crate::helpers::{TOKEN, TestEnv, eventually};

pub struct TaskApi<'a> {
    pub api: &'a Api,
    pub token: Option<&'a str>,
}

impl<'a> TaskApi<'a> {
    /// A client that sends no token, for a node with the door open.
    pub fn open(api: &'a Api) -> Self {
        Self { api, token: None }
    }

    pub fn with_token(api: &'a Api) -> Self {
        Self {
            api,
            token: Some(TOKEN),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .api
            .client
            .request(method, format!("{}{path}", self.api.url));
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Creates a task, which must be accepted; returns it.
    pub async fn create(&self, body: &Value) -> Value {
        let (status, task) = self.post("/api/tasks", body).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        task
    }

    /// Polls task `id` until its state is `state`; returns it.
    pub async fn until_state(&self, id: &str, state: i64) -> Value {
        eventually(&format!("task {id} to reach state {state}"), || async {
            let (_, task) = self.get(&format!("/api/tasks/{id}")).await;
            (task["state"] == state).then_some(task)
        })
        .await
    }
}

/// An API node with the TaskAPI door open to token-less clients, tasks made under `<work>/taskroot`
/// and `expiry` as the default time limit.
pub async fn node(env: &TestEnv, expiry: &str) -> Api {
    let flags = env
        .api_flags()
        .set("--open-doors", "taskapi")
        .set("--taskapi-root", env.path("taskroot").display().to_string())
        .set("--taskapi-expiry", expiry);
    env.api_with(flags).await
}
