//! Running one claimed job: spawn its script in its own process group, wait for it to end or be
//! canceled, and say how it ended.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use hopper_common::{Ending, Failure, JobId, JobSpec, LogBudget, QueueName, RESULT_LIMIT, Store};
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::launch::{Launch, Launcher};
use crate::leftovers::Leftovers;
use crate::log_shipper::LogShipper;
use crate::output;
use crate::process_group::ProcessGroup;

/// Room left in [`RESULT_LIMIT`] for the lines a front door puts before the output.
const HEADER_ROOM: usize = 1024;

/// Runs scripts.
#[derive(Debug, Clone)]
pub(crate) struct Runner {
    pub(crate) launcher: Launcher,
    pub(crate) log_dir: PathBuf,
    pub(crate) kill_grace: Duration,
    pub(crate) worker_id: String,
    pub(crate) leftovers: Leftovers,
    /// Where a running job's output is shipped, for any API node to serve.
    pub(crate) store: Store,
    /// How much of each stream Redis keeps (`HOPPER_LOG_CAP`).
    pub(crate) log_budget: LogBudget,
}

/// One job to run, as claimed.
#[derive(Debug)]
pub(crate) struct Assignment<'a> {
    pub(crate) id: &'a JobId,
    pub(crate) spec: &'a JobSpec,
    pub(crate) queue: &'a QueueName,
    pub(crate) threads: u32,
}

impl Runner {
    /// Runs the job to its end. `cancel` (a client's delete) and `shutdown` (the worker stopping) both
    /// terminate the process group; only the recorded reason differs. With the ending comes the
    /// shipping of the job's output, if its script started: [stop](LogShipper::stop) it and ship the
    /// rest before the end is recorded, so that an ended job's log is whole in Redis.
    pub(crate) async fn run(
        &self,
        job: Assignment<'_>,
        cancel: &CancellationToken,
        paused: tokio::sync::watch::Receiver<bool>,
        shutdown: &CancellationToken,
    ) -> (Ending, Option<LogShipper>) {
        let mut logs = None;
        let ending = self
            .run_script(job, cancel, paused, shutdown, &mut logs)
            .await;
        (ending, logs)
    }

