//! How many times a job may be started, by queue: the policy behind a job's `max_tries`.

use std::collections::HashMap;

use hopper_common::QueueName;

/// `HOPPER_MAX_TRIES`: a default and per-queue exceptions, written `N,queue=N,...` (e.g.
/// `1,long_srv010=3`). GSvar jobs get one try by default: megSAP analyses are not all safe to start
/// again in a folder a lost attempt wrote into, so a retry is the operator's choice per queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriesPolicy {
    default: u32,
    by_queue: HashMap<QueueName, u32>,
}

impl Default for TriesPolicy {
    fn default() -> Self {
        Self {
            default: 1,
            by_queue: HashMap::new(),
        }
    }
}

impl TriesPolicy {
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut policy = Self::default();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (queue, count) = match entry.split_once('=') {
                Some((queue, count)) => (Some(queue.trim()), count.trim()),
                None => (None, entry),
            };
            let count: u32 = count
                .parse()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| format!("'{entry}': a number of tries must be between 1 and 100"))?;
            match queue {
                Some(queue) => {
                    policy.by_queue.insert(QueueName::parse(queue)?, count);
                }
                None => policy.default = count,
            }
        }
        Ok(policy)
    }

    /// The tries of a job that may run in any of `queues`: the most any of them allows, since the job
    /// may end up in that one.
    pub fn for_queues(&self, queues: &[QueueName]) -> u32 {
        queues
            .iter()
            .map(|q| self.by_queue.get(q).copied().unwrap_or(self.default))
            .max()
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(names: &[&str]) -> Vec<QueueName> {
        names
            .iter()
            .map(|n| QueueName::parse(n).expect("queue name"))
            .collect()
    }

    /// A default, per-queue exceptions, and the most generous queue winning for a multi-queue job.
    #[test]
    fn default_and_exceptions() {
        let policy = TriesPolicy::parse("2, long=5,short=1").expect("policy");
        assert_eq!(policy.for_queues(&queues(&["other"])), 2);
        assert_eq!(policy.for_queues(&queues(&["short"])), 1);
        assert_eq!(policy.for_queues(&queues(&["short", "long"])), 5);
        assert_eq!(
            TriesPolicy::parse("")
                .expect("empty")
                .for_queues(&queues(&["q"])),
            1
        );
    }

    /// Zero tries, absurd counts and bad queue names are refused with the entry named.
    #[test]
    fn refuses_bad_entries() {
        for bad in ["0", "q=0", "q=101", "q=x", "bad name=2"] {
            let error = TriesPolicy::parse(bad).expect_err(bad);
            assert!(!error.is_empty(), "{bad}");
        }
    }
}
