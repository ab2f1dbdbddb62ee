//! The submit command `environment`, read as `condor_submit` reads it
//! (`Env::MergeFromV1RawOrV2Quoted`, called from `SubmitHash::SetEnvironment`), into the variables
//! the job's process gets, in order. No shell ever sees them.
//!
//! **Old syntax (V1)**, any value whose first character other than whitespace is not `"`: entries
//! `NAME=value` separated by `;`. Quotes and backslashes have no meaning; spaces inside an entry and
//! at its end are kept.
//!
//! **New syntax (V2)**, the whole value in double quotes: entries separated by whitespace, with the
//! same quoting as `arguments` (`super::syntax`: `""` is `"`, single quotes group text, `''` inside
//! them is `'`), because HTCondor splits a V2 environment with the very function that splits V2
//! arguments (`split_args`, in `Env::MergeFromV2Raw`).
//!
//! In both, an entry is split at its first `=`: the name is what comes before (never empty, and so
//! never containing `=`), the value is everything after, further `=` included.
//!
//! Where HTCondor's code says more than `condor_submit`'s man page (docs/man-pages/htcondor-jdl.rst,
//! formerly condor_submit.rst), we follow the code (src/condor_utils/env.cpp):
//! - The man page says there is no way to put a literal `;` in a V1 value. The code lets the first
//!   character of the value choose the delimiter: if it is one of ``!#$%&*+,-/:;<>?@^`|~`` or
//!   `\x1F`, it is dropped and separates the entries instead of `;` (`Env::MergeFromV1AutoDelim` and
//!   `is_permitted_delim`: ``strchr("!#$%&*+,-/:;<>?@^`|~\x1F", ch)``). So `|A=1;2|B=3` sets `A`
//!   to `1;2`.
//! - In V1, a newline also ends an entry, and whitespace (space, tab, newline, carriage return) at the
//!   start of an entry is dropped, though the man page calls spaces literal
//!   (`ReadFromDelimitedString`: `while( *input==' ' || *input=='\t' || *input=='\n' || *input=='\r')`
//!   then `if(*input == '\n' || *input == delim)`). Empty entries (`A=1;;B=2`, a trailing `;`) are
//!   skipped.
//! - V2 separates entries at newline and carriage return too, allows whitespace around the outer
//!   double quotes and refuses text after them, exactly as for `arguments`.
//! - A name given twice keeps its last value (`_envTable[var] = val` in `Env::SetEnv`, a
//!   `std::map`); we keep it where the name first appeared, since the order of variables does not
//!   matter to a program.
//!
//! Where we refuse what HTCondor accepts, because this service cannot do what HTCondor does with it:
//! - An entry without `=` that contains `$$` is, for HTCondor, an unexpanded `$$()` machine-ad macro
//!   kept verbatim for the schedd to expand at match time (`if(delim == NULL && strstr(expr,"$$"))` in
//!   `Env::SetEnvWithErrorMessage`). There is no machine ad here, so it is refused with its own
//!   message.
//! - A V2 `''` (an empty entry) makes HTCondor fail with no message (`nameValueExpr[0] == '\0'` returns
//!   false before any message is written); we refuse it with one.

use std::collections::HashMap;

use super::excerpt;
use super::syntax::{SyntaxError, Word, is_separator, new_syntax_words, reject_nul};

/// The old syntax's delimiter when the value does not choose another.
const DEFAULT_DELIMITER: char = ';';

/// The characters that, first in a V1 value, become its delimiter (`is_permitted_delim` in env.cpp).
const PERMITTED_DELIMITERS: &str = "!#$%&*+,-/:;<>?@^`|~\x1F";

/// Why an `environment` value was refused; the message names the field, the problem and the character.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EnvironmentError {
    #[error("environment: {0}")]
    Syntax(#[from] SyntaxError),
    #[error(
        "environment: the entry {} at character {at} has no '='; write each entry as NAME=value",
        excerpt(entry)
    )]
    MissingEquals { entry: String, at: usize },
    #[error(
        "environment: the entry {} at character {at} has no variable name before its '='; write \
         each entry as NAME=value",
        excerpt(entry)
    )]
    MissingName { entry: String, at: usize },
    #[error(
        "environment: the entry at character {at} is empty (''); write each entry as NAME=value"
    )]
    EmptyEntry { at: usize },
    #[error(
        "environment: the entry {} at character {at} is an unexpanded $$() macro, which only \
         HTCondor's schedd can expand; write each entry as NAME=value",
        excerpt(entry)
    )]
    UnexpandedMacro { entry: String, at: usize },
}

