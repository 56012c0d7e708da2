//! Rate control: the token-bucket [`RateLimiter`] that `store` waits on
//! (`spark.streaming.receiver.maxRate`) and the [`PidRateEstimator`] that
//! backpressure (`spark.streaming.backpressure.enabled`) uses to lower or
//! raise that rate from completed batches, ported from Spark's
//! `PIDRateEstimator`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::StreamingConf;

use crate::error::SourceError;

/// A token bucket limiting records per second; a rate of 0 means
/// unlimited. The rate can change while receivers wait on it.
///
/// ```
/// use ember_sources::receiver::RateLimiter;
/// let limiter = RateLimiter::new(0);
/// assert_eq!(limiter.rate(), 0);
/// limiter.set_rate(1000);
/// assert_eq!(limiter.rate(), 1000);
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    rate: AtomicU64,
    max_rate: u64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Permits available (negative: owed, callers sleep them off).
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A limiter at `rate` records per second (0 = unlimited), which
    /// [`set_rate`](Self::set_rate) never raises above `rate` when it is
    /// non-zero (`maxRate` is a ceiling for backpressure too).
    pub fn new(rate: u64) -> Self {
        Self::with_ceiling(rate, rate)
    }

    /// A limiter starting at `rate` whose updates are capped at `max_rate`
    /// (0 = no cap).
    pub fn with_ceiling(rate: u64, max_rate: u64) -> Self {
        RateLimiter {
            rate: AtomicU64::new(rate),
            max_rate,
            bucket: Mutex::new(Bucket {
                tokens: 0.0,
                last: Instant::now(),
            }),
        }
    }

    /// The current rate in records per second (0 = unlimited).
    pub fn rate(&self) -> u64 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Changes the rate (capped by the ceiling, at least 1 record/s).
    pub fn set_rate(&self, rate: u64) {
        let rate = if self.max_rate > 0 {
            rate.min(self.max_rate)
        } else {
            rate
        }
        .max(1);
        self.rate.store(rate, Ordering::Relaxed);
    }

    /// How many records a caller should take permits for at once at the
    /// current rate: about a twentieth of a second's worth, 1 to `cap`.
    pub fn chunk_size(&self, cap: usize) -> usize {
        match self.rate() {
            0 => cap,
            rate => ((rate / 20) as usize).clamp(1, cap),
        }
    }

    /// Waits until `n` records may be stored. Returns
    /// [`SourceError::Stopped`] as soon as `stopped` becomes true.
    pub fn acquire(&self, n: usize, stopped: &AtomicBool) -> Result<(), SourceError> {
        let rate = self.rate();
        if rate == 0 {
            return Ok(());
        }
        let wait = {
            let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
            bucket.last = now;
            // At most a fifth of a second's burst accumulates while idle.
            let burst = (rate as f64 / 5.0).max(1.0);
            bucket.tokens = (bucket.tokens + elapsed * rate as f64).min(burst);
            bucket.tokens -= n as f64;
            if bucket.tokens >= 0.0 {
                StdDuration::ZERO
            } else {
                StdDuration::from_secs_f64(-bucket.tokens / rate as f64)
            }
        };
        let deadline = Instant::now() + wait;
        loop {
            if stopped.load(Ordering::Relaxed) {
                return Err(SourceError::Stopped);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            std::thread::sleep((deadline - now).min(StdDuration::from_millis(20)));
        }
    }
}

/// Spark's PID rate estimator: from each completed batch's size and
/// delays, the ingestion rate (records/s) the pipeline can sustain.
///
/// ```
/// use ember_sources::receiver::PidRateEstimator;
/// let mut pid = PidRateEstimator::new(20, 1.0, 0.0, 0.0, 10.0)?;
/// assert_eq!(pid.compute(0, 10, 10, 0), None); // the first batch only calibrates
/// assert_eq!(pid.compute(10, 10, 10, 0), Some(1000.0));
/// # Ok::<(), ember_sources::SourceError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PidRateEstimator {
    batch_interval_millis: u64,
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    first_run: bool,
    latest_time: i64,
    latest_rate: f64,
    latest_error: f64,
}

/// Spark's defaults: proportional 1.0, integral 0.2, derivative 0.0,
/// minimum rate 100 records/s.
pub const PID_DEFAULTS: (f64, f64, f64, f64) = (1.0, 0.2, 0.0, 100.0);

