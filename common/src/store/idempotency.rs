//! Idempotency keys: a client that sends a submit again with the same `Idempotency-Key` (because the
//! answer to the first was lost) gets the first job back instead of a second one.
//!
//! `<ns>:idempotency:<key>` holds `pending` while the first submit runs (for as long as a submit can
//! take), then the job's id (for a day). The key is the client's, digested by the caller.

use std::time::Duration;

use crate::{JobId, StoreError};

use super::Store;

/// What an idempotency key says about a submit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Nobody used the key: it is now taken for this submit.
    Fresh,
    /// A submit with this key is under way on some node.
    Pending,
    /// A submit with this key made this job.
    Done(JobId),
}

const PENDING: &str = "pending";

impl Store {
    fn idempotency_key(&self, digest: &str) -> String {
        self.ns.key(&format!("idempotency:{digest}"))
    }

    /// Takes `digest` for a submit about to begin, for at most `pending_for`, or says what an earlier
    /// submit with it did. One `SET NX GET`.
    pub async fn idempotency_begin(
        &self,
        digest: &str,
        pending_for: Duration,
    ) -> Result<Idempotency, StoreError> {
        let previous: Option<String> = self
            .call(|mut conn| async move {
                Ok(redis::cmd("SET")
                    .arg(self.idempotency_key(digest))
                    .arg(PENDING)
                    .arg("NX")
                    .arg("GET")
                    .arg("PX")
                    .arg(pending_for.as_millis().max(1) as u64)
                    .query_async(&mut conn)
                    .await?)
            })
            .await?;
        Ok(match previous.as_deref() {
            None => Idempotency::Fresh,
            Some(PENDING) => Idempotency::Pending,
            Some(id) => Idempotency::Done(JobId::parse(id).map_err(StoreError::Corrupt)?),
        })
    }

    /// Records the job the key's submit made, kept for `keep`.
    pub async fn idempotency_done(
        &self,
        digest: &str,
        id: &JobId,
        keep: Duration,
    ) -> Result<(), StoreError> {
        self.call(|mut conn| async move {
            let () = redis::cmd("SET")
                .arg(self.idempotency_key(digest))
                .arg(id.as_str())
                .arg("PX")
                .arg(keep.as_millis().max(1) as u64)
                .query_async(&mut conn)
                .await?;
            Ok(())
        })
        .await
    }

    /// Frees the key of a submit that made no job, so the client may try again with it at once.
    pub async fn idempotency_abandon(&self, digest: &str) -> Result<(), StoreError> {
        // Only a pending mark: had another submit finished with this key meanwhile, its id stays.
        let script = redis::Script::new(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        );
        self.call(|mut conn| {
            let mut invocation = script.key(self.idempotency_key(digest));
            invocation.arg(PENDING);
            async move {
                let _: u64 = invocation.invoke_async(&mut conn).await?;
                Ok(())
            }
        })
        .await
    }
}