/// The variables an `environment` value sets, as (name, value) pairs in the order the names first
/// appear; an empty or all-whitespace value sets none.
pub(crate) fn parse_environment(value: &str) -> Result<Vec<(String, String)>, EnvironmentError> {
    reject_nul(value)?;
    let entries = match new_syntax_words(value) {
        Some(words) => words?,
        None => old_syntax_entries(value),
    };
    let mut variables: Vec<(String, String)> = Vec::with_capacity(entries.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in entries {
        let (name, value) = name_and_value(entry)?;
        match index.get(&name) {
            Some(&slot) => variables[slot].1 = value,
            None => {
                index.insert(name.clone(), variables.len());
                variables.push((name, value));
            }
        }
    }
    Ok(variables)
}

/// V1's non-empty entries, each with the position of its first character once leading whitespace is
/// dropped.
fn old_syntax_entries(value: &str) -> Vec<Word> {
    let (delimiter, body, mut consumed) = match value.chars().next() {
        Some(first) if PERMITTED_DELIMITERS.contains(first) => {
            (first, &value[first.len_utf8()..], 1)
        }
        _ => (DEFAULT_DELIMITER, value, 0),
    };
    let mut entries = Vec::new();
    for piece in body.split([delimiter, '\n']) {
        let entry = piece.trim_start_matches(is_separator);
        let piece_length = piece.chars().count();
        let at = consumed + piece_length - entry.chars().count() + 1;
        // The piece and the delimiter or newline that ended it.
        consumed += piece_length + 1;
        if !entry.is_empty() {
            entries.push(Word {
                text: entry.to_owned(),
                at,
            });
        }
    }
    entries
}

/// Splits an entry at its first `=`, refusing what HTCondor refuses and what we cannot run.
fn name_and_value(Word { text, at }: Word) -> Result<(String, String), EnvironmentError> {
    match text.split_once('=') {
        Some(("", _)) => Err(EnvironmentError::MissingName { entry: text, at }),
        Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
        None if text.is_empty() => Err(EnvironmentError::EmptyEntry { at }),
        None if text.contains("$$") => Err(EnvironmentError::UnexpandedMacro { entry: text, at }),
        None => Err(EnvironmentError::MissingEquals { entry: text, at }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parsed(value: &str) -> Vec<(String, String)> {
        parse_environment(value).unwrap_or_else(|error| panic!("{value:?}: {error}"))
    }

    fn check(cases: &[(&str, &[(&str, &str)])]) {
        for &(value, expected) in cases {
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            assert_eq!(parsed(value), expected, "{value:?}");
        }
    }

    #[test]
    fn the_man_page_examples_give_the_man_pages_variables() {
        check(&[
            (
                r#""one=1 two=""2"" three='spacey ''quoted'' value'""#,
                &[
                    ("one", "1"),
                    ("two", "\"2\""),
                    ("three", "spacey 'quoted' value"),
                ],
            ),
            (
                r#"one=1;two=2;three="quotes have no 'special' meaning""#,
                &[
                    ("one", "1"),
                    ("two", "2"),
                    ("three", "\"quotes have no 'special' meaning\""),
                ],
            ),
        ]);
    }

    #[test]
    fn old_syntax_splits_at_semicolons_and_newlines_and_keeps_everything_else() {
        check(&[
            ("", &[]),
            ("   ", &[]),
            ("\t\r\n", &[]),
            ("A=1", &[("A", "1")]),
            ("A=1;B=2", &[("A", "1"), ("B", "2")]),
            ("A=1;;B=2;", &[("A", "1"), ("B", "2")]),
            ("A=1\nB=2", &[("A", "1"), ("B", "2")]),
            ("  A=1 ;\t B = 2 ", &[("A", "1 "), ("B ", " 2 ")]),
            ("A=", &[("A", "")]),
            ("A=b=c", &[("A", "b=c")]),
            ("A='x y';B=\\\"", &[("A", "'x y'"), ("B", "\\\"")]),
            ("P=/bin:/usr/bin", &[("P", "/bin:/usr/bin")]),
            ("A=1;A=2;B=3;A=4", &[("A", "4"), ("B", "3")]),
            ("\u{e9}T\u{e9}=\u{e0}", &[("\u{e9}T\u{e9}", "\u{e0}")]),
            ("A=1\x0BB=2", &[("A", "1\x0BB=2")]),
        ]);
    }

    #[test]
    fn old_syntax_lets_the_first_character_choose_the_delimiter() {
        check(&[
            (";A=1;B=2", &[("A", "1"), ("B", "2")]),
            ("|A=1;2|B=3", &[("A", "1;2"), ("B", "3")]),
            (",A=1,B=x;y", &[("A", "1"), ("B", "x;y")]),
            ("\x1FA=1\x1FB=2", &[("A", "1"), ("B", "2")]),
            ("-A=1-B=2\nC=3", &[("A", "1"), ("B", "2"), ("C", "3")]),
            (" |A=1|B=2", &[("|A", "1|B=2")]),
            ("_A=1;B=2", &[("_A", "1"), ("B", "2")]),
        ]);
    }

    #[test]
    fn new_syntax_separates_at_whitespace_and_quotes_as_arguments_do() {
        check(&[
            (r#""""#, &[]),
            (r#"  "  "  "#, &[]),
            (r#""A=1 B=2""#, &[("A", "1"), ("B", "2")]),
            (
                "\"A=1\tB=2\nC=3\rD=4\"",
                &[("A", "1"), ("B", "2"), ("C", "3"), ("D", "4")],
            ),
            (r#""A='x y' B=''""#, &[("A", "x y"), ("B", "")]),
            (r#""'A=x y'""#, &[("A", "x y")]),
            (r#""A=it''s B='it''s'""#, &[("A", "its"), ("B", "it's")]),
            (r#""A=""q"" B='a""b'""#, &[("A", "\"q\""), ("B", "a\"b")]),
            (r#""A=1;B=2""#, &[("A", "1;B=2")]),
            (r#""A=1 A=2""#, &[("A", "2")]),
            (r#""' A'=1""#, &[(" A", "1")]),
            (r#""A=\n""#, &[("A", "\\n")]),
        ]);
    }

    #[test]
    fn errors_name_the_field_the_problem_and_the_character() {
        let cases = [
            (
                "A=1;B",
                EnvironmentError::MissingEquals {
                    entry: "B".to_owned(),
                    at: 5,
                },
            ),
            (
                "A=1; =2",
                EnvironmentError::MissingName {
                    entry: "=2".to_owned(),
                    at: 6,
                },
            ),
            (
                "|A=1| x",
                EnvironmentError::MissingEquals {
                    entry: "x".to_owned(),
                    at: 7,
                },
            ),
            (
                "A=1;$$(Memory)",
                EnvironmentError::UnexpandedMacro {
                    entry: "$$(Memory)".to_owned(),
                    at: 5,
                },
            ),
            (
                "\"A=1 B\"",
                EnvironmentError::MissingEquals {
                    entry: "B".to_owned(),
                    at: 6,
                },
            ),
            (
                "\"A=1 '=x'\"",
                EnvironmentError::MissingName {
                    entry: "=x".to_owned(),
                    at: 6,
                },
            ),
            ("\"A=1 ''\"", EnvironmentError::EmptyEntry { at: 6 }),
            (
                "\"A='x\"",
                SyntaxError::UnterminatedSingleQuote { at: 4 }.into(),
            ),
            (
                "\"A=1",
                SyntaxError::UnterminatedDoubleQuote { at: 1 }.into(),
            ),
            (
                "\"A=1\" B=2",
                SyntaxError::TextAfterClosingQuote { quote: 5, at: 7 }.into(),
            ),
            ("A=\0", SyntaxError::Nul { at: 3 }.into()),
        ];
        for (value, error) in cases {
            assert_eq!(parse_environment(value), Err(error), "{value:?}");
        }
        let message = parse_environment("A=1;PATH").expect_err("no =").to_string();
        assert_eq!(
            message,
            "environment: the entry \"PATH\" at character 5 has no '='; write each entry as NAME=value"
        );
    }

    proptest! {
        #[test]
        fn any_value_parses_or_is_refused_naming_the_field(value in any::<String>()) {
            if let Err(error) = parse_environment(&value) {
                prop_assert!(error.to_string().starts_with("environment: "));
            }
        }
    }
}
