//! The checks of one `[[type]]`, each pointing at the value it refuses: names, numbers, inputs,
//! templates, the program and the queues. What must be unique across the file is checked in
//! `parse.rs`, which sees every type.

use std::ops::Range;
use std::path::{Component, Path};

use toml::Spanned;

use hopper_common::{QueueName, check_script_name, excerpt, parse_duration};

use super::parse::{Located, Placed, RawType};
use super::{JobType, MAX_INPUTS};
use crate::jobs::limits::{MAX_ARGS, MAX_QUEUES};
use hopper_common::template::{self, RESERVED, is_input_name};

pub(super) const DEFAULT_VERSION: &str = "1.0";
pub(super) const MAX_NAME: usize = 64;
pub(super) const MAX_VERSION: usize = 32;
/// Longest absolute program path: Linux's `PATH_MAX`.
const MAX_PATH: usize = 4096;

/// What every table of the file (`[[type]]`, `[[recipe]]`) starts with, checked: its name, version
/// and id, where they were written, and how errors name the table (`[[type]] 2 (kml)`).
pub(super) struct Heading {
    pub at: String,
    pub name: String,
    pub name_at: usize,
    pub version: String,
    pub id: u32,
    pub id_at: usize,
    /// The id was not written: it is the table's position among its kind, from 1.
    pub id_by_position: bool,
}

/// Checks the heading of the `index`th table of `kind` (`type`, `recipe`), which starts at `header`.
pub(super) fn heading(
    kind: &str,
    index: usize,
    header: usize,
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    id: Option<&Spanned<i64>>,
) -> Result<Heading, Located> {
    let at = format!("[[{kind}]] {index}");
    let (name, name_at) = token(name, "name", MAX_NAME, &at)?;
    let at = format!("[[{kind}]] {index} ({name})");
    let version = match version {
        Some(version) => token(version, "version", MAX_VERSION, &at)?.0,
        None => DEFAULT_VERSION.to_owned(),
    };
    let (id, id_at, id_by_position) = match id {
        Some(id) => (number(id, 1, u32::MAX, "id", &at)?, id.span().start, false),
        None => (u32::try_from(index).unwrap_or(u32::MAX), header, true),
    };
    Ok(Heading {
        at,
        name,
        name_at,
        version,
        id,
        id_at,
        id_by_position,
    })
}

/// Every check of one type on its own; `header` is where its table starts, for the defaulted id.
pub(super) fn check(raw: RawType, index: usize, header: usize) -> Result<Placed, Located> {
    let Heading {
        at,
        name,
        name_at,
        version,
        id,
        id_at,
        id_by_position,
    } = heading(
        "type",
        index,
        header,
        raw.name,
        raw.version,
        raw.id.as_ref(),
    )?;
    let inputs = inputs(raw.inputs, &at)?;
    let program = raw.program.span();
    let program_text = raw.program.into_inner();
    uses_only(&program_text, program.clone(), "program", &inputs, &at)?;
    check_program(&program_text)
        .map_err(|problem| Located::at(program, format!("{at}: {problem}")))?;
    if let Some(extra) = raw.args.get(MAX_ARGS) {
        return Err(Located::at(
            extra.span(),
            format!("{at}: args lists more than {MAX_ARGS} arguments"),
        ));
    }
    let mut args = Vec::with_capacity(raw.args.len());
    for (n, arg) in raw.args.into_iter().enumerate() {
        let span = arg.span();
        let arg = arg.into_inner();
        uses_only(&arg, span, &format!("args[{n}]"), &inputs, &at)?;
        args.push(arg);
    }
    let queues = queues(raw.queues, &at)?;
    let timeout = match raw.timeout {
        Some(timeout) => Some(
            parse_duration(timeout.get_ref())
                .and_then(|t| {
                    if t.is_zero() {
                        Err(
                            "of 0 would stop every run at once; leave timeout out for no limit"
                                .to_owned(),
                        )
                    } else {
                        Ok(t)
                    }
                })
                .map_err(|problem| {
                    Located::at(timeout.span(), format!("{at}: timeout {problem}"))
                })?,
        ),
        None => None,
    };
    let optional = |value: &Option<Spanned<i64>>, key, low, high, default| match value {
        Some(value) => number(value, low, high, key, &at),
        None => Ok(default),
    };
    let threads = optional(&raw.threads, "threads", 1, u32::MAX, 1)?;
    let max_tries = optional(&raw.max_tries, "max_tries", 1, 100, 1)?;
    let memory_mb = match &raw.memory_mb {
        Some(memory) => Some(number(memory, 1, u32::MAX, "memory_mb", &at)?),
        None => None,
    };
    let priority = match &raw.priority {
        Some(priority) => number(priority, i32::MIN, i32::MAX, "priority", &at)?,
        None => 100,
    };
    Ok(Placed {
        job_type: JobType {
            name,
            version,
            id,
            title: raw.title,
            description: raw.description,
            category: raw.category,
            program: program_text,
            args,
            inputs,
            queues,
            threads,
            memory_mb,
            timeout,
            max_tries,
            priority,
            paused: raw.paused.unwrap_or(false),
        },
        name_at,
        id_at,
        id_by_position,
    })
}

