//! `enqueue` with type `url`: the job's input fetched from a URL, only from the hosts the operator
//! lists in HOPPER_BATCHELOR_FETCH_URLS. A server that fetches whatever URL it is given can be made to
//! reach inside its own network (metadata services, admin consoles), so nothing is fetched by default.

use std::time::Duration;

use super::reply::Failure;

/// The longest a fetch may take.
const FETCH_TIME: Duration = Duration::from_secs(30);
/// The most bytes a fetched input may have.
const MOST_BYTES: usize = 64 * 1024 * 1024;

/// The body at `url`, if its host is one of `hosts`.
pub(crate) async fn fetch(url: &str, hosts: &[String]) -> Result<Vec<u8>, Failure> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        Failure::new(format!(
            "The URL {} is invalid: {e}",
            hopper_common::excerpt(url)
        ))
    })?;
    let host = parsed.host_str().unwrap_or_default();
    if !hosts
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(host))
    {
        return Err(Failure::new(format!(
            "Fetching input from {} is not allowed on this server: its host is not in HOPPER_BATCHELOR_FETCH_URLS; send the data itself, or upload it as a file",
            hopper_common::excerpt(host)
        )));
    }
    if parsed.scheme() != "http" {
        return Err(Failure::new(format!(
            "Only http URLs are fetched, not {}; send the data itself",
            parsed.scheme()
        )));
    }
    let failed = |e: reqwest::Error| Failure::new(format!("Failed fetch {}: {e}", parsed));
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIME)
        // A redirect could lead to a host that is not listed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(failed)?;
    let mut response = client.get(parsed.clone()).send().await.map_err(failed)?;
    if !response.status().is_success() {
        return Err(Failure::new(format!(
            "Failed fetch {parsed}: it answered {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MOST_BYTES {
            return Err(Failure::new(format!(
                "Failed fetch {parsed}: it is larger than {MOST_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
