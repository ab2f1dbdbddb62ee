//! A replicated Redis watched by Sentinel, all private to one test on free loopback ports: a primary,
//! its replicas (`replicaof`), and three Sentinels monitoring the primary with a quorum of two and short
//! timeouts, so that a failover takes seconds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::wait::{DEADLINE, eventually, free_port};

/// The name the Sentinels monitor the primary under.
pub const MASTER: &str = "hopper";

/// How long a Sentinel waits for an unanswered master before it calls it down. Short, so that the
/// test's failover is quick; production uses seconds to tens of seconds (see docs/deployment.md).
const DOWN_AFTER_MS: u32 = 1000;

#[derive(Debug)]
pub struct Sentinels {
    /// The Redis servers, the primary first as started.
    pub nodes: Vec<RedisServer>,
    sentinels: Vec<(u16, Child)>,
}

#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    child: Child,
}

impl RedisServer {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: the process dies without a word; whatever it had not yet sent its replica is gone.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("SIGKILL redis-server");
        let _ = self.child.wait().await;
    }
}

impl Sentinels {
    /// Starts the primary, `replicas` replicas and three
    /// Sentinels under `dir`, and waits until the replicas are in sync and every Sentinel knows them
    /// and the two other Sentinels: only then can they agree on a failover.
    pub async fn start(dir: &Path, replicas: usize) -> Self {
        let mut nodes = vec![redis_server(dir, "primary", None).await];
        let primary = nodes[0].port;
        for n in 0..replicas {
            let name = format!("replica-{n}");
            nodes.push(redis_server(dir, &name, Some(primary)).await);
        }
        let mut sentinels = Vec::new();
        for n in 0..3 {
            let port = free_port();
            let config = sentinel_config(dir, n, port, primary);
            let child = spawn(&[config.display().to_string(), "--sentinel".to_owned()]);
            sentinels.push((port, child));
        }
        let group = Self { nodes, sentinels };
        for replica in &group.nodes[1..] {
            let url = replica.url();
            eventually("a replica to be in sync", DEADLINE, || async {
                let info: String = query(&url, redis::cmd("INFO").arg("replication")).await?;
                info.contains("master_link_status:up").then_some(())
            })
            .await;
        }
        let replicas = replicas.to_string();
        for (port, _) in &group.sentinels {
            let url = format!("redis://127.0.0.1:{port}");
            eventually(
                "each Sentinel to know the replica and the others",
                DEADLINE,
                || async {
                    let state: HashMap<String, String> =
                        query(&url, redis::cmd("SENTINEL").arg("MASTER").arg(MASTER)).await?;
                    let known = |field: &str, n: &str| state.get(field).is_some_and(|v| v == n);
                    (known("num-slaves", &replicas) && known("num-other-sentinels", "2"))
                        .then_some(())
                },
            )
            .await;
        }
        group
    }

    /// `HOPPER_REDIS_URL` for Hopper's processes: the three Sentinels and the master's name.
    pub fn hopper_url(&self) -> String {
        let addresses: Vec<String> = self
            .sentinels
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect();
        format!("redis+sentinel://{}/{MASTER}", addresses.join(","))
    }

    /// `SENTINEL FAILOVER`: a Sentinel promotes the replica although the primary is up, then tells the
    /// old primary to replicate it.
    pub async fn switch_over(&self) {
        let url = format!("redis://127.0.0.1:{}", self.sentinels[0].0);
        let ok: Option<String> =
            query(&url, redis::cmd("SENTINEL").arg("FAILOVER").arg(MASTER)).await;
        assert_eq!(ok.as_deref(), Some("OK"), "SENTINEL FAILOVER");
    }

    /// Waits until every Sentinel names the same master, another than the server on `old`, and
    /// returns that one's index in [`Self::nodes`].
    pub async fn until_new_master(&self, old: u16) -> usize {
        eventually(
            "every Sentinel to name the same new master",
            DEADLINE,
            || async {
                let mut named = Vec::new();
                for (sentinel, _) in &self.sentinels {
                    let url = format!("redis://127.0.0.1:{sentinel}");
                    let get = redis::cmd("SENTINEL")
                        .arg("GET-MASTER-ADDR-BY-NAME")
                        .arg(MASTER)
                        .clone();
                    let (_, port): (String, u16) = query(&url, &get).await?;
                    named.push(port);
                }
                let port = named[0];
                if port == old || named.iter().any(|p| *p != port) {
                    return None;
                }
                self.nodes.iter().position(|node| node.port == port)
            },
        )
        .await
    }
}

async fn query<T: redis::FromRedisValue>(url: &str, cmd: &redis::Cmd) -> Option<T> {
    let client = redis::Client::open(url).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    cmd.query_async(&mut conn).await.ok()
}

/// A `redis-server` without persistence (the replica is what keeps the data here), on a free port,
/// answering PING before this returns.
async fn redis_server(dir: &Path, name: &str, primary: Option<u16>) -> RedisServer {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).expect("Redis data dir");
    let port = free_port();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        &dir.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(primary) = primary {
        args.extend(["--replicaof", "127.0.0.1", &primary.to_string()].map(str::to_owned));
    }
    let server = RedisServer {
        port,
        child: spawn(&args),
    };
    let url = server.url();
    eventually("a private Redis to answer PING", DEADLINE, || async {
        let pong: String = query(&url, &redis::cmd("PING")).await?;
        (pong == "PONG").then_some(())
    })
    .await;
    server
}

/// A Sentinel's config file: Sentinel rewrites it as it learns (replicas, other Sentinels, a new
/// master), so each gets its own.
fn sentinel_config(dir: &Path, n: usize, port: u16, primary: u16) -> PathBuf {
    let path = dir.join(format!("sentinel-{n}.conf"));
    let config = format!(
        "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {dir}\n\
         sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n\
         sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n\
         sentinel failover-timeout {MASTER} 10000\n\
         sentinel parallel-syncs {MASTER} 1\n",
        dir = dir.display()
    );
    std::fs::write(&path, config).expect("Sentinel config");
    path
}

fn spawn(args: &[String]) -> Child {
    Command::new("redis-server")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server (installed with Redis) must be on PATH")
}

impl Drop for Sentinels {
    fn drop(&mut self) {
        // Their files live in the test's tempdir and go with it; the nodes die with their `Child`.
        for (_, child) in &mut self.sentinels {
            let _ = child.start_kill();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
