//! [`StreamingConf`]: the master, the application name and the
//! `spark.streaming.*` settings, each with Spark's default.

use std::collections::BTreeMap;

use crate::{Duration, StreamingError};

/// Settings of a [`StreamingContext`](crate::StreamingContext).
///
/// Known keys (Spark's names and defaults): `spark.streaming.blockInterval`
/// (200ms), `spark.streaming.concurrentJobs` (1, at most
/// [`MAX_CONCURRENT_JOBS`](Self::MAX_CONCURRENT_JOBS)),
/// `spark.streaming.receiver.maxRate` (0 = unlimited),
/// `spark.streaming.backpressure.enabled` (false),
/// `spark.streaming.receiver.writeAheadLog.enable` (false),
/// `spark.streaming.gracefulStopTimeout` (10 batch intervals),
/// `spark.scheduler.listenerbus.eventqueue.capacity` (10000),
/// `spark.task.maxFailures` (4), `spark.default.parallelism` (the worker
/// threads of the master, times the processes in a cluster); and ember's own
/// `ember.streaming.maxQueuedBatches` (100: generated batches waiting to
/// run; when that many wait, the generator waits too). Durations accept
/// `ms`, `s` and `min` suffixes (a bare number is milliseconds); one that
/// overflows is an error.
///
/// ```
/// use ember_dstream::{Duration, StreamingConf};
/// let conf = StreamingConf::new()
///     .master("local[2]")
///     .app_name("NetworkWordCount")
///     .set("spark.streaming.blockInterval", "100ms");
/// assert_eq!(conf.block_interval()?, Duration::from_millis(100));
/// assert_eq!(conf.concurrent_jobs()?, 1);
/// # Ok::<(), ember_dstream::StreamingError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingConf {
    master: String,
    app_name: String,
    settings: BTreeMap<String, String>,
}

impl Default for StreamingConf {
    fn default() -> Self {
        StreamingConf {
            master: "local[*]".to_owned(),
            app_name: "ember".to_owned(),
            settings: BTreeMap::new(),
        }
    }
}

impl StreamingConf {
    /// The largest `spark.streaming.concurrentJobs` accepted: each is an
    /// executor thread running a whole batch; more would only add threads
    /// waiting for the same workers.
    pub const MAX_CONCURRENT_JOBS: usize = 64;

    /// The default `ember.streaming.maxQueuedBatches`.
    pub const DEFAULT_MAX_QUEUED_BATCHES: usize = 100;

    /// Master `local[*]`, app name `ember`, every setting at Spark's default.
    pub fn new() -> Self {
        Self::default()
    }

