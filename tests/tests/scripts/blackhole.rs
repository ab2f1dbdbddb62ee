//! A stand-in for a hung service: it holds a port, accepts connections, reads what they send and never
//! answers, as a wedged RabbitMQ or a paused Redis does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// A listener on 127.0.0.1 that never answers. It stops listening, and drops every connection it
/// accepted, when it is dropped.
#[derive(Debug)]
pub struct Blackhole {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl Blackhole {
    /// Listens on a free port of 127.0.0.1 (bound here, so no other process can take it first).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a listener on a free port of 127.0.0.1");
        let port = listener
            .local_addr()
            .expect("the listener's address")
            .port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it drops the set, which aborts every connection's task and
            // closes its socket.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    // Out of file descriptors, say: keep holding the port, without spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let sink = Arc::clone(&sink);
                connections.spawn(async move {
                    let mut buf = [0u8; 512];
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        sink.lock()
                            .expect("the received bytes")
                            .extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Self {
            port,
            received,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything the connections have sent so far, one after the other.
    pub fn received(&self) -> Vec<u8> {
        self.received.lock().expect("the received bytes").clone()
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}
