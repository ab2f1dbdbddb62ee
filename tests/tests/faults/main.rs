//! Hopper's fault-injection suite: the real `hopper-api` and `hopper-worker` binaries (run
//! `cargo build --workspace --bins` first, or set HOPPER_TEST_BIN_DIR) against the real RabbitMQ and a
//! real Redis, with faults injected: a TCP proxy that cuts a node off from RabbitMQ, a private Redis
//! killed with SIGKILL and restarted from its AOF, signals sent to the processes. Every test has its
//! own namespace and directories and cleans up; the binary runs serially (nextest group `faults`)
//! because its faults are timing-sensitive and its processes compete for two CPUs.
//!
//! What each test proves:
//! - `rabbitmq_cut_during_submit_burst`: losing RabbitMQ mid-burst costs no accepted job; a refused
//!   submit answers 503 and leaves nothing behind; `/readyz` reports the outage; the node recovers.
//! - `redis_restart_with_aof_during_load`: Redis killed and restarted from its AOF under load: submits
//!   during the outage answer 503, every job accepted around it finishes, none is lost.
//! - `sentinel_failover::*`: a Sentinel-watched Redis (primary, replica, three Sentinels) under load,
//!   API node and worker given `redis+sentinel://`. The primary killed (`sentinel_failover_under_load`):
//!   they follow the promoted replica, submits meanwhile answer 503, every accepted job the new master
//!   keeps ends `succeeded` and ran once, one lost was answered at most 500 ms before the kill, no job
//!   is left `running`. `SENTINEL FAILOVER` (`sentinel_switchover_under_load`): the old primary still
//!   answers for seconds; they stop using it once a Sentinel says it is failing it over, so lost jobs
//!   were all answered within a second of the command, submits answer 503 until the new master is
//!   named, every kept job ends, none is left `running`.
//! - `api_sigterm_with_requests_in_flight`: SIGTERM lets requests in flight complete (200, JSON), then
//!   the node exits 0 and refuses connections.
//! - `worker_kill9_mid_job`: a lost worker's jobs end `worker_lost` or
//!   are retried on another worker, after the first attempt's processes are dead.
//! - `worker_restart_same_identity_ends_leftovers`: a worker restarted under the same id ends
//!   its predecessor's scripts before the job runs again.
//! - `worker_sigterm_drains`, `worker_second_sigterm_ends_drain_at_once`: SIGTERM drains for
//!   HOPPER_DRAIN, then terminates or re-queues what is left; a second SIGTERM stops at once.
//! - `worker_keeps_its_jobs_through_a_broker_cut`: a worker cut off from RabbitMQ keeps its script
//!   running, records its end, reconnects when the link returns, and takes jobs again.

//! - `balancer::a_balanced_cluster_loses_no_job_to_a_lost_node_a_lost_worker_or_a_drain`: three API
//!   nodes behind HAProxy (health-checked on `/readyz`) and two workers on each of two queues, under
//!   mixed GSvar and native traffic: a node and a worker killed and restarted, another node drained.
//!   No accepted job is lost or run twice, refusals are non-2xx, HAProxy counts the dead node down
//!   within its checks, throughput recovers, and the drained node fails no request.
//! - `cut_submit`: a submit whose client gives up half-way (the publish hangs) still runs to its end:
//!   the job ends up queued with its message, never recorded and left unpublished.
//! - `hung_broker::*`, `hung_redis::*`: RabbitMQ or Redis up but not answering (accepting connections
//!   and never answering, or frozen mid-connection: the proxy's `blackhole` and `freeze`, a Redis
//!   paused with SIGSTOP): API nodes answer within their limits and `/readyz` says so; workers keep
//!   their scripts, warn once, record their ends once it answers, and stop on SIGTERM in time; an API
//!   node logs "ready" only when `/readyz` would say so.

// A test binary has no public API; `pub` here only shares helpers between its modules.
#![allow(unreachable_pub)]

mod api_node;
mod binaries;
mod checker;
mod gsvar;
mod haproxy;
mod hold;
mod load;
mod mixed_load;
mod proxy;
mod redis_node;
mod sentinels;
mod wait;
mod worker_node;
mod worker_reconnect;
mod world;

mod api_sigterm;
mod balancer;
mod cut_submit;
mod hung_broker;
mod hung_redis;
mod rabbitmq_cut;
mod redis_restart;
mod sentinel_failover;
mod worker_drain;
mod worker_loss;
