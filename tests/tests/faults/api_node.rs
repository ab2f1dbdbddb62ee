//! A real `hopper-api` process on a free port.

use std::time::Duration;

use reqwest::StatusCode;

use crate::binaries::{Process, Settings};
use crate::gsvar::{Gsvar, TOKEN};
use crate::wait::{DEADLINE, eventually, free_port};
use crate::world::{World, amqp_url, redis_url};

#[derive(Debug)]
pub struct ApiNode {
    pub process: Process,
    pub port: u16,
    pub gsvar: Gsvar,
}

/// The settings an API node of `world` needs; a test overrides single ones.
pub fn api_settings(world: &World) -> Settings {
    Settings::default()
        .set("HOPPER_TOKENS", TOKEN)
        .set("HOPPER_WORK_ROOTS", world.work.display().to_string())
        .set("HOPPER_SCRIPT_DIRS", world.scripts.display().to_string())
        .set("HOPPER_REDIS_URL", redis_url())
        .set("HOPPER_AMQP_URL", amqp_url())
        .set("HOPPER_NAMESPACE", world.ns.clone())
        .set("HOPPER_RETENTION", "1h")
        // The tests' queues, taken before any worker serving them has registered them.
        .set("HOPPER_KNOWN_QUEUES", "default,retry")
}

impl ApiNode {
    /// Starts a node and waits until `/readyz` answers 200 (it reaches Redis and RabbitMQ).
    pub async fn start(world: &World, name: &str, settings: Settings) -> Self {
        Self::start_on(world, name, settings, free_port()).await
    }

    /// As [`ApiNode::start`], on `port`: a node restarted where its load balancer expects it.
    pub async fn start_on(world: &World, name: &str, settings: Settings, port: u16) -> Self {
        let settings = settings.set("HOPPER_LISTEN", format!("127.0.0.1:{port}"));
        let process = Process::spawn("hopper-api", name, &settings, world.dir());
        let gsvar = Gsvar::new(format!("http://127.0.0.1:{port}"), world.work.clone());
        let mut node = Self {
            process,
            port,
            gsvar,
        };
        node.until_ready(DEADLINE).await;
        node
    }

    /// Waits until `/readyz` answers 503, each answer coming at once (it answers from the last
    /// background check); fails unless that is within `bound` of `since`. Returns when, and the body.
    pub async fn until_not_ready(
        &self,
        since: tokio::time::Instant,
        bound: Duration,
    ) -> (tokio::time::Instant, serde_json::Value) {
        let (noticed, body) = eventually("/readyz to answer 503", DEADLINE, || async {
            let (status, body, took) = self.gsvar.readiness().await?;
            assert!(took < Duration::from_secs(1), "/readyz took {took:?}");
            (status == StatusCode::SERVICE_UNAVAILABLE).then(|| (tokio::time::Instant::now(), body))
        })
        .await;
        assert!(
            noticed - since <= bound,
            "/readyz said 503 only {:?} after, beyond {bound:?}",
            noticed - since
        );
        (noticed, body)
    }

    /// Waits until `/readyz` answers 200; fails early, with the log, if the process exits.
    pub async fn until_ready(&mut self, deadline: Duration) {
        let gsvar = self.gsvar.clone();
        let process = &mut self.process;
        eventually("hopper-api to be ready", deadline, || {
            if let Some(status) = process.try_exit() {
                panic!("hopper-api exited with {status}\n{}", process.tail());
            }
            let gsvar = gsvar.clone();
            async move { (gsvar.readyz().await == Some(StatusCode::OK)).then_some(()) }
        })
        .await;
    }
}
