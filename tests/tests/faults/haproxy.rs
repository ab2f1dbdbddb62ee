//! A real HAProxy (Debian's package, installed by `scripts/ensure-services`) in front of API nodes, as
//! operators run it: round robin, each node health-checked on `GET /readyz`, a connection refused
//! retried on another node. Its stats page says which nodes it counts as up; every answer names the
//! node that gave it (`x-hopper-node`), so a test can tell which node served which request.

use std::path::PathBuf;
use std::time::Duration;

use crate::binaries::{Process, Settings};
use crate::wait::{DEADLINE, eventually, free_port};
use crate::world::World;

/// How often HAProxy checks each node, and how many checks in a row mark it down or up again.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(500);
pub const FALL: u32 = 2;
pub const RISE: u32 = 2;

#[derive(Debug)]
pub struct Balancer {
    /// Kept for its life: HAProxy is killed when the balancer is dropped.
    _process: Process,
    /// Where clients send requests.
    pub url: String,
    stats: String,
    client: reqwest::Client,
}

/// Where HAProxy is: Debian puts it in /usr/sbin, which is not on every user's PATH.
fn program() -> PathBuf {
    [
        "/usr/sbin/haproxy",
        "/usr/local/sbin/haproxy",
        "/usr/bin/haproxy",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .expect("haproxy is not installed: run scripts/ensure-services, which installs it")
}

fn config(port: u16, stats: u16, nodes: &[(&str, u16)]) -> String {
    let inter = CHECK_INTERVAL.as_millis();
    let servers: String = nodes
        .iter()
        .map(|(name, port)| format!("  server {name} 127.0.0.1:{port} check\n"))
        .collect();
    format!(
        "global\n  maxconn 2000\n  log stdout format raw local0\n\
         defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n\
         \x20 retries 3\n  option redispatch 1\n\
         frontend hopper\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
         backend nodes\n  balance roundrobin\n  option httpchk GET /readyz\n\
         \x20 http-check expect status 200\n\
         \x20 http-response set-header x-hopper-node %s\n\
         \x20 default-server inter {inter}ms fall {FALL} rise {RISE}\n{servers}\
         frontend stats\n  bind 127.0.0.1:{stats}\n  stats enable\n  stats uri /stats\n"
    )
}

impl Balancer {
    /// Starts HAProxy in front of `nodes` (name, port) and waits until it counts every one up.
    pub async fn start(world: &World, nodes: &[(&str, u16)]) -> Self {
        let (port, stats) = (free_port(), free_port());
        let path = world.dir().join("haproxy.cfg");
        std::fs::write(&path, config(port, stats, nodes)).expect("haproxy.cfg");
        // -db: stay in the foreground, so the test owns the process and its log.
        let args = [
            "-db".to_owned(),
            "-f".to_owned(),
            path.display().to_string(),
        ];
        let process = Process::spawn_path(
            &program(),
            &args,
            "haproxy",
            &Settings::default(),
            world.dir(),
        );
        let balancer = Self {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
            stats: format!("http://127.0.0.1:{stats}/stats;csv"),
            client: reqwest::Client::new(),
        };
        for (name, _) in nodes {
            balancer.until(name, "UP").await;
        }
        balancer
    }

    /// HAProxy's view of `node`: `UP`, `DOWN`, or a transition such as `UP 1/2`.
    pub async fn status(&self, node: &str) -> Option<String> {
        let csv = self
            .client
            .get(&self.stats)
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        // # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,
        // wredis,status,...: the status is column 17.
        csv.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&"nodes") && fields.get(1) == Some(&node))
            .and_then(|fields| fields.get(17).map(|s| (*s).to_owned()))
    }

    /// Waits until HAProxy counts `node` as `status`; returns when it saw it.
    pub async fn until(&self, node: &str, status: &str) -> tokio::time::Instant {
        eventually(
            &format!("HAProxy to count {node} {status}"),
            DEADLINE,
            || async {
                (self.status(node).await.as_deref() == Some(status)).then(tokio::time::Instant::now)
            },
        )
        .await
    }
}
