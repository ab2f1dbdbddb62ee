//! A job's name and labels: free text for people and for the clients that find their jobs again by
//! them, so only what would break a log line, a filter or a header is refused.

use std::collections::BTreeMap;

use hopper_common::excerpt;

/// Longest job name, in bytes.
pub const MAX_NAME: usize = 256;
/// Longest label key, in bytes; keys are 1-64 of `A-Za-z0-9_.-/`.
pub const MAX_LABEL_KEY: usize = 64;
/// Longest label value, in bytes.
pub const MAX_LABEL_VALUE: usize = 256;

pub(super) fn check_name(name: Option<&str>) -> Result<(), String> {
    let Some(name) = name else { return Ok(()) };
    if name.len() > MAX_NAME {
        return Err(format!(
            "name is {} bytes long; at most {MAX_NAME} are allowed",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "name '{}' contains a control character",
            excerpt(name)
        ));
    }
    Ok(())
}

/// `client_door`: the client sent a label `door` of its own, which Hopper keeps for the front door.
pub(super) fn check_labels(
    labels: &BTreeMap<String, String>,
    client_door: bool,
) -> Result<(), String> {
    if client_door {
        return Err(
            "label 'door' is Hopper's (the front door that made the job); use another key"
                .to_owned(),
        );
    }
    for (key, value) in labels {
        let key_ok = !key.is_empty()
            && key.len() <= MAX_LABEL_KEY
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'));
        if !key_ok {
            return Err(format!(
                "label key '{}' must be 1-{MAX_LABEL_KEY} of A-Za-z0-9_.-/",
                excerpt(key)
            ));
        }
        if value.len() > MAX_LABEL_VALUE || value.chars().any(char::is_control) {
            return Err(format!(
                "label '{key}' must have a value of at most {MAX_LABEL_VALUE} bytes without control characters"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn names_and_labels_refused_say_why() {
        assert_eq!(check_name(Some("Sample 1 / trio")), Ok(()));
        assert!(check_name(Some("a\nb")).is_err());
        assert!(check_name(Some(&"x".repeat(MAX_NAME + 1))).is_err());
        assert_eq!(
            check_labels(&labels(&[("lab/run", "2026-11")]), false),
            Ok(())
        );
        let bad_key = check_labels(&labels(&[("a b", "x")]), false).expect_err("space in key");
        assert!(bad_key.contains("label key 'a b'"), "{bad_key}");
        assert!(check_labels(&labels(&[("k", "v\u{7}")]), false).is_err());
        let door = check_labels(&labels(&[]), true).expect_err("client's door label");
        assert!(door.contains("label 'door' is Hopper's"), "{door}");
    }
}
