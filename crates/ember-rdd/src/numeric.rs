//! The numeric actions of Spark's `DoubleRDDFunctions`, for RDDs of any
//! primitive number: `sum` (exact in the element type, an error on integer
//! overflow) and, through one pass of [`StatCounter`]s merged per
//! partition, `stats`, `mean`, `variance`, `stdev`, `sample_variance` and
//! `sample_stdev`.

use crate::{Data, JobError, Rdd, StatCounter};

/// A primitive number an RDD can sum and describe: every integer type and
/// `f32`/`f64`.
///
/// ```
/// use ember_rdd::Numeric;
/// assert_eq!(250u8.checked_sum(10), None);
/// assert_eq!(7i64.to_f64(), 7.0);
/// ```
pub trait Numeric: Data + Copy {
    /// The neutral element of addition.
    const ZERO: Self;
    /// `self + other`, or `None` when an integer sum overflows.
    fn checked_sum(self, other: Self) -> Option<Self>;
    /// The value as `f64` (rounded for integers beyond 2^53).
    fn to_f64(self) -> f64;
}

macro_rules! integer_numeric {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            const ZERO: Self = 0;
            fn checked_sum(self, other: Self) -> Option<Self> {
                self.checked_add(other)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}

macro_rules! float_numeric {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            const ZERO: Self = 0.0;
            fn checked_sum(self, other: Self) -> Option<Self> {
                Some(self + other)
            }
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}

integer_numeric!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);
float_numeric!(f32, f64);

/// Adds `values` from zero; `None` on overflow.
fn checked_total<N: Numeric>(mut values: impl Iterator<Item = N>) -> Option<N> {
    values.try_fold(N::ZERO, N::checked_sum)
}

impl<N: Numeric> Rdd<N> {
    /// The sum of the elements (zero for an empty RDD); for integers,
    /// [`JobError::NumericOverflow`] when it does not fit the type.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1u8, 2, 3], 2).sum()?, 6);
    /// assert_eq!(ctx.parallelize(vec![0.5, 0.25], 2).sum()?, 0.75);
    /// assert!(ctx.parallelize(vec![200u8, 100], 2).sum().is_err());
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sum(&self) -> Result<N, JobError> {
        let partials = self.run_partitions(checked_total)?;
        partials
            .into_iter()
            .collect::<Option<Vec<N>>>()
            .and_then(|partials| checked_total(partials.into_iter()))
            .ok_or(JobError::NumericOverflow { operation: "sum" })
    }

    /// Count, mean, variance, maximum and minimum in one job: a
    /// [`StatCounter`] per partition, merged in partition order.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let stats = ctx.parallelize(vec![2, 4, 4, 4, 5, 5, 7, 9], 3).stats()?;
    /// assert_eq!((stats.count(), stats.mean(), stats.stdev()), (8, 5.0, 2.0));
    /// assert_eq!((stats.max(), stats.min()), (9.0, 2.0));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn stats(&self) -> Result<StatCounter, JobError> {
        let partials = self.run_partitions(|iter| iter.map(N::to_f64).collect::<StatCounter>())?;
        let mut total = StatCounter::new();
        for partial in &partials {
            total.merge(partial);
        }
        Ok(total)
    }

    /// The mean; `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1, 2, 3, 6], 2).mean()?, Some(3.0));
    /// assert_eq!(ctx.empty::<f64>().mean()?, None);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn mean(&self) -> Result<Option<f64>, JobError> {
        Ok(self.stats_of(1)?.map(|s| s.mean()))
    }

    /// The population variance; `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1, 3], 2).variance()?, Some(1.0));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn variance(&self) -> Result<Option<f64>, JobError> {
        Ok(self.stats_of(1)?.map(|s| s.variance()))
    }

    /// The population standard deviation; `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1, 5], 2).stdev()?, Some(2.0));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn stdev(&self) -> Result<Option<f64>, JobError> {
        Ok(self.stats_of(1)?.map(|s| s.stdev()))
    }

    /// The sample variance (divided by `count - 1`); `None` below two
    /// elements.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1, 3], 2).sample_variance()?, Some(2.0));
    /// assert_eq!(ctx.parallelize(vec![1], 1).sample_variance()?, None);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sample_variance(&self) -> Result<Option<f64>, JobError> {
        Ok(self.stats_of(2)?.map(|s| s.sample_variance()))
    }

    /// The sample standard deviation; `None` below two elements.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![0, 2, 4], 2).sample_stdev()?, Some(2.0));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sample_stdev(&self) -> Result<Option<f64>, JobError> {
        Ok(self.stats_of(2)?.map(|s| s.sample_stdev()))
    }

    /// `stats`, when at least `min_count` elements were counted.
    fn stats_of(&self, min_count: u64) -> Result<Option<StatCounter>, JobError> {
        let stats = self.stats()?;
        Ok((stats.count() >= min_count).then_some(stats))
    }
}
