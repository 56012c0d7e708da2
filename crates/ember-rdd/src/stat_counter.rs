//! [`StatCounter`]: Spark's running count, mean, variance, maximum and
//! minimum of numbers, mergeable so that each partition counts its own and
//! the partial counters combine (Welford's update, Chan et al.'s merge).

/// The count, mean, sum of squared deviations (`m2`), maximum and minimum
/// of a set of numbers, as Spark's `StatCounter`. Empty, it has mean and
/// variances NaN, maximum −∞ and minimum +∞, as in Spark.
///
/// ```
/// use ember_rdd::StatCounter;
/// let stats: StatCounter = [1.0, 2.0, 3.0, 4.0].into_iter().collect();
/// assert_eq!((stats.count(), stats.mean(), stats.sum()), (4, 2.5, 10.0));
/// assert_eq!((stats.variance(), stats.sample_variance()), (1.25, 5.0 / 3.0));
/// assert_eq!((stats.max(), stats.min()), (4.0, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatCounter {
    count: u64,
    mean: f64,
    m2: f64,
    max: f64,
    min: f64,
}

impl Default for StatCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl StatCounter {
    /// An empty counter.
    pub fn new() -> Self {
        StatCounter {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            max: f64::NEG_INFINITY,
            min: f64::INFINITY,
        }
    }

    /// Adds one value.
    pub fn merge_value(&mut self, value: f64) -> &mut Self {
        let delta = value - self.mean;
        self.count += 1;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
        self.max = self.max.max(value);
        self.min = self.min.min(value);
        self
    }

    /// Adds the values another counter has counted (Spark's
    /// `merge(StatCounter)`, with its guard for very unequal counts).
    pub fn merge(&mut self, other: &StatCounter) -> &mut Self {
        if self.count == 0 {
            *self = *other;
        } else if other.count != 0 {
            let (n, m) = (self.count as f64, other.count as f64);
            let delta = other.mean - self.mean;
            self.mean = if other.count * 10 < self.count {
                self.mean + delta * m / (n + m)
            } else if self.count * 10 < other.count {
                other.mean - delta * n / (n + m)
            } else {
                (self.mean * n + other.mean * m) / (n + m)
            };
            self.m2 += other.m2 + delta * delta * n * m / (n + m);
            self.count += other.count;
            self.max = self.max.max(other.max);
            self.min = self.min.min(other.min);
        }
        self
    }

    /// How many values were counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their mean (NaN when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.mean }
    }

    /// Their sum (`count * mean`, as Spark computes it).
    pub fn sum(&self) -> f64 {
        self.count as f64 * self.mean
    }

    /// The sum of squared deviations from the mean.
    pub fn m2(&self) -> f64 {
        self.m2
    }

    /// The largest value (−∞ when empty).
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The smallest value (+∞ when empty).
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The population variance, `m2 / count` (NaN when empty).
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.m2 / self.count as f64
        }
    }

    /// The sample variance, `m2 / (count - 1)` (NaN below two values).
    pub fn sample_variance(&self) -> f64 {
        if self.count <= 1 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// The population standard deviation.
    pub fn stdev(&self) -> f64 {
        self.variance().sqrt()
    }

    /// The sample standard deviation.
    pub fn sample_stdev(&self) -> f64 {
        self.sample_variance().sqrt()
    }
}

impl FromIterator<f64> for StatCounter {
    fn from_iter<I: IntoIterator<Item = f64>>(values: I) -> Self {
        let mut counter = StatCounter::new();
        for value in values {
            counter.merge_value(value);
        }
        counter
    }
}

impl std::fmt::Display for StatCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(count: {}, mean: {}, stdev: {}, max: {}, min: {})",
            self.count,
            self.mean(),
            self.stdev(),
            self.max,
            self.min
        )
    }
}
