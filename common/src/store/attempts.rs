//! The end of an attempt at running a job, by the script or by a lost or stopping worker (the claim
//! that starts one is in `claims.rs`).

use crate::{Ending, Failure, JobId, JobState, StoreError};

use super::{Ended, Holder, Requeue, Store, now_ms};

impl Store {
    /// Records how a running job ended. Returns the final state, or `None` if `worker` does not own the
    /// job (anymore), in which case nothing was written.
    pub async fn finish(
        &self,
        id: &JobId,
        worker: &str,
        ending: &Ending,
    ) -> Result<(Ended, Vec<Requeue>), StoreError> {
        let state = if ending.failure.is_some() {
            JobState::Failed
        } else {
            JobState::Succeeded
        };
        let outcome = ending.failure.as_ref().map_or("succeeded", Failure::reason);
        let mut fields = vec![("output", ending.output.clone())];
        match &ending.failure {
            Some(failure) => fields.extend(failure.fields()),
            None => fields.push(("exit_code", "0".to_owned())),
        }
        // A job ended for its time limit goes back to its queues while it has tries left.
        let mode = if ending.failure == Some(Failure::Timeout) {
            "retry-or-fail"
        } else {
            "finish"
        };
        self.end_attempt(id, worker, mode, state.as_str(), outcome, &fields)
            .await
    }

    /// Ends `worker`'s attempt at a running job without a verdict of the script's own: the job goes
    /// back to `queued` if it has tries left, and fails with `why` otherwise. With `only_if_lost`,
    /// nothing happens while the worker's heartbeat is alive (the check and the change are one step).
    pub async fn release(
        &self,
        id: &JobId,
        worker: &str,
        why: &Failure,
        only_if_lost: bool,
    ) -> Result<Ended, StoreError> {
        let mode = if only_if_lost {
            "release-if-dead"
        } else {
            "release"
        };
        // Only a success releases dependents, and a release never succeeds.
        self.end_attempt(id, worker, mode, "", why.reason(), &[])
            .await
            .map(|(ended, _)| ended)
    }

    async fn end_attempt(
        &self,
        id: &JobId,
        worker: &str,
        mode: &str,
        state: &str,
        outcome: &str,
        fields: &[(&str, String)],
    ) -> Result<(Ended, Vec<Requeue>), StoreError> {
        let mut invocation = self.scripts.end_attempt.key(self.job_key(id));
        invocation
            .key(self.worker_jobs_key(worker))
            .key(self.ns.key("requeue"))
            .key(self.heartbeat_key(worker))
            .arg(id.as_str())
            .arg(worker)
            .arg(mode)
            .arg(state)
            .arg(outcome)
            .arg(now_ms())
            .arg(self.retention.as_secs());
        for (field, value) in fields {
            invocation.arg(*field).arg(value);
        }
        let reply: Option<Vec<String>> = self
            .call(|mut conn| async move { Ok(invocation.invoke_async(&mut conn).await?) })
            .await?;
        let corrupt = || StoreError::Corrupt(format!("ending job {id} returned an unknown answer"));
        let Some(reply) = reply else {
            return Ok((Ended::NotOwned, Vec::new()));
        };
        let requeue = |triple: &[String]| -> Result<Requeue, StoreError> {
            Ok(Requeue {
                id: JobId::parse(&triple[0]).map_err(StoreError::Corrupt)?,
                threads: triple.get(1).and_then(|t| t.parse().ok()).unwrap_or(1),
                queues: crate::spec::parse_queue_list(triple.get(2).map_or("", String::as_str)),
            })
        };
        match reply.first().map(String::as_str) {
            Some("queued") => {
                let mut again = reply.clone();
                again[0] = id.to_string();
                Ok((Ended::Requeued(requeue(&again)?), Vec::new()))
            }
            Some(state) => {
                let state = JobState::parse(state).ok_or_else(corrupt)?;
                // Dependents this end released (a success): id, threads, queues each.
                let released = reply[1..]
                    .chunks(3)
                    .map(requeue)
                    .collect::<Result<_, _>>()?;
                Ok((Ended::Final(state), released))
            }
            None => Err(corrupt()),
        }
    }

    /// Where each of `ids` stands, as far as its holder cares: state (`None` if the job is gone), owner,
    /// and whether its cancel was requested. One round trip.
    pub async fn holders(&self, ids: &[JobId]) -> Result<Vec<Holder>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HMGET")
                .arg(self.job_key(id))
                .arg("state")
                .arg("worker")
                .arg("cancel")
                .arg("pauses")
                .arg("claim");
        }
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<u64>,
            Option<String>,
        );
        let rows: Vec<Row> = self
            .call(|mut conn| async move { Ok(pipe.query_async(&mut conn).await?) })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(state, worker, cancel, pauses, claim)| Holder {
                state: state.as_deref().and_then(JobState::parse),
                worker,
                cancel_requested: cancel.as_deref() == Some("1"),
                pauses: pauses.unwrap_or(0),
                claim,
            })
            .collect())
    }
}
