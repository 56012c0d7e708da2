//! A criterion measurement of a ratio: a candidate's time over its
//! baseline's, the two timed in alternation (one batch of each in turn).
//! On a virtual machine whose speed drifts over seconds, two benchmarks
//! timed one after the other can each catch a different speed; timed in
//! turn, both see the same. Criterion plans its iteration counts from wall
//! time, so only the figure it reports changes: each sample's value per
//! iteration is the sum of the candidate's times over the sum of the
//! baseline's.

use std::time::Duration;

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// The measurement: use `iter_custom` returning [`PairedTimes`].
pub(crate) struct Paired;

/// The summed times of the candidate and the baseline over some
/// iterations.
#[derive(Clone, Copy, Default)]
pub(crate) struct PairedTimes {
    candidate: Duration,
    baseline: Duration,
    iterations: u64,
}

impl PairedTimes {
    /// Adds one iteration's times.
    pub(crate) fn add(&mut self, candidate: Duration, baseline: Duration) {
        self.candidate += candidate;
        self.baseline += baseline;
        self.iterations += 1;
    }
}

impl Measurement for Paired {
    type Intermediate = ();
    type Value = PairedTimes;

    fn start(&self) {}

    // Only `iter_custom` gives a paired value; `iter` measures nothing.
    fn end(&self, _: ()) -> PairedTimes {
        PairedTimes::default()
    }

    fn add(&self, a: &PairedTimes, b: &PairedTimes) -> PairedTimes {
        PairedTimes {
            candidate: a.candidate + b.candidate,
            baseline: a.baseline + b.baseline,
            iterations: a.iterations + b.iterations,
        }
    }

    fn zero(&self) -> PairedTimes {
        PairedTimes::default()
    }

    /// The candidate's time over the baseline's, times the iterations:
    /// criterion divides a sample's value by its iteration count and
    /// reports the ratio.
    fn to_f64(&self, value: &PairedTimes) -> f64 {
        let baseline = value.baseline.as_secs_f64();
        if baseline > 0.0 {
            value.candidate.as_secs_f64() / baseline * value.iterations as f64
        } else {
            0.0
        }
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &RatioFormatter
    }
}

/// Prints ratios with an `x`.
struct RatioFormatter;

impl ValueFormatter for RatioFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "x"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &Throughput,
        _values: &mut [f64],
    ) -> &'static str {
        "x"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ratio"
    }
}
