//! `Authorization: Bearer <secret>`, as the doors with bearer tokens read it: the secret is one of
//! HOPPER_TOKENS, with its role. Each door says in its own format what it refuses.

use axum::http::{HeaderMap, header};

use crate::{Role, Tokens};

/// The role of the token sent; `Ok(None)` when no `Authorization` header was sent, and why it is
/// refused when one was sent that is not a bearer token of HOPPER_TOKENS.
pub(crate) fn role(headers: &HeaderMap, tokens: &Tokens) -> Result<Option<Role>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let secret = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or("the Authorization header must be 'Bearer <secret>'")?;
    tokens
        .role_of(secret.trim())
        .map(Some)
        .ok_or("invalid token: it matches none of HOPPER_TOKENS")
}
