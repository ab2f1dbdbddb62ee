//! Listing and counting jobs from the indexes that every transition keeps (`lua/index.lua`): a page or
//! a count costs O(log n + page), however many jobs are stored, never a scan of them.

use std::collections::{BTreeMap, HashMap};

use crate::{Job, JobId, JobSpec, JobState, QueueName, StoreError};

use super::{Store, now_ms};

/// The index a listing reads: every job, or those of one queue, label or type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Group {
    All,
    Queue(QueueName),
    Label(String, String),
    Type(String),
}

impl Group {
    fn key_part(&self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::Queue(queue) => format!("queue:{queue}"),
            Self::Label(key, value) => format!("label:{key}={value}"),
            Self::Type(name) => format!("type:{name}"),
        }
    }
}

/// Which jobs to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// Empty: every state.
    pub states: Vec<JobState>,
    /// Every queue, label and type a job must have. The first label, else the queue, else the type
    /// picks the index read; the rest are checked job by job (within a scan budget per page).
    pub queues: Vec<QueueName>,
    pub labels: BTreeMap<String, String>,
    pub job_type: Option<String>,
    /// Unix ms: created at or after, and strictly before.
    pub created_after: Option<u64>,
    pub created_before: Option<u64>,
    /// The `next` of the previous page.
    pub cursor: Option<u64>,
    pub limit: u32,
}

/// One page of jobs, newest first, and where the next one starts (`None`: this was the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Without their output and attempt history, which a listing does not carry.
    pub jobs: Vec<Job>,
    pub next: Option<u64>,
}

/// Fields a listed job is read with: the spec and everything but the output and the history.
const LISTED: [&str; 16] = [
    "state",
    "created",
    "changed",
    "started",
    "ended",
    "queue",
    "worker",
    "host",
    "threads_granted",
    "attempts",
    "cancel",
    "note",
    "reason",
    "exit_code",
    "signal",
    "message",
];

impl JobQuery {
    /// The index read, and the conditions left to check job by job.
    fn plan(&self) -> (Group, Option<serde_json::Value>) {
        let mut labels = self.labels.clone();
        let mut queues = self.queues.clone();
        let mut job_type = self.job_type.clone();
        let group = if let Some((key, value)) = labels.pop_first() {
            Group::Label(key, value)
        } else if !queues.is_empty() {
            Group::Queue(queues.remove(0))
        } else if let Some(name) = job_type.take() {
            Group::Type(name)
        } else {
            Group::All
        };
        let mut conditions = serde_json::Map::new();
        if !labels.is_empty() {
            conditions.insert("labels".into(), serde_json::json!(labels));
        }
        if !queues.is_empty() {
            let names: Vec<&str> = queues.iter().map(QueueName::as_str).collect();
            conditions.insert("queues".into(), serde_json::json!(names));
        }
        if let Some(name) = job_type {
            conditions.insert("type".into(), serde_json::json!(name));
        }
        let conditions = (!conditions.is_empty()).then_some(serde_json::Value::Object(conditions));
        (group, conditions)
    }

    fn states(&self) -> Vec<JobState> {
        if self.states.is_empty() {
            JobState::ALL.to_vec()
        } else {
            self.states.clone()
        }
    }
}

impl Store {
    /// One page of the jobs `query` asks for, newest first. One script call.
    pub async fn list(&self, query: &JobQuery) -> Result<Page, StoreError> {
        let (group, conditions) = query.plan();
        let states: Vec<&str> = query.states().iter().map(|s| s.as_str()).collect();
        let limit = query.limit.max(1);
        // Conditions checked job by job may reject many: look at up to ten times the page.
        let budget = if conditions.is_some() {
            limit.saturating_mul(10)
        } else {
            limit
        };
        let fields: Vec<&str> = LISTED.iter().chain(&JobSpec::FIELDS).copied().collect();
        let mut invocation = self.scripts.list.prepare_invoke();
        invocation
            .arg(self.ns.key(""))
            .arg(group.key_part())
            .arg(states.join(","))
            .arg(query.cursor.map(|c| c.to_string()).unwrap_or_default())
            .arg(
                query
                    .created_after
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            )
            .arg(
                query
                    .created_before
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            )
            .arg(limit)
            .arg(conditions.map(|c| c.to_string()).unwrap_or_default())
            .arg(budget)
            .arg(&fields);
        let reply: Vec<String> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let mut reply = reply.into_iter();
        let next = reply.next().and_then(|c| c.parse().ok());
        let mut jobs = Vec::new();
        while let Some(id) = reply.next() {
            let id = JobId::parse(&id).map_err(StoreError::Corrupt)?;
            let hash: HashMap<String, String> = fields
                .iter()
                .map(|field| ((*field).to_owned(), reply.next().unwrap_or_default()))
                .filter(|(_, value)| !value.is_empty())
                .collect();
            jobs.push(Job::from_hash(id, hash)?);
        }
        Ok(Page { jobs, next })
    }

