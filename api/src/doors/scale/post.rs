//! A POST to one of Scale's views, as every view reads it: the caller let in (`auth.rs`), then the
//! body parsed as DRF's `JSONParser` does (`body.rs`), and the query kept, since Scale reads each
//! parameter from the query first and the body second (`Params`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::Params;
use crate::AppState;

pub(crate) struct Post {
    pub state: AppState,
    pub headers: HeaderMap,
    pub uri: Uri,
    pub body: Map<String, Value>,
}

impl Post {
    /// The parameters, query first, then body.
    pub(crate) fn params(&self) -> Params<'_> {
        Params::new(self.uri.query().unwrap_or(""), Some(&self.body))
    }
}

impl FromRequest<AppState> for Post {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (headers, uri) = (request.headers().clone(), request.uri().clone());
        // A body over HOPPER_MAX_BODY is refused here, with the node's 413, as on every route.
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        super::auth::check(state, &headers).map_err(IntoResponse::into_response)?;
        let body =
            super::body::json_object(&headers, &bytes).map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: state.clone(),
            headers,
            uri,
            body,
        })
    }
}
