//! The Batchelor door: Batchelor 2.x's JSON API (`/api/json/<method>`), which its PHP clients parse.

#[allow(dead_code, reason = "the door's routes, which use it, come next")]
pub(crate) mod php_date;
#[allow(dead_code, reason = "the door's routes, which use it, come next")]
pub(crate) mod php_json;
