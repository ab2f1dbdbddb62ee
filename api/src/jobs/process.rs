//! The checks on how a job's process is set up beyond its argv ([`ProcessSetup`]): its environment and
//! the files its output goes to. Like the arguments, they reach the program without a shell, so the
//! rules are those of `execve` and of the filesystem: no NUL bytes, no `=` in a name, and output files
//! that stay inside the working directory.

use std::path::{Component, Path};

use hopper_common::{ProcessSetup, excerpt};

/// Checks `process`; on a refusal, the field at fault in the core's terms (`env`, `stdout`, `stderr`)
/// and why.
pub(super) fn check(process: &ProcessSetup) -> Result<(), (&'static str, String)> {
    for (name, value) in &process.env {
        check_variable(name, value).map_err(|why| ("env", why))?;
    }
    for (field, path) in [("stdout", &process.stdout), ("stderr", &process.stderr)] {
        if let Some(path) = path {
            check_output_file(path).map_err(|why| (field, why))?;
        }
    }
    Ok(())
}

fn check_variable(name: &str, value: &str) -> Result<(), String> {
    let shown = excerpt(name);
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(format!(
            "environment variable name '{shown}' must be non-empty, without '=' or NUL"
        ));
    }
    if value.contains('\0') {
        return Err(format!(
            "environment variable '{shown}' has a NUL byte in its value, which no program can be given"
        ));
    }
    Ok(())
}

/// An output file is named relative to the working directory and may not climb out of it; the worker
/// checks again, with links resolved, before it opens the file.
fn check_output_file(path: &Path) -> Result<(), String> {
    let shown = excerpt(&path.to_string_lossy());
    let inside = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if path.as_os_str().is_empty() || !inside || path.to_string_lossy().contains('\0') {
        return Err(format!(
            "output file '{shown}' must be a path relative to the working directory, without '..'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(env: &[(&str, &str)], stdout: Option<&str>) -> ProcessSetup {
        ProcessSetup {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            stdout: stdout.map(Into::into),
            ..ProcessSetup::default()
        }
    }

    /// Names without `=` or NUL, values without NUL, and relative output files pass; the rest are
    /// refused naming the field.
    #[test]
    fn variables_and_output_files_follow_execve_and_stay_inside() {
        assert_eq!(
            check(&setup(&[("A", "1 2"), ("B_", "")], Some("o/x.out"))),
            Ok(())
        );
        for bad in [("", "x"), ("A=B", "x"), ("A\0", "x"), ("A", "x\0y")] {
            assert_eq!(
                check(&setup(&[bad], None)).map_err(|e| e.0),
                Err("env"),
                "{bad:?}"
            );
        }
        for bad in ["/etc/passwd", "../x", "a/../../x", ""] {
            assert_eq!(
                check(&setup(&[], Some(bad))).map_err(|e| e.0),
                Err("stdout"),
                "{bad}"
            );
        }
    }
}
