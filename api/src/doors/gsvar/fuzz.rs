//! Property tests of the GSvar front door's decoding. Whatever a client sends, from random bytes to
//! GSvar's own fields holding values of every JSON type, the node must not panic: it either decodes a
//! request (and admission then accepts it or refuses it with a reason) or refuses it with a 4xx and a
//! JSON body that names the problem.
//!
//! The runs are sized to take a few seconds; raise `CASES` locally to search harder.

use std::path::{Path, PathBuf};

use axum::response::IntoResponse;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};
use serde_json::{Number, Value};

use super::request::Action;
use super::{GsvarError, decode};
use crate::{Admission, Tokens};

const CASES: u32 = 512;
const SUBMIT_TOKEN: &str = "fuzz-submit";
const READ_TOKEN: &str = "fuzz-read";
const SCRIPT: &str = "analyze.php";
const MAX_THREADS: u32 = 256;

/// Every field GSvar sends, across its three actions.
const FIELDS: [&str; 11] = [
    "action",
    "token",
    "threads",
    "queues",
    "script",
    "script_args",
    "working_directory",
    "qe_job_id",
    "qe_job_queue",
    "qe_job_type",
    "unknown_field",
];

/// (a) Any bytes at all.
#[test]
fn arbitrary_bytes_never_panic() {
    let door = Door::new();
    check(vec(any::<u8>(), 0..4096), |bytes| door.answer(&bytes));
}

/// (b) Any JSON value, objects with GSvar's field names among their keys included.
#[test]
fn arbitrary_json_never_panics() {
    let door = Door::new();
    check(json_value(), |value| {
        door.answer(value.to_string().as_bytes())
    });
}

/// (c) Objects made of GSvar's own fields, each missing or holding a plausible or hostile value: huge
/// and negative numbers, NUL bytes, very long strings, deep nesting, every JSON type.
#[test]
fn gsvar_fields_with_hostile_values_never_panic() {
    let door = Door::new();
    let root = door.root().to_owned();
    check(gsvar_object(root), |body| door.answer(body.as_bytes()));
}

/// (d) A valid submit with one field changed: this reaches admission's checks far more often than (c).
#[test]
fn a_submit_with_one_hostile_field_never_panics() {
    let door = Door::new();
    let root = door.root().to_owned();
    check(submit_with_one_field_changed(root), |body| {
        door.answer(body.as_bytes())
    });
}

/// Runs `test` on `CASES` values of `strategy`; a failure shows the (shrunk) value that caused it.
fn check<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
    let config = Config {
        cases: CASES,
        // The runner is driven by hand, so it cannot know the source file to store regressions next to.
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(failure) = TestRunner::new(config).run(&strategy, test) {
        panic!("{failure}");
    }
}

/// A front door as a node has it: two tokens, and an admission policy over a throwaway work root that
/// holds one project folder and one script.
struct Door {
    tokens: Tokens,
    admission: Admission,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl Door {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the work root");
        let work = dir.path().join("work");
        let scripts = dir.path().join("scripts");
        std::fs::create_dir_all(work.join("project")).expect("create the project folder");
        std::fs::create_dir_all(&scripts).expect("create the script directory");
        std::fs::write(scripts.join(SCRIPT), "<?php\n").expect("create the script");
        Self {
            tokens: Tokens::parse(&format!("{SUBMIT_TOKEN},read:{READ_TOKEN}"))
                .expect("valid tokens"),
            admission: Admission {
                work_roots: vec![work],
                script_dirs: Some(vec![scripts]),
                max_threads: MAX_THREADS,
                tries: crate::TriesPolicy::default(),
            },
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime to read response bodies"),
            dir,
        }
    }

    fn root(&self) -> &Path {
        &self.admission.work_roots[0]
    }

