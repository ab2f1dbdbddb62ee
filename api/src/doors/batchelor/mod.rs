//! The Batchelor front door: Batchelor 2.x's JSON API (`/api/json/<method>`), so that its clients work
//! against Hopper unchanged (docs/batchelor.md).

#[allow(dead_code)]
mod hostid;
#[allow(dead_code)]
mod queue;
#[allow(dead_code)]
pub(crate) mod files;
#[allow(dead_code)]
pub(crate) mod php_date;
#[allow(dead_code)]
pub(crate) mod php_json;
