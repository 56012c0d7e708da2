//! Ordered actions: `top` and `take_ordered` (the `n` largest or smallest
//! elements, each partition keeping a bounded heap of its best `n`, as
//! Spark's `BoundedPriorityQueue` does) and `max` / `min`, each also with a
//! key function. Ties keep partition order, so every result equals the
//! same operation on the collected elements. A key function that panics
//! while the caller's thread merges the partitions' results makes the
//! action fail with [`JobError::CallbackPanicked`].

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::driver::merge_on_driver;
use crate::{Data, JobError, Rdd};

/// One candidate of a bounded heap: its key and its position in the
/// partition (which breaks ties, earlier first).
struct Candidate<K, T> {
    key: K,
    position: usize,
    value: T,
}

impl<K: Ord, T> PartialEq for Candidate<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<K: Ord, T> Eq for Candidate<K, T> {}

impl<K: Ord, T> PartialOrd for Candidate<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: Ord, T> Ord for Candidate<K, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .cmp(&other.key)
            .then(self.position.cmp(&other.position))
    }
}

/// The `n` elements of `items` with the smallest keys, in ascending key
/// order (ties in their order in `items`), keeping at most `n` at a time.
fn smallest<K: Ord, T>(items: impl Iterator<Item = (K, T)>, n: usize) -> Vec<(K, T)> {
    let mut heap: BinaryHeap<Candidate<K, T>> = BinaryHeap::with_capacity(n + 1);
    for (position, (key, value)) in items.enumerate() {
        heap.push(Candidate {
            key,
            position,
            value,
        });
        if heap.len() > n {
            heap.pop();
        }
    }
    heap.into_sorted_vec()
        .into_iter()
        .map(|c| (c.key, c.value))
        .collect()
}

impl<T: Data> Rdd<T> {
    /// The `n` smallest elements by the key `f` computes, ascending (Spark's
    /// `takeOrdered(num, key=f)`); elements with equal keys come in
    /// partition order.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ctx.parallelize(["ccc", "a", "dddd", "bb"].map(String::from).to_vec(), 2);
    /// assert_eq!(words.take_ordered_by_key(2, |w| w.len())?, vec!["a", "bb"]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn take_ordered_by_key<K: Ord + Send>(
        &self,
        n: usize,
        f: impl Fn(&T) -> K + Sync,
    ) -> Result<Vec<T>, JobError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let partials = self.run_partitions(|iter| {
            smallest(iter.map(|x| (f(&x), x)), n)
                .into_iter()
                .map(|(_, x)| x)
                .collect::<Vec<T>>()
        })?;
        Ok(
            smallest(partials.into_iter().flatten().map(|x| (f(&x), x)), n)
                .into_iter()
                .map(|(_, x)| x)
                .collect(),
        )
    }

    /// The `n` smallest elements, ascending (Spark's `takeOrdered`); all of
    /// them when there are fewer.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize(vec![5, 1, 4, 2, 3], 3);
    /// assert_eq!(rdd.take_ordered(3)?, vec![1, 2, 3]);
    /// assert_eq!(ctx.empty::<i32>().take_ordered(3)?, Vec::<i32>::new());
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn take_ordered(&self, n: usize) -> Result<Vec<T>, JobError>
    where
        T: Ord,
    {
        self.take_ordered_by_key(n, |x| x.clone())
    }

    /// The `n` largest elements by the key `f` computes, descending (Spark's
    /// `top(num, key=f)`); elements with equal keys come in partition order.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ctx.parallelize(["ccc", "a", "dddd", "bb"].map(String::from).to_vec(), 2);
    /// assert_eq!(words.top_by_key(2, |w| w.len())?, vec!["dddd", "ccc"]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn top_by_key<K: Ord + Send>(
        &self,
        n: usize,
        f: impl Fn(&T) -> K + Sync,
    ) -> Result<Vec<T>, JobError> {
        self.take_ordered_by_key(n, |x| Reverse(f(x)))
    }

    /// The `n` largest elements, descending (Spark's `top`).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![5, 1, 4, 2, 3], 3).top(2)?, vec![5, 4]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn top(&self, n: usize) -> Result<Vec<T>, JobError>
    where
        T: Ord,
    {
        self.top_by_key(n, |x| x.clone())
    }

    /// The element with the largest key `f` computes (the last of equal
    /// ones, as `Iterator::max_by_key`); `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ctx.parallelize(["bb", "a", "cc"].map(String::from).to_vec(), 2);
    /// assert_eq!(words.max_by_key(|w| w.len())?, Some("cc".to_owned()));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn max_by_key<K: Ord>(&self, f: impl Fn(&T) -> K + Sync) -> Result<Option<T>, JobError> {
        let partials = self.run_partitions(|iter| iter.max_by_key(|x| f(x)))?;
        merge_on_driver("max_by_key", || {
            partials.into_iter().flatten().max_by_key(|x| f(x))
        })
    }

    /// The element with the smallest key `f` computes (the first of equal
    /// ones, as `Iterator::min_by_key`); `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ctx.parallelize(["bb", "a", "c"].map(String::from).to_vec(), 2);
    /// assert_eq!(words.min_by_key(|w| w.len())?, Some("a".to_owned()));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn min_by_key<K: Ord>(&self, f: impl Fn(&T) -> K + Sync) -> Result<Option<T>, JobError> {
        let partials = self.run_partitions(|iter| iter.min_by_key(|x| f(x)))?;
        merge_on_driver("min_by_key", || {
            partials.into_iter().flatten().min_by_key(|x| f(x))
        })
    }

    /// The largest element; `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![3, 9, 4], 2).max()?, Some(9));
    /// assert_eq!(ctx.empty::<i32>().max()?, None);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn max(&self) -> Result<Option<T>, JobError>
    where
        T: Ord,
    {
        self.reduce(std::cmp::max)
    }

    /// The smallest element; `None` for an empty RDD.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![3, 9, 4], 2).min()?, Some(3));
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn min(&self) -> Result<Option<T>, JobError>
    where
        T: Ord,
    {
        self.reduce(std::cmp::min)
    }
}
