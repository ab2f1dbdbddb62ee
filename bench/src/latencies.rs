//! Percentiles of request times, kept in an HDR histogram: constant memory however many requests, and
//! exact to 3 significant figures.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Request times in microseconds, from 1 µs to 10 minutes.
#[derive(Debug, Clone)]
pub(crate) struct Latencies(Histogram<u64>);

impl Latencies {
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self(Histogram::new_with_bounds(1, 600_000_000, 3)?))
    }

    pub(crate) fn record(&mut self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(micros.max(1));
    }

    pub(crate) fn merge(&mut self, other: &Latencies) {
        // Both sides have the same bounds, so adding cannot fail for want of range.
        let _ = self.0.add(&other.0);
    }

    /// The `q`-quantile (0.5 for the median) in milliseconds.
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64 / 1000.0
    }

    pub(crate) fn max_ms(&self) -> f64 {
        self.0.max() as f64 / 1000.0
    }
}
