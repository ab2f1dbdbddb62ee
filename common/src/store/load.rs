//! Load history: every interval (a minute), one API node records how many jobs are pending, queued and
//! running, in all and per queue and job type, into `<ns>:load`, a sorted set scored by the time of the
//! record; records older than the history's length are dropped as new ones come. For Scale's `/load/`
//! and the dashboard.

use std::time::Duration;

use crate::StoreError;

use super::Store;

impl Store {
    /// Takes the turn to record the load of time slot `slot` (ms); `false` if another node has. The
    /// claim lasts a few slots, so nobody records the same slot twice.
    pub async fn take_load_turn(&self, slot: u64, interval: Duration) -> Result<bool, StoreError> {
        self.call(|mut conn| async move {
            let taken: Option<String> = redis::cmd("SET")
                .arg(self.ns.key(&format!("load-turn:{slot}")))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg((interval * 3).as_millis().max(1) as u64)
                .query_async(&mut conn)
                .await?;
            Ok(taken.is_some())
        })
        .await
    }

    /// Records `record` (JSON) at time `at` (ms) and drops what is older than `kept`.
    pub async fn record_load(
        &self,
        at: u64,
        record: &str,
        kept: Duration,
    ) -> Result<(), StoreError> {
        let key = self.ns.key("load");
        let oldest = at.saturating_sub(kept.as_millis() as u64);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("ZADD")
            .arg(&key)
            .arg(at)
            .arg(record)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(format!("({oldest}"))
            .ignore();
        self.call(|mut conn| async move {
            let () = pipe.query_async(&mut conn).await?;
            Ok(())
        })
        .await
    }

    /// The records from `since` to `until` (ms, inclusive), oldest first, at most `limit`.
    pub async fn load(
        &self,
        since: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.call(|mut conn| async move {
            Ok(redis::cmd("ZRANGE")
                .arg(self.ns.key("load"))
                .arg(since)
                .arg(until)
                .arg("BYSCORE")
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .query_async(&mut conn)
                .await?)
        })
        .await
    }
}
