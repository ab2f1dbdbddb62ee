//! Behind Sentinel, which master the Sentinels name at the moment, asked every [`INTERVAL`].
//!
//! A failover does not always make the old master fail: `SENTINEL FAILOVER`, or a partition that
//! cuts the old master off from the Sentinels but not from Hopper, leaves it answering as a master,
//! and Sentinel demotes it only seconds later (10.9 to 11.3 s after `SENTINEL FAILOVER` with Redis
//! 7.0, measured here). Everything written there meanwhile is thrown away when it becomes a replica:
//! 1,562 accepted jobs in one run of `faults::sentinel_failover::sentinel_switchover_under_load`
//! before this watch, none answered later than a second after the Sentinels named the new master
//! since. So the store does not wait for its connection
//! to fail: it asks the Sentinels, and drops a connection to a master they no longer name.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Client, ConnectionAddr};

/// How often the Sentinels are asked: it bounds how long writes go on to a master they replaced (one
/// round trip to one Sentinel each time).
pub(super) const INTERVAL: Duration = Duration::from_millis(250);

/// A Redis node's address as the Sentinels give it.
pub(super) type NodeAddress = (String, u16);

pub(super) struct MasterWatch {
    sentinels: Vec<ConnectionAddr>,
    master: String,
    /// The master the Sentinels named last; `None` until they were first asked.
    named: Mutex<Option<NodeAddress>>,
    started: AtomicBool,
    /// Bounds each question to a Sentinel (`HOPPER_REDIS_TIMEOUT`).
    limit: Duration,
}

impl MasterWatch {
    pub(super) fn new(sentinels: Vec<ConnectionAddr>, master: String, limit: Duration) -> Self {
        Self {
            sentinels,
            master,
            named: Mutex::new(None),
            started: AtomicBool::new(false),
            limit,
        }
    }

    fn named(&self) -> std::sync::MutexGuard<'_, Option<NodeAddress>> {
        // A plain value behind the lock: a panic cannot leave it half-written.
        self.named.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts asking, once, from within the runtime (the first connect). The task ends when the
    /// store is gone: it holds the watch only weakly, so it needs no shutdown of its own.
    pub(super) fn start(self: &Arc<Self>) {
        if !self.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(watch(Arc::downgrade(self)));
        }
    }

    /// A connection was just opened to `address`, which the Sentinels named and which said it is a
    /// master.
    pub(super) fn connected(&self, address: NodeAddress) {
        *self.named() = Some(address);
    }

    /// Whether `address` is the master the Sentinels named last.
    pub(super) fn still_master(&self, address: &NodeAddress) -> bool {
        self.named().as_ref().is_none_or(|named| named == address)
    }

    /// The master the first Sentinel that answers names, if any answers within the limit.
    async fn ask(&self, cache: &mut [Option<MultiplexedConnection>]) -> Option<NodeAddress> {
        for (sentinel, cached) in self.sentinels.iter().zip(cache.iter_mut()) {
            let question = async {
                if cached.is_none() {
                    let client = Client::open(sentinel.clone()).ok()?;
                    *cached = client.get_multiplexed_async_connection().await.ok();
                }
                let conn = cached.as_mut()?;
                redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(&self.master)
                    .query_async::<Option<NodeAddress>>(conn)
                    .await
                    .ok()
            };
            match tokio::time::timeout(self.limit, question).await {
                Ok(Some(Some(address))) => return Some(address),
                // This Sentinel does not know the name (yet): ask the next.
                Ok(Some(None)) => {}
                Ok(None) | Err(_) => *cached = None,
            }
        }
        None
    }
}

async fn watch(watch: Weak<MasterWatch>) {
    let mut cache = Vec::new();
    loop {
        tokio::time::sleep(INTERVAL).await;
        let Some(watch) = watch.upgrade() else {
            return;
        };
        cache.resize_with(watch.sentinels.len(), || None);
        let Some(named) = watch.ask(&mut cache).await else {
            // No Sentinel answers: the connection is kept as long as it works.
            continue;
        };
        let mut last = watch.named();
        if last.as_ref().is_some_and(|last| *last != named) {
            tracing::warn!(
                master = %watch.master, host = %named.0, port = named.1,
                "the Sentinels name a new Redis master; connecting to it"
            );
        }
        *last = Some(named);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(port: u16) -> NodeAddress {
        ("127.0.0.1".to_owned(), port)
    }

    #[test]
    fn a_master_is_used_until_the_sentinels_name_another() {
        let watch = MasterWatch::new(vec![], "m".to_owned(), Duration::from_secs(1));
        // Before the Sentinels were first asked, nothing speaks against the connection.
        assert!(watch.still_master(&address(1)));
        watch.connected(address(1));
        assert!(watch.still_master(&address(1)));
        // What the watch records when a Sentinel names the promoted replica.
        *watch.named() = Some(address(2));
        assert!(!watch.still_master(&address(1)));
        watch.connected(address(2));
        assert!(watch.still_master(&address(2)));
    }
}
