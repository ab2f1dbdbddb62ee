//! Mixed traffic through a load balancer: GSvar clients (`POST /qe` submit, then update) and clients of
//! Hopper's own API (`POST /api/v1/jobs`, then `GET /api/v1/jobs/{id}`), over two queues. Every answer
//! is kept with the node that gave it (HAProxy's `x-hopper-node`), its status and when it came: the
//! balancer's own refusals (502, 503) are HTML, so nothing here expects JSON unless the status is 2xx.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::gsvar::TOKEN;

/// One request through the balancer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `gsvar submit`, `gsvar update`, `native submit`, `native get`.
    pub what: &'static str,
    /// `None`: no HTTP answer at all.
    pub status: Option<StatusCode>,
    /// The node that answered, as HAProxy names it; `None` when HAProxy answered itself.
    pub node: Option<String>,
    /// The id of an accepted submit.
    pub accepted: Option<String>,
    pub sent: Instant,
    pub answered: Instant,
    /// Why there was no HTTP answer.
    pub error: Option<String>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.is_success())
    }
}

#[derive(Debug)]
pub struct MixedLoad {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    tasks: JoinSet<()>,
}

impl MixedLoad {
    /// `clients` GSvar loops and as many native ones, alternating `queues`; jobs run `record.php`.
    pub fn start(url: &str, work: PathBuf, clients: usize, queues: [&'static str; 2]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        let mut tasks = JoinSet::new();
        for n in 0..clients * 2 {
            let client = Client {
                url: url.to_owned(),
                http: http.clone(),
                work: work.clone(),
                queue: queues[n % 2],
            };
            let (stop, answers) = (stop.clone(), answers.clone());
            let native = n >= clients;
            tasks.spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let submitted = client.submit(native).await;
                    let refused = !submitted.ok();
                    let id = submitted.accepted.clone();
                    answers.lock().expect("answers").push(submitted);
                    if let Some(id) = id {
                        let read = client.read(native, &id).await;
                        answers.lock().expect("answers").push(read);
                    }
                    if refused {
                        // A refusal comes back at once; pace them rather than spin.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            });
        }
        Self {
            stop,
            answers,
            tasks,
        }
    }

    pub fn answers(&self) -> Vec<Answer> {
        self.answers.lock().expect("answers").clone()
    }

    /// How many submits have been accepted so far.
    pub fn accepted(&self) -> usize {
        self.answers()
            .iter()
            .filter(|a| a.accepted.is_some())
            .count()
    }

    /// Waits until `more` submits beyond those accepted now have been accepted; returns how long
    /// that took: the throughput of this moment, without sleeping for a guessed window.
    pub async fn time_for(&self, more: usize) -> Duration {
        let start = Instant::now();
        let target = self.accepted() + more;
        crate::wait::eventually(
            &format!("{more} more submits accepted"),
            Duration::from_secs(60),
            || std::future::ready((self.accepted() >= target).then_some(())),
        )
        .await;
        start.elapsed()
    }

    /// Stops every client after its request in flight; returns all answers.
    pub async fn stop(mut self) -> Vec<Answer> {
        self.stop.store(true, Ordering::SeqCst);
        while let Some(done) = self.tasks.join_next().await {
            done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        }
        self.answers()
    }
}

struct Client {
    url: String,
    http: reqwest::Client,
    work: PathBuf,
    queue: &'static str,
}

impl Client {
    async fn submit(&self, native: bool) -> Answer {
        let work = self.work.display().to_string();
        let (what, path, body) = if native {
            let body = json!({"program": "record.php", "args": [], "queues": [self.queue],
                              "working_directory": work});
            ("native submit", "/api/v1/jobs", body)
        } else {
            let body = json!({"action": "submit", "token": TOKEN, "threads": 1, "queues": [self.queue],
                              "script": "record.php", "script_args": [], "working_directory": work});
            ("gsvar submit", "/qe", body)
        };
        self.send(what, reqwest::Method::POST, path, Some(body))
            .await
    }

    async fn read(&self, native: bool, id: &str) -> Answer {
        if native {
            let path = format!("/api/v1/jobs/{id}");
            self.send("native get", reqwest::Method::GET, &path, None)
                .await
        } else {
            let body =
                json!({"action": "update", "token": TOKEN, "qe_job_id": id, "qe_job_queue": ""});
            self.send("gsvar update", reqwest::Method::POST, "/qe", Some(body))
                .await
        }
    }

    async fn send(
        &self,
        what: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let sent = Instant::now();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let mut error = None;
        let (status, node, accepted) = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let node = response
                    .headers()
                    .get("x-hopper-node")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let text = response.text().await.unwrap_or_default();
                (Some(status), node, accepted_id(what, status, &text))
            }
            Err(e) => {
                error = Some(format!("{e:?}"));
                (None, None, None)
            }
        };
        Answer {
            what,
            status,
            node,
            accepted,
            sent,
            answered: Instant::now(),
            error,
        }
    }
}

/// The id of an accepted submit: GSvar's 200 with exit code 0, or the native API's 201.
fn accepted_id(what: &str, status: StatusCode, text: &str) -> Option<String> {
    let reply: Value = serde_json::from_str(text).ok()?;
    match what {
        "gsvar submit" if status == StatusCode::OK => {
            assert_eq!(
                reply["exit_code"], 0,
                "a 200 submit must be accepted: {reply}"
            );
            reply["qe_job_id"].as_str().map(str::to_owned)
        }
        "native submit" if status == StatusCode::CREATED => reply["id"].as_str().map(str::to_owned),
        _ => None,
    }
}
