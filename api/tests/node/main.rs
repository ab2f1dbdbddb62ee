//! The real `hopper-api` binary serving over TCP, against the real Redis: how it stops, and the limits
//! it puts on what clients send. Requests are written by hand, byte by byte, because these tests need
//! what an HTTP client library hides: a body sent in parts, or streamed with no length.

// A test binary has no public API; `pub` here only shares helpers between its modules.
#![allow(unreachable_pub)]

mod helpers;
mod limits;
mod refusals;
mod shutdown;