    /// The whole decoding path for one body, and the checks on whatever it ends in.
    fn answer(&self, body: &[u8]) -> TestCaseResult {
        match decode(&self.tokens, body) {
            Ok(Action::Submit(job)) => match self.admission.admit(*job) {
                Ok(spec) => {
                    prop_assert!((1..=MAX_THREADS).contains(&spec.threads), "{spec:?}");
                    prop_assert!(!spec.queues.is_empty(), "{spec:?}");
                    prop_assert!(
                        spec.working_directory.starts_with(self.dir.path()),
                        "{spec:?}"
                    );
                    // No process can be given a NUL byte in a path or an argument: such a job could
                    // only fail on the worker, so it must be refused here.
                    let texts = spec.args.iter().chain([&spec.script]);
                    prop_assert!(!texts.clone().any(|t| t.contains('\0')), "{spec:?}");
                    prop_assert!(
                        !spec
                            .working_directory
                            .as_os_str()
                            .as_encoded_bytes()
                            .contains(&0),
                        "{spec:?}"
                    );
                }
                Err(refusal) => {
                    let reason = &refusal.reason;
                    prop_assert!(
                        ["threads", "queue", "script", "working directory"]
                            .iter()
                            .any(|topic| reason.contains(topic)),
                        "a refusal that names nothing: {reason}"
                    );
                }
            },
            Ok(Action::Update { .. } | Action::Delete { .. }) => {}
            Err(error) => self.refused(error)?,
        }
        Ok(())
    }

    /// A refusal answers 4xx with `{"result": <what is wrong>, "exit_code": 1}`, and what it names is
    /// something the client sent or should have sent.
    fn refused(&self, error: GsvarError) -> TestCaseResult {
        let message = error.to_string();
        let response = error.into_response();
        prop_assert!(
            response.status().is_client_error(),
            "{} for: {message}",
            response.status()
        );
        let body = self
            .runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .expect("an in-memory body");
        let reply: Value = serde_json::from_slice(&body).expect("a JSON body");
        prop_assert_eq!(reply["result"].as_str(), Some(message.as_str()));
        prop_assert_eq!(reply["exit_code"].as_i64(), Some(1));
        prop_assert!(
            ["JSON", "token", "action", "role", "field '"]
                .iter()
                .any(|topic| message.contains(topic)),
            "a refusal that names nothing: {message}"
        );
        if let Some((_, rest)) = message.split_once("field '") {
            let name = rest.split('\'').next().unwrap_or_default();
            prop_assert!(
                FIELDS.contains(&name),
                "names a field nobody sent: {message}"
            );
        }
        Ok(())
    }
}

/// Any JSON value, up to a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| {
            Number::from_f64(f).map(Value::Number)
        }),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 128, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Value::Array),
            btree_map(key(), inner, 0..8).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Any characters, NUL and the other controls included.
fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..32).prop_map(String::from_iter)
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
        text()
    ]
}

/// The text of a JSON object of GSvar's fields, each present or not. Built as text rather than as a
/// `Value`, so that it can carry what a `Value` cannot hold: numbers beyond any integer type, nesting
/// deeper than the parser accepts.
fn gsvar_object(root: PathBuf) -> impl Strategy<Value = String> {
    let fields: Vec<_> = FIELDS
        .iter()
        .zip(field_values(root))
        .map(|(name, value)| proptest::option::weighted(0.9, value).prop_map(move |v| (*name, v)))
        .collect();
    fields.prop_map(|fields| object(fields.into_iter().filter_map(|(name, v)| Some((name, v?)))))
}

/// The text of a submit that passes every check, but for one field, which holds a value from
/// [`field_values`] instead. Most such bodies get as far as admission.
fn submit_with_one_field_changed(root: PathBuf) -> impl Strategy<Value = String> {
    let valid = [
        json_string("submit"),
        json_string(SUBMIT_TOKEN),
        "2".to_owned(),
        r#"["default"]"#.to_owned(),
        json_string(SCRIPT),
        r#"["-name","Sample_1"]"#.to_owned(),
        json_string(&root.join("project").display().to_string()),
    ];
    let values = field_values(root);
    (0..values.len())
        .prop_flat_map(move |changed| (Just(changed), values[changed].clone()))
        .prop_map(move |(changed, value)| {
            let mut fields: Vec<(&str, String)> =
                FIELDS.iter().copied().zip(valid.clone()).collect();
            match fields.get_mut(changed) {
                Some(field) => field.1 = value,
                None => fields.push((FIELDS[changed], value)),
            }
            object(fields.into_iter())
        })
}

