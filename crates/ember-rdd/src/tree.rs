//! `tree_aggregate` and `tree_reduce`: aggregation whose partial results
//! are merged in a multi-level tree of shuffles rather than all at once on
//! the caller's thread (Spark's `treeAggregate`, for many partitions with
//! large partial results).

use std::sync::Arc;

use crate::driver::merge_on_driver;
use crate::{Data, HashPartitioner, JobError, Rdd};

impl<T: Data> Rdd<T> {
    /// Like [`aggregate`](Self::aggregate), but the per-partition results
    /// are merged in a tree of suggested `depth` (at least 1, else
    /// [`JobError::InvalidDepth`]): while there are more partial results
    /// than a level needs, they are merged by `comb` in fewer partitions,
    /// each level dividing their number by
    /// `max(ceil(partitions^(1/depth)), 2)`, as Spark does. `zero` must be
    /// neutral for `comb`. The last level's results are merged on the
    /// caller's thread, where a panic of `comb` is
    /// [`JobError::CallbackPanicked`].
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize((1..=100).collect(), 20);
    /// let (sum, n) = rdd.tree_aggregate((0, 0), |(s, n), x| (s + x, n + 1), |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2), 2)?;
    /// assert_eq!((sum, n), (5050, 100));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn tree_aggregate<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + Send + Sync + 'static,
        comb: impl Fn(U, U) -> U + Send + Sync + 'static,
        depth: usize,
    ) -> Result<U, JobError> {
        if depth < 1 {
            return Err(JobError::InvalidDepth { depth });
        }
        let mut partitions = self.num_partitions();
        if partitions == 0 {
            return Ok(zero);
        }
        let comb = Arc::new(comb);
        let first_zero = zero.clone();
        let mut partial: Rdd<U> =
            self.map_partitions(move |iter| std::iter::once(iter.fold(first_zero.clone(), &seq)));
        let scale = ((partitions as f64).powf(1.0 / depth as f64).ceil() as usize).max(2);
        while partitions > scale + partitions.div_ceil(scale) {
            partitions /= scale;
            let level = partitions;
            let merge = Arc::clone(&comb);
            partial = partial
                .map_partitions_with_index(move |index, iter| iter.map(move |u| (index % level, u)))
                .fold_by_key_with_partitioner(
                    zero.clone(),
                    move |a, b| merge(a, b),
                    Arc::new(HashPartitioner::new(level)),
                )
                .values();
        }
        let partials = partial.collect()?;
        merge_on_driver("tree_aggregate", || {
            partials.into_iter().fold(zero, |a, b| comb(a, b))
        })
    }

    /// Like [`reduce`](Self::reduce), with the partial results merged in a
    /// tree of suggested `depth` (see [`tree_aggregate`](Self::tree_aggregate));
    /// `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize((1..=10).collect(), 5).tree_reduce(|a, b| a + b, 2)?, Some(55));
    /// assert_eq!(ctx.empty::<i32>().tree_reduce(|a, b| a + b, 2)?, None);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn tree_reduce(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        depth: usize,
    ) -> Result<Option<T>, JobError> {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        let merge = move |a: Option<T>, b: Option<T>| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, None) => a,
            (None, b) => b,
        };
        self.tree_aggregate(
            None,
            move |acc: Option<T>, x| {
                Some(match acc {
                    Some(acc) => g(acc, x),
                    None => x,
                })
            },
            merge,
            depth,
        )
    }
}
