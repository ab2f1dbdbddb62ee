//! A TCP fault proxy: forwards 127.0.0.1:<port> to a target, and fails the way a network or a server
//! fails, without touching the shared services that other tests use:
//! - `cut()`: every open connection is reset at once and new ones are closed, as when the server's
//!   process has died but its host still answers;
//! - `blackhole()`: new connections are accepted and never answered, as by a server that is up but
//!   wedged; connections already open go on;
//! - `freeze()`: nothing is answered any more, neither on open connections (what was sent stays in
//!   flight) nor on new ones, as from a server paused with SIGSTOP or a silent network partition;
//! - `restore()`: forwarding again. Data held while frozen is delivered; connections the proxy
//!   accepted but never answered are reset.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Cut,
    Blackhole,
    Freeze,
}

#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding a free local port to `target` (e.g. "127.0.0.1:5672").
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Forward);
        let accept = tokio::spawn(accept_loop(listener, target.to_owned(), mode.clone()));
        Self { addr, mode, accept }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    pub fn blackhole(&self) {
        self.mode.send_replace(Mode::Blackhole);
    }

    pub fn freeze(&self) {
        self.mode.send_replace(Mode::Freeze);
    }

    pub fn restore(&self) {
        self.mode.send_replace(Mode::Forward);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Cutting ends every connection task; aborting the loop closes the listener.
        self.mode.send_replace(Mode::Cut);
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, target: String, mode: watch::Sender<Mode>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let now = *mode.borrow();
        match now {
            Mode::Cut => drop(client),
            Mode::Blackhole | Mode::Freeze => {
                tokio::spawn(never_answer(client, mode.subscribe()));
            }
            Mode::Forward => {
                tokio::spawn(forward(client, target.clone(), mode.subscribe()));
            }
        }
    }
}

/// Holds an accepted connection open without a word until the proxy forwards (or is cut) again, then
/// resets it: its client has long given up on it.
async fn never_answer(client: TcpStream, mut mode: watch::Receiver<Mode>) {
    let _ = mode
        .wait_for(|m| matches!(m, Mode::Forward | Mode::Cut))
        .await;
    let _ = client.set_zero_linger();
}

/// Copies both ways until either side closes or the proxy is cut; while frozen, holds what it read.
async fn forward(mut client: TcpStream, target: String, mode: watch::Receiver<Mode>) {
    let Ok(mut server) = TcpStream::connect(&target).await else {
        return;
    };
    let cut = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        tokio::select! {
            result = pump(client_read, server_write, mode.clone()) => result.is_err(),
            result = pump(server_read, client_write, mode) => result.is_err(),
        }
    };
    if cut {
        // Reset rather than a polite FIN: the peer must see the link die, as on a real cut.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

/// Copies one direction. `Err` when the proxy is cut; `Ok` when the sender closed.
async fn pump(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    mut mode: watch::Receiver<Mode>,
) -> io::Result<()> {
    let cut = || io::Error::new(io::ErrorKind::ConnectionReset, "proxy cut");
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read?,
            _ = mode.wait_for(|m| *m == Mode::Cut) => return Err(cut()),
        };
        if read == 0 {
            return Ok(());
        }
        // A frozen peer takes nothing in: hold what was read until it thaws (or is cut).
        let now = *mode
            .wait_for(|m| *m != Mode::Freeze)
            .await
            .map_err(|_| cut())?;
        if now == Mode::Cut {
            return Err(cut());
        }
        to.write_all(&buffer[..read]).await?;
    }
}
