//! The TaskAPI door's settings.

use std::path::PathBuf;
use std::time::Duration;

use hopper_common::parse_duration;

/// How the TaskAPI door fills what a task's submit description leaves out.
#[derive(clap::Args, Debug, Clone)]
pub struct TaskApiArgs {
    /// Directory under which a task without `initialdir` gets one of its own, `<this>/<task id>`,
    /// made when it starts (the original's `./taskroot`). It must lie under HOPPER_WORK_ROOTS. Without
    /// it, tasks must give `initialdir`.
    #[arg(long = "taskapi-root", env = "HOPPER_TASKAPI_ROOT")]
    pub taskapi_root: Option<PathBuf>,

    /// The queue of tasks whose submit description names none (`queue`).
    #[arg(
        long = "taskapi-queue",
        env = "HOPPER_TASKAPI_QUEUE",
        default_value = "default"
    )]
    pub taskapi_queue: String,

    /// A task's time limit when its submit description gives no `+MaxRuntime`: past it the task's
    /// processes are ended and it runs again while it has starts left, else ends timed out (state 4).
    /// The original's is 2 minutes; `0s` means none.
    #[arg(long = "taskapi-expiry", env = "HOPPER_TASKAPI_EXPIRY", default_value = "2min",
          value_parser = parse_duration)]
    pub taskapi_expiry: Duration,
}

/// The settings as the door uses them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub root: Option<PathBuf>,
    pub queue: String,
    pub expiry: Duration,
    /// Whether requests without a token are let in, with role `submit` (`HOPPER_OPEN_DOORS=taskapi`).
    pub open: bool,
}

impl Settings {
    pub(crate) fn new(args: &TaskApiArgs, open: bool) -> Self {
        Self {
            root: args.taskapi_root.clone(),
            queue: args.taskapi_queue.clone(),
            expiry: args.taskapi_expiry,
            open,
        }
    }
}
