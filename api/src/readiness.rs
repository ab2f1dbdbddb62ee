//! Whether this node can serve: Redis and RabbitMQ both answer. Checked in the background every
//! `HOPPER_CHECK_INTERVAL`, each check bounded by the dependency's time limit, so that `/readyz`
//! answers at once from the last result: a load balancer's health check must not itself hang on a
//! Redis that hangs, and a hung dependency is reported within its limit plus the interval.
//!
//! The node says "ready" in its log only when `/readyz` would, and says so again when that changes.

use std::net::SocketAddr;
use std::sync::Arc;

use hopper_common::{Publisher, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The last check's findings, shared by the checker and `/readyz`.
#[derive(Clone, Debug)]
pub struct Readiness(Arc<watch::Sender<Option<Checked>>>);

/// What one check found: `Err` holds why a dependency is not usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub redis: Result<(), String>,
    pub rabbitmq: Result<(), String>,
}

impl Checked {
    pub fn ready(&self) -> bool {
        self.redis.is_ok() && self.rabbitmq.is_ok()
    }

    /// The parts that are not usable, and why, for the log.
    fn failing(&self) -> String {
        [("Redis", &self.redis), ("RabbitMQ", &self.rabbitmq)]
            .into_iter()
            .filter_map(|(name, result)| result.as_ref().err().map(|why| format!("{name}: {why}")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self(Arc::new(watch::channel(None).0))
    }
}

impl Readiness {
    /// The last check's findings; waits for the first check if none has finished yet (it is bounded
    /// by the dependencies' time limits).
    pub async fn current(&self) -> Checked {
        let mut receiver = self.0.subscribe();
        let checked = receiver.wait_for(Option::is_some).await;
        // The sender lives in `self`, so the channel cannot close while this waits.
        checked
            .ok()
            .and_then(|c| c.clone())
            .unwrap_or_else(|| Checked {
                redis: Err("not checked".to_owned()),
                rabbitmq: Err("not checked".to_owned()),
            })
    }

    /// Checks both dependencies now and every `interval` until `stop`. `address` is where the node
    /// listens, for the "ready" line.
    pub(crate) async fn run(
        self,
        store: Store,
        publisher: Arc<Publisher>,
        interval: std::time::Duration,
        address: SocketAddr,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut was_ready = None;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let (redis, rabbitmq) = tokio::select! {
                () = stop.cancelled() => return,
                results = async { tokio::join!(store.ping(), publisher.check()) } => results,
            };
            let checked = Checked {
                redis: redis.map_err(|e| e.to_string()),
                rabbitmq: rabbitmq.map_err(|e| e.to_string()),
            };
            let ready = checked.ready();
            let failing = checked.failing();
            // Published before it is logged: whoever reads "ready" in the log finds /readyz agreeing.
            self.0.send_replace(Some(checked));
            match (was_ready, ready) {
                (None, true) => tracing::info!(
                    "hopper-api ready: GSvar's qe_api_base_url is http://{address}/qe"
                ),
                (Some(false), true) => tracing::info!("hopper-api ready again"),
                (None | Some(true), false) => {
                    tracing::warn!("hopper-api not ready, /readyz answers 503: {failing}")
                }
                (Some(true), true) | (Some(false), false) => {}
            }
            was_ready = Some(ready);
        }
    }
}
