//! A RabbitMQ connection that can be given up on.
//!
//! A broker can hang instead of failing: accept TCP connections and never answer the handshake, or stop
//! answering in the middle of a connection. Every call then needs a time limit ([`within`]), and a
//! connection whose call timed out must really go away. With lapin that takes more than dropping it:
//! each connection has an I/O thread of its own, and a connect abandoned mid-handshake leaves that
//! thread and its socket waiting for ever (measured: one thread and one socket per timed-out attempt),
//! while closing a connection politely waits for a `close-ok` that a hung broker never sends.
//!
//! So the socket is opened here, and a duplicate of its descriptor kept: [`AmqpConnection::abandon`]
//! shuts the socket down, which makes every call waiting on the connection fail at once and ends the
//! I/O thread. A connect that times out, or whose future is dropped, is abandoned the same way.

use std::future::Future;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::ExchangeDeclareOptions;
use lapin::tcp::{AsyncTcpStream, OwnedTLSConfig};
use lapin::types::FieldTable;
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::BrokerError;

/// An open connection and the means to cut it.
#[derive(Debug)]
pub struct AmqpConnection {
    connection: Connection,
    socket: Arc<Socket>,
}

/// A duplicate of the connection's socket descriptor, kept to shut the socket down from outside.
#[derive(Debug, Default)]
struct Socket(Mutex<Option<OwnedFd>>);

impl Socket {
    fn keep(&self, fd: OwnedFd) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(fd);
    }

    /// Shuts the socket down both ways: lapin's I/O thread reads the end and stops, and every call
    /// waiting on the connection fails. Once only; later calls do nothing.
    fn shut_down(&self) {
        let fd = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(fd) = fd {
            // `shutdown` acts on the socket, not on this descriptor: lapin's own descriptor sees it.
            let _ = TcpStream::from(fd).shutdown(Shutdown::Both);
        }
    }
}

/// Abandons a connect that did not complete: a timed-out or dropped connect future.
struct Unfinished(Option<Arc<Socket>>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(socket) = self.0.take() {
            socket.shut_down();
        }
    }
}

impl AmqpConnection {
    /// Connects to `url` and completes the AMQP handshake within `limit`, or gives up on the attempt
    /// and its socket. `name` is shown in RabbitMQ's connection list.
    pub async fn open(url: &str, name: &str, limit: Duration) -> Result<Self, BrokerError> {
        let uri: AMQPUri = url
            .parse()
            .map_err(|e: String| BrokerError::Url(e.to_string()))?;
        let socket = Arc::new(Socket::default());
        let mut unfinished = Unfinished(Some(socket.clone()));
        let properties =
            ConnectionProperties::default().with_connection_name(name.to_owned().into());
        let connection = within(limit, connect(uri, properties, socket.clone())).await?;
        unfinished.0 = None;
        Ok(Self { connection, socket })
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Cuts the connection without asking the broker: for a broker that stopped answering. Every call
    /// waiting on it fails at once; the broker requeues what was delivered and not acked once it notices.
    pub fn abandon(&self) {
        self.socket.shut_down();
    }

    /// Closes the connection politely if the broker answers within `limit`, and abandons it otherwise.
    pub async fn close(&self, limit: Duration, why: &str) {
        let closing = self.connection.close(200, why.to_owned().into());
        if let Err(error) = within(limit, closing).await {
            tracing::debug!(%error, "closing the broker connection failed; abandoning it");
        }
        self.abandon();
    }
}

async fn connect(
    uri: AMQPUri,
    properties: ConnectionProperties,
    socket: Arc<Socket>,
) -> Result<Connection, lapin::Error> {
    let addresses: Vec<SocketAddr> =
        tokio::net::lookup_host((uri.authority.host.as_str(), uri.authority.port))
            .await?
            .collect();
    let runtime = lapin::runtime::default_runtime()?;
    Connection::connector(
        uri,
        runtime,
        async move |uri, runtime| {
            let stream = AsyncTcpStream::connect(&runtime, addresses.clone()).await?;
            if let AsyncTcpStream::Plain(plain) = &stream {
                socket.keep(plain.get_ref().as_fd().try_clone_to_owned()?);
            }
            Ok(match uri.scheme {
                AMQPScheme::AMQP => stream,
                AMQPScheme::AMQPS => {
                    let tls = OwnedTLSConfig::default();
                    stream.into_tls(&uri.authority.host, tls.as_ref()).await?
                }
            })
        },
        properties,
    )
    .await
}

/// Runs one RabbitMQ call with a time limit: past it, the call fails with [`BrokerError::Timeout`].
pub async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, lapin::Error>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(BrokerError::Timeout(limit)),
    }
}

/// One round trip on `channel`, to tell a broker that answers from one that only keeps the connection
/// open: a passive declare of `amq.direct`, an exchange every AMQP 0-9-1 broker has, which changes
/// nothing.
pub async fn probe(channel: &Channel, limit: Duration) -> Result<(), BrokerError> {
    let options = ExchangeDeclareOptions {
        passive: true,
        ..Default::default()
    };
    within(
        limit,
        channel.exchange_declare(
            "amq.direct".into(),
            ExchangeKind::Direct,
            options,
            FieldTable::default(),
        ),
    )
    .await
}
