//! A `hopper-api` process of the test's own, with its own namespace, and a raw HTTP/1.1 connection to it.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub const TOKEN: &str = "test-token";

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A running `hopper-api`. Killed when dropped, if it has not exited by then.
pub struct Node {
    child: Child,
    pub address: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Node {
    /// Starts the binary with a fresh namespace, the local Redis and RabbitMQ, any free port, and
    /// `settings` on top; returns once it says where it listens.
    pub async fn start(settings: &[(&str, &str)]) -> Self {
        let namespace = format!("api-test-{}", uuid::Uuid::new_v4().simple());
        let redis = std::env::var("HOPPER_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let amqp = std::env::var("HOPPER_TEST_AMQP_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned());
        let mut child = Command::new(env!("CARGO_BIN_EXE_hopper-api"))
            .env_clear()
            .envs([
                ("HOPPER_TOKENS", TOKEN),
                ("HOPPER_WORK_ROOTS", "/tmp"),
                ("HOPPER_LISTEN", "127.0.0.1:0"),
                ("HOPPER_NAMESPACE", &namespace),
                ("HOPPER_REDIS_URL", &redis),
                ("HOPPER_AMQP_URL", &amqp),
                ("HOPPER_LOG", "info"),
            ])
            .envs(settings.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start hopper-api");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, address) = tokio::sync::oneshot::channel();
        let reader = Arc::clone(&log);
        // Keeps reading stderr for the whole run, so the node never blocks on a full pipe, and keeps
        // what it said for the failure messages.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut found = Some(found);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(address) = listening_address(&line)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(address);
                }
                let mut log = reader.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let address = match tokio::time::timeout(DEADLINE, address).await {
            Ok(Ok(address)) => address,
            _ => panic!(
                "hopper-api never said where it listens:\n{}",
                log.lock().expect("log lock")
            ),
        };
        Self {
            child,
            address,
            log,
        }
    }

    /// Everything the node has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    pub fn signal(&self, signal: Signal) {
        let pid = self.child.id().expect("hopper-api is still running");
        let pid = Pid::from_raw(i32::try_from(pid).expect("a pid fits in i32"));
        kill(pid, signal).expect("signal hopper-api");
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("ask whether hopper-api has exited")
            .is_none()
    }

    /// Waits for the node to exit, failing the test if that takes longer than `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.expect("wait for hopper-api"),
            Err(_) => panic!("hopper-api did not exit within {limit:?}:\n{}", self.log()),
        }
    }

    pub async fn connect(&self) -> Connection {
        let stream = TcpStream::connect(self.address)
            .await
            .expect("connect to hopper-api");
        Connection {
            stream,
            read: Vec::new(),
        }
    }

    /// Waits until the node refuses new connections: the sign that it has begun to shut down.
    pub async fn refuses_connections(&self) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match TcpStream::connect(self.address).await {
                // A reset is the same sign: the connection reached the backlog just as the listener
                // closed.
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    return;
                }
                Err(error) => panic!("unexpected connect error: {error}"),
                Ok(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "hopper-api still takes connections:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `http://<address>/qe` out of the node's "ready" line.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on http://")?;
    let (address, _) = rest.split_once("/qe")?;
    address.parse().ok()
}

/// One HTTP/1.1 connection, written and read by hand.
pub struct Connection {
    stream: TcpStream,
    read: Vec<u8>,
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl Connection {
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads one response head, or `None` if the node closed the connection first.
    async fn head(&mut self) -> Option<(u16, usize)> {
        loop {
            if let Some(end) = find(&self.read, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.read[..end]).into_owned();
                self.read.drain(..end + 4);
                let status = head.split(' ').nth(1)?.parse().ok()?;
                let length = head
                    .lines()
                    .filter_map(|line| line.split_once(':'))
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, value)| value.trim().parse().ok())
                    .unwrap_or(0);
                return Some((status, length));
            }
            let mut buffer = [0; 4096];
            match self.stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return None,
                Ok(read) => self.read.extend_from_slice(&buffer[..read]),
            }
        }
    }

    /// Waits for `100 Continue`: the node has read the request head and its handler now waits for
    /// the body. From then on the request is in flight.
    pub async fn continued(&mut self) {
        let head = tokio::time::timeout(DEADLINE, self.head()).await;
        assert!(
            matches!(head, Ok(Some((100, _)))),
            "expected 100 Continue, got {head:?}"
        );
    }

    /// Reads the next final response, with a JSON body.
    pub async fn response(&mut self) -> Response {
        let read = async {
            let (status, length) = self.head().await.expect("a response before the close");
            while self.read.len() < length {
                let mut buffer = [0; 4096];
                let read = self.stream.read(&mut buffer).await.expect("read the body");
                assert!(read > 0, "the connection closed inside the body");
                self.read.extend_from_slice(&buffer[..read]);
            }
            let body: Vec<u8> = self.read.drain(..length).collect();
            Response {
                status,
                body: serde_json::from_slice(&body)
                    .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body))),
            }
        };
        tokio::time::timeout(DEADLINE, read)
            .await
            .expect("a response in time")
    }

    /// Waits for the node to close the connection; true if it did so without sending a response.
    pub async fn closed_without_response(&mut self) -> bool {
        tokio::time::timeout(DEADLINE, self.head())
            .await
            .expect("the connection to close in time")
            .is_none()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A GSvar `update` for an id no job has, as (head, body). The head asks for `100 Continue`, so the
/// test can tell when the node has taken the request in.
pub fn update_request() -> (String, String) {
    let body = format!(r#"{{"action":"update","token":"{TOKEN}","qe_job_id":"999999999"}}"#);
    let head = format!(
        "POST /qe HTTP/1.1\r\nHost: hopper\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    (head, body)
}
