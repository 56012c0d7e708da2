//! Key-value actions that bring per-key results to the caller:
//! `reduce_by_key_locally` (merged into a map on the caller's side, no
//! shuffle) and `lookup` (the values of one key, reading only the key's
//! partition when the RDD has a partitioner).

use std::collections::HashMap;
use std::hash::Hash;

use crate::driver::merge_on_driver;
use crate::scheduler::run_job;
use crate::{Data, JobError, Rdd};

/// Merges `records` into `map` with `f`.
fn merge_into<K: Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    records: impl Iterator<Item = (K, V)>,
    f: &impl Fn(V, V) -> V,
) {
    for (k, v) in records {
        let merged = match map.remove(&k) {
            Some(old) => f(old, v),
            None => v,
        };
        map.insert(k, merged);
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// Merges the values of each key with `f` into a map returned to the
    /// caller: each partition merges its own, then the partial maps are
    /// merged in partition order (Spark's `reduceByKeyLocally`); a panic of
    /// `f` there is [`JobError::CallbackPanicked`].
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let sums = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], 2).reduce_by_key_locally(|x, y| x + y)?;
    /// assert_eq!((sums["a"], sums["b"], sums.len()), (4, 2, 2));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn reduce_by_key_locally(
        &self,
        f: impl Fn(V, V) -> V + Sync,
    ) -> Result<HashMap<K, V>, JobError> {
        let partials = self.run_partitions(|iter| {
            let mut map = HashMap::new();
            merge_into(&mut map, iter, &f);
            map
        })?;
        merge_on_driver("reduce_by_key_locally", || {
            let mut total = HashMap::new();
            for partial in partials {
                merge_into(&mut total, partial.into_iter(), &f);
            }
            total
        })
    }

    /// Every value of `key`, in partition order. With a partitioner, only
    /// the partition it places `key` in is read (Spark's `lookup`).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], 2);
    /// assert_eq!(pairs.lookup(&"a".to_owned())?, vec![1, 3]);
    /// assert_eq!(pairs.group_by_key().lookup(&"a".to_owned())?, vec![vec![1, 3]]);
    /// assert_eq!(pairs.lookup(&"z".to_owned())?, Vec::<i32>::new());
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn lookup(&self, key: &K) -> Result<Vec<V>, JobError> {
        let partitions: Vec<usize> = match self.partitioner() {
            Some(partitioner) => vec![partitioner.partition(key)],
            None => (0..self.num_partitions()).collect(),
        };
        let found = run_job(self, &partitions, |_, iter| {
            Ok(iter
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v)
                .collect::<Vec<V>>())
        })?;
        Ok(found.into_iter().flatten().collect())
    }
}
