//! Who sent a request, for the log: the address of the connection's other end and, when the node sits
//! behind a proxy or load balancer, the client that proxy names in `X-Forwarded-For`. Never fails: a
//! request without either (an in-process test) is simply from `unknown`.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

#[derive(Debug, Clone)]
pub(crate) struct Peer {
    address: Option<SocketAddr>,
    forwarded_for: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| *address);
        let forwarded_for = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
            // A header is the client's to write: keep it short in the log.
            .map(hopper_common::excerpt);
        Ok(Self {
            address,
            forwarded_for,
        })
    }
}

impl Peer {
    /// The address of the connection's other end, without its port.
    pub(crate) fn ip(&self) -> Option<String> {
        self.address.map(|address| address.ip().to_string())
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.address {
            Some(address) => write!(f, "{address}")?,
            None => write!(f, "unknown")?,
        }
        if let Some(forwarded) = &self.forwarded_for {
            write!(f, " (for {forwarded})")?;
        }
        Ok(())
    }
}
