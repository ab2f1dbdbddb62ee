//! Jobs: created (provisional until confirmed, or rejected at once), withdrawn, read and canceled.

use std::collections::HashMap;
use std::time::Duration;

use crate::{Failure, Job, JobId, JobSpec, JobState, JobStatus, StoreError};

use super::{Alias, CancelOutcome, Dependent, Named, PauseOutcome, Store, now_ms};

impl Store {
    /// Records a new `queued` job and returns its id.
    pub async fn create(&self, spec: &JobSpec) -> Result<JobId, StoreError> {
        self.insert(spec, JobState::Queued, &[], Duration::ZERO)
            .await
    }

    /// Records a new `queued` job that Redis forgets after `lasting` unless it is [confirmed]
    /// (Self::confirm), and that no worker may claim before then: a front door creates the job,
    /// publishes its submit, and confirms it only then. A job whose submitter could not finish (its
    /// node died, Redis hung with the create done and its answer unsent, or with the confirm not yet
    /// run) is neither left looking queued with no message behind it nor run after its client was told
    /// the submit was refused.
    pub async fn create_provisional(
        &self,
        spec: &JobSpec,
        lasting: Duration,
    ) -> Result<JobId, StoreError> {
        // Not claimable until confirmed either (claim.lua): its submitter may yet refuse the submit.
        let provisional = [("provisional", "1".to_owned())];
        self.insert(
            spec,
            JobState::Queued,
            &provisional,
            lasting.max(Duration::from_millis(1)),
        )
        .await
    }

    /// As [`Store::create_provisional`], under a name its client chose in its front door (`alias`):
    /// the name is taken in the same step, or the job is not created if another job has it. A name
    /// whose job is gone (never confirmed, or forgotten after its retention) is free again.
    pub async fn create_provisional_named(
        &self,
        spec: &JobSpec,
        lasting: Duration,
        alias: &Alias<'_>,
    ) -> Result<Named, StoreError> {
        let extra = [
            ("provisional", "1".to_owned()),
            ("alias", alias.name.to_owned()),
            ("client_request", alias.request.to_owned()),
        ];
        let keys = [
            self.alias_key(alias.door, alias.name),
            self.aliases_key(alias.door),
        ];
        let lasting = lasting.max(Duration::from_millis(1));
        let id = self
            .insert_with(spec, JobState::Queued, &extra, lasting, &keys)
            .await?;
        Ok(if id < 0 {
            Named::Taken(JobId::from_counter(id.unsigned_abs())?)
        } else {
            Named::Created(JobId::from_counter(id.unsigned_abs())?)
        })
    }

    /// Makes a provisional job lasting, once its submit is published. `false` if it is gone: it lasted
    /// less long than its submit took, and whatever was published for it will find no job.
    pub async fn confirm(&self, id: &JobId) -> Result<bool, StoreError> {
        let state = self
            .confirmer
            .confirm(&self.link, &self.scripts.confirm, self.job_key(id))
            .await?;
        match state.as_str() {
            // Redis ran it only after the deadline, when this caller had given up.
            "late" => Err(StoreError::Timeout(self.link.limit)),
            state => Ok(state != "missing"),
        }
    }

    /// Records a job refused for a lasting reason: born `failed`, so its id answers with the reason.
    pub async fn reject(&self, spec: &JobSpec, reason: &str) -> Result<JobId, StoreError> {
        let failure = Failure::Rejected(reason.to_owned());
        let mut fields = failure.fields();
        fields.push(("ended", now_ms().to_string()));
        self.insert(spec, JobState::Failed, &fields, self.retention)
            .await
    }

    async fn insert(
        &self,
        spec: &JobSpec,
        state: JobState,
        extra: &[(&str, String)],
        expires_in: Duration,
    ) -> Result<JobId, StoreError> {
        let id = self
            .insert_with(spec, state, extra, expires_in, &[])
            .await?;
        JobId::from_counter(id.unsigned_abs())
    }

    /// Runs `create.lua` with `more_keys` after the counter; its answer (see the script).
    async fn insert_with(
        &self,
        spec: &JobSpec,
        state: JobState,
        extra: &[(&str, String)],
        expires_in: Duration,
        more_keys: &[String],
    ) -> Result<i64, StoreError> {
        let limit = self.link.limit;
        self.call_by_deadline(|mut conn, deadline| async move {
            let mut invocation = self.scripts.create.key(self.ns.key("job-id"));
            for key in more_keys {
                invocation.key(key);
            }
            invocation
                .arg(self.ns.key("job:"))
                .arg(expires_in.as_millis() as u64)
                .arg(deadline);
            let fields = [
                ("state", state.as_str().to_owned()),
                ("created", now_ms().to_string()),
            ];
            for (field, value) in fields.iter().chain(&spec.to_fields()).chain(extra) {
                invocation.arg(*field).arg(value);
            }
            let id: Option<i64> = invocation.invoke_async(&mut conn).await?;
            // None: Redis ran it only after the deadline, when this caller had given up.
            id.ok_or(StoreError::Timeout(limit))
        })
        .await
    }

    /// Takes back a job whose submit could not be published to all its queues, so that nothing is
    /// left looking queued. `false` if a worker already claimed it: it runs, and the submit stands.
    pub async fn withdraw(&self, id: &JobId) -> Result<bool, StoreError> {
        let invocation = self.scripts.withdraw.key(self.job_key(id));
        let state: String = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        Ok(state == "withdrawn")
    }

