//! Hopper's integration suite: real API nodes and workers, started in-process, against the real Redis
//! and RabbitMQ. Every test has its own namespace and directories and cleans up after itself, so tests
//! run in parallel.

// A test binary has no public API; `pub` here only shares helpers between its modules.
#![allow(unreachable_pub)]

mod aliases;
mod api_client;
mod batchelor;
mod batchelor_jobs;
mod broker;
mod cancel;
mod dependencies;
mod front_door;
mod helpers;
mod indexes;
mod job_types;
mod jobs;
mod known_queues;
mod lifecycle;
mod listing;
mod load;
mod log_store;
mod logs;
mod metrics;
mod native;
mod native_client;
mod priority;
mod prometheus;
mod provisional;
mod recovery;
mod refusals;
mod scale;
mod scale_client;
mod scale_jobs;
mod scale_load;
mod scale_queue;
mod scale_recipe_answers;
mod scale_recipes;
mod scale_requeue;
mod scale_seeds;
mod store;
mod taskapi;
mod taskapi_client;
mod taskapi_runs;
