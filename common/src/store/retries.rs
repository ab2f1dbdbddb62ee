//! A job's tries: a retry that puts an ended job back to `queued` with a fresh set, and a change of
//! how many a job that has not ended has left.

use crate::{JobId, JobState, StoreError};

use super::{Requeue, RetryOutcome, Store};

/// What a retry may change besides the job's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryOptions {
    /// A job that succeeded (and that no job waits on) runs again too.
    pub rerun: bool,
    /// The job's new number of tries, instead of its own number again.
    pub tries: Option<u32>,
    /// The job's new priority, written to the job and used for its place in the claim order, in the
    /// same script as the retry: a worker never sees it queued at its old priority.
    pub priority: Option<i32>,
}

impl Store {
    /// Puts a failed or canceled job back to `queued` with a fresh set of tries (see `lua/retry.lua`).
    pub async fn retry(&self, id: &JobId) -> Result<RetryOutcome, StoreError> {
        self.retry_as(id, RetryOptions::default()).await
    }

    /// As [`Store::retry`]; with `rerun`, a job that succeeded (and that no job waits on) runs again
    /// too, and with `tries`, the job gets that many tries instead of its own number again.
    pub async fn retry_with(
        &self,
        id: &JobId,
        rerun: bool,
        tries: Option<u32>,
    ) -> Result<RetryOutcome, StoreError> {
        let options = RetryOptions {
            rerun,
            tries,
            priority: None,
        };
        self.retry_as(id, options).await
    }

    /// As [`Store::retry`], changing what `options` say in the same step.
    pub async fn retry_as(
        &self,
        id: &JobId,
        options: RetryOptions,
    ) -> Result<RetryOutcome, StoreError> {
        let mut invocation = self.scripts.retry.key(self.job_key(id));
        invocation
            .key(self.ns.key("requeue"))
            .arg(id.as_str())
            .arg(if options.rerun { "rerun" } else { "" })
            .arg(options.tries.map(|n| n.to_string()).unwrap_or_default())
            .arg(options.priority.map(|p| p.to_string()).unwrap_or_default());
        let reply: Vec<String> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let corrupt =
            || StoreError::Corrupt(format!("retry of job {id} returned an unknown answer"));
        let mut reply = reply.into_iter();
        Ok(match reply.next().as_deref() {
            Some("missing") => RetryOutcome::Missing,
            Some("rejected") => RetryOutcome::Rejected,
            Some("retried") => {
                let threads = reply.next().and_then(|t| t.parse().ok()).unwrap_or(1);
                let queues = crate::spec::parse_queue_list(&reply.next().unwrap_or_default());
                RetryOutcome::Queued(Requeue {
                    id: id.clone(),
                    threads,
                    queues,
                })
            }
            Some("waiting") => RetryOutcome::Waiting(
                reply
                    .next()
                    .and_then(|s| JobState::parse(&s))
                    .ok_or_else(corrupt)?,
            ),
            Some(state) => RetryOutcome::NotEnded(JobState::parse(state).ok_or_else(corrupt)?),
            None => return Err(corrupt()),
        })
    }

    /// Gives a job that has not ended `left` more tries than it has had, counting the one it may be
    /// running now. Answers its state, `None` if there is no such job; an ended job is not changed.
    pub async fn set_tries_left(
        &self,
        id: &JobId,
        left: u32,
    ) -> Result<Option<JobState>, StoreError> {
        let script = redis::Script::new(
            "local f = redis.call('HMGET', KEYS[1], 'state', 'attempts') \
             if not f[1] then return false end \
             if f[1] ~= 'succeeded' and f[1] ~= 'failed' and f[1] ~= 'canceled' then \
               redis.call('HSET', KEYS[1], 'max_tries', (tonumber(f[2]) or 0) + tonumber(ARGV[1])) \
             end return f[1]",
        );
        let mut invocation = script.key(self.job_key(id));
        invocation.arg(left);
        let state: Option<String> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        state
            .map(|s| {
                JobState::parse(&s)
                    .ok_or_else(|| StoreError::Corrupt(format!("job {id} is in state '{s}'")))
            })
            .transpose()
    }
}
