//! The submit command `arguments`, read as `condor_submit` reads it
//! (`ArgList::AppendArgsV1WackedOrV2Quoted`, called from `SubmitHash::SetArguments`), into the argv
//! that follows the executable. No shell ever sees it.
//!
//! **Old syntax (V1)**, any value whose first character other than whitespace is not `"`: arguments
//! are separated by whitespace; `\"` is a literal `"`; a `"` without a backslash is an error
//! (`ArgList::V1WackedToV1Raw`); every other character is literal, single quotes and backslashes
//! included (`a\b` stays `a\b`, `\\"` is `\"`). There is no way to put whitespace in an argument.
//!
//! **New syntax (V2)**, the whole value in double quotes: see `super::syntax`. `""` is a literal `"`,
//! single quotes group text, `''` inside them is a literal `'`, and a backslash is an ordinary
//! character.
//!
//! Where HTCondor's code says more than `condor_submit`'s man page (docs/man-pages/htcondor-jdl.rst,
//! formerly condor_submit.rst), we follow the code (src/condor_utils/condor_arglist.cpp):
//! - Both syntaxes separate arguments at newline and carriage return as well as at the space and tab
//!   the man page names (`case ' ': case '\t': case '\n': case '\r':` in `split_args` and in
//!   `AppendArgsV1Raw_unix`).
//! - In V2, single quotes may cover part of an argument, not only the whole of it: `a'b c'd` is the
//!   one argument `ab cd` (`split_args` keeps filling the same token after the closing quote), and
//!   `''` on its own is an empty argument (`parsed_token = true` at the opening quote).
//! - In V2, whitespace may surround the outer double quotes (`while(isspace(*v1_input))` before and
//!   after, in `V2QuotedToV2Raw`), and anything else after the closing quote is an error: "Unexpected
//!   characters following double-quote".
//! - In V2, `""` becomes `"` before the words are split, so it is a literal `"` inside single quotes
//!   too (`AppendArgsV1WackedOrV2Quoted` calls `V2QuotedToV2Raw`, then `AppendArgsV2Raw`, which
//!   calls `split_args`).
//! - In V1, the man page explains `\"` but not what a `"` without a backslash does: it is an error
//!   (`V1WackedToV1Raw`: "Found illegal unescaped double-quote").
//! - On Windows, HTCondor hands a V1 string to the program verbatim; this service runs Unix programs,
//!   so V1 is split as on Unix, which is what `condor_submit` itself does (`UNKNOWN_ARGV1_SYNTAX`
//!   falls back to `AppendArgsV1Raw_unix`).

use super::syntax::{SyntaxError, is_separator, new_syntax_words, reject_nul};

/// Why an `arguments` value was refused; the message names the field, the problem and the character.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ArgumentsError {
    #[error("arguments: {0}")]
    Syntax(#[from] SyntaxError),
    #[error(
        "arguments: the double quote at character {at} needs a backslash before it (\\\") in the \
         old syntax, or enclose the whole value in double quotes to use the new syntax, where a \
         double quote is written as two (\"\")"
    )]
    BareDoubleQuote { at: usize },
}

/// The argv an `arguments` value stands for, in order; an empty or all-whitespace value is no
/// arguments.
pub(crate) fn parse_arguments(value: &str) -> Result<Vec<String>, ArgumentsError> {
    reject_nul(value)?;
    match new_syntax_words(value) {
        Some(words) => Ok(words?.into_iter().map(|word| word.text).collect()),
        None => old_syntax(value),
    }
}

