use std::sync::Arc;
use std::time::Duration;

use hopper_common::{Publisher, Store};
use tokio_util::sync::CancellationToken;

use crate::jobs::job_types::JobTypes;
use crate::jobs::{Admission, Jobs, KnownQueues};
use crate::{ApiConfig, Readiness, Tokens};

/// Everything a request handler needs. Cloning is cheap: `Arc`s.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The job core every front door calls.
    pub jobs: Jobs,
    pub tokens: Arc<Tokens>,
    pub max_body: usize,
    /// What the background check last found of Redis and RabbitMQ, for `/readyz`.
    pub readiness: Readiness,
    /// How often that check runs (`HOPPER_CHECK_INTERVAL`).
    pub check_interval: Duration,
    /// Cancelled when the node begins to shut down, so `/readyz` turns load balancers away.
    pub(crate) shutting_down: CancellationToken,
    /// The last reading of queues and workers behind `/metrics`.
    pub(crate) fleet: Arc<crate::metrics::Fleet>,
    /// The TaskAPI door's settings.
    pub(crate) taskapi: Arc<crate::doors::taskapi::Settings>,
    /// The Batchelor door's settings.
    pub(crate) batchelor: Arc<crate::doors::batchelor::Settings>,
    /// The Scale door's settings.
    pub(crate) scale: Arc<crate::doors::scale::Settings>,
    /// The doors open to requests without a token (`HOPPER_OPEN_DOORS`).
    pub(crate) open: crate::OpenDoors,
}

impl AppState {
    /// Builds the state without connecting anywhere: the node starts, and reports not ready, while
    /// Redis or RabbitMQ are down.
    pub fn from_config(config: &ApiConfig) -> Result<Self, String> {
        let tokens = config.tokens()?;
        crate::metrics::install();
        let connection = &config.connection;
        let store = Store::new(
            &connection.redis_url,
            connection.namespace.clone(),
            connection.retention,
            connection.redis_timeout,
        )
        .map_err(|e| format!("bad setting HOPPER_REDIS_URL (--redis-url): {e}"))?;
        let job_types = match &config.job_types {
            Some(path) => JobTypes::load(path)?,
            None => JobTypes::default(),
        };
        let jobs = Jobs {
            job_types: Arc::new(job_types),
            store,
            publisher: Arc::new(Publisher::new(
                &connection.amqp_url,
                connection.namespace.clone(),
                &format!("hopper-api {}", config.listen),
                connection.amqp_timeout,
            )),
            admission: Arc::new(Admission {
                work_roots: config.work_roots.0.clone(),
                script_dirs: config.script_dirs.as_ref().map(|dirs| dirs.0.clone()),
                max_threads: config.max_threads,
                tries: config.max_tries.clone(),
            }),
            known: KnownQueues::new(
                config
                    .known_queues
                    .as_ref()
                    .map_or(&[][..], |list| &list.0[..]),
            ),
            // A create, a publish and a confirm each within their limit, and room to spare.
            provisional: connection.redis_timeout * 2
                + connection.amqp_timeout
                + Duration::from_secs(5),
        };
        let open = config.open_doors.clone().unwrap_or_default();
        let batchelor = crate::doors::batchelor::Settings::new(&config.batchelor, open.batchelor)?;
        Ok(Self {
            jobs,
            tokens: Arc::new(tokens),
            max_body: config.max_body as usize,
            readiness: Readiness::default(),
            check_interval: connection.check_interval,
            shutting_down: CancellationToken::new(),
            fleet: Arc::default(),
            taskapi: Arc::new(crate::doors::taskapi::Settings::new(
                &config.taskapi,
                open.taskapi,
            )),
            batchelor: Arc::new(batchelor),
            scale: Arc::new(crate::doors::scale::Settings::new(
                &config.scale,
                &config.work_roots.0,
            )),
            open,
        })
    }
}
