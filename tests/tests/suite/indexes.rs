//! Checks that the job indexes agree with the job hashes: every job is in exactly the state index of
//! its state in each of its groups, and every index entry names a job in that state; each queue's claim
//! order holds exactly its queued jobs that are not held, scored by their priority.

use std::collections::BTreeMap;

use crate::helpers::{TestEnv, redis_url};

const STATES: [&str; 8] = [
    "pending",
    "blocked",
    "queued",
    "running",
    "suspended",
    "succeeded",
    "failed",
    "canceled",
];

impl TestEnv {
    /// Panics, saying where, if an index and a job disagree. Provisional jobs are not indexed. It reads
    /// one key at a time, so call it only once no job is changing state.
    pub async fn check_indexes(&self) {
        let client = redis::Client::open(redis_url()).expect("Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("Redis");
        let ns = &self.ns;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{ns}:job:*"))
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut claim_orders: BTreeMap<String, Vec<(String, i32)>> = BTreeMap::new();
        for key in keys {
            let id = key.rsplit(':').next().expect("id").to_owned();
            let (state, queues, labels, provisional, held, priority, job_type): Fields =
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg("state")
                    .arg("queues")
                    .arg("labels")
                    .arg("provisional")
                    .arg("held")
                    .arg("priority")
                    .arg("type")
                    .query_async(&mut conn)
                    .await
                    .expect("HMGET");
            if provisional.is_some() {
                continue;
            }
            let state = state.expect("a job has a state");
            if state == "queued" && held.is_none() {
                let member = format!("{id:0>20}");
                let score = priority.unwrap_or(hopper_common::JobSpec::DEFAULT_PRIORITY);
                for queue in queues.as_deref().unwrap_or_default().split(',') {
                    claim_orders
                        .entry(format!("{ns}:prio:{queue}"))
                        .or_default()
                        .push((member.clone(), score));
                }
            }
            let mut groups = vec!["all".to_owned()];
            groups.extend(
                queues
                    .unwrap_or_default()
                    .split(',')
                    .filter(|q| !q.is_empty())
                    .map(|q| format!("queue:{q}")),
            );
            let labels: BTreeMap<String, String> = labels
                .map(|l| serde_json::from_str(&l).expect("labels JSON"))
                .unwrap_or_default();
            groups.extend(labels.iter().map(|(k, v)| format!("label:{k}={v}")));
            groups.extend(job_type.map(|t| format!("type:{t}")));
            for group in groups {
                for other in STATES {
                    let index = format!("{ns}:idx:{group}:{other}");
                    let score: Option<f64> = redis::cmd("ZSCORE")
                        .arg(&index)
                        .arg(&id)
                        .query_async(&mut conn)
                        .await
                        .expect("ZSCORE");
                    assert_eq!(
                        score.is_some(),
                        other == state,
                        "job {id} ({state}) in index {index}: {score:?}"
                    );
                }
                expected
                    .entry(format!("{ns}:idx:{group}:{state}"))
                    .or_default()
                    .push(id.clone());
            }
        }
        let indexes: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{ns}:idx:*"))
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        for index in indexes {
            if index.ends_with(":idx:created") || index.ends_with(":idx:ended") {
                continue;
            }
            let mut members: Vec<String> = redis::cmd("ZRANGE")
                .arg(&index)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn)
                .await
                .expect("ZRANGE");
            let mut wanted = expected.remove(&index).unwrap_or_default();
            members.sort();
            wanted.sort();
            assert_eq!(
                members, wanted,
                "index {index} holds other jobs than it should"
            );
        }
        let orders: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{ns}:prio:*"))
            .query_async(&mut conn)
            .await
            .expect("KEYS");
        for order in orders {
            let members: Vec<(String, f64)> = redis::cmd("ZRANGE")
                .arg(&order)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query_async(&mut conn)
                .await
                .expect("ZRANGE");
            let members: Vec<(String, i32)> = members
                .into_iter()
                .map(|(member, score)| (member, score as i32))
                .collect();
            let mut wanted = claim_orders.remove(&order).unwrap_or_default();
            wanted.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            assert_eq!(
                members, wanted,
                "claim order {order} is not its queued jobs by priority"
            );
        }
        assert!(
            claim_orders.is_empty(),
            "queued jobs missing from their claim orders: {claim_orders:?}"
        );
    }
}

/// A job's fields the checks read: state, queues, labels, provisional, held, priority, type.
type Fields = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
);