    /// How many jobs of `group` are in each state (within the creation window, if given). One `ZCOUNT`
    /// per state, pipelined: O(log n) each.
    pub async fn count(
        &self,
        group: &Group,
        states: &[JobState],
        created: (Option<u64>, Option<u64>),
    ) -> Result<Vec<(JobState, u64)>, StoreError> {
        let states = if states.is_empty() {
            JobState::ALL.to_vec()
        } else {
            states.to_vec()
        };
        let (min, max) = self.id_window(created).await?;
        let Some((min, max)) = min.zip(max) else {
            return Ok(states.into_iter().map(|s| (s, 0)).collect());
        };
        let mut pipe = redis::pipe();
        for state in &states {
            pipe.cmd("ZCOUNT")
                .arg(self.index_key(group, *state))
                .arg(&min)
                .arg(&max);
        }
        let counts: Vec<u64> = self
            .call(|mut conn| async move { Ok(pipe.query_async(&mut conn).await?) })
            .await?;
        Ok(states.into_iter().zip(counts).collect())
    }

    /// The ids bounding a creation window, as ZCOUNT bounds; `None` for an empty window.
    async fn id_window(
        &self,
        (after, before): (Option<u64>, Option<u64>),
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        if after.is_none() && before.is_none() {
            return Ok((Some("-inf".to_owned()), Some("+inf".to_owned())));
        }
        let key = self.ns.key("idx:created");
        let bound = |rev: bool, limit: String| {
            let key = key.clone();
            async move {
                let ids: Vec<String> = self
                    .call(|mut conn| async move {
                        let mut cmd = redis::cmd("ZRANGE");
                        cmd.arg(&key);
                        if rev {
                            cmd.arg(limit).arg("-inf").arg("BYSCORE").arg("REV");
                        } else {
                            cmd.arg(limit).arg("+inf").arg("BYSCORE");
                        }
                        Ok(cmd
                            .arg("LIMIT")
                            .arg(0)
                            .arg(1)
                            .query_async(&mut conn)
                            .await?)
                    })
                    .await?;
                Ok::<_, StoreError>(ids.into_iter().next())
            }
        };
        let min = match after {
            Some(t) => bound(false, t.to_string()).await?,
            None => Some("-inf".to_owned()),
        };
        let max = match before {
            Some(t) => bound(true, format!("({t}")).await?,
            None => Some("+inf".to_owned()),
        };
        Ok((min, max))
    }

    /// The oldest job of `group` in `state` (the lowest id: ids grow with time), with its creation
    /// time (Unix ms).
    pub async fn oldest(
        &self,
        group: &Group,
        state: JobState,
    ) -> Result<Option<(JobId, u64)>, StoreError> {
        let key = self.index_key(group, state);
        let ids: Vec<String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(0)
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        let Some(id) = ids.into_iter().next() else {
            return Ok(None);
        };
        let id = JobId::parse(&id).map_err(StoreError::Corrupt)?;
        let job_key = self.job_key(&id);
        let created: Option<u64> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("HGET")
                    .arg(&job_key)
                    .arg("created")
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        Ok(created.map(|created| (id, created)))
    }

    fn index_key(&self, group: &Group, state: JobState) -> String {
        self.ns
            .key(&format!("idx:{}:{}", group.key_part(), state.as_str()))
    }

    /// Removes from the indexes the jobs that ended more than the retention ago (their hashes have
    /// expired), at most `batch` of them; returns how many. Nothing while jobs are kept for ever.
    pub async fn prune(&self, batch: u32) -> Result<u64, StoreError> {
        if self.retention.is_zero() {
            return Ok(0);
        }
        let cutoff = now_ms().saturating_sub(self.retention.as_millis() as u64);
        let mut invocation = self.scripts.prune.prepare_invoke();
        invocation.arg(self.ns.key("")).arg(cutoff).arg(batch);
        self.call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await
    }
}
