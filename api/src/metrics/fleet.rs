//! What a scrape reads from Redis: the jobs of each known queue by state (the queue's depth is its
//! `queued` count), and the thread slots of each live worker, busy and free. They describe the whole
//! deployment, which no one process sees, so they are read when asked rather than counted as events;
//! a queue or a worker that is gone then simply stops being listed.
//!
//! A scrape's cost is bounded: it reads the indexes (one `ZCOUNT` per queue and state) and the
//! heartbeats, never the jobs themselves but those running; it may take at most [`SCRAPE_LIMIT`]; and
//! scrapes within [`REUSE_FOR`] of one another share one reading, so however often `/metrics` is asked,
//! a node asks Redis at most once a second. If Redis does not answer in time, the process's own metrics
//! are still rendered, with `hopper_scrape_redis_up 0`.

use std::fmt::Write;
use std::time::Duration;

use hopper_common::{Group, JobState, QueueName, StoreError, WorkerRecord};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::jobs::Jobs;

/// Longest a scrape waits for Redis: well within Prometheus's default scrape timeout (10 s).
const SCRAPE_LIMIT: Duration = Duration::from_secs(2);

/// How long one reading answers every scrape.
const REUSE_FOR: Duration = Duration::from_secs(1);

/// The last reading of a node, shared by the scrapes that follow it closely.
#[derive(Debug, Default)]
pub(crate) struct Fleet {
    /// Held while Redis is read, so concurrent scrapes wait for one reading instead of each making
    /// their own.
    last: Mutex<Option<(Instant, String)>>,
}

/// What one reading found.
struct Reading {
    queues: Vec<(QueueName, Vec<(JobState, u64)>)>,
    workers: Vec<WorkerRecord>,
}

impl Fleet {
    /// The deployment's gauges, in Prometheus's text format.
    pub(crate) async fn render(&self, jobs: &Jobs) -> String {
        let mut last = self.last.lock().await;
        if let Some((at, text)) = last.as_ref()
            && at.elapsed() < REUSE_FOR
        {
            return text.clone();
        }
        let reading = tokio::time::timeout(SCRAPE_LIMIT, read(jobs)).await;
        let reading = match reading {
            Ok(Ok(reading)) => Some(reading),
            Ok(Err(error)) => {
                // An outage is logged once by the store itself; every failed call is counted.
                if error.is_outage() {
                    tracing::debug!(%error, "metrics: cannot read the queues and workers from Redis");
                } else {
                    tracing::warn!(%error, "metrics: cannot read the queues and workers from Redis");
                }
                None
            }
            Err(_) => {
                tracing::debug!(limit = ?SCRAPE_LIMIT, "metrics: Redis did not answer in time");
                None
            }
        };
        let text = render(jobs.store.namespace().as_str(), reading.as_ref());
        *last = Some((Instant::now(), text.clone()));
        text
    }
}

/// Every known queue (registered by a worker, or configured on this node) with its counts, and the
/// live workers.
async fn read(jobs: &Jobs) -> Result<Reading, StoreError> {
    let mut names = jobs.store.registered_queues().await?;
    names.extend(jobs.known.configured().cloned());
    names.sort();
    names.dedup();
    let workers = jobs.store.live_workers().await?;
    let mut queues = Vec::with_capacity(names.len());
    for name in names {
        let counts = jobs
            .store
            .count(&Group::Queue(name.clone()), &[], (None, None))
            .await?;
        queues.push((name, counts));
    }
    Ok(Reading { queues, workers })
}

fn render(ns: &str, reading: Option<&Reading>) -> String {
    let mut text = String::new();
    let ns = escape(ns);
    family(
        &mut text,
        "hopper_scrape_redis_up",
        "Whether this scrape could read the queues and workers from Redis (1) or not (0)",
    );
    let up = u8::from(reading.is_some());
    let _ = writeln!(text, "hopper_scrape_redis_up{{namespace=\"{ns}\"}} {up}");
    let Some(reading) = reading else {
        return text;
    };
    family(
        &mut text,
        "hopper_queue_jobs",
        "Jobs that may run in the queue, by state (a job listing several queues counts in each); \
         the queue's depth is state=\"queued\"",
    );
    for (queue, counts) in &reading.queues {
        let queue = escape(queue.as_str());
        for (state, count) in counts {
            let _ = writeln!(
                text,
                "hopper_queue_jobs{{namespace=\"{ns}\",queue=\"{queue}\",state=\"{}\"}} {count}",
                state.as_str()
            );
        }
    }
    family(
        &mut text,
        "hopper_worker_slots",
        "Thread slots of each live worker, by state: busy (taken by the jobs Redis gives it) or free",
    );
    for worker in &reading.workers {
        let id = escape(&worker.id);
        let total = worker.about["threads"].as_u64().unwrap_or(0);
        // Granted slots never pass the total; only a job recorded without its grant could.
        let busy = u64::from(worker.busy).min(total);
        for (state, slots) in [("busy", busy), ("free", total.saturating_sub(busy))] {
            let _ = writeln!(
                text,
                "hopper_worker_slots{{namespace=\"{ns}\",worker=\"{id}\",state=\"{state}\"}} {slots}"
            );
        }
    }
    text
}

/// The `# HELP` and `# TYPE` lines of a gauge.
fn family(text: &mut String, name: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} gauge");
}

/// A label value as the text format wants it: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(id: &str, threads: u64, busy: u32) -> WorkerRecord {
        WorkerRecord {
            id: id.to_owned(),
            about: serde_json::json!({ "threads": threads }),
            jobs: Vec::new(),
            busy,
        }
    }

    /// Without Redis only the scrape's own gauge is written, saying so.
    #[test]
    fn without_redis_only_up_is_written() {
        let text = render("hopper", None);
        assert!(text.contains("hopper_scrape_redis_up{namespace=\"hopper\"} 0\n"));
        assert!(!text.contains("hopper_queue_jobs"));
    }

    /// Each queue's counts and each worker's slots become one line each; busy and free add up to the
    /// worker's threads even when its jobs add up to more.
    #[test]
    fn queues_and_workers_are_written() {
        let queue = QueueName::parse("default").expect("queue name");
        let reading = Reading {
            queues: vec![(queue, vec![(JobState::Queued, 3), (JobState::Running, 1)])],
            workers: vec![worker("w1", 4, 1), worker("w2", 2, 5)],
        };
        let text = render("ns", Some(&reading));
        for line in [
            "hopper_scrape_redis_up{namespace=\"ns\"} 1",
            "hopper_queue_jobs{namespace=\"ns\",queue=\"default\",state=\"queued\"} 3",
            "hopper_queue_jobs{namespace=\"ns\",queue=\"default\",state=\"running\"} 1",
            "hopper_worker_slots{namespace=\"ns\",worker=\"w1\",state=\"busy\"} 1",
            "hopper_worker_slots{namespace=\"ns\",worker=\"w1\",state=\"free\"} 3",
            "hopper_worker_slots{namespace=\"ns\",worker=\"w2\",state=\"busy\"} 2",
            "hopper_worker_slots{namespace=\"ns\",worker=\"w2\",state=\"free\"} 0",
            "# TYPE hopper_worker_slots gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }
}
