//! Names that clients give their jobs in front doors whose clients choose ids (the TaskAPI's task ids),
//! beside Hopper's own numeric ids:
//! - `<ns>:alias:<door>:<name>`: the id of the job that has the name;
//! - `<ns>:aliases:<door>`: the door's names, scored by their jobs' ids (so in creation order).
//!
//! A name is taken in the same step that creates its job (`create.lua`, see
//! [`Store::create_provisional_named`]), so there is never a name without a job nor a named job
//! without its name. A name whose job is gone (never confirmed, or forgotten after its retention) is
//! free: readers skip it, and the next job to take it replaces it.

use std::collections::HashMap;

use crate::{Job, JobId, StoreError};

use super::Store;

/// A job's name in its front door, and the request as its client sent it (kept to show it back).
#[derive(Clone, Copy, Debug)]
pub struct Alias<'a> {
    pub door: &'a str,
    pub name: &'a str,
    pub request: &'a str,
}

/// How creating a named job went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named {
    Created(JobId),
    /// Another job has the name; nothing was created.
    Taken(JobId),
}

impl Store {
    pub(super) fn alias_key(&self, door: &str, name: &str) -> String {
        self.ns.key(&format!("alias:{door}:{name}"))
    }

    pub(super) fn aliases_key(&self, door: &str) -> String {
        self.ns.key(&format!("aliases:{door}"))
    }

    /// The job that has `name` in `door`, if it still exists.
    pub async fn named(&self, door: &str, name: &str) -> Result<Option<JobId>, StoreError> {
        let script = redis::Script::new(
            "local id = redis.call('GET', KEYS[1]) \
             if id and redis.call('EXISTS', ARGV[1] .. id) == 1 then return id end return false",
        );
        let mut invocation = script.key(self.alias_key(door, name));
        invocation.arg(self.ns.key("job:"));
        let id: Option<String> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        id.map(|id| JobId::parse(&id).map_err(StoreError::Corrupt))
            .transpose()
    }

    /// Every name of `door` with its job, oldest first. The jobs may be gone: the caller reads them and
    /// drops the names whose jobs are ([`Store::forget_name`]).
    pub async fn names(&self, door: &str) -> Result<Vec<(String, JobId)>, StoreError> {
        let rows: Vec<(String, u64)> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("ZRANGE")
                    .arg(self.aliases_key(door))
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        rows.into_iter()
            .map(|(name, id)| Ok((name, JobId::from_counter(id)?)))
            .collect()
    }

    /// Frees `name` of `door`, if job `id` still has it; says whether it did.
    pub async fn forget_name(
        &self,
        door: &str,
        name: &str,
        id: &JobId,
    ) -> Result<bool, StoreError> {
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end \
             redis.call('DEL', KEYS[1]) redis.call('ZREM', KEYS[2], ARGV[2]) return 1",
        );
        let mut invocation = script.key(self.alias_key(door, name));
        invocation
            .key(self.aliases_key(door))
            .arg(id.as_str())
            .arg(name);
        let freed: u64 = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        Ok(freed == 1)
    }

    /// The named jobs of `door`, oldest first, each with its name; names whose jobs are gone are freed
    /// on the way. One `ZRANGE`, then one pipeline of `HGETALL`s.
    pub async fn named_jobs(&self, door: &str) -> Result<Vec<(String, Job)>, StoreError> {
        let names = self.names(door).await?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (_, id) in &names {
            pipe.cmd("HGETALL").arg(self.job_key(id));
        }
        let hashes: Vec<HashMap<String, String>> = self
            .call(|mut conn| {
                let pipe = pipe.clone();
                async move { Ok(pipe.query_async(&mut conn).await?) }
            })
            .await?;
        let mut jobs = Vec::with_capacity(names.len());
        for ((name, id), hash) in names.into_iter().zip(hashes) {
            if hash.is_empty() {
                self.forget_name(door, &name, &id).await?;
            } else {
                jobs.push((name, Job::from_hash(id, hash)?));
            }
        }
        Ok(jobs)
    }
}