    pub async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let hash: HashMap<String, String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("HGETALL")
                    .arg(self.job_key(id))
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        if hash.is_empty() {
            return Ok(None);
        }
        Job::from_hash(id.clone(), hash).map(Some)
    }

    /// What a status reply needs of the job (see [`JobStatus`]): one `HMGET`.
    pub async fn status(&self, id: &JobId) -> Result<Option<JobStatus>, StoreError> {
        let values: Vec<Option<String>> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("HMGET")
                    .arg(self.job_key(id))
                    .arg(&JobStatus::FIELDS[..])
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        JobStatus::from_values(id.clone(), values)
    }

    /// Cancels a queued job, or marks a running one cancel-requested.
    pub async fn cancel(&self, id: &JobId) -> Result<CancelOutcome, StoreError> {
        let mut invocation = self.scripts.cancel.key(self.job_key(id));
        invocation.arg(now_ms()).arg(self.retention.as_secs());
        let reply: Vec<String> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let corrupt =
            || StoreError::Corrupt(format!("cancel of job {id} returned an unknown answer"));
        match reply.first().map(String::as_str) {
            Some("missing") => Ok(CancelOutcome::Missing),
            Some("dequeued") => Ok(CancelOutcome::Canceled),
            Some("running") => Ok(CancelOutcome::Requested {
                worker: reply.get(1).cloned().ok_or_else(corrupt)?,
            }),
            Some(state) => JobState::parse(state)
                .map(CancelOutcome::AlreadyEnded)
                .ok_or_else(corrupt),
            None => Err(corrupt()),
        }
    }
}

impl Store {
    /// Creates a job that waits on `spec.after` (see `lua/create_dependent.lua`): born pending, blocked
    /// or queued as its parents stand, in one step that also refuses an unknown parent. A queued one is
    /// in the requeue set, so its submit gets published even if the caller dies first.
    pub async fn create_dependent(&self, spec: &JobSpec) -> Result<Dependent, StoreError> {
        self.create_waiting(spec, &self.ns.key("requeue"), false)
            .await
    }

    /// Creates a job of a paused type: queued, but held in `<ns>:held:<type>` instead of the requeue
    /// outbox, so no submit is published until an API node finds the type resumed and moves it there
    /// (see [`Store::release_held`]).
    pub async fn create_held(
        &self,
        spec: &JobSpec,
        job_type: &str,
    ) -> Result<Dependent, StoreError> {
        self.create_waiting(spec, &self.held_key(job_type), true)
            .await
    }

    /// Moves the jobs held for `job_type` into their queues' claim orders and the requeue outbox,
    /// which every sweep publishes (see `lua/release_held.lua`); how many.
    pub async fn release_held(&self, job_type: &str) -> Result<u64, StoreError> {
        let mut invocation = self.scripts.release_held.key(self.held_key(job_type));
        invocation
            .key(self.ns.key("requeue"))
            .arg(self.ns.key("job:"));
        self.call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await
    }

    fn held_key(&self, job_type: &str) -> String {
        self.ns.key(&format!("held:{job_type}"))
    }

    /// Creates a job through `create_dependent.lua`; one that can run at once goes into `outbox`, and
    /// is marked `held` (kept out of the claim order) when `held`.
    async fn create_waiting(
        &self,
        spec: &JobSpec,
        outbox: &str,
        held: bool,
    ) -> Result<Dependent, StoreError> {
        let limit = self.link.limit;
        self.call_by_deadline(|mut conn, deadline| async move {
            let mut invocation = self.scripts.create_dependent.key(self.ns.key("job-id"));
            invocation
                .key(outbox)
                .arg(self.ns.key("job:"))
                .arg(deadline)
                .arg(spec.after.len());
            for parent in &spec.after {
                invocation.arg(parent.as_str());
            }
            invocation.arg("created").arg(now_ms().to_string());
            if held {
                invocation.arg("held").arg("1");
            }
            for (field, value) in spec.to_fields() {
                invocation.arg(field).arg(value);
            }
            let reply: Option<Vec<String>> = invocation.invoke_async(&mut conn).await?;
            // None: Redis ran it only after the deadline, when this caller had given up.
            let reply = reply.ok_or(StoreError::Timeout(limit))?;
            let corrupt = || {
                StoreError::Corrupt(
                    "creating a dependent job returned an unknown answer".to_owned(),
                )
            };
            match (reply.first().map(String::as_str), reply.get(1)) {
                (Some("unknown"), Some(parent)) => Ok(Dependent::UnknownParent(
                    JobId::parse(parent).map_err(StoreError::Corrupt)?,
                )),
                (Some(id), Some(state)) => Ok(Dependent::Created(
                    JobId::parse(id).map_err(StoreError::Corrupt)?,
                    JobState::parse(state).ok_or_else(corrupt)?,
                )),
                _ => Err(corrupt()),
            }
        })
        .await
    }
}

impl Store {
    /// Suspends a running job (`suspend`) or resumes a suspended one, in Redis (see `lua/pause.lua`).
    pub async fn pause(&self, id: &JobId, suspend: bool) -> Result<PauseOutcome, StoreError> {
        let mut invocation = self.scripts.pause.key(self.job_key(id));
        invocation
            .arg(id.as_str())
            .arg(if suspend { "suspend" } else { "resume" })
            .arg(now_ms());
        let reply: Vec<String> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let corrupt = || {
            StoreError::Corrupt(format!(
                "suspending or resuming job {id} returned an unknown answer"
            ))
        };
        match reply.as_slice() {
            [missing] if missing == "missing" => Ok(PauseOutcome::Missing),
            [state] => Ok(PauseOutcome::Not(
                JobState::parse(state).ok_or_else(corrupt)?,
            )),
            [_, worker, seq] => Ok(PauseOutcome::Done {
                worker: worker.clone(),
                seq: seq.parse().map_err(|_| corrupt())?,
            }),
            _ => Err(corrupt()),
        }
    }
}
