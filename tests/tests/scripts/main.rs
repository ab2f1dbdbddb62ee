//! The repository's scripts, run for real: `scripts/run-local` (the README's way to start Hopper) and
//! `scripts/run-cluster` (the scaled deployment on one host) stopped as a terminal stops them, and
//! `scripts/ensure-services` and `scripts/test` as a person or CI runs them, against this host's Redis
//! and RabbitMQ and against stand-ins for a hung service (a TCP listener that accepts connections and
//! never answers). run-local and run-cluster start the real binaries (built by `cargo nextest run
//! --workspace`, or HOPPER_TEST_BIN_DIR), each test in a namespace of its own. Each run is bounded in
//! time and runs in a process group of its own, which is killed whole if the bound passes.
//!
//! What each test proves:
//! - `run_local::ctrl_c_lets_the_running_job_finish`: one Ctrl-C (SIGINT to run-local's process group,
//!   then run-local's own SIGTERM) drains: the running job ends `succeeded`.
//! - `run_local::a_second_ctrl_c_stops_the_running_job_now`: a second, separate Ctrl-C cuts the drain
//!   short.
//! - `run_cluster::jobs_through_the_balancer_succeed_and_ctrl_c_leaves_no_process`: run-cluster with
//!   HAProxy, two API nodes and a worker for each of two queues runs jobs submitted through the
//!   balancer in both queues; one Ctrl-C stops it all and leaves no process, HAProxy included.
//! - `run_cluster::a_killed_api_node_is_routed_around_and_not_restarted`: after SIGKILL to one API
//!   node, HAProxy's health check marks it down and every request through the balancer succeeds;
//!   run-cluster reports the exit and does not start the node again.
//! - `run_cluster::a_second_ctrl_c_stops_at_once`: a second, separate Ctrl-C cuts the workers' drain
//!   short; the running job ends `worker_shutdown` and no process is left.
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
mod cluster;
mod run;

mod ensure_services;
mod run_cluster;
mod run_local;
