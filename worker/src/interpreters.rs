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

    /// The command (program and its own arguments) for `script`, if its extension has one.
    pub fn for_script(&self, script: &str) -> Option<&[String]> {
        let (_, extension) = script.rsplit_once('.')?;
        self.0.get(extension).map(Vec::as_slice)
    }
}
