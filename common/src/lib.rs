//! What every Hopper process shares: the job model, the Redis store, the RabbitMQ topology, configuration,
//! telemetry and shutdown.
//!
//! Everything outside this crate talks to Redis and RabbitMQ only through [`Store`] and [`Publisher`] /
//! [`topology`], so the key layout, the Lua scripts and the queue names each live in one place.

mod amqp_connection;
mod claim;
mod command;
mod config;
mod error;
mod job;
pub mod metrics;
mod namespace;
mod outage;
mod publisher;
mod queue_name;
mod reconnect;
mod redis_address;
mod shutdown;
mod spec;
mod store;
mod sweeper;
pub mod telemetry;
pub mod template;
mod text;
pub mod topology;

pub use amqp_connection::{AmqpConnection, probe, within};
pub use claim::{Claim, NextClaim};
pub use command::Command;
pub use config::{
    ConnectionArgs, LivenessArgs, PathList, TelemetryArgs, parse_duration, parse_or_exit,
    parse_size,
};
pub use error::{BrokerError, StoreError};
pub use job::{Attempt, Ending, Failure, Job, JobId, JobState, JobStatus};
pub use namespace::Namespace;
pub use outage::Outage;
pub use publisher::Publisher;
pub use queue_name::{QueueList, QueueName};
pub use redis_address::{RedisAddress, SENTINEL_PORT, SentinelAddress};
pub use shutdown::{SAME_REQUEST, Shutdown};
pub use spec::{JobSpec, ProcessSetup};
pub use store::{
    Alias, CancelOutcome, Claimant, Dependent, Ended, Group, HashEncoding, Holder, Idempotency,
    JobQuery, LogBudget, LogPiece, LogSlice, LogStream, Named, Page, PauseOutcome,
    RECOMMENDED_HASH_MAX_LISTPACK_VALUE, Requeue, RetryOptions, RetryOutcome, Store, WorkerRecord,
};
pub use sweeper::{SweepError, SweepReport, Sweeper, publish_requeue};
pub use text::{
    check_script_name, clip_middle, excerpt, omission_marker, signal_name, stated_omission,
};

/// Largest `result` a job gives, in bytes, head and tail kept: within 64 KiB, and within the 65,000
/// characters GSvar's database keeps before it cuts a history entry itself.
pub const RESULT_LIMIT: usize = 65_000;
