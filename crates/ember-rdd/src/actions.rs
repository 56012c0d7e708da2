//! Actions: operations that run a job and bring results back to the caller
//! (`collect`, `count`, `reduce`, `take`, …) or act on every element
//! (`foreach`).

use std::collections::HashMap;
use std::hash::Hash;

use crate::scheduler::run_job;
use crate::{BoxIter, Data, JobError, Rdd, TaskContext, TaskResult};

impl<T: Data> Rdd<T> {
    fn all_partitions(&self) -> Vec<usize> {
        (0..self.num_partitions()).collect()
    }

    /// Runs `f` on every partition's iterator and returns the per-partition
    /// results in partition order (the building block of every action).
    pub fn run_partitions<R: TaskResult>(
        &self,
        f: impl Fn(BoxIter<T>) -> R + Sync,
    ) -> Result<Vec<R>, JobError> {
        run_job(self, &self.all_partitions(), |_, iter| Ok(f(iter)))
    }

    /// Runs `f` on every partition's task context and iterator and returns
    /// the per-partition results in partition order (Spark's `runJob` with a
    /// `TaskContext`): `f` knows which partition it has, and an error it
    /// returns fails the job (it is final, not retried).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let sizes = ctx.parallelize(vec![1, 2, 3], 2)
    ///     .try_run_partitions(|task, iter| Ok((task.partition, iter.count())))?;
    /// assert_eq!(sizes, vec![(0, 1), (1, 2)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn try_run_partitions<R: TaskResult>(
        &self,
        f: impl Fn(&TaskContext, BoxIter<T>) -> Result<R, JobError> + Sync,
    ) -> Result<Vec<R>, JobError> {
        run_job(self, &self.all_partitions(), f)
    }

    /// Every element, in partition order.
    pub fn collect(&self) -> Result<Vec<T>, JobError> {
        Ok(self.collect_partitions()?.into_iter().flatten().collect())
    }

    /// The elements of the partitions this process owns, in partition
    /// order, without gathering them: in local mode every element (as
    /// [`collect`](Self::collect)); in a cluster, this process's share,
    /// where it lives (a checkpoint saves each process's share of a state
    /// this way). The shuffles it needs still run across the cluster.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).collect_local()?, vec![1, 2, 3]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn collect_local(&self) -> Result<Vec<T>, JobError> {
        let computed =
            crate::scheduler::run_job_in_place(self, &self.all_partitions(), |_, iter| {
                Ok(iter.collect::<Vec<T>>())
            })?;
        Ok(computed.into_iter().flat_map(|(_, part)| part).collect())
    }

    /// Every partition's elements, one vector per partition.
    pub fn collect_partitions(&self) -> Result<Vec<Vec<T>>, JobError> {
        self.run_partitions(|iter| iter.collect())
    }

    /// The number of elements.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec!['a'; 7], 3).count()?, 7);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn count(&self) -> Result<u64, JobError> {
        Ok(self
            .run_partitions(|iter| iter.count() as u64)?
            .into_iter()
            .sum())
    }

    /// Merges all elements with `f` (associative and commutative); `None`
    /// for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).reduce(|a, b| a + b)?, Some(6));
    /// assert_eq!(ctx.empty::<i32>().reduce(|a, b| a + b)?, None);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Sync) -> Result<Option<T>, JobError> {
        let partials = self.run_partitions(|iter| iter.reduce(&f))?;
        Ok(partials.into_iter().flatten().reduce(&f))
    }

    /// Folds each partition from `zero`, then folds the partial results from
    /// `zero` (so `zero` must be neutral for `f`).
    pub fn fold(&self, zero: T, f: impl Fn(T, T) -> T + Sync) -> Result<T, JobError> {
        let partials = self.run_partitions(|iter| iter.fold(zero.clone(), &f))?;
        Ok(partials.into_iter().fold(zero, &f))
    }

    /// Folds each partition with `seq` from `zero`, then merges the partial
    /// results with `comb` from `zero`.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let (sum, n) = ctx.parallelize(vec![1, 2, 3, 4], 2)
    ///     .aggregate((0, 0), |(s, n), x| (s + x, n + 1), |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2))?;
    /// assert_eq!((sum, n), (10, 4));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn aggregate<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + Sync,
        comb: impl Fn(U, U) -> U,
    ) -> Result<U, JobError> {
        let partials = self.run_partitions(|iter| iter.fold(zero.clone(), &seq))?;
        Ok(partials.into_iter().fold(zero, comb))
    }

    /// The first `n` elements in partition order, scanning as few partitions
    /// as it can (one, then four times as many each round, as Spark does).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize((1..=100).collect(), 10).take(3)?, vec![1, 2, 3]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn take(&self, n: usize) -> Result<Vec<T>, JobError> {
        let total = self.num_partitions();
        let mut taken = Vec::new();
        let mut scanned = 0;
        let mut batch = 1;
        while taken.len() < n && scanned < total {
            let end = (scanned + batch).min(total);
            let wanted = n - taken.len();
            let partitions: Vec<usize> = (scanned..end).collect();
            let parts = run_job(self, &partitions, |_, iter| {
                Ok(iter.take(wanted).collect::<Vec<T>>())
            })?;
            taken.extend(parts.into_iter().flatten().take(wanted));
            scanned = end;
            batch *= 4;
        }
        Ok(taken)
    }

    /// Whether the RDD has no elements: no partitions, or none in the
    /// partitions `take(1)` scans (Spark's `isEmpty`).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert!(ctx.empty::<i32>().is_empty()?);
    /// assert!(ctx.parallelize(vec![1, 2], 4).filter(|x| *x > 5).is_empty()?);
    /// assert!(!ctx.parallelize(vec![1, 2], 4).is_empty()?);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn is_empty(&self) -> Result<bool, JobError> {
        Ok(self.num_partitions() == 0 || self.take(1)?.is_empty())
    }

    /// The first element, if any.
    pub fn first(&self) -> Result<Option<T>, JobError> {
        Ok(self.take(1)?.into_iter().next())
    }

    /// Calls `f` on every element, on the worker threads.
    pub fn foreach(&self, f: impl Fn(T) + Sync) -> Result<(), JobError> {
        self.run_partitions(|iter| iter.for_each(&f))?;
        Ok(())
    }

    /// Calls `f` on every partition's iterator, on the worker threads.
    pub fn foreach_partition(&self, f: impl Fn(BoxIter<T>) + Sync) -> Result<(), JobError> {
        self.run_partitions(f)?;
        Ok(())
    }

    /// How many times each distinct element occurs.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ["a", "b", "a"].map(String::from).to_vec();
    /// let counts = ctx.parallelize(words, 2).count_by_value()?;
    /// assert_eq!((counts["a"], counts["b"]), (2, 1));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn count_by_value(&self) -> Result<HashMap<T, u64>, JobError>
    where
        T: Hash + Eq,
    {
        self.map(|x| (x, ())).count_by_key()
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// How many records each key has.
    pub fn count_by_key(&self) -> Result<HashMap<K, u64>, JobError> {
        self.map_values(|_| 1u64)
            .reduce_by_key(|a, b| a + b)
            .collect_as_map()
    }

    /// The records as a map (one value per key: the last one seen wins).
    pub fn collect_as_map(&self) -> Result<HashMap<K, V>, JobError> {
        Ok(self.collect()?.into_iter().collect())
    }
}
