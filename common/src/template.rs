//! The `${name}` placeholders of a job type's `program` and `args`, filled in two passes.
//!
//! The API fills a submit's inputs ([`fill`]) when it accepts the job; the worker fills
//! `${job_id}` and `${job_output_dir}` ([`fill_reserved`]) when it launches it, since only then do the
//! id and the directory exist. Both passes read the same little language:
//!
//! - `${name}` is a placeholder: `name` is 1-64 of `[A-Za-z0-9_]`;
//! - `$$` is one literal `$`, so `$${` is a literal `${`;
//! - any other `$` is itself (`$HOME` stays `$HOME`: nothing here is a shell).
//!
//! What the first pass hands the second is text in that same language, so nothing a submitter sends can
//! be taken for a placeholder by the worker: [`fill`] writes every `$` of an input's value as `$$`, and
//! keeps the template's own `$$` as it is. Escaping only the `${` of a value would not be enough: a value
//! ending in `$`, followed in the template by `{job_id}` (or by `${job_id}`), would make `${job_id}`
//! (or the escape `$${`) out of one character of the value and some of the template. Doubling every `$`
//! leaves no such seam, and the worker's pass gives back every value exactly.
//!
//! A value is inserted as part of one argument, whatever it holds (spaces, quotes, `;`): arguments are
//! never split or handed to a shell.

use std::collections::BTreeMap;

/// The placeholders the worker fills at launch; a type may use them without declaring them, and may not
/// declare an input of either name.
pub const RESERVED: [&str; 2] = ["job_id", "job_output_dir"];

/// Longest input (and placeholder) name.
const MAX_NAME: usize = 64;

/// Why a submit's inputs cannot fill a type's template. The submit is refused; nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FillError {
    /// The input at fault, as the submit (or the type) names it.
    pub input: String,
    pub message: String,
}

/// Whether `name` may name an input: 1-64 of `[A-Za-z0-9_]`.
pub fn is_input_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One step through a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    /// Text standing for itself (a lone `$` included).
    Text(&'a str),
    /// `$$`: one literal `$`.
    Dollar,
    /// `${name}`.
    Placeholder(&'a str),
    /// `${` that starts no placeholder (no `}`, or not a name before it). Refused in a type's file;
    /// taken as literal text by [`fill_reserved`], which must not fail at launch.
    Open,
}

/// The tokens of `text`, in order; together they cover all of it.
fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let (token, used) = if rest.is_empty() {
            return None;
        } else if rest.starts_with("$$") {
            (Token::Dollar, 2)
        } else if let Some(after) = rest.strip_prefix("${") {
            match after.split_once('}') {
                Some((name, _)) if is_input_name(name) => {
                    (Token::Placeholder(name), name.len() + 3)
                }
                _ => (Token::Open, 2),
            }
        } else if rest.starts_with('$') {
            (Token::Text("$"), 1)
        } else {
            let end = rest.find('$').unwrap_or(rest.len());
            (Token::Text(&rest[..end]), end)
        };
        rest = &rest[used..];
        Some(token)
    })
}

/// The placeholders `template` uses, in order, or why it is not a template: a `${` that starts no
/// placeholder is refused rather than taken literally, since it is almost always a typo (`${in put}`,
/// `${input`), and the operator can write `$${` when they mean it.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    for token in tokens(template) {
        match token {
            Token::Placeholder(name) => names.push(name),
            Token::Open => {
                return Err(format!(
                    "'{}' has a '${{' that starts no placeholder: write ${{name}} with a name of 1-{MAX_NAME} \
                     letters, digits and '_', or $${{ for a literal ${{",
                    crate::excerpt(template)
                ));
            }
            Token::Text(_) | Token::Dollar => {}
        }
    }
    Ok(names)
}

