//! The end-state checker: given the jobs a client was told were accepted, every one must end, none may be
//! lost (unknown to the store) or stay `started`, and each must end the way the test expects. Status is
//! read both the way GSvar sees it (update's `status`) and from the job hash in Redis, which carries the
//! precise `state`, `reason` and `attempts`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::gsvar::Gsvar;
use crate::wait::eventually;

/// Every field of the job hash `<ns>:job:<id>`; empty if the job is unknown.
pub async fn job_hash(redis_url: &str, ns: &str, id: &str) -> HashMap<String, String> {
    let client = redis::Client::open(redis_url).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    redis::cmd("HGETALL")
        .arg(format!("{ns}:job:{id}"))
        .query_async(&mut conn)
        .await
        .expect("HGETALL")
}

/// Whether worker `worker`'s heartbeat key exists.
pub async fn heartbeat_alive(redis_url: &str, ns: &str, worker: &str) -> bool {
    let Ok(client) = redis::Client::open(redis_url) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("EXISTS")
        .arg(format!("{ns}:worker:{worker}"))
        .query_async(&mut conn)
        .await
        .unwrap_or(false)
}

/// The ids of every job hash in the namespace.
pub async fn job_ids(redis_url: &str, ns: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{ns}:job:*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    let prefix = format!("{ns}:job:");
    keys.iter()
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

/// How a job ended, as GSvar and as Redis see it.
#[derive(Debug, Clone)]
pub struct Ended {
    /// update's `status`: `finished` or `error`.
    pub status: String,
    /// The job hash: `state`, `reason`, `attempts`, `history`, …
    pub hash: HashMap<String, String>,
}

impl Ended {
    pub fn field(&self, name: &str) -> &str {
        self.hash.get(name).map_or("", String::as_str)
    }

    pub fn assert_finished(&self, id: &str) {
        assert_eq!(self.status, "finished", "job {id}: {:?}", self.hash);
        assert_eq!(
            self.field("state"),
            "succeeded",
            "job {id}: {:?}",
            self.hash
        );
    }

    /// Ended `error` with Redis `reason` = `reason`.
    pub fn assert_error(&self, id: &str, reason: &str) {
        assert_eq!(self.status, "error", "job {id}: {:?}", self.hash);
        assert_eq!(self.field("reason"), reason, "job {id}: {:?}", self.hash);
    }

    /// The job's Redis `attempts` counter.
    pub fn attempts(&self) -> u32 {
        self.field("attempts")
            .parse()
            .unwrap_or_else(|_| panic!("attempts is a number: {:?}", self.hash))
    }

    /// Redis `history`: one JSON object per attempt ended, each with an `outcome`.
    pub fn history(&self) -> Vec<Value> {
        let history: Value = serde_json::from_str(self.field("history"))
            .unwrap_or_else(|_| panic!("history is JSON: {:?}", self.hash));
        let entries = history.as_array().expect("history is an array").clone();
        for entry in &entries {
            assert!(
                entry["outcome"].is_string(),
                "history entry without outcome: {entry}"
            );
        }
        entries
    }
}

/// Waits until `id` has ended: update answers `finished` or `error`. A job unknown to the store is lost
/// and fails the test at once; one still `started` at the deadline is stuck.
pub async fn until_ended(
    gsvar: &Gsvar,
    redis_url: &str,
    ns: &str,
    id: &str,
    deadline: Duration,
) -> Ended {
    let status = eventually(&format!("job {id} to end"), deadline, || async {
        let reply = gsvar.update(id).await?;
        let status = reply["status"].as_str().unwrap_or_default().to_owned();
        // Hopper answers an id it does not know with `error` and this result, so GSvar stops polling.
        let unknown = reply["result"]
            .as_str()
            .is_some_and(|r| r.starts_with("unknown job id"));
        assert!(!unknown, "job {id} was accepted and is now lost: {reply}");
        assert!(
            status == "started" || status == "finished" || status == "error",
            "job {id}: unexpected status: {reply}"
        );
        (status != "started").then_some(status)
    })
    .await;
    let hash = job_hash(redis_url, ns, id).await;
    assert!(
        !hash.is_empty(),
        "job {id} ended but has no record in Redis"
    );
    Ended { status, hash }
}

/// Checks every accepted job ended `finished` within `deadline` (all share it); returns their ends.
pub async fn all_finished(
    gsvar: &Gsvar,
    redis_url: &str,
    ns: &str,
    accepted: &[String],
    deadline: Duration,
) -> BTreeMap<String, Ended> {
    let mut ends = BTreeMap::new();
    let until = tokio::time::Instant::now() + deadline;
    for id in accepted {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let ended = until_ended(gsvar, redis_url, ns, id, left.max(Duration::from_secs(1))).await;
        ended.assert_finished(id);
        ends.insert(id.clone(), ended);
    }
    ends
}

/// Checks every accepted job ended `finished` on its first and only attempt.
pub async fn all_finished_once(
    gsvar: &Gsvar,
    redis_url: &str,
    ns: &str,
    accepted: &[String],
    deadline: Duration,
) {
    for (id, ended) in all_finished(gsvar, redis_url, ns, accepted, deadline).await {
        assert_eq!(ended.attempts(), 1, "job {id} ran twice: {:?}", ended.hash);
    }
}

/// Checks the jobs in the namespace are exactly `accepted`: a 503 says "nothing was changed", so a
/// refused submit must not have left a job in the store.
pub async fn assert_jobs_are_exactly(redis_url: &str, ns: &str, accepted: &[String]) {
    let mut recorded = job_ids(redis_url, ns).await;
    recorded.sort();
    let mut expected = accepted.to_vec();
    expected.sort();
    assert_eq!(
        recorded, expected,
        "jobs in Redis are exactly the accepted ones"
    );
}
