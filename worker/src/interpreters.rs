use std::collections::HashMap;

/// Which program runs a script, by the script's extension (`HOPPER_INTERPRETERS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpreters(HashMap<String, Vec<String>>);

impl Interpreters {
    /// Parses `ext=command [args...]`, comma-separated, e.g. `php=php,sh=sh,py=python3`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut map = HashMap::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (extension, command) = entry
                .split_once('=')
                .ok_or_else(|| format!("'{entry}' is not `extension=command`"))?;
            let extension = extension.trim().trim_start_matches('.');
            let command: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
            if extension.is_empty() || command.is_empty() {
                return Err(format!("'{entry}' needs both an extension and a command"));
            }
            map.insert(extension.to_owned(), command);
        }
        if map.is_empty() {
            return Err("needs at least one `extension=command`, e.g. php=php".to_owned());
        }
        Ok(Self(map))
    }

    /// The same, with each program found on `PATH` once, now: a job's start then costs one `execve`, not
    /// one per `PATH` entry. A program not found stays as it is, so a job needing it fails to start with
    /// the reason, rather than the worker refusing to serve the others.
    pub fn resolved(&self) -> Self {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let map = self
            .0
            .iter()
            .map(|(extension, command)| {
                let mut command = command.clone();
                if let Some(found) = find_program(&command[0], &path) {
                    command[0] = found;
                }
                (extension.clone(), command)
            })
            .collect();
        Self(map)
    }

    /// The command (program and its own arguments) for `script`, if its extension has one.
    pub fn for_script(&self, script: &str) -> Option<&[String]> {
        let (_, extension) = script.rsplit_once('.')?;
        self.0.get(extension).map(Vec::as_slice)
    }
}

/// Where `program` is found on `path`, as `execvp` would look; `None` if it names a path itself or is
/// nowhere.
fn find_program(program: &str, path: &std::ffi::OsStr) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') {
        return None;
    }
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .and_then(|found| found.into_os_string().into_string().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Programs on PATH become absolute paths; a missing one and an explicit path stay as given.
    #[test]
    fn resolved_finds_programs_once() {
        let interpreters = Interpreters::parse("sh=sh -e,x=no-such-program-here,abs=/bin/sh")
            .expect("valid")
            .resolved();
        let sh = interpreters.for_script("a.sh").expect("sh");
        assert!(sh[0].starts_with('/') && sh[0].ends_with("/sh"), "{sh:?}");
        assert_eq!(sh[1], "-e");
        assert_eq!(
            interpreters.for_script("a.x").expect("x"),
            ["no-such-program-here"]
        );
        assert_eq!(interpreters.for_script("a.abs").expect("abs"), ["/bin/sh"]);
    }
}
