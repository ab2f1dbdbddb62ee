//! Scale's answer to a new job or recipe: 201 Created, the details, and their `Location`, the absolute
//! URL that `reverse(..., request=request)` builds.

use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{ScaleError, Version};

/// 201 with `details` and the `Location` of `kind` (`jobs`, `recipes`) `id`, or the refusal.
pub(crate) fn created(
    headers: &HeaderMap,
    uri: &Uri,
    version: Version,
    kind: &str,
    made: Result<(String, Value), ScaleError>,
) -> Response {
    match made {
        Ok((id, details)) => {
            let location = location(headers, uri, version, kind, &id);
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                axum::Json(details),
            )
                .into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// The absolute URL of the details of `kind` (`jobs`, `recipes`) `id`, as `reverse(...,
/// request=request)` builds it; the unversioned paths answer with v5's.
fn location(headers: &HeaderMap, uri: &Uri, version: Version, kind: &str, id: &str) -> String {
    let base = super::absolute_url(headers, uri);
    let origin = base
        .find("://")
        .and_then(|scheme| {
            base[scheme + 3..]
                .find('/')
                .map(|path| &base[..scheme + 3 + path])
        })
        .unwrap_or(&base);
    format!("{origin}{}/{kind}/{id}/", version.prefix())
}
