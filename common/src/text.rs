//! Small text rules shared by the front doors and the worker.

/// Whether `value` is 1 to `max` characters of `[A-Za-z0-9_-]`: safe in Redis keys, AMQP names, file
/// names and (for job ids) GSvar's SQL.
pub(crate) fn is_plain_name(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Shortens user input quoted back in an error, so a reply never echoes a megabyte.
pub fn excerpt(value: &str) -> String {
    const MAX: usize = 80;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// Cuts `text` to at most `limit` bytes by dropping its middle, keeping the head and the tail: the head
/// says what a job set out to do, the tail how it ended.
pub fn clip_middle(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    // The marker's length depends on the number it states: make room for the longest it could be.
    let keep = limit.saturating_sub(omission_marker(text.len() as u64).len());
    let head_end = floor_char_boundary(text, keep / 2);
    let tail_start = ceil_char_boundary(text, text.len() - (keep - keep / 2));
    let marker = omission_marker((tail_start - head_end) as u64);
    format!("{}{marker}{}", &text[..head_end], &text[tail_start..])
}

/// The line that stands where `omitted` bytes were cut out of a text.
pub fn omission_marker(omitted: u64) -> String {
    format!("\n[... {omitted} bytes omitted ...]\n")
}

/// The number of bytes the first [`omission_marker`] in `text` says were cut out, if it has one.
pub fn stated_omission(text: &str) -> Option<u64> {
    text.split("[... ").nth(1)?.split(' ').next()?.parse().ok()
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

/// A script is a bare file name: no directory part, nothing hidden (which also rules out `..`), no
/// control characters. Checked by the API at submit and by the worker again before it runs anything.
pub fn check_script_name(script: &str) -> Result<(), String> {
    let safe = !script.is_empty()
        && script.len() <= 255
        && !script.starts_with('.')
        && !script.contains(['/', '\\'])
        && !script.chars().any(char::is_control);
    if safe {
        Ok(())
    } else {
        Err(format!(
            "script '{}' is not a bare file name",
            excerpt(script)
        ))
    }
}

/// The conventional name of a Linux signal number, for messages.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clipped text stays within the limit, keeps both ends and never splits a character.
    #[test]
    fn clip_middle_keeps_head_and_tail_within_limit() {
        let text = format!("HEAD{}TAIL", "é".repeat(50_000));
        let clipped = clip_middle(&text, 1000);
        assert!(clipped.len() <= 1000, "{} bytes", clipped.len());
        assert!(clipped.starts_with("HEAD") && clipped.ends_with("TAIL"));
        let stated: usize = stated_omission(&clipped)
            .map(|n| n as _)
            .expect("marker states a number");
        let marker_len = omission_marker(stated as u64).len();
        assert_eq!(
            stated + clipped.len() - marker_len,
            text.len(),
            "the marker miscounts"
        );
        assert_eq!(clip_middle("short", 1000), "short");
    }

    /// Names with a directory part, hidden names and `..` are refused.
    #[test]
    fn script_names_must_be_bare() {
        for bad in [
            "",
            "../x.php",
            "a/b.php",
            "..",
            ".hidden.php",
            "x\n.php",
            "a\\b",
        ] {
            assert!(check_script_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_script_name("analyze.php").is_ok());
    }
}
