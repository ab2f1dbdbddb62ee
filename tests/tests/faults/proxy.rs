//! A TCP fault proxy: forwards 127.0.0.1:<port> to a target, and on `cut()` closes every open connection
//! at once and drops new ones until `restore()`. A node configured to reach RabbitMQ or Redis through it
//! can be cut off without touching the shared services that other tests use.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding a free local port to `target` (e.g. "127.0.0.1:5672").
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (cut, _) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, target.to_owned(), cut.clone()));
        Self { addr, cut, accept }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Resets every forwarded connection now; connections opened while cut are closed at once, so a
    /// client sees its peer gone rather than hanging (as when the broker process has died but its host
    /// still answers). A silent network partition, where packets just vanish, is not modelled.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Cutting ends every connection task; aborting the loop closes the listener.
        self.cut.send_replace(true);
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: String, cut: watch::Sender<bool>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if *cut.borrow() {
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, target.clone(), cut.subscribe()));
    }
}

/// Copies both ways until either side closes or the proxy is cut; dropping both streams closes them.
async fn forward(mut client: TcpStream, target: String, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {
            // Reset rather than a polite FIN: the peer must see the link die, as on a real cut.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
    }
}