impl PidRateEstimator {
    /// An estimator for a batch interval (ms) with the given gains and
    /// minimum rate (gains ≥ 0, interval and minimum rate > 0).
    pub fn new(
        batch_interval_millis: u64,
        proportional: f64,
        integral: f64,
        derivative: f64,
        min_rate: f64,
    ) -> Result<Self, SourceError> {
        let check = |ok: bool, key: &str, value: f64, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(SourceError::InvalidConf {
                    key: key.to_owned(),
                    value: value.to_string(),
                    reason: reason.to_owned(),
                })
            }
        };
        check(
            batch_interval_millis > 0,
            "batch interval",
            batch_interval_millis as f64,
            "must be positive",
        )?;
        check(
            proportional >= 0.0,
            "spark.streaming.backpressure.pid.proportional",
            proportional,
            "must be at least 0",
        )?;
        check(
            integral >= 0.0,
            "spark.streaming.backpressure.pid.integral",
            integral,
            "must be at least 0",
        )?;
        check(
            derivative >= 0.0,
            "spark.streaming.backpressure.pid.derived",
            derivative,
            "must be at least 0",
        )?;
        check(
            min_rate > 0.0,
            "spark.streaming.backpressure.pid.minRate",
            min_rate,
            "must be positive",
        )?;
        Ok(PidRateEstimator {
            batch_interval_millis,
            proportional,
            integral,
            derivative,
            min_rate,
            first_run: true,
            latest_time: -1,
            latest_rate: -1.0,
            latest_error: -1.0,
        })
    }

    /// An estimator configured from `spark.streaming.backpressure.pid.*`
    /// (`proportional`, `integral`, `derived`, `minRate`; Spark's defaults).
    pub fn from_conf(
        conf: &StreamingConf,
        batch_interval_millis: u64,
    ) -> Result<Self, SourceError> {
        let (p, i, d, min) = PID_DEFAULTS;
        Self::new(
            batch_interval_millis,
            float(conf, "spark.streaming.backpressure.pid.proportional", p)?,
            float(conf, "spark.streaming.backpressure.pid.integral", i)?,
            float(conf, "spark.streaming.backpressure.pid.derived", d)?,
            float(conf, "spark.streaming.backpressure.pid.minRate", min)?,
        )
    }

    /// The new rate from a completed batch: `time` when it completed (ms,
    /// increasing), `num_elements` it held, its processing and scheduling
    /// delays (ms). `None` when no estimate is made (the first batch, an
    /// empty batch, zero processing delay, or no time elapsed).
    pub fn compute(
        &mut self,
        time: i64,
        num_elements: u64,
        processing_delay: u64,
        scheduling_delay: u64,
    ) -> Option<f64> {
        if !(time > self.latest_time && num_elements > 0 && processing_delay > 0) {
            tracing::trace!("rate estimation skipped");
            return None;
        }
        // In seconds, should be close to the batch interval.
        let delay_since_update = (time - self.latest_time) as f64 / 1000.0;
        // Records per second.
        let processing_rate = num_elements as f64 / processing_delay as f64 * 1000.0;
        // The desired rate is the latest estimate; the error is how far the
        // measured rate is from it.
        let error = self.latest_rate - processing_rate;
        // Scheduling delay s means s · processing_rate records overflowed;
        // spread over a batch interval that is the historical error.
        let historical_error =
            scheduling_delay as f64 * processing_rate / self.batch_interval_millis as f64;
        // Records per second squared.
        let d_error = (error - self.latest_error) / delay_since_update;
        let new_rate = (self.latest_rate
            - self.proportional * error
            - self.integral * historical_error
            - self.derivative * d_error)
            .max(self.min_rate);
        tracing::trace!(
            time,
            latest_rate = self.latest_rate,
            error,
            latest_error = self.latest_error,
            historical_error,
            d_error,
            "pid rate estimator"
        );
        self.latest_time = time;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            tracing::trace!("first run, rate estimation skipped");
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            tracing::trace!(new_rate, "new rate");
            Some(new_rate)
        }
    }
}

