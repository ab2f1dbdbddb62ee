//! A job types file, from text to checked [`JobType`]s, or to one message naming the first problem and
//! its line.
//!
//! `toml` parses the document and keeps the byte span of every key and value; `serde` maps each
//! `[[type]]` onto [`RawType`] (refusing unknown keys and wrong value types); the checks of `check.rs`
//! then point at the spans of the values they refuse. Line and column are worked out from the span only
//! when a message is written. `[[recipe]]` tables are checked by `recipe_check.rs`, once every type is
//! known.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use hopper_common::excerpt;

use super::check::check;
use super::recipe::RecipeType;
use super::{JobType, recipe_check};

/// Every key a `[[type]]` may have, for the message that refuses any other. Must list the fields of
/// [`RawType`]; a test checks a file using all of them.
pub(super) const KEYS: [&str; 16] = [
    "name",
    "version",
    "id",
    "title",
    "description",
    "category",
    "program",
    "args",
    "inputs",
    "queues",
    "threads",
    "memory_mb",
    "timeout",
    "max_tries",
    "priority",
    "paused",
];
/// One `[[type]]` as written. Integers are read as TOML's own `i64` and ranged by the checks, so an
/// out-of-range value gets a message naming its key and its bounds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawType {
    pub(super) name: Spanned<String>,
    pub(super) version: Option<Spanned<String>>,
    pub(super) id: Option<Spanned<i64>>,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) category: Option<String>,
    pub(super) program: Spanned<String>,
    #[serde(default)]
    pub(super) args: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) inputs: Vec<Spanned<String>>,
    pub(super) queues: Spanned<Vec<Spanned<String>>>,
    pub(super) threads: Option<Spanned<i64>>,
    pub(super) memory_mb: Option<Spanned<i64>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) max_tries: Option<Spanned<i64>>,
    pub(super) priority: Option<Spanned<i64>>,
    pub(super) paused: Option<bool>,
}

/// A problem, and the bytes of the file it is about (none when `toml` gave no position).
#[derive(Debug)]
pub(super) struct Located {
    pub(super) span: Option<Range<usize>>,
    pub(super) problem: String,
}

impl Located {
    pub(super) fn at(span: Range<usize>, problem: impl Into<String>) -> Self {
        Self {
            span: Some(span),
            problem: problem.into(),
        }
    }
}

/// A checked type, and where the file defines what must be unique.
pub(super) struct Placed {
    pub(super) job_type: JobType,
    pub(super) name_at: usize,
    pub(super) id_at: usize,
    /// The id is the type's position in the file, as it sets none.
    pub(super) id_by_position: bool,
}

pub(super) fn parse(text: &str, origin: &str) -> Result<(Vec<JobType>, Vec<RecipeType>), String> {
    read(text).map_err(|located| {
        let place = located
            .span
            .map(|span| place(text, span.start))
            .unwrap_or_default();
        format!("job types file {origin}{place}: {}", located.problem)
    })
}

/// `, line L` (and `, column C` when the problem is not at the start of its line).
fn place(text: &str, offset: usize) -> String {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = line_of(text, offset);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |n| n + 1);
    // Columns count characters: a byte that continues a UTF-8 character is not one.
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    if column == 1 {
        format!(", line {line}")
    } else {
        format!(", line {line}, column {column}")
    }
}

/// The line (from 1) that byte `offset` of `text` is on.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn read(text: &str) -> Result<(Vec<JobType>, Vec<RecipeType>), Located> {
    let document = DeTable::parse(text).map_err(|error| Located {
        span: error.span(),
        problem: format!("not valid TOML: {}", error.message().trim_end()),
    })?;
    let mut placed: Vec<Placed> = Vec::new();
    // Recipes name types, which may be written below them: they are checked once every type is read.
    let mut recipes = Vec::new();
    for (key, value) in document.into_inner() {
        let table = match key.get_ref().as_ref() {
            "type" => "type",
            "recipe" => "recipe",
            other => {
                return Err(Located::at(
                    key.span(),
                    format!(
                        "unknown key '{}' at the top of the file; the file holds only [[type]] and \
                         [[recipe]] tables",
                        excerpt(other)
                    ),
                ));
            }
        };
        let span = value.span();
        let DeValue::Array(entries) = value.into_inner() else {
            return Err(Located::at(
                span,
                format!(
                    "'{table}' must be a list of tables: start each {table} with a [[{table}]] line"
                ),
            ));
        };
        if table == "recipe" {
            recipes.extend(entries.iter().cloned());
            continue;
        }
        for entry in entries.iter() {
            let index = placed.len() + 1;
            let entry_at = entry.span();
            if !matches!(entry.get_ref(), DeValue::Table(_)) {
                return Err(Located::at(
                    entry_at,
                    format!(
                        "[[type]] {index} is not a table: start each type with a [[type]] line"
                    ),
                ));
            }
            let raw = RawType::deserialize(ValueDeserializer::from(entry.clone()))
                .map_err(|error| serde_problem(&error, index))?;
            let checked = check(raw, index, entry_at.start)?;
            unique(text, &placed, &checked)?;
            placed.push(checked);
        }
    }
    let types: Vec<JobType> = placed.into_iter().map(|p| p.job_type).collect();
    let recipes = recipe_check::recipes(text, &types, &recipes)?;
    Ok((types, recipes))
}

/// `serde`'s words for a type that does not fit [`RawType`], in the file's terms.
fn serde_problem(error: &toml::de::Error, index: usize) -> Located {
    let message = error.message().trim_end();
    let problem = if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        format!(
            "unknown key '{}' in [[type]] {index}; a type may have {}",
            excerpt(key),
            KEYS.join(", ")
        )
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        format!("[[type]] {index} has no '{key}', which every type needs")
    } else {
        format!("[[type]] {index}: {}", serde_words(message))
    };
    Located {
        span: error.span(),
        problem,
    }
}

/// `serde`'s message for a value of the wrong kind, in TOML's words.
pub(super) fn serde_words(message: &str) -> String {
    message
        .trim_end()
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
}

/// `next` repeats no earlier type's name and version, nor its id.
fn unique(text: &str, earlier: &[Placed], next: &Placed) -> Result<(), Located> {
    let new = &next.job_type;
    if let Some(twin) = earlier
        .iter()
        .find(|p| p.job_type.name == new.name && p.job_type.version == new.version)
    {
        return Err(Located::at(
            next.name_at..next.name_at,
            format!(
                "type '{}' version '{}' is defined twice (also at line {}); give one of them another \
                 version",
                new.name,
                new.version,
                line_of(text, twin.name_at)
            ),
        ));
    }
    let Some(holder) = earlier.iter().find(|p| p.job_type.id == new.id) else {
        return Ok(());
    };
    let whose = if next.id_by_position {
        format!(
            "type {} sets no id, so its id is its position in the file, {}",
            new.label(),
            new.id
        )
    } else {
        format!("type {} has id {}", new.label(), new.id)
    };
    let by_position = if holder.id_by_position {
        ", as its position in the file"
    } else {
        ""
    };
    Err(Located::at(
        next.id_at..next.id_at,
        format!(
            "{whose}, which type {} (line {}) has too{by_position}; ids must be unique: give one of \
             them another id",
            holder.job_type.label(),
            line_of(text, holder.id_at),
        ),
    ))
}
