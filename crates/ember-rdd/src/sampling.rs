//! Random sampling as Spark does it: `sample` keeps each element with
//! probability `fraction` (Bernoulli, without replacement) or emits it a
//! Poisson(`fraction`) number of times (with replacement), each partition
//! drawing from its own generator seeded by the seed and the partition
//! index, so a sample is reproducible. `take_sample` returns an exact
//! number of elements: it oversamples by Spark's bounds, resamples in the
//! rare case the sample came out short, then shuffles and truncates.
//!
//! The generator is SplitMix64, written here rather than taken from a
//! crate so that a seed gives the same sample with every ember version.

use crate::{Data, JobError, Rdd};

/// SplitMix64: a small, fast generator whose output is fixed by its seed.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator of `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform index in `0..bound` (`bound > 0`).
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// A Poisson(`mean`) count: Knuth's product method on chunks of mean
    /// at most 16 (a sum of Poisson counts is Poisson of the summed means),
    /// so `exp(-chunk)` never underflows.
    fn poisson(&mut self, mean: f64) -> u64 {
        const CHUNK: f64 = 16.0;
        let mut remaining = mean;
        let mut count = 0;
        while remaining > 0.0 {
            let chunk = remaining.min(CHUNK);
            remaining -= chunk;
            let limit = (-chunk).exp();
            let mut product = self.next_f64();
            while product > limit {
                count += 1;
                product *= self.next_f64();
            }
        }
        count
    }
}

/// The generator of partition `index` for `seed` (Spark seeds each
/// partition with `seed + index`).
fn partition_rng(seed: u64, index: usize) -> SplitMix64 {
    SplitMix64::new(seed.wrapping_add(index as u64))
}

/// Spark's `computeFractionForSampleSize`: a fraction that yields at least
/// `num` of `total` elements with probability above 0.9999.
fn fraction_for_sample_size(num: usize, total: u64, with_replacement: bool) -> f64 {
    let num = num as f64;
    let total = total as f64;
    if with_replacement {
        let deviations = if num < 6.0 {
            12.0
        } else if num < 16.0 {
            9.0
        } else {
            6.0
        };
        (num + deviations * num.sqrt()).max(1e-10) / total
    } else {
        let fraction = num / total;
        let gamma = -(1e-4f64).ln() / total;
        (fraction + gamma + (gamma * gamma + 2.0 * gamma * fraction).sqrt()).clamp(1e-10, 1.0)
    }
}

/// Fisher–Yates shuffle of `items` with `rng` (Spark's `randomizeInRange`).
fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

impl<T: Data> Rdd<T> {
    /// A random sample: without replacement each element is kept with
    /// probability `fraction` (in `[0, 1]`); with replacement each appears a
    /// Poisson(`fraction`) number of times (`fraction >= 0`, the expected
    /// number of copies). The same `seed` gives the same sample; elements
    /// stay in their partitions and order.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize((0..100).collect(), 4);
    /// let a = rdd.sample(false, 0.3, 7)?.collect()?;
    /// assert_eq!(a, rdd.sample(false, 0.3, 7)?.collect()?);
    /// assert!(a.windows(2).all(|w| w[0] < w[1]));
    /// assert!(rdd.sample(false, 1.5, 7).is_err());
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sample(
        &self,
        with_replacement: bool,
        fraction: f64,
        seed: u64,
    ) -> Result<Rdd<T>, JobError> {
        let valid = fraction >= 0.0 && (with_replacement || fraction <= 1.0);
        if !valid {
            return Err(JobError::InvalidFraction {
                fraction,
                with_replacement,
            });
        }
        Ok(self.map_partitions_with_index(move |index, iter| {
            let mut rng = partition_rng(seed, index);
            iter.flat_map(move |x| {
                let copies = if with_replacement {
                    rng.poisson(fraction)
                } else {
                    u64::from(rng.next_f64() < fraction)
                };
                std::iter::repeat_n(x, copies as usize)
            })
        }))
    }

    /// Exactly `num` random elements (fewer only without replacement when
    /// the RDD has fewer), in random order, as Spark's `takeSample`: counts
    /// the RDD, samples a fraction that almost surely yields enough,
    /// samples again with a new seed in the rare case it did not, then
    /// shuffles and keeps `num`. Without replacement and `num` at least the
    /// count, it is every element, shuffled.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize((0..50).collect(), 3);
    /// let five = rdd.take_sample(false, 5, 42)?;
    /// assert_eq!(five.len(), 5);
    /// assert_eq!(five, rdd.take_sample(false, 5, 42)?);
    /// let mut all = rdd.take_sample(false, 80, 42)?;
    /// all.sort();
    /// assert_eq!(all, (0..50).collect::<Vec<_>>());
    /// assert_eq!(rdd.take_sample(true, 80, 42)?.len(), 80);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn take_sample(
        &self,
        with_replacement: bool,
        num: usize,
        seed: u64,
    ) -> Result<Vec<T>, JobError> {
        if num == 0 {
            return Ok(Vec::new());
        }
        let total = self.count()?;
        if total == 0 {
            return Ok(Vec::new());
        }
        let mut rng = SplitMix64::new(seed);
        if !with_replacement && num as u64 >= total {
            let mut all = self.collect()?;
            shuffle(&mut all, &mut rng);
            return Ok(all);
        }
        let fraction = fraction_for_sample_size(num, total, with_replacement);
        let mut samples = self
            .sample(with_replacement, fraction, rng.next_u64())?
            .collect()?;
        let mut rounds = 1;
        while samples.len() < num {
            rounds += 1;
            tracing::warn!(
                rounds,
                num,
                "take_sample: the sample came out short; sampling again"
            );
            samples = self
                .sample(with_replacement, fraction, rng.next_u64())?
                .collect()?;
        }
        shuffle(&mut samples, &mut rng);
        samples.truncate(num);
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_means_match_over_many_draws() {
        // Seeded: the empirical mean of 20,000 draws is within four standard
        // errors (sqrt(mean / draws)) of the mean, for a small mean and a
        // large one (drawn in chunks).
        for mean in [0.3, 40.0] {
            let mut rng = SplitMix64::new(11);
            let draws = 20_000u32;
            let total: u64 = (0..draws).map(|_| rng.poisson(mean)).sum();
            let empirical = total as f64 / f64::from(draws);
            let standard_error = (mean / f64::from(draws)).sqrt();
            assert!(
                (empirical - mean).abs() < 4.0 * standard_error,
                "mean {mean}: {empirical}"
            );
        }
    }

    #[test]
    fn fraction_for_sample_size_follows_spark() {
        // Spark: PoissonBounds.getUpperBound(10) / 100 = (10 + 9 * sqrt(10)) / 100.
        assert_eq!(
            fraction_for_sample_size(10, 100, true),
            (10.0 + 9.0 * 10f64.sqrt()) / 100.0
        );
        assert_eq!(fraction_for_sample_size(99, 100, false), 1.0);
        // Spark: BinomialBounds.getUpperBound(1e-4, 10, 0.01) over 1000.
        let gamma = -(1e-4f64).ln() / 1000.0;
        let expected = 0.01 + gamma + (gamma * gamma + 2.0 * gamma * 0.01).sqrt();
        assert_eq!(fraction_for_sample_size(10, 1000, false), expected);
    }
}
