//! The repository's scripts, run for real: `scripts/ensure-services` and `scripts/test` as a person or
//! CI runs them, against this host's Redis and RabbitMQ, and against stand-ins for a hung service (a TCP
//! listener that accepts connections and never answers). Each run is bounded in time and runs in a
//! process group of its own, which is killed whole if the bound passes.
//!
//! What each test proves:
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
