//! The repository's scripts, run for real: `scripts/run-local` (the README's way to start Hopper),
//! stopped as a terminal stops it, and `scripts/ensure-services`, which `scripts/test` and run-local
//! run first. They start the real binaries (built by `cargo nextest run --workspace`, or
//! HOPPER_TEST_BIN_DIR) against the local Redis and RabbitMQ, each test in a namespace of its own.

// A test binary has no public API; `pub` here only shares helpers between its modules.
#![allow(unreachable_pub)]

mod run_local;
