//! The Scale door's settings.

use std::path::PathBuf;

/// Where the Scale door's jobs run: Scale's clients name no directory, so the door gives one.
#[derive(clap::Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Working directory of the jobs made through the NGA Scale door (new job, new recipe), which
    /// name none. Each job writes its outputs to `job-<id>` inside it (a type's `${job_output_dir}`).
    /// It must lie under HOPPER_WORK_ROOTS; without it, the first of HOPPER_WORK_ROOTS is used.
    #[arg(long = "scale-root", env = "HOPPER_SCALE_ROOT")]
    pub scale_root: Option<PathBuf>,
}

/// The settings as the door uses them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// `None` when neither HOPPER_SCALE_ROOT nor HOPPER_WORK_ROOTS gives one: submits then say so.
    pub root: Option<PathBuf>,
}

impl Settings {
    pub(crate) fn new(args: &ScaleArgs, work_roots: &[PathBuf]) -> Self {
        Self {
            root: args
                .scale_root
                .clone()
                .or_else(|| work_roots.first().cloned()),
        }
    }
}
