//! The two numeric submit keys the TaskAPI door reads: `+MaxRuntime` (seconds) and `request_cpus`.
//!
//! In a submit description both are ClassAd expressions, so HTCondor would take `60*60` or
//! `RequestMemory/1024` too. This service evaluates no expressions: it takes a plain whole number,
//! with whitespace around it allowed, and says so when it gets anything else.

use std::time::Duration;

use super::excerpt;

/// The most CPUs a job may request.
pub(crate) const MAX_REQUEST_CPUS: u32 = 1024;

/// Why a numeric value was refused: which submit key, what it must be, and what was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: expected {expected}, got {}", excerpt(got))]
pub(crate) struct NumberError {
    /// The submit key as the client wrote it (`+MaxRuntime`, `request_cpus`).
    pub(crate) field: &'static str,
    expected: String,
    got: String,
}

/// `+MaxRuntime`: how long the job may run. `0` is accepted and returned as [`Duration::ZERO`]; what
/// it means is the door's decision.
pub(crate) fn parse_max_runtime(value: &str) -> Result<Duration, NumberError> {
    let expected = match whole_number(value) {
        Whole::Number(seconds) => return Ok(Duration::from_secs(seconds)),
        Whole::TooLarge => format!("a number of seconds no larger than {}", u64::MAX),
        Whole::Other => "a whole number of seconds, 0 or more, such as 3600".to_owned(),
    };
    Err(NumberError::new("+MaxRuntime", expected, value))
}

/// `request_cpus`: how many CPUs the job needs, from 1 to [`MAX_REQUEST_CPUS`].
pub(crate) fn parse_request_cpus(value: &str) -> Result<u32, NumberError> {
    let cpus = match whole_number(value) {
        Whole::Number(cpus) => u32::try_from(cpus).ok(),
        Whole::TooLarge | Whole::Other => None,
    };
    cpus.filter(|cpus| (1..=MAX_REQUEST_CPUS).contains(cpus))
        .ok_or_else(|| {
            NumberError::new(
                "request_cpus",
                format!("a whole number of CPUs from 1 to {MAX_REQUEST_CPUS}"),
                value,
            )
        })
}

/// What a value is, read as a plain whole number.
enum Whole {
    Number(u64),
    /// Only digits, but more than a `u64` holds.
    TooLarge,
    /// Empty, or something other than digits: a sign, a decimal point, an expression, a unit.
    Other,
}

/// Reads ASCII digits with optional whitespace around them, and nothing else.
fn whole_number(value: &str) -> Whole {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Whole::Other;
    }
    digits.parse().map_or(Whole::TooLarge, Whole::Number)
}

impl NumberError {
    fn new(field: &'static str, expected: String, got: &str) -> Self {
        Self {
            field,
            expected,
            got: got.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_runtime_is_a_whole_number_of_seconds_with_whitespace_allowed_around_it() {
        let cases = [
            ("0", 0),
            ("1", 1),
            ("3600", 3600),
            ("  3600\t", 3600),
            ("\n42\n", 42),
            ("007", 7),
            ("18446744073709551615", u64::MAX),
        ];
        for (value, seconds) in cases {
            assert_eq!(
                parse_max_runtime(value),
                Ok(Duration::from_secs(seconds)),
                "{value:?}"
            );
        }
    }

    #[test]
    fn max_runtime_refuses_anything_else_saying_what_it_expected() {
        for value in [
            "", " ", "-1", "+5", "1.5", "1e3", "1h", "60*60", "3 600", "\u{661}", "0x10", "ten",
        ] {
            let error = parse_max_runtime(value).expect_err(value);
            assert_eq!(error.field, "+MaxRuntime");
            assert_eq!(
                error.to_string(),
                format!(
                    "+MaxRuntime: expected a whole number of seconds, 0 or more, such as 3600, \
                     got {value:?}"
                )
            );
        }
        let error = parse_max_runtime("18446744073709551616").expect_err("too large");
        assert!(
            error
                .to_string()
                .contains("no larger than 18446744073709551615"),
            "{error}"
        );
    }

    #[test]
    fn request_cpus_is_a_whole_number_from_1_to_1024() {
        for (value, cpus) in [("1", 1), (" 8 ", 8), ("0016", 16), ("1024", 1024)] {
            assert_eq!(parse_request_cpus(value), Ok(cpus), "{value:?}");
        }
        for value in [
            "",
            "0",
            "1025",
            "4294967297",
            "99999999999999999999999",
            "-1",
            "+1",
            "1.0",
            "two",
            "RequestMemory/1024",
        ] {
            let error = parse_request_cpus(value).expect_err(value);
            assert_eq!(error.field, "request_cpus");
            assert_eq!(
                error.to_string(),
                format!(
                    "request_cpus: expected a whole number of CPUs from 1 to 1024, got {value:?}"
                )
            );
        }
    }
}
