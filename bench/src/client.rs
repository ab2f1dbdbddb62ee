//! GSvar's requests as a client sends them: `POST /qe` with a JSON body carrying the action and the token.
//!
//! Each simulated client sends over a keep-alive HTTP/1.1 connection of its own, as GSvar instances
//! and `wrk` do, made with hyper directly. The load generator shares the machine with what it measures,
//! so every microsecond it spends is one Hopper cannot: reqwest's pooling, redirect and timeout layers
//! cost about as much CPU per request as the API node's whole answer did. Idle connections wait in a
//! stack; a request takes one (or opens one) and puts it back when its reply has been read.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Settings;

/// Longest wait for one reply: a request that takes longer is counted as failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared by all simulated clients; cloning is cheap.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `host:port` to connect to.
    address: String,
    /// The `/qe` endpoint, as sent in the request line.
    endpoint: Uri,
    /// For the `Host` header.
    authority: String,
    token: String,
    /// The submit body is the same for every job, so it is encoded once.
    submit_body: Bytes,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// GSvar's update request, written straight into the body (no `serde_json::Value` in between: the
/// bench sends tens of thousands a second on the cores it measures).
#[derive(Debug, Serialize)]
struct UpdateRequest<'a> {
    action: &'a str,
    token: &'a str,
    qe_job_id: &'a str,
    qe_job_queue: &'a str,
}

/// The fields of GSvar's replies the bench reads.
#[derive(Debug, Deserialize)]
struct Reply<'a> {
    #[serde(default)]
    exit_code: Option<i64>,
    #[serde(default, borrow)]
    qe_job_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
}

impl Client {
    pub(crate) fn new(settings: &Settings) -> anyhow::Result<Self> {
        Self::to(settings, &settings.url, &settings.queue)
    }

    /// A client of the node at `url` whose submits go to `queue`.
    pub(crate) fn to(settings: &Settings, url: &str, queue: &str) -> anyhow::Result<Self> {
        let base: Uri = url
            .parse()
            .with_context(|| format!("--url {url} is not a URL"))?;
        if base.scheme_str() != Some("http") {
            bail!(
                "--url {url} must be plain http://host:port (an API node, not a TLS load balancer)"
            );
        }
        let authority = base
            .authority()
            .with_context(|| format!("--url {url} has no host"))?
            .to_string();
        let address = match base.port_u16() {
            Some(_) => authority.clone(),
            None => format!("{authority}:80"),
        };
        let endpoint: Uri = format!("{}/qe", base.path().trim_end_matches('/')).parse()?;
        let submit_body = serde_json::to_vec(&json!({
            "action": "submit",
            "token": settings.token,
            "threads": 1,
            "queues": [queue],
            "script": settings.script,
            "script_args": ["-name", "hopper-bench"],
            "working_directory": settings.work_dir,
        }))?;
        Ok(Self {
            inner: Arc::new(Inner {
                address,
                endpoint,
                authority,
                token: settings.token.clone(),
                submit_body: submit_body.into(),
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Fails unless the API answers and accepts the token, so a wrong URL or token is reported once
    /// instead of as thousands of failed requests.
    pub(crate) async fn check(&self) -> anyhow::Result<()> {
        self.update("0").await.map(drop)
    }

    /// Submits one job; its id once the API has answered 200 with exit code 0.
    pub(crate) async fn submit(&self) -> anyhow::Result<String> {
        let text = self.post(self.inner.submit_body.clone()).await?;
        let reply = parse(&text)?;
        if reply.exit_code != Some(0) {
            bail!("submit refused: {}", String::from_utf8_lossy(&text));
        }
        match reply.qe_job_id {
            Some(id) if !id.is_empty() => Ok(id.into_owned()),
            _ => bail!(
                "submit reply without a job id: {}",
                String::from_utf8_lossy(&text)
            ),
        }
    }

    /// Asks for one job's status; the `status` GSvar would read (`started`, `finished` or `error`).
    pub(crate) async fn update(&self, id: &str) -> anyhow::Result<String> {
        let body = serde_json::to_vec(&UpdateRequest {
            action: "update",
            token: &self.inner.token,
            qe_job_id: id,
            qe_job_queue: "",
        })?;
        let text = self.post(body.into()).await?;
        parse(&text)?.status.map(Cow::into_owned).with_context(|| {
            format!(
                "update reply without a status: {}",
                String::from_utf8_lossy(&text)
            )
        })
    }

    /// GETs `path` of Hopper's own API (`/api/v1/...`) with the token as a bearer; the body of a 200.
    pub(crate) async fn get_native(&self, path: &str) -> anyhow::Result<Bytes> {
        let inner = &self.inner;
        let base = inner.endpoint.path().trim_end_matches("/qe");
        let request = Request::get(format!("{base}{path}"))
            .header(hyper::header::HOST, inner.authority.as_str())
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", inner.token),
            )
            .body(Full::new(Bytes::new()))?;
        self.send(request).await
    }

    async fn post(&self, body: Bytes) -> anyhow::Result<Bytes> {
        let inner = &self.inner;
        let request = Request::post(inner.endpoint.clone())
            .header(hyper::header::HOST, inner.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        self.send(request).await
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> anyhow::Result<Bytes> {
        let inner = &self.inner;
        let what = format!("{} {}", request.method(), request.uri());
        let mut connection = self.connection().await?;
        let exchange = async {
            let response = connection.send_request(request).await?;
            let status = response.status();
            let text = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, text))
        };
        let (status, text) = tokio::time::timeout(REPLY_TIMEOUT, exchange)
            .await
            .with_context(|| format!("{what}: no reply within {REPLY_TIMEOUT:?}"))?
            .with_context(|| format!("{what} to {}", inner.address))?;
        // Only a connection that answered in full goes back; a broken one is dropped.
        inner
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(connection);
        if !status.is_success() {
            bail!(
                "{what} answered {status}: {}",
                String::from_utf8_lossy(&text)
            );
        }
        Ok(text)
    }

    /// An idle connection ready for a request, or a new one. A connection goes back to the stack as soon
    /// as its reply has been read, which can be a moment before hyper is ready to send on it again.
    async fn connection(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        while let Some(mut connection) = self.idle() {
            if connection.ready().await.is_ok() {
                return Ok(connection);
            }
        }
        self.connect().await
    }

    fn idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let address = &self.inner.address;
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .with_context(|| format!("cannot connect to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {address}"))?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes the connection.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

fn parse(text: &[u8]) -> anyhow::Result<Reply<'_>> {
    serde_json::from_slice(text)
        .with_context(|| format!("reply is not JSON: {}", String::from_utf8_lossy(text)))
}