    async fn run_script(
        &self,
        job: Assignment<'_>,
        cancel: &CancellationToken,
        paused: tokio::sync::watch::Receiver<bool>,
        shutdown: &CancellationToken,
        logs: &mut Option<LogShipper>,
    ) -> Ending {
        let spec = crate::typed::resolve(job.spec, job.id);
        if let Err(why) = crate::process_setup::make_workdir(&spec, &self.launcher.work_roots) {
            return could_not_start(why);
        }
        let launch = match self.launcher.plan(&spec) {
            Ok(launch) => launch,
            Err(why) => return could_not_start(why),
        };
        if let Err(why) = crate::typed::make_output_dir(&spec, job.id) {
            return could_not_start(why);
        }
        if shutdown.is_cancelled() {
            // Not the job's fault: say so, rather than fail it as if it could never run.
            return Ending {
                failure: Some(Failure::WorkerShutdown),
                output: String::new(),
            };
        }
        if cancel.is_cancelled() {
            // Recorded as canceled: the cancel request is already in Redis.
            return could_not_start("canceled before it started".to_owned());
        }
        let files = crate::process_setup::output_files(
            &spec,
            &launch.working_directory,
            &self.log_dir,
            job.id,
        );
        let (stdout, stderr) = match files {
            Ok(files) => files,
            Err(why) => return could_not_start(why),
        };
        let mut command = match self.command(&job, &launch, &stdout, &stderr) {
            Ok(command) => command,
            Err(why) => return could_not_start(why),
        };
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                let program = launch.program.to_string_lossy();
                return could_not_start(format!("cannot run '{program}': {error}"));
            }
        };
        let Some(group) = ProcessGroup::of(&child) else {
            return could_not_start("the script exited before it could be tracked".to_owned());
        };
        self.leftovers.record(job.id, group);
        tracing::info!(pid = ?child.id(), "script started");
        *logs = Some(LogShipper::start(
            self.store.clone(),
            job.id.clone(),
            [stdout.clone(), stderr.clone()],
            self.log_budget,
        ));
        let (status, deadline, why) = self
            .supervise(
                &mut child,
                group,
                job.spec.timeout,
                cancel,
                paused,
                shutdown,
            )
            .await;
        let (interrupted, timed_out) = (why == Stopped::Shutdown, why == Stopped::TimeLimit);
        group.end_the_rest(deadline).await;
        self.leftovers.forget(job.id, group);
        let output = output::collect(&stdout, &stderr, RESULT_LIMIT - HEADER_ROOM).await;
        let failure = match status {
            _ if interrupted => Some(Failure::WorkerShutdown),
            _ if timed_out => Some(Failure::Timeout),
            Ok(status) => failure_of(status),
            Err(error) => Some(Failure::CouldNotStart(format!(
                "cannot wait for the script: {error}"
            ))),
        };
        tracing::info!(?failure, "script ended");
        Ending { failure, output }
    }

    /// Waits for the script to end, or ends it: for a cancel, the worker's shutdown, or its time
    /// limit, which counts only the time it is not suspended. Suspends and resumes its group as told.
    async fn supervise(
        &self,
        child: &mut tokio::process::Child,
        group: ProcessGroup,
        limit: Option<Duration>,
        cancel: &CancellationToken,
        mut paused: tokio::sync::watch::Receiver<bool>,
        shutdown: &CancellationToken,
    ) -> (std::io::Result<ExitStatus>, Instant, Stopped) {
        // From the moment the job is told to end (or ends by itself), its group has the grace period.
        let deadline = || Instant::now() + self.kill_grace;
        // Without a time limit, a time that never comes in practice.
        let mut left = limit.unwrap_or(Duration::from_secs(100 * 365 * 86_400));
        let (mut suspended, mut watching) = (false, true);
        loop {
            let slice = Instant::now();
            let why = tokio::select! {
                status = child.wait() => return (status, deadline(), Stopped::Itself),
                () = tokio::time::sleep(left), if !suspended => {
                    tracing::info!(?limit, "job ran past its time limit; ending it");
                    Stopped::TimeLimit
                }
                changed = paused.changed(), if watching => {
                    if !suspended {
                        left = left.saturating_sub(slice.elapsed());
                    }
                    // Closed: nobody can suspend or resume it any more; it stays as it is.
                    watching = changed.is_ok();
                    let now = *paused.borrow_and_update();
                    if now != suspended {
                        suspended = now;
                        group.pause(suspended);
                        tracing::info!(suspended, "job suspended or resumed");
                    }
                    continue;
                }
                () = cancel.cancelled() => Stopped::Cancel,
                () = shutdown.cancelled() => Stopped::Shutdown,
            };
            let deadline = deadline();
            return (group.terminate(child, deadline).await, deadline, why);
        }
    }

    fn command(
        &self,
        job: &Assignment<'_>,
        launch: &Launch,
        stdout: &std::path::Path,
        stderr: &std::path::Path,
    ) -> Result<Command, String> {
        let open = |path: &std::path::Path| {
            std::fs::File::create(path)
                .map_err(|e| format!("cannot write log file {}: {e}", path.display()))
        };
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .current_dir(&launch.working_directory)
            .stdin(Stdio::null())
            .stdout(open(stdout)?)
            .stderr(open(stderr)?)
            // Its own process group, so a cancel reaches everything the script started.
            .process_group(0)
            // If the worker dies while awaiting, the script does not outlive it unseen.
            .kill_on_drop(true);
        // Scripts inherit the worker's environment (as SGE's `qsub -V` passes GSvarServer's), except
        // Hopper's own settings: they may carry Redis and RabbitMQ credentials.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HOPPER_") {
                command.env_remove(name);
            }
        }
        crate::process_setup::set_env(&mut command, job.spec);
        command
            .env("HOPPER_JOB_ID", job.id.as_str())
            .env("HOPPER_QUEUE", job.queue.as_str())
            .env("HOPPER_THREADS", job.threads.to_string())
            .env("HOPPER_WORKER_ID", &self.worker_id);
        Ok(command)
    }
}

/// Why a script stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    Itself,
    Cancel,
    Shutdown,
    TimeLimit,
}

fn could_not_start(why: String) -> Ending {
    tracing::warn!(%why, "job could not start");
    Ending {
        failure: Some(Failure::CouldNotStart(why)),
        output: String::new(),
    }
}

fn failure_of(status: ExitStatus) -> Option<Failure> {
    match (status.code(), status.signal()) {
        (Some(0), _) => None,
        (Some(code), _) => Some(Failure::Exit(code)),
        (None, Some(signal)) => Some(Failure::Signal(signal)),
        (None, None) => Some(Failure::Exit(-1)),
    }
}
