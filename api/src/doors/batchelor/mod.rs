//! The Batchelor door: Batchelor 2.x's JSON API (nowisesys/batchelor) onto the job core.

// Nothing calls it until the door's routes do.
#[allow(dead_code)]
pub(crate) mod files;
