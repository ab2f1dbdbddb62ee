//! The deployment files, checked against the binaries they run: `compose/` (docker compose and its
//! HAProxy) and `deploy/systemd/` (the units and their example environment files). Each setting and
//! flag they give `hopper-api` or `hopper-worker` must be one the binary's `--help` lists, each health
//! check must ask an endpoint the node serves, and each stop timeout must outlast the drain it covers.
//! They read files and run `--help` (the binaries built by `cargo nextest run --workspace`, or
//! HOPPER_TEST_BIN_DIR) and `haproxy -c`; no service is started.
//!
//! What each test proves:
//! - `compose::compose_services_use_only_settings_their_binary_has`: no compose service sets a
//!   HOPPER_* variable or passes a flag its binary does not take.
//! - `compose::compose_health_checks_ask_endpoints_the_nodes_serve`: each API node's health check asks
//!   /readyz or /healthz on its own port; no worker has an HTTP check it cannot answer.
//! - `compose::compose_balancer_checks_readyz_on_every_api_node`: HAProxy checks /readyz and sends to
//!   every API service on its port, and `haproxy -c` accepts its configuration.
//! - `compose::compose_stop_grace_periods_outlast_the_drains`: Docker does not kill a node or worker
//!   during its drain.
//! - `systemd::the_api_unit_outlasts_the_shutdown_grace` and
//!   `systemd::the_worker_unit_outlasts_the_drain`: the units' settings, flags and example environment
//!   files exist in the binaries' `--help`, the stop signal goes to the binary alone (KillMode=mixed),
//!   and TimeoutStopSec outlasts HOPPER_SHUTDOWN_GRACE, or HOPPER_DRAIN + HOPPER_KILL_GRACE + 2 s.

// A test binary has no public API; `pub` here only shares helpers between its modules.
#![allow(unreachable_pub)]

mod compose;
mod help;
mod systemd;
