//! GSvar-like clients under load, each request timed: what a node answered, and how long it took.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::gsvar::Gsvar;

/// One request and its answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `submit` or `update`.
    pub action: &'static str,
    /// `None`: no HTTP answer at all (the client's own 30 s limit, or the connection failed).
    pub status: Option<StatusCode>,
    /// The id of an accepted submit.
    pub accepted: Option<String>,
    pub sent: Instant,
    pub took: Duration,
}

impl Answer {
    pub fn answered(&self) -> Instant {
        self.sent + self.took
    }
}

/// `clients` loops, each submitting a job then asking for its own last accepted job's status, until
/// stopped.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    tasks: JoinSet<()>,
}

impl Load {
    pub fn start(gsvar: &Gsvar, clients: usize, queue: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = JoinSet::new();
        for _ in 0..clients {
            let (gsvar, stop, answers) = (gsvar.clone(), stop.clone(), answers.clone());
            tasks.spawn(async move {
                let mut last = "1".to_owned();
                while !stop.load(Ordering::SeqCst) {
                    let body = gsvar.submit_body("analyze.php", &[], queue);
                    let answer = timed(&gsvar, "submit", &body).await;
                    let refused = answer.status != Some(StatusCode::OK);
                    if let Some(id) = &answer.accepted {
                        last.clone_from(id);
                    }
                    answers.lock().expect("answers").push(answer);
                    let update = serde_json::json!({
                        "action": "update", "token": crate::gsvar::TOKEN,
                        "qe_job_id": last, "qe_job_queue": "",
                    });
                    let answer = timed(&gsvar, "update", &update).await;
                    answers.lock().expect("answers").push(answer);
                    if refused {
                        // Refusals come back fast: pace them rather than spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
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

    /// The answers so far.
    pub fn answers(&self) -> Vec<Answer> {
        self.answers.lock().expect("answers").clone()
    }

    /// Waits until `enough` answers satisfy `what`.
    pub async fn until(&self, description: &str, enough: usize, what: impl Fn(&Answer) -> bool) {
        crate::wait::eventually(description, crate::wait::DEADLINE, || {
            let count = self.answers().iter().filter(|a| what(a)).count();
            std::future::ready((count >= enough).then_some(()))
        })
        .await;
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

async fn timed(gsvar: &Gsvar, action: &'static str, body: &serde_json::Value) -> Answer {
    let sent = Instant::now();
    let reply = gsvar.post(body).await;
    let took = sent.elapsed();
    let (status, accepted) = match reply {
        Ok((status, reply)) => {
            let accepted = (status == StatusCode::OK && action == "submit")
                .then(|| {
                    assert_eq!(reply["exit_code"], 0, "submit refused: {reply}");
                    reply["qe_job_id"].as_str().map(str::to_owned)
                })
                .flatten();
            (Some(status), accepted)
        }
        Err(_) => (None, None),
    };
    Answer {
        action,
        status,
        accepted,
        sent,
        took,
    }
}

/// Every answer came within `limit` and was 200 or 503; returns the accepted ids.
pub fn check_all_answered_within(answers: &[Answer], limit: Duration) -> Vec<String> {
    for answer in answers {
        assert!(
            matches!(
                answer.status,
                Some(StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE)
            ),
            "a request got no 200 or 503: {answer:?}"
        );
        assert!(
            answer.took <= limit,
            "a request took longer than {limit:?}: {answer:?}"
        );
    }
    answers.iter().filter_map(|a| a.accepted.clone()).collect()
}
