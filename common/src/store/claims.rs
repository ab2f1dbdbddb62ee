//! Claims: the one atomic step that makes a job start once per attempt (`lua/claim.lua`). A worker
//! spends a submit message as a token for its queue and claims the best job queued there
//! ([`Store::claim_next`]); a worker whose claim Redis lost claims that very job again
//! ([`Store::claim`]).

use crate::{Claim, JobId, JobSpec, JobState, NextClaim, QueueName, StoreError};

use super::{Claimant, Store, now_ms};

/// How `claim.lua` chooses.
#[derive(Clone, Copy)]
enum Mode {
    Exact,
    Best,
    /// As `Best`, but first looks for the job this claim token already claimed.
    BestAgain,
}

impl Store {
    /// Claims queued job `id` itself, with `threads_granted` slots. Asking again with the same claim
    /// token answers the same, so a claim whose answer was lost can be retried.
    pub async fn claim(
        &self,
        id: &JobId,
        claimant: &Claimant<'_>,
        queue: &QueueName,
        threads_granted: u32,
        note: Option<&str>,
    ) -> Result<Claim, StoreError> {
        let slots = (threads_granted, 0);
        let answer = self
            .run_claim(id, claimant, queue, slots, note, Mode::Exact)
            .await?;
        Ok(match answer {
            NextClaim::Claimed { spec, .. } => Claim::Claimed(spec),
            NextClaim::Unconfirmed => Claim::Unconfirmed,
            NextClaim::Missing => Claim::Missing,
            NextClaim::Nothing(state) => Claim::NotQueued(state),
            NextClaim::Wider(_) => {
                return Err(StoreError::Corrupt(format!(
                    "exact claim of job {id} answered 'wider'"
                )));
            }
        })
    }

    /// Spends the submit message of job `delivered`, from `queue`, on the best job queued there that
    /// fits `slots` of a worker with `threads` in all (see `lua/claim.lua`). `again`: this claim
    /// token was sent before and its answer lost; a job it claimed then is answered again.
    pub async fn claim_next(
        &self,
        delivered: &JobId,
        claimant: &Claimant<'_>,
        queue: &QueueName,
        (slots, threads): (u32, u32),
        again: bool,
    ) -> Result<NextClaim, StoreError> {
        let mode = if again { Mode::BestAgain } else { Mode::Best };
        self.run_claim(delivered, claimant, queue, (slots, threads), None, mode)
            .await
    }

    /// The key of `queue`'s claim order: its claimable jobs, best first (see `lua/index.lua`).
    fn claim_order_key(&self, queue: &QueueName) -> String {
        self.ns.key(&format!("prio:{queue}"))
    }

    async fn run_claim(
        &self,
        id: &JobId,
        claimant: &Claimant<'_>,
        queue: &QueueName,
        (slots, threads): (u32, u32),
        note: Option<&str>,
        mode: Mode,
    ) -> Result<NextClaim, StoreError> {
        let mut invocation = self.scripts.claim.key(self.job_key(id));
        invocation
            .key(self.worker_jobs_key(claimant.worker))
            .key(self.ns.key("workers"))
            .key(self.claim_order_key(queue))
            .arg(claimant.worker)
            .arg(claimant.host)
            .arg(queue.as_str())
            .arg(now_ms())
            .arg(slots)
            .arg(claimant.token)
            .arg(note.unwrap_or(""))
            .arg(id.as_str())
            .arg(match mode {
                Mode::Exact => "exact",
                Mode::Best => "best",
                Mode::BestAgain => "best-again",
            })
            .arg(threads)
            .arg(&JobSpec::FIELDS[..]);
        let reply: Vec<Option<String>> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let mut fields = reply.into_iter().map(Option::unwrap_or_default);
        let corrupt =
            || StoreError::Corrupt(format!("claim from job {id} returned an unknown answer"));
        match fields.next().as_deref() {
            Some("missing") => Ok(NextClaim::Missing),
            Some("unconfirmed") => Ok(NextClaim::Unconfirmed),
            Some("wider") => fields
                .next()
                .and_then(|slots| slots.parse().ok())
                .map(NextClaim::Wider)
                .ok_or_else(corrupt),
            Some("claimed") => {
                let job = fields.next().and_then(|job| JobId::parse(&job).ok());
                let threads = fields.next().and_then(|threads| threads.parse().ok());
                let (Some(job), Some(threads)) = (job, threads) else {
                    return Err(corrupt());
                };
                let values: Vec<String> = fields.collect();
                let get = |name: &str| {
                    let at = JobSpec::FIELDS.iter().position(|field| *field == name)?;
                    values.get(at).map(String::as_str)
                };
                let spec = JobSpec::from_fields(get)
                    .map_err(|why| StoreError::Corrupt(format!("claim of job {job}: {why}")))?;
                Ok(NextClaim::Claimed {
                    job,
                    threads,
                    spec: Box::new(spec),
                })
            }
            Some(state) => JobState::parse(state)
                .map(NextClaim::Nothing)
                .ok_or_else(corrupt),
            None => Err(corrupt()),
        }
    }
}