/// V1, in HTCondor's two steps: `\"` becomes `"` and a bare `"` is refused (`V1WackedToV1Raw`), then
/// what is left is split at whitespace (`AppendArgsV1Raw_unix`).
fn old_syntax(value: &str) -> Result<Vec<String>, ArgumentsError> {
    let mut raw = String::with_capacity(value.len());
    let mut chars = value.chars().zip(1..).peekable();
    while let Some((c, at)) = chars.next() {
        match c {
            '"' => return Err(ArgumentsError::BareDoubleQuote { at }),
            '\\' if chars.next_if(|&(next, _)| next == '"').is_some() => raw.push('"'),
            _ => raw.push(c),
        }
    }
    Ok(raw
        .split(is_separator)
        .filter(|argument| !argument.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    fn parsed(value: &str) -> Vec<String> {
        parse_arguments(value).unwrap_or_else(|error| panic!("{value:?}: {error}"))
    }

    #[test]
    fn the_man_page_examples_give_the_man_pages_arguments() {
        let cases: [(&str, &[&str]); 4] = [
            (r#"one \"two\" 'three'"#, &["one", "\"two\"", "'three'"]),
            (r#""3 simple arguments""#, &["3", "simple", "arguments"]),
            (
                r#""one 'two with spaces' 3""#,
                &["one", "two with spaces", "3"],
            ),
            (
                r#""one ""two"" 'spacey ''quoted'' argument'""#,
                &["one", "\"two\"", "spacey 'quoted' argument"],
            ),
        ];
        for (value, argv) in cases {
            assert_eq!(parsed(value), argv, "{value:?}");
        }
    }

    #[test]
    fn old_syntax_splits_at_whitespace_and_only_backslash_quote_is_special() {
        let cases: [(&str, &[&str]); 14] = [
            ("", &[]),
            ("   ", &[]),
            ("\t \r\n", &[]),
            ("a", &["a"]),
            ("  a   b  ", &["a", "b"]),
            ("a\tb\nc\rd", &["a", "b", "c", "d"]),
            ("a\x0Bb\x0Cc", &["a\x0Bb\x0Cc"]),
            ("it's 'one two'", &["it's", "'one", "two'"]),
            (r"C:\dir\file.txt \n", &[r"C:\dir\file.txt", r"\n"]),
            (r#"\"quoted words\""#, &["\"quoted", "words\""]),
            (r#"a\"b"#, &["a\"b"]),
            (r#"a\\"b"#, &["a\\\"b"]),
            (r"trailing\", &["trailing\\"]),
            ("x=1 --flag=\u{e9}t\u{e9}", &["x=1", "--flag=\u{e9}t\u{e9}"]),
        ];
        for (value, argv) in cases {
            assert_eq!(parsed(value), argv, "{value:?}");
        }
    }

    #[test]
    fn new_syntax_follows_htcondors_quoting_rules() {
        let cases: [(&str, &[&str]); 17] = [
            (r#""""#, &[]),
            (r#""   ""#, &[]),
            (r#"  "a b"  "#, &["a", "b"]),
            ("\t\"a\"\n", &["a"]),
            ("\"a\tb\nc\rd\"", &["a", "b", "c", "d"]),
            (r#""''""#, &[""]),
            (r#""a '' b""#, &["a", "", "b"]),
            (r#""''''""#, &["'"]),
            (r#""it''s""#, &["its"]),
            (r#""'it''s'""#, &["it's"]),
            (r#""a' 'b c'd'e""#, &["a b", "cde"]),
            (r#""""""#, &["\""]),
            (r#""'a""b'""#, &["a\"b"]),
            (r#""'tab	inside'""#, &["tab\tinside"]),
            (r#""C:\dir\ \""""#, &[r"C:\dir\", r#"\""#]),
            ("\"'new\nline'\"", &["new\nline"]),
            ("\"a\x0Bb\"", &["a\x0Bb"]),
        ];
        for (value, argv) in cases {
            assert_eq!(parsed(value), argv, "{value:?}");
        }
    }

    #[test]
    fn errors_name_the_field_the_problem_and_the_character() {
        let cases = [
            ("a \"b", ArgumentsError::BareDoubleQuote { at: 3 }),
            ("a\"", ArgumentsError::BareDoubleQuote { at: 2 }),
            ("\\\"a\"", ArgumentsError::BareDoubleQuote { at: 4 }),
            (
                "\"abc",
                SyntaxError::UnterminatedDoubleQuote { at: 1 }.into(),
            ),
            (
                "\"a\"b\"",
                SyntaxError::TextAfterClosingQuote { quote: 3, at: 4 }.into(),
            ),
            (
                "\"one 'two three\"",
                SyntaxError::UnterminatedSingleQuote { at: 6 }.into(),
            ),
            ("a\0b", SyntaxError::Nul { at: 2 }.into()),
            ("\"a\0\"", SyntaxError::Nul { at: 3 }.into()),
        ];
        for (value, error) in cases {
            assert_eq!(parse_arguments(value), Err(error), "{value:?}");
        }
        let message = parse_arguments("\"x 'abc\"")
            .expect_err("unterminated")
            .to_string();
        assert!(
            message.starts_with("arguments: unterminated single quote starting at character 4;"),
            "{message}"
        );
    }

    /// Quotes each argument in single quotes, so that any text survives, and the whole in double
    /// quotes, as a client writing V2 would.
    fn quote_new_syntax(argv: &[String]) -> String {
        let words: Vec<String> = argv
            .iter()
            .map(|argument| format!("'{}'", argument.replace('\'', "''")))
            .collect();
        format!("\"{}\"", words.join(" ").replace('"', "\"\""))
    }

    proptest! {
        #[test]
        fn any_argv_quoted_in_the_new_syntax_parses_back_to_itself(
            argv in vec("\\PC*", 0..8)
        ) {
            prop_assert_eq!(parse_arguments(&quote_new_syntax(&argv)), Ok(argv));
        }

        #[test]
        fn any_value_parses_or_is_refused_naming_the_field(value in any::<String>()) {
            if let Err(error) = parse_arguments(&value) {
                prop_assert!(error.to_string().starts_with("arguments: "));
            }
        }
    }
}
