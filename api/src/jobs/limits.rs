//! The bounds on every list a client sends. A request past one is refused before anything is written
//! or looked up: its size alone must not cost the deployment anything (docs/api.md, "Limits").

use super::JobRequest;

/// Most queues one job may name. A megSAP job names one or two; SGE's `-q` takes a handful.
pub const MAX_QUEUES: usize = 32;
/// Most arguments one job may pass to its program.
pub const MAX_ARGS: usize = 1024;
/// Most labels one job may carry.
pub const MAX_LABELS: usize = 32;
/// Most jobs one job may wait on.
pub const MAX_AFTER: usize = 100;
/// Most environment variables one job may set.
pub const MAX_ENV: usize = 256;

/// A request refused for its shape, naming the field at fault. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The field, in the core's terms (`queues`, `args`, ...); front doors map it to theirs.
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Checks every bound of `request`.
pub fn check(request: &JobRequest) -> Result<(), Invalid> {
    bound("queues", request.queues.len(), MAX_QUEUES)?;
    bound("args", request.args.len(), MAX_ARGS)?;
    bound("labels", request.labels.len(), MAX_LABELS)?;
    bound("after", request.after.len(), MAX_AFTER)?;
    bound("env", request.process.env.len(), MAX_ENV)?;
    let inputs = request.typed.as_ref().map_or(0, |t| t.inputs.len());
    bound("inputs", inputs, super::job_types::MAX_INPUTS)
}

fn bound(field: &'static str, count: usize, most: usize) -> Result<(), Invalid> {
    if count > most {
        return Err(Invalid::new(
            field,
            format!("{field} lists {count} entries; at most {most} are allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(queues: usize, args: usize) -> JobRequest {
        JobRequest {
            threads: 1,
            queues: vec!["q".to_owned(); queues],
            script: "s.sh".to_owned(),
            args: vec!["a".to_owned(); args],
            working_directory: "/w".to_owned(),
            ..JobRequest::default()
        }
    }

    #[test]
    fn lists_up_to_their_bound_pass_and_one_more_is_refused_naming_the_field() {
        assert_eq!(check(&request(MAX_QUEUES, MAX_ARGS)), Ok(()));
        assert_eq!(
            check(&request(MAX_QUEUES + 1, 0))
                .expect_err("33 queues")
                .field,
            "queues"
        );
        let refused = check(&request(1, MAX_ARGS + 1)).expect_err("1025 args");
        assert_eq!(refused.field, "args");
        assert!(
            refused.message.contains("at most 1024"),
            "{}",
            refused.message
        );
    }
}
