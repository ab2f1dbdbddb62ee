//! Scraping `/metrics` as Prometheus would: the answer must be Prometheus's text format (its media type,
//! a `# TYPE` line before every family's samples, well-formed labels and numbers), and tests then read
//! the samples by name and labels.

use std::collections::{BTreeMap, HashMap};

use reqwest::StatusCode;

/// One sample: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Debug)]
pub struct Metrics {
    pub samples: Vec<Sample>,
    /// Each family's type, from its `# TYPE` line.
    pub types: HashMap<String, String>,
}

/// GETs `url` (a `/metrics` endpoint) and parses it, failing the test if it is not the text format.
pub async fn scrape(url: &str) -> Metrics {
    let response = reqwest::get(url).await.expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("body");
    parse(&text).unwrap_or_else(|error| panic!("not Prometheus's text format: {error}\n{text}"))
}

impl Metrics {
    /// The sum of the samples of `name` whose labels include every one of `labels`; `None` if there is
    /// no such sample.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self.matching(name, labels).map(|s| s.value).collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// The samples of `name` whose labels include every one of `labels`.
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
    }

    /// [`sum`](Self::sum), 0 when there is no such sample (a counter not yet incremented).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.sum(name, labels).unwrap_or(0.0)
    }

    /// Every value label `label` takes among the samples of `name` with `labels`.
    pub fn label_values(&self, name: &str, labels: &[(&str, &str)], label: &str) -> Vec<String> {
        self.matching(name, labels)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }
}

/// Parses the text format, checking that each sample belongs to a family typed before it.
pub fn parse(text: &str) -> Result<Metrics, String> {
    let mut metrics = Metrics {
        samples: Vec::new(),
        types: HashMap::new(),
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or(format!("bad TYPE: {line}"))?;
            let known = ["counter", "gauge", "histogram", "summary", "untyped"];
            if !known.contains(&kind) {
                return Err(format!("unknown type: {line}"));
            }
            if metrics
                .types
                .insert(name.to_owned(), kind.to_owned())
                .is_some()
            {
                return Err(format!("family typed twice: {line}"));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let sample = sample(line)?;
        let family = family_of(&sample.name, &metrics.types)
            .ok_or(format!("sample before its # TYPE line: {line}"))?;
        if metrics.types[family] == "histogram" && sample.name == family {
            return Err(format!("a histogram sample without a suffix: {line}"));
        }
        metrics.samples.push(sample);
    }
    Ok(metrics)
}

/// The typed family a sample belongs to: its own name, or a histogram's or summary's with the suffix.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find(|base| types.contains_key(*base))
}

fn sample(line: &str) -> Result<Sample, String> {
    let (head, value) = line.rsplit_once(' ').ok_or(format!("no value: {line}"))?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().map_err(|_| format!("bad value: {line}"))?,
    };
    let (name, labels) = match head.split_once('{') {
        None => (head, BTreeMap::new()),
        Some((name, rest)) => {
            let rest = rest
                .strip_suffix('}')
                .ok_or(format!("unclosed labels: {line}"))?;
            (name, labels(rest).map_err(|e| format!("{e}: {line}"))?)
        }
    };
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid_name {
        return Err(format!("bad metric name: {line}"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `k="v",k2="v2"` with `\\`, `\"` and `\n` escapes in values.
fn labels(mut rest: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().ok_or("an unterminated label value")? {
                (at, '"') => break at,
                (_, '\\') => match chars.next().ok_or("a dangling escape")?.1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    _ => return Err("an unknown escape".to_owned()),
                },
                (_, c) => value.push(c),
            }
        };
        if labels.insert(key.to_owned(), value).is_some() {
            return Err(format!("label {key} given twice"));
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(labels)
}

/// The parser itself: escapes, families and their order.
#[test]
fn the_parser_reads_the_text_format_and_refuses_what_is_not() {
    let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{k=\"x\\\"y\",q=\"1\"} 3\n\
                # TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n";
    let metrics = parse(text).expect("valid");
    assert_eq!(metrics.sum("a_total", &[("k", "x\"y")]), Some(3.0));
    assert_eq!(metrics.sum("h_count", &[]), Some(2.0));
    assert_eq!(metrics.sum("a_total", &[("k", "other")]), None);
    assert!(parse("untyped_sample 1\n").is_err());
    assert!(parse("# TYPE a gauge\na{k=\"v} 1\n").is_err());
    assert!(parse("# TYPE a gauge\na one\n").is_err());
}