    /// `local`, `local[n]` or `local[*]`.
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = master.into();
        self
    }

    /// The application's name (shown in logs).
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = name.into();
        self
    }

    /// Sets any `spark.*`-style key.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// The raw value of a key, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// The master string.
    pub fn master_str(&self) -> &str {
        &self.master
    }

    /// The application's name.
    pub fn app_name_str(&self) -> &str {
        &self.app_name
    }

    /// Every explicitly set key and value, sorted by key.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `spark.streaming.blockInterval` (default 200 ms, must be positive).
    pub fn block_interval(&self) -> Result<Duration, StreamingError> {
        let d = self.duration("spark.streaming.blockInterval", Duration::from_millis(200))?;
        if d.is_zero() {
            return Err(self.invalid("spark.streaming.blockInterval", "must be positive"));
        }
        Ok(d)
    }

    /// `spark.streaming.concurrentJobs` (default 1, from 1 to
    /// [`MAX_CONCURRENT_JOBS`](Self::MAX_CONCURRENT_JOBS)).
    pub fn concurrent_jobs(&self) -> Result<usize, StreamingError> {
        self.count(
            "spark.streaming.concurrentJobs",
            1,
            Self::MAX_CONCURRENT_JOBS,
        )
    }

    /// `ember.streaming.maxQueuedBatches`: how many generated batches may
    /// wait for an executor (default
    /// [`DEFAULT_MAX_QUEUED_BATCHES`](Self::DEFAULT_MAX_QUEUED_BATCHES),
    /// at least 1). When that many wait, the generator waits too, so a
    /// backlog (or the catch-up after downtime) does not generate every
    /// missed batch ahead of time.
    pub fn max_queued_batches(&self) -> Result<usize, StreamingError> {
        self.count(
            "ember.streaming.maxQueuedBatches",
            Self::DEFAULT_MAX_QUEUED_BATCHES,
            usize::MAX,
        )
    }

    /// `spark.scheduler.listenerbus.eventqueue.capacity`: how many listener
    /// events may wait for delivery before new ones are dropped (default
    /// 10000, at least 1).
    pub fn listener_bus_capacity(&self) -> Result<usize, StreamingError> {
        self.count(
            "spark.scheduler.listenerbus.eventqueue.capacity",
            crate::listener_bus::DEFAULT_EVENT_QUEUE_CAPACITY,
            usize::MAX,
        )
    }

    /// `spark.streaming.gracefulStopTimeout` (default 10 times `batch`,
    /// wall time): how long a graceful stop waits for the received data
    /// and the queued batches to be processed before it stops anyway (and
    /// how long any stop waits for the batch in progress).
    pub fn graceful_stop_timeout(&self, batch: Duration) -> Result<Duration, StreamingError> {
        let d = self.duration("spark.streaming.gracefulStopTimeout", batch * 10)?;
        if d.is_zero() {
            return Err(self.invalid("spark.streaming.gracefulStopTimeout", "must be positive"));
        }
        Ok(d)
    }

    /// A count from 1 to `max`.
    fn count(&self, key: &str, default: usize, max: usize) -> Result<usize, StreamingError> {
        let n = self.number(key, default as u64)?;
        usize::try_from(n)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| self.invalid(key, &format!("must be from 1 to {max}")))
    }

    /// `spark.task.maxFailures` (default 4, at least 1).
    pub fn task_max_failures(&self) -> Result<u32, StreamingError> {
        let n = self.number("spark.task.maxFailures", 4)?;
        u32::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| self.invalid("spark.task.maxFailures", "must be from 1 to 2^32-1"))
    }

    /// `spark.default.parallelism`: the default partition count (of the
    /// queue stream's batches and of every shuffle not given one), when set
    /// (a whole number from 1); `None` keeps the default, the worker
    /// threads. Spark's tuning guide advises 2–3 tasks per core.
    ///
    /// ```
    /// use ember_dstream::StreamingConf;
    /// let conf = StreamingConf::new().set("spark.default.parallelism", "6");
    /// assert_eq!(conf.default_parallelism()?, Some(6));
    /// assert!(StreamingConf::new().set("spark.default.parallelism", "0").default_parallelism().is_err());
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn default_parallelism(&self) -> Result<Option<usize>, StreamingError> {
        const KEY: &str = "spark.default.parallelism";
        if self.get(KEY).is_none() {
            return Ok(None);
        }
        usize::try_from(self.number(KEY, 1)?)
            .ok()
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| self.invalid(KEY, "must be at least 1"))
    }

    /// A boolean setting (`true`/`false`), or `default` when unset.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, StreamingError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(self.invalid(key, "expected true or false")),
            },
        }
    }

    /// A whole-number setting, or `default` when unset.
    pub fn number(&self, key: &str, default: u64) -> Result<u64, StreamingError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| self.invalid(key, "expected a whole number")),
        }
    }

    /// A duration setting (`250ms`, `2s`, `1min`, or bare milliseconds), or
    /// `default` when unset.
    pub fn duration(&self, key: &str, default: Duration) -> Result<Duration, StreamingError> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let v = v.trim();
        let (digits, scale) = if let Some(d) = v.strip_suffix("ms") {
            (d, 1)
        } else if let Some(d) = v.strip_suffix("min") {
            (d, 60_000)
        } else if let Some(d) = v.strip_suffix('s') {
            (d, 1000)
        } else {
            (v, 1)
        };
        digits
            .trim()
            .parse::<u64>()
            .map_err(|_| self.invalid(key, "expected a duration such as 200ms, 2s or 1min"))?
            .checked_mul(scale)
            .map(Duration::from_millis)
            .ok_or_else(|| self.invalid(key, &format!("overflows (at most {} ms)", u64::MAX)))
    }

    pub(crate) fn invalid(&self, key: &str, reason: &str) -> StreamingError {
        StreamingError::InvalidConf {
            key: key.to_owned(),
            value: self.get(key).unwrap_or_default().to_owned(),
            reason: reason.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sparks() {
        let conf = StreamingConf::new();
        assert_eq!(conf.block_interval().unwrap(), Duration::from_millis(200));
        assert_eq!(conf.concurrent_jobs().unwrap(), 1);
        assert_eq!(conf.task_max_failures().unwrap(), 4);
        assert!(
            !conf
                .flag("spark.streaming.backpressure.enabled", false)
                .unwrap()
        );
    }

    #[test]
    fn durations_parse_with_units_and_bad_values_are_named() {
        let conf = StreamingConf::new()
            .set("a", "2s")
            .set("b", "1min")
            .set("c", "75")
            .set("d", "soon");
        assert_eq!(
            conf.duration("a", Duration::ZERO).unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(
            conf.duration("b", Duration::ZERO).unwrap(),
            Duration::minutes(1)
        );
        assert_eq!(
            conf.duration("c", Duration::ZERO).unwrap(),
            Duration::from_millis(75)
        );
        let err = conf.duration("d", Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("d = \"soon\""), "{err}");
        let zero = StreamingConf::new().set("spark.streaming.blockInterval", "0ms");
        assert!(zero.block_interval().is_err());
    }

    #[test]
    fn overflowing_durations_are_errors() {
        // Before: saturated silently to u64::MAX ms.
        let huge = u64::MAX / 1000 + 1;
        for value in [format!("{huge}s"), format!("{}min", u64::MAX / 60_000 + 1)] {
            let conf = StreamingConf::new().set("spark.streaming.blockInterval", value.clone());
            let err = conf.block_interval().unwrap_err();
            assert!(
                matches!(&err, StreamingError::InvalidConf { value: v, reason, .. }
                    if *v == value && reason.contains("overflows")),
                "{err}"
            );
        }
        let max = StreamingConf::new().set("k", format!("{}", u64::MAX));
        assert_eq!(
            max.duration("k", Duration::ZERO).unwrap(),
            Duration::from_millis(u64::MAX)
        );
    }

    #[test]
    fn concurrent_jobs_is_capped() {
        let at = |n: usize| {
            StreamingConf::new()
                .set("spark.streaming.concurrentJobs", n.to_string())
                .concurrent_jobs()
        };
        assert_eq!(at(StreamingConf::MAX_CONCURRENT_JOBS).unwrap(), 64);
        for bad in [0, StreamingConf::MAX_CONCURRENT_JOBS + 1, 1_000_000] {
            let err = at(bad).unwrap_err();
            assert!(
                matches!(&err, StreamingError::InvalidConf { key, reason, .. }
                    if key == "spark.streaming.concurrentJobs" && reason == "must be from 1 to 64"),
                "{err}"
            );
        }
    }

    #[test]
    fn scheduler_settings_have_documented_defaults() {
        let conf = StreamingConf::new();
        assert_eq!(conf.max_queued_batches().unwrap(), 100);
        assert_eq!(conf.listener_bus_capacity().unwrap(), 10_000);
        assert_eq!(
            conf.graceful_stop_timeout(Duration::from_millis(500))
                .unwrap(),
            Duration::from_secs(5)
        );
        let set = StreamingConf::new()
            .set("ember.streaming.maxQueuedBatches", "0")
            .set("spark.streaming.gracefulStopTimeout", "2s");
        assert!(set.max_queued_batches().is_err());
        assert_eq!(
            set.graceful_stop_timeout(Duration::from_secs(1)).unwrap(),
            Duration::from_secs(2)
        );
    }
}