/// Plausible and hostile values for each of [`FIELDS`], in its order.
fn field_values(root: PathBuf) -> Vec<BoxedStrategy<String>> {
    vec![
        // Submits and the submit token come up most often: they lead furthest down the path.
        one_of(&[
            "submit", "submit", "submit", "update", "delete", "other", "",
        ]),
        one_of(&[
            SUBMIT_TOKEN,
            SUBMIT_TOKEN,
            SUBMIT_TOKEN,
            READ_TOKEN,
            "wrong",
        ]),
        threads(),
        string_list(one_of(&["default", "", "a b", ".hidden", "q.1_x-2"])),
        one_of(&[
            SCRIPT,
            "missing.php",
            "../analyze.php",
            "/bin/sh",
            "a\u{0}b",
        ]),
        string_list(raw(text())),
        working_directory(root),
        one_of(&["1", "0", "-1", "99999999999", "abc", ""]),
        one_of(&["default", ""]),
        one_of(&["single sample", ""]),
        hostile(),
    ]
}

fn object<'a>(members: impl Iterator<Item = (&'a str, String)>) -> String {
    let members: Vec<String> = members
        .map(|(name, value)| format!("{}:{value}", json_string(name)))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// One of `choices` as a JSON string, or a hostile value in its place.
fn one_of(choices: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        7 => proptest::sample::select(choices).prop_map(json_string),
        1 => hostile(),
    ]
    .boxed()
}

fn threads() -> BoxedStrategy<String> {
    prop_oneof![
        7 => (1..=MAX_THREADS).prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => hostile(),
    ]
    .boxed()
}

fn working_directory(root: PathBuf) -> BoxedStrategy<String> {
    let inside = [root.join("project"), root.join("missing"), root.clone()];
    let outside = ["/etc", "relative/dir", "/tmp/../etc", ""].map(PathBuf::from);
    let paths: Vec<String> = inside
        .iter()
        .chain(&outside)
        .map(|path| path.display().to_string())
        .collect();
    prop_oneof![
        7 => proptest::sample::select(paths).prop_map(|p| json_string(&p)),
        1 => text().prop_map(move |t| json_string(&format!("{}/{t}", root.display()))),
        1 => hostile(),
    ]
    .boxed()
}

/// A JSON array of `item`s, sometimes with a hostile item among them, or a hostile value instead.
fn string_list(item: BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![
        8 => vec(item, 0..6).prop_map(|items| format!("[{}]", items.join(","))),
        1 => vec(hostile(), 1..4).prop_map(|items| format!("[{}]", items.join(","))),
        1 => hostile(),
    ]
    .boxed()
}

fn raw(strings: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
    strings.prop_map(|s| json_string(&s)).boxed()
}

/// Values of every JSON type, and the kinds that break careless parsers. The ones that make the whole
/// body unparseable weigh little, so that most bodies still reach the checks after the parser.
fn hostile() -> BoxedStrategy<String> {
    prop_oneof![
        4 => json_value().prop_map(|value| value.to_string()),
        // Integers far beyond i64 and u64, negative ones, and exponents beyond f64.
        2 => "-?[1-9][0-9]{18,330}",
        1 => "-?[0-9]{1,3}(\\.[0-9]{1,4})?[eE][+-]?[0-9]{3,6}",
        1 => Just("-0".to_owned()),
        // Strings with NUL bytes, and strings far longer than any reply quotes.
        3 => vec(prop_oneof![Just('\u{0}'), any::<char>()], 0..64)
            .prop_map(|chars| json_string(&String::from_iter(chars))),
        1 => (1usize..200_000).prop_map(|n| json_string(&"é\u{0}x".repeat(n / 4 + 1))),
        // Nesting on both sides of the parser's depth limit (128).
        1 => (1usize..160).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        1 => (1usize..160).prop_map(|depth| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))),
    ]
    .boxed()
}

fn json_string(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}