/// A floating-point setting, or `default` when unset.
pub(crate) fn float(conf: &StreamingConf, key: &str, default: f64) -> Result<f64, SourceError> {
    match conf.get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| SourceError::InvalidConf {
                key: key.to_owned(),
                value: v.to_owned(),
                reason: "expected a number".to_owned(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(p: f64, i: f64, d: f64, min: f64) -> PidRateEstimator {
        PidRateEstimator::new(20, p, i, d, min).unwrap()
    }

    #[test]
    fn first_estimate_is_skipped_and_second_follows_processing_rate() {
        let mut p = pid(1.0, 0.0, 0.0, 10.0);
        assert_eq!(p.compute(0, 10, 10, 0), None);
        assert_eq!(p.compute(10, 10, 10, 0), Some(1000.0));
    }

    #[test]
    fn no_estimate_without_time_records_or_processing_delay() {
        let mut p = pid(1.0, 0.0, 0.0, 10.0);
        assert_eq!(p.compute(10, 10, 10, 0), None);
        assert_eq!(p.compute(10, 10, 10, 0), None, "no time elapsed");
        assert_eq!(p.compute(20, 0, 10, 0), None, "no records");
        assert_eq!(p.compute(30, 10, 0, 0), None, "no processing delay");
        assert!(p.compute(40, 10, 10, 0).is_some());
    }

    #[test]
    fn estimate_never_below_min_rate() {
        let mut p = pid(1.0, 1.0, 0.0, 10.0);
        assert_eq!(p.compute(0, 10, 10, 0), None);
        // A huge scheduling delay pushes the estimate far below zero.
        assert_eq!(p.compute(20, 1, 1000, 1_000_000), Some(10.0));
    }

    #[test]
    fn steady_pipeline_follows_processing_speed() {
        // Spark's PIDRateEstimatorSuite: a batch every 20 ms, 10 records
        // processed in 20 ms, no scheduling delay → 500 records/s.
        let mut p = pid(1.0, 1.0, 0.0, 10.0);
        let res: Vec<_> = (0..50).map(|i| p.compute(i * 20, 10, 20, 0)).collect();
        assert_eq!(res[0], None);
        assert!(res[1..].iter().all(|r| *r == Some(500.0)), "{res:?}");
    }

    #[test]
    fn scheduling_delay_lowers_the_rate_by_the_integral_term() {
        let mut p = pid(1.0, 0.2, 0.0, 100.0);
        assert_eq!(p.compute(1000, 10_000, 500, 0), None); // 20,000/s calibrates
        // 10,000 in 1000 ms = 10,000/s; error = 20,000 - 10,000 = 10,000;
        // historical = 500 · 10,000 / 20 = 250,000 → clamp to min rate.
        assert_eq!(p.compute(2000, 10_000, 1000, 500), Some(100.0));
        let mut p = PidRateEstimator::new(1000, 1.0, 0.2, 0.0, 100.0).unwrap();
        p.compute(1000, 10_000, 500, 0);
        // historical = 500 · 10,000 / 1000 = 5,000; new = 20,000 - 10,000 - 1,000.
        assert_eq!(p.compute(2000, 10_000, 1000, 500), Some(9000.0));
    }

    #[test]
    fn gains_are_validated() {
        assert!(PidRateEstimator::new(0, 1.0, 0.2, 0.0, 100.0).is_err());
        assert!(PidRateEstimator::new(10, -1.0, 0.2, 0.0, 100.0).is_err());
        assert!(PidRateEstimator::new(10, 1.0, 0.2, 0.0, 0.0).is_err());
        let conf = StreamingConf::new().set("spark.streaming.backpressure.pid.minRate", "x");
        assert!(PidRateEstimator::from_conf(&conf, 1000).is_err());
    }

    #[test]
    fn limiter_paces_records() {
        let limiter = RateLimiter::new(1000);
        let stopped = AtomicBool::new(false);
        let start = Instant::now();
        for _ in 0..20 {
            limiter.acquire(25, &stopped).unwrap();
        }
        // 500 records at 1000/s: about 0.5 s (minus the initial burst of 200).
        let took = start.elapsed();
        assert!(took >= StdDuration::from_millis(250), "{took:?}");
        assert!(took < StdDuration::from_secs(3), "{took:?}");
        stopped.store(true, Ordering::Relaxed);
        limiter.set_rate(1);
        assert!(limiter.acquire(1000, &stopped).is_err());
    }
}
