//! What a scenario measured: a few named figures, some of them also as a share of a ceiling, and the
//! peak memory of the processes watched. Printed as a small table, or as one JSON line with `--json`.

use serde_json::{Map, Value, json};

use crate::latencies::Latencies;
use crate::memory::PeakMemory;

#[derive(Debug)]
pub(crate) struct Report {
    scenario: &'static str,
    setup: String,
    figures: Vec<Figure>,
    pub(crate) memory: PeakMemory,
    /// Set when requests or jobs failed: the figures are then printed but the run fails.
    pub(crate) error: Option<String>,
}

#[derive(Debug)]
struct Figure {
    key: String,
    value: f64,
    unit: &'static str,
    /// The ceiling this figure is compared with: its rate and what it is.
    ceiling: Option<(f64, &'static str)>,
}

impl Report {
    pub(crate) fn new(scenario: &'static str, setup: String) -> Self {
        Self {
            scenario,
            setup,
            figures: Vec::new(),
            memory: PeakMemory::default(),
            error: None,
        }
    }

    pub(crate) fn failed(scenario: &'static str, error: &str) -> Self {
        let mut report = Self::new(scenario, String::new());
        report.error = Some(error.to_owned());
        report
    }

    /// Adds a figure; `ceiling` (its value and name) makes it also shown as a share of that ceiling.
    pub(crate) fn figure(
        mut self,
        key: &str,
        value: f64,
        unit: &'static str,
        ceiling: Option<(f64, &'static str)>,
    ) -> Self {
        self.figures.push(Figure {
            key: key.to_owned(),
            value,
            unit,
            ceiling,
        });
        self
    }

    /// Adds `<prefix>p50_ms`, `<prefix>p99_ms` and `<prefix>max_ms`.
    pub(crate) fn latencies(self, prefix: &str, latencies: &Latencies) -> Self {
        self.figure(
            &format!("{prefix}p50_ms"),
            latencies.quantile_ms(0.5),
            "ms",
            None,
        )
        .figure(
            &format!("{prefix}p99_ms"),
            latencies.quantile_ms(0.99),
            "ms",
            None,
        )
        .figure(&format!("{prefix}max_ms"), latencies.max_ms(), "ms", None)
    }

    /// Records failed requests or jobs: the first one is shown, and the run will fail.
    pub(crate) fn errors(mut self, count: u64, first: Option<String>) -> Self {
        if count > 0 {
            self.error = Some(format!(
                "{count} request(s) failed; the first: {}",
                first.unwrap_or_default()
            ));
        }
        self
    }

    pub(crate) fn print(&self, json: bool) {
        if json {
            println!("{}", self.to_json());
        } else {
            println!("{}", self.to_table());
        }
    }

    fn memory_figures(&self) -> Vec<(&'static str, f64)> {
        let mib = |kib: Option<u64>| kib.map(|k| k as f64 / 1024.0);
        [
            ("api_peak_rss_mib", mib(self.memory.api_kib)),
            ("worker_peak_rss_mib", mib(self.memory.worker_kib)),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect()
    }

    fn to_json(&self) -> Value {
        let mut line = Map::new();
        line.insert("scenario".into(), json!(self.scenario));
        line.insert("setup".into(), json!(self.setup));
        for figure in &self.figures {
            line.insert(figure.key.clone(), json!(round(figure.value)));
            if let Some((ceiling, _)) = figure.ceiling {
                line.insert(
                    format!("{}_share_of_ceiling", figure.key),
                    json!(round(figure.value / ceiling)),
                );
            }
        }
        for (key, value) in self.memory_figures() {
            line.insert(key.into(), json!(round(value)));
        }
        line.insert("ok".into(), json!(self.error.is_none()));
        if let Some(error) = &self.error {
            line.insert("error".into(), json!(error));
        }
        Value::Object(line)
    }

    fn to_table(&self) -> String {
        let mut table = format!("\n{} ({})\n", self.scenario, self.setup);
        for figure in &self.figures {
            let share = figure
                .ceiling
                .map(|(ceiling, what)| {
                    format!(
                        "{:5.1} % of {} ({:.0}/s)",
                        100.0 * figure.value / ceiling,
                        what,
                        ceiling
                    )
                })
                .unwrap_or_default();
            let row = format!(
                "  {:<28} {:>12.2} {:<4} {share}",
                figure.key, figure.value, figure.unit
            );
            table += row.trim_end();
            table.push('\n');
        }
        for (key, value) in self.memory_figures() {
            table += &format!("  {key:<28} {value:>12.1} MiB\n");
        }
        if let Some(error) = &self.error {
            table += &format!("  FAILED: {error}\n");
        }
        table
    }
}

/// Three decimals are more than any figure here means.
fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A figure with a ceiling carries its share in the JSON line, and a failure makes `ok` false.
    #[test]
    fn json_line_has_shares_and_failure() {
        let report = Report::new("submit", "2 clients".into())
            .figure(
                "jobs_per_s",
                50.0,
                "/s",
                Some((200.0, "confirmed publishes")),
            )
            .errors(1, Some("boom".into()));
        let line = report.to_json();
        assert_eq!(line["jobs_per_s"], 50.0);
        assert_eq!(line["jobs_per_s_share_of_ceiling"], 0.25);
        assert_eq!(line["ok"], false);
        assert!(report.to_table().contains(" 25.0 % of confirmed publishes"));
    }
}