/// The first pass: `template` with each input's placeholder replaced by its value (every `$` of the
/// value written `$$`), and everything else (`$$`, `${job_id}`, `${job_output_dir}`) kept for
/// [`fill_reserved`]. `label` names the type in errors.
///
/// The caller has checked that `inputs` holds exactly the type's inputs; a placeholder that names none
/// of them (possible only in a type built by hand, not read from a file) is refused.
pub fn fill(
    template: &str,
    inputs: &BTreeMap<String, String>,
    label: &str,
) -> Result<String, FillError> {
    let mut filled = String::with_capacity(template.len());
    for token in tokens(template) {
        match token {
            Token::Text(text) => filled.push_str(text),
            Token::Dollar => filled.push_str("$$"),
            Token::Open => filled.push_str("${"),
            Token::Placeholder(name) if RESERVED.contains(&name) => {
                filled.push_str("${");
                filled.push_str(name);
                filled.push('}');
            }
            Token::Placeholder(name) => match inputs.get(name) {
                Some(value) => filled.push_str(&value.replace('$', "$$")),
                None => {
                    return Err(FillError {
                        input: name.to_owned(),
                        message: format!(
                            "type {label} uses ${{{name}}} but does not declare it as an input"
                        ),
                    });
                }
            },
        }
    }
    Ok(filled)
}