/// A name or version: 1 to `max` of `[A-Za-z0-9_.-]`, safe in logs, URLs and file names. Returns it
/// with the offset where it is written.
pub(super) fn token(
    value: Spanned<String>,
    key: &str,
    max: usize,
    at: &str,
) -> Result<(String, usize), Located> {
    let text = value.get_ref();
    let fine = !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !fine {
        return Err(Located::at(
            value.span(),
            format!(
                "{at}: {key} '{}' must be 1-{max} characters of letters, digits, '_', '.' and '-'",
                excerpt(text)
            ),
        ));
    }
    let start = value.span().start;
    Ok((value.into_inner(), start))
}

pub(super) fn number<T>(
    value: &Spanned<i64>,
    low: T,
    high: T,
    key: &str,
    at: &str,
) -> Result<T, Located>
where
    T: TryFrom<i64> + PartialOrd + std::fmt::Display,
{
    let n = *value.get_ref();
    match T::try_from(n) {
        Ok(fits) if low <= fits && fits <= high => Ok(fits),
        _ => Err(Located::at(
            value.span(),
            format!("{at}: {key} is {n}; it must be from {low} to {high}"),
        )),
    }
}

fn inputs(declared: Vec<Spanned<String>>, at: &str) -> Result<Vec<String>, Located> {
    if let Some(extra) = declared.get(MAX_INPUTS) {
        return Err(Located::at(
            extra.span(),
            format!("{at}: inputs lists more than {MAX_INPUTS} names"),
        ));
    }
    let mut names: Vec<String> = Vec::with_capacity(declared.len());
    for input in declared {
        let name = input.get_ref();
        let problem = if !is_input_name(name) {
            format!(
                "input '{}' must be 1-64 characters of letters, digits and '_'",
                excerpt(name)
            )
        } else if RESERVED.contains(&name.as_str()) {
            format!(
                "input '{name}' is reserved: Hopper gives ${{{name}}} to every job; use it in args \
                 without declaring it"
            )
        } else if names.contains(name) {
            format!("input '{name}' is declared twice")
        } else {
            names.push(input.into_inner());
            continue;
        };
        return Err(Located::at(input.span(), format!("{at}: {problem}")));
    }
    Ok(names)
}

/// `template` is well formed, and every placeholder in it is an input of the type or a reserved one.
fn uses_only(
    template: &str,
    span: Range<usize>,
    what: &str,
    inputs: &[String],
    at: &str,
) -> Result<(), Located> {
    if template.contains('\0') {
        return Err(Located::at(
            span,
            format!("{at}: {what} holds a NUL character, which no program argument can carry"),
        ));
    }
    let used = template::placeholders(template)
        .map_err(|problem| Located::at(span.clone(), format!("{at}: {what} {problem}")))?;
    match used
        .into_iter()
        .find(|name| !RESERVED.contains(name) && !inputs.iter().any(|input| input == name))
    {
        None => Ok(()),
        Some(unknown) => {
            let declared = if inputs.is_empty() {
                "it declares none".to_owned()
            } else {
                inputs.join(", ")
            };
            Err(Located::at(
                span,
                format!(
                    "{at}: {what} uses ${{{unknown}}}, which is neither one of its inputs ({declared}) \
                     nor job_id or job_output_dir; add '{unknown}' to inputs, or write $${{ for a \
                     literal ${{"
                ),
            ))
        }
    }
}

/// A program Hopper may run: a bare file name (which the worker looks up among its script
/// directories), or an absolute path with no `..` that could climb out of the directory it names.
/// `${job_output_dir}` stands for an absolute path and `${job_id}` for a plain name, so
/// `${job_output_dir}/run.sh` passes and `x${job_output_dir}` does not.
pub(super) fn check_program(program: &str) -> Result<(), String> {
    let resolved = template::fill_reserved(program, "0", "/job-output-dir");
    if !resolved.starts_with('/') {
        return check_script_name(&resolved).map_err(|_| {
            format!(
                "program '{}' is neither a bare file name (no '/', not starting with '.') nor an \
                 absolute path",
                excerpt(program)
            )
        });
    }
    let problem = if resolved.len() > MAX_PATH {
        format!("is longer than {MAX_PATH} bytes")
    } else if resolved.chars().any(char::is_control) {
        "holds a control character".to_owned()
    } else if Path::new(&resolved)
        .components()
        .any(|c| c == Component::ParentDir)
    {
        "holds '..'; write the path without it".to_owned()
    } else {
        return Ok(());
    };
    Err(format!("program '{}' {problem}", excerpt(program)))
}

fn queues(listed: Spanned<Vec<Spanned<String>>>, at: &str) -> Result<Vec<QueueName>, Located> {
    let span = listed.span();
    let listed = listed.into_inner();
    if listed.is_empty() {
        return Err(Located::at(
            span,
            format!("{at}: queues is empty; name at least one queue its jobs may run in"),
        ));
    }
    if let Some(extra) = listed.get(MAX_QUEUES) {
        return Err(Located::at(
            extra.span(),
            format!("{at}: queues lists more than {MAX_QUEUES} queues"),
        ));
    }
    let mut queues: Vec<QueueName> = Vec::with_capacity(listed.len());
    for queue in listed {
        let problem = match QueueName::parse(queue.get_ref()) {
            Ok(name) if queues.contains(&name) => format!("queue '{name}' is listed twice"),
            Ok(name) => {
                queues.push(name);
                continue;
            }
            Err(problem) => problem,
        };
        return Err(Located::at(queue.span(), format!("{at}: {problem}")));
    }
    Ok(queues)
}
