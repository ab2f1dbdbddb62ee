//! Which queue a request works in: Batchelor scopes every job to a `hostid` (its `Hostid` service).
//! In the original's order: a `hostid` request parameter, the `X-Batchelor-Hostid` header, the
//! `hostid` cookie (which `select` sets); otherwise the MD5 of the client's `X-Forwarded-For`, else of
//! its address, so that by default each client address has a queue of its own.
//!
//! The hostid names a directory under HOPPER_BATCHELOR_ROOT, so one a client sends must be 1-64 of
//! `A-Za-z0-9_-` (the MD5s the original hands out are 32 hex digits); anything else is refused.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use md5::{Digest, Md5};

/// The hostid of the queue named `name`, as `select` makes it: its MD5 in hex.
pub(crate) fn of_queue(name: &str) -> String {
    hex(name.as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The request's hostid (see the module's doc): `param` is the `hostid` request parameter, `peer` the
/// client's address (no port).
pub(crate) fn detect(
    param: Option<&str>,
    headers: &HeaderMap,
    peer: Option<&str>,
) -> Result<String, String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("hostid="));
    let sent = param
        .filter(|v| !v.is_empty())
        .or_else(|| header("x-batchelor-hostid").filter(|v| !v.is_empty()))
        .or_else(|| cookie.filter(|v| !v.is_empty()));
    if let Some(sent) = sent {
        return check(sent).map(str::to_owned);
    }
    Ok(match header("x-forwarded-for").or(peer) {
        Some(address) => hex(address.as_bytes()),
        None => of_queue("default-queue"),
    })
}

fn check(hostid: &str) -> Result<&str, String> {
    let valid = !hostid.is_empty()
        && hostid.len() <= 64
        && hostid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(hostid)
    } else {
        Err(format!(
            "The hostid {} is invalid: use the one select returned (1-64 of A-Za-z0-9_-)",
            hopper_common::excerpt(hostid)
        ))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// A parameter wins over the header, the header over the cookie, the cookie over the address; a
    /// hostid that could leave its directory is refused.
    #[test]
    fn the_hostid_comes_from_where_the_original_looks() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            detect(None, &headers, Some("10.0.0.7")),
            Ok(hex(b"10.0.0.7"))
        );
        assert_eq!(detect(None, &headers, None), Ok(of_queue("default-queue")));
        headers.insert("x-forwarded-for", HeaderValue::from_static("192.0.2.1"));
        assert_eq!(
            detect(None, &headers, Some("10.0.0.7")),
            Ok(hex(b"192.0.2.1"))
        );
        headers.insert(COOKIE, HeaderValue::from_static("a=b; hostid=fromcookie"));
        assert_eq!(detect(None, &headers, None).as_deref(), Ok("fromcookie"));
        headers.insert("x-batchelor-hostid", HeaderValue::from_static("fromheader"));
        assert_eq!(detect(None, &headers, None).as_deref(), Ok("fromheader"));
        assert_eq!(
            detect(Some("fromparam"), &headers, None).as_deref(),
            Ok("fromparam")
        );
        assert!(detect(Some("../etc"), &headers, None).is_err());
        assert_eq!(of_queue(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
