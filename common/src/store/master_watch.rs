//! Behind Sentinel, which master the Sentinels name at the moment, and whether they are failing it
//! over, asked every [`INTERVAL`].
//!
//! A failover does not always make the old master fail: `SENTINEL FAILOVER`, or a partition that
//! cuts the old master off from the Sentinels but not from Hopper, leaves it answering as a master,
//! and Sentinel demotes it only seconds later (10.9 to 11.3 s after `SENTINEL FAILOVER` with Redis
//! 7.0, measured here). Everything written there meanwhile is thrown away when it becomes a replica:
//! 1,562 accepted jobs in one run of `faults::sentinel_failover::sentinel_switchover_under_load`.
//! So the store does not wait for its connection to fail. It leaves a master the Sentinels no longer
//! name; and while one of them says it is failing the master over (`failover_in_progress`, from the
//! moment it decides, before it promotes a replica), the store uses no master at all: its calls
//! fail with 503, which a client retries, rather than succeed on a master about to be replaced.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Client, ConnectionAddr};

/// How often the Sentinels are asked: it bounds how long writes go on to a master being replaced
/// (one round trip to each Sentinel each time).
pub(super) const INTERVAL: Duration = Duration::from_millis(250);

/// A Redis node's address as the Sentinels give it.
pub(super) type NodeAddress = (String, u16);

pub(super) struct MasterWatch {
    sentinels: Vec<ConnectionAddr>,
    master: String,
    view: Mutex<View>,
    started: AtomicBool,
    /// Bounds each question to a Sentinel (`HOPPER_REDIS_TIMEOUT`).
    limit: Duration,
}

/// What the Sentinels said last.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct View {
    /// The master they name; `None` until they were first asked.
    master: Option<NodeAddress>,
    /// Whether one of them is failing it over.
    failing_over: bool,
}

impl MasterWatch {
    pub(super) fn new(sentinels: Vec<ConnectionAddr>, master: String, limit: Duration) -> Self {
        Self {
            sentinels,
            master,
            view: Mutex::default(),
            started: AtomicBool::new(false),
            limit,
        }
    }

    fn view(&self) -> std::sync::MutexGuard<'_, View> {
        // Plain values behind the lock: a panic cannot leave them half-written.
        self.view.lock().unwrap_or_else(|e| e.into_inner())
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
        self.view().master = Some(address);
    }

    /// Whether a connection to `address` may be used: it is the master the Sentinels named last,
    /// and they are not failing it over.
    pub(super) fn still_master(&self, address: &NodeAddress) -> bool {
        let view = self.view();
        !view.failing_over && view.master.as_ref().is_none_or(|named| named == address)
    }

    /// Whether a Sentinel said last that it is failing the master over: no connect is worth trying.
    pub(super) fn failing_over(&self) -> bool {
        self.view().failing_over
    }

    /// What the Sentinels that answer within the limit say: the master the first one names, and
    /// whether any is failing it over. `None` if none answers.
    async fn ask(&self, cache: &mut [Option<MultiplexedConnection>]) -> Option<View> {
        let mut view: Option<View> = None;
        for (sentinel, cached) in self.sentinels.iter().zip(cache.iter_mut()) {
            let question = async {
                if cached.is_none() {
                    let client = Client::open(sentinel.clone()).ok()?;
                    *cached = client.get_multiplexed_async_connection().await.ok();
                }
                let conn = cached.as_mut()?;
                redis::cmd("SENTINEL")
                    .arg("MASTER")
                    .arg(&self.master)
                    .query_async::<HashMap<String, String>>(conn)
                    .await
                    .ok()
            };
            let Ok(Some(state)) = tokio::time::timeout(self.limit, question).await else {
                // Not answering, or not knowing the name: ask the next, connect again next time.
                *cached = None;
                continue;
            };
            let port = state.get("port").and_then(|port| port.parse().ok());
            let address = state.get("ip").cloned().zip(port);
            let failing_over = state
                .get("flags")
                .is_some_and(|flags| flags.split(',').any(|f| f == "failover_in_progress"));
            let seen = view.get_or_insert_with(View::default);
            seen.master = seen.master.take().or(address);
            seen.failing_over |= failing_over;
        }
        view
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
        let Some(seen) = watch.ask(&mut cache).await else {
            // No Sentinel answers: the connection is kept as long as it works.
            continue;
        };
        let mut view = watch.view();
        if seen.failing_over && !view.failing_over {
            tracing::warn!(
                master = %watch.master,
                "a Sentinel is failing the Redis master over; calls to Redis fail until the new master is named"
            );
        }
        if let (Some(last), Some(named)) = (&view.master, &seen.master)
            && last != named
        {
            tracing::warn!(
                master = %watch.master, host = %named.0, port = named.1,
                "the Sentinels name a new Redis master; connecting to it"
            );
        }
        *view = seen;
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
        watch.view().master = Some(address(2));
        assert!(!watch.still_master(&address(1)));
        watch.connected(address(2));
        assert!(watch.still_master(&address(2)));
    }

    #[test]
    fn no_master_is_used_while_a_sentinel_fails_it_over() {
        let watch = MasterWatch::new(vec![], "m".to_owned(), Duration::from_secs(1));
        watch.connected(address(1));
        watch.view().failing_over = true;
        assert!(!watch.still_master(&address(1)));
        assert!(watch.failing_over());
    }
}
