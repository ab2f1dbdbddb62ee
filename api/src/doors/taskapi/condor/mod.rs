//! HTCondor's submit-description syntax, for the values of `subParams` the TaskAPI door accepts.
//!
//! Clients of that door describe jobs as they would to `condor_submit`, and they expect a value to
//! mean what it means to HTCondor. So `arguments` and `environment` are read here exactly as
//! HTCondor's own code reads them (src/condor_utils/condor_arglist.cpp and env.cpp, both syntaxes,
//! old and new), into an argv and (name, value) pairs that the door hands to the process it starts
//! directly: no shell ever parses them, so nothing in them is expanded, globbed or redirected. Where
//! the code and `condor_submit`'s man page disagree we follow the code, and each file says where.
//! `+MaxRuntime` and `request_cpus` are the two numbers the door needs.
//!
//! Every error is a sentence that names the field, says what is wrong and, for the quoted fields, at
//! which character (counted from 1, in characters, not bytes), so that the door can return it as is.
//! A NUL character is refused in both fields: HTCondor, which keeps C strings, can never be given
//! one, and no program can receive one.

mod arguments;
mod environment;
mod numbers;
mod syntax;

pub(crate) use arguments::parse_arguments;
pub(crate) use environment::parse_environment;
pub(crate) use numbers::{parse_max_runtime, parse_request_cpus};

/// The most characters of a client's text an error repeats, so that a huge value cannot make a huge
/// message.
const EXCERPT_CHARS: usize = 60;

/// A client's text as an error shows it: quoted and escaped, so that whitespace and control
/// characters are visible, and cut short if long.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_quoted_escaped_and_cut_after_60_characters() {
        assert_eq!(excerpt("a\tb"), "\"a\\tb\"");
        let long = "é".repeat(61);
        assert_eq!(excerpt(&long), format!("\"{}\"…", "é".repeat(60)));
        assert_eq!(excerpt(&long[..120]), format!("\"{}\"", "é".repeat(60)));
    }
}
