//! A private Redis with an append-only file, so a test can kill -9 it and restart it on the same port and
//! directory (the AOF is replayed) without disturbing the shared Redis.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::wait::{DEADLINE, eventually, free_port};

#[derive(Debug)]
pub struct RedisNode {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl RedisNode {
    /// Starts `redis-server` with its data in `<dir>/redis` and waits until it answers PING.
    pub async fn start(dir: &Path) -> Self {
        let dir = dir.join("redis");
        std::fs::create_dir_all(&dir).expect("Redis data dir");
        let port = free_port();
        let child = spawn(port, &dir);
        let node = Self { port, dir, child };
        node.until_up().await;
        node
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Everything Redis has logged, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// SIGKILL: no shutdown save, only what the AOF already holds survives.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("SIGKILL redis-server");
        let _ = self.child.wait().await;
    }

    /// SIGSTOP: the process is still there and its port still takes connections (the kernel completes
    /// the handshake), but nothing is answered: a Redis that hangs instead of failing.
    pub fn pause(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// SIGCONT: it answers again, what it was sent meanwhile included.
    pub fn resume(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = self.child.id().expect("redis-server is running");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid fits in i32"));
        nix::sys::signal::kill(pid, signal).expect("signal redis-server");
    }

    /// Starts it again on the same port and directory and waits until it answers PING.
    pub async fn restart(&mut self) {
        self.child = spawn(self.port, &self.dir);
        self.until_up().await;
    }

    async fn until_up(&self) {
        let url = self.url();
        eventually("the private Redis to answer PING", DEADLINE, || async {
            let client = redis::Client::open(url.as_str()).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            // A Redis still loading its AOF answers PING with an error, so this also waits for that.
            let pong: String = redis::cmd("PING").query_async(&mut conn).await.ok()?;
            (pong == "PONG").then_some(())
        })
        .await;
    }
}

fn spawn(port: u16, dir: &Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--appendonly", "yes", "--appendfsync", "everysec"])
        .args(["--save", "", "--daemonize", "no"])
        .arg("--dir")
        .arg(dir)
        // Appended across restarts, so a test can read what Redis said before it was killed.
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server (installed with Redis) must be on PATH")
}

impl Drop for RedisNode {
    fn drop(&mut self) {
        // The data directory lives in the test's tempdir and goes with it.
        let _ = self.child.start_kill();
    }
}
