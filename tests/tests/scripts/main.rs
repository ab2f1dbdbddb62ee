//! The repository's scripts, run for real: `scripts/run-local` (the README's way to start Hopper)
//! stopped as a terminal stops it, and `scripts/ensure-services` and `scripts/test` as a person or CI
//! runs them, against this host's Redis and RabbitMQ and against stand-ins for a hung service (a TCP
//! listener that accepts connections and never answers). run-local starts the real binaries (built by
//! `cargo nextest run --workspace`, or HOPPER_TEST_BIN_DIR), each test in a namespace of its own. Each
//! run is bounded in time and runs in a process group of its own, which is killed whole if the bound
//! passes.
//!
//! What each test proves:
//! - `run_local::ctrl_c_lets_the_running_job_finish`: one Ctrl-C (SIGINT to run-local's process group,
//!   then run-local's own SIGTERM) drains: the running job ends `succeeded`.
//! - `run_local::a_second_ctrl_c_stops_the_running_job_now`: a second, separate Ctrl-C cuts the drain
//!   short.
//! - `ensure_services::hung_rabbitmq_is_reported_not_started`: a port that accepts connections but does
//!   not answer the AMQP handshake stops ensure-services at once with a message naming RabbitMQ.
//! - `ensure_services::hung_redis_is_reported_not_started`: the same for Redis and PING.
//! - `ensure_services::scripts_test_stops_before_cargo_on_hung_rabbitmq`: `scripts/test` stops with that
//!   message and never reaches a cargo step.
//! - `ensure_services::running_services_are_reported_running`: this host's Redis and RabbitMQ, which
//!   answer, are reported as already running.

// A test binary has no public API; `pub` here only shares helpers between its modules.
#![allow(unreachable_pub)]

mod blackhole;
mod run;

mod ensure_services;
mod run_local;