/// The second pass, for the worker at launch: `${job_id}` and `${job_output_dir}` replaced by their
/// values (inserted as they are), `$$` turned into `$`. Run it exactly once on each string
/// the API's `JobType::fill` returned (the program too, even with no placeholder in it,
/// since it may hold a `$$`): the input values in them come back exactly as submitted, and a value that
/// held `${job_id}` stays that text.
///
/// It never fails: text it cannot read as a placeholder (which the API's `JobType::fill`
/// never leaves) is kept as it is.
pub fn fill_reserved(arg: &str, job_id: &str, job_output_dir: &str) -> String {
    let mut filled = String::with_capacity(arg.len());
    for token in tokens(arg) {
        match token {
            Token::Text(text) => filled.push_str(text),
            Token::Dollar => filled.push('$'),
            Token::Open => filled.push_str("${"),
            Token::Placeholder("job_id") => filled.push_str(job_id),
            Token::Placeholder("job_output_dir") => filled.push_str(job_output_dir),
            Token::Placeholder(name) => {
                filled.push_str("${");
                filled.push_str(name);
                filled.push('}');
            }
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::*;

    fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    /// Both passes, as the API and then the worker run them.
    fn both(template: &str, pairs: &[(&str, &str)]) -> String {
        let first = fill(template, &inputs(pairs), "t 1.0").expect("the template fills");
        fill_reserved(&first, "J1", "/out/J1")
    }

    #[test]
    fn tokens_cover_the_text_and_read_placeholders_escapes_and_lone_dollars() {
        let text = "a$${b}$c${in_1}${x y}$";
        let read: Vec<Token<'_>> = tokens(text).collect();
        assert_eq!(
            read,
            [
                Token::Text("a"),
                Token::Dollar,
                Token::Text("{b}"),
                Token::Text("$"),
                Token::Text("c"),
                Token::Placeholder("in_1"),
                Token::Open,
                Token::Text("x y}"),
                Token::Text("$"),
            ]
        );
    }

    #[test]
    fn placeholders_are_listed_and_a_stray_open_is_refused_with_the_fix() {
        assert_eq!(
            placeholders("${a}-${job_id}$${not_one}").expect("valid"),
            ["a", "job_id"]
        );
        for bad in ["${input", "${in put}", "${}", "x${-}"] {
            let refused = placeholders(bad).expect_err(bad);
            assert!(refused.contains("$${ for a literal ${"), "{refused}");
        }
        let long = format!("${{{}}}", "a".repeat(MAX_NAME + 1));
        assert!(placeholders(&long).is_err());
    }

    #[test]
    fn inputs_are_filled_and_reserved_placeholders_and_escapes_are_left_for_the_worker() {
        let first = fill(
            "--in=${input}:${job_id}:$${x}:${job_output_dir}",
            &inputs(&[("input", "a b")]),
            "t 1.0",
        )
        .expect("fills");
        assert_eq!(first, "--in=a b:${job_id}:$${x}:${job_output_dir}");
        assert_eq!(
            fill_reserved(&first, "J1", "/out/J1"),
            "--in=a b:J1:${x}:/out/J1"
        );
    }

    #[test]
    fn a_value_holding_a_placeholder_is_not_expanded_by_the_worker() {
        assert_eq!(both("${v}", &[("v", "${job_id}")]), "${job_id}");
        assert_eq!(both("${v}", &[("v", "$${job_id}")]), "$${job_id}");
        assert_eq!(
            both("x${v}y", &[("v", "${job_output_dir}/$$")]),
            "x${job_output_dir}/$$y"
        );
    }

    /// The seams an escape of `${` alone would leave: a value's trailing `$` meeting template text.
    #[test]
    fn a_value_ending_in_a_dollar_does_not_join_the_template_around_it() {
        assert_eq!(both("${v}{job_id}", &[("v", "$")]), "${job_id}");
        assert_eq!(both("${v}${job_id}", &[("v", "a$")]), "a$J1");
        assert_eq!(both("${v}$${x}", &[("v", "$")]), "$${x}");
        assert_eq!(both("$$${v}", &[("v", "{job_id}")]), "${job_id}");
    }

    #[test]
    fn an_undeclared_placeholder_of_a_hand_built_type_is_refused_naming_it() {
        let refused = fill("${other}", &inputs(&[]), "t 1.0").expect_err("undeclared");
        assert_eq!(refused.input, "other");
        assert!(refused.message.contains("${other}"), "{refused}");
    }

    #[test]
    fn fill_reserved_keeps_what_it_cannot_read() {
        assert_eq!(
            fill_reserved("${unknown}${oops $5", "J1", "/o"),
            "${unknown}${oops $5"
        );
    }

    /// Whatever the values and wherever the template puts them, the worker's pass gives each value back
    /// exactly and expands only the template's own reserved placeholders.
    #[test]
    fn both_passes_give_back_every_value_exactly() {
        // Template text has no `{` of its own, so every `${` in a template comes from a piece that
        // means it; joined pieces still make escapes and placeholders of their neighbours.
        let piece = prop_oneof![
            Just("${a}".to_owned()),
            Just("${b}".to_owned()),
            Just("${job_id}".to_owned()),
            Just("$${".to_owned()),
            "[$}a-z_]{0,4}",
        ];
        let template = vec(piece, 0..8)
            .prop_map(|pieces| pieces.concat())
            .prop_filter("only a, b and job_id are placeholders", |template| {
                placeholders(template)
                    .is_ok_and(|names| names.iter().all(|n| ["a", "b", "job_id"].contains(n)))
            });
        let value = "[${}a-z_]{0,8}";
        let config = Config {
            cases: 2048,
            // Driven by hand, the runner cannot know the source file to store regressions next to.
            failure_persistence: None,
            ..Config::default()
        };
        let outcome = TestRunner::new(config).run(&(template, value, value), |(template, a, b)| {
            // The expected result: the template read once, with the values put in as they are.
            let mut expected = String::new();
            for token in tokens(&template) {
                match token {
                    Token::Text(text) => expected.push_str(text),
                    Token::Dollar => expected.push('$'),
                    Token::Placeholder("a") => expected.push_str(&a),
                    Token::Placeholder("b") => expected.push_str(&b),
                    Token::Placeholder("job_id") => expected.push_str("J1"),
                    Token::Placeholder(_) | Token::Open => prop_assert!(false, "{template}"),
                }
            }
            prop_assert_eq!(both(&template, &[("a", &a), ("b", &b)]), expected);
            Ok(())
        });
        if let Err(failure) = outcome {
            panic!("{failure}");
        }
    }
}
