//! Key-value operations on streams of pairs, batch by batch:
//! `map_values`, `flat_map_values`, `combine_by_key`, `reduce_by_key`,
//! `group_by_key`, `cogroup` and the joins (Spark's
//! `PairDStreamFunctions`). Shuffles use the context's default parallelism
//! as their partition count, as Spark's DStreams do.

use std::hash::Hash;
use std::sync::Arc;

use ember_rdd::{Data, Partitioner};

use crate::{DStream, StreamResult};

/// Both sides' values of one key.
type Groups<V, W> = (Vec<V>, Vec<W>);
/// A full outer join's pair: either side may be missing.
type EitherOrBoth<V, W> = (Option<V>, Option<W>);

impl<K: Data, V: Data> DStream<(K, V)> {
    /// Applies `f` to every value, keeping the keys (Spark's `mapValues`).
    /// Each batch keeps its partitioner, so a following per-key operation
    /// on a batch already placed by key needs no shuffle.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec![("a", 1), ("b", 2)], vec![]], |s| s.map_values(|v| v * 10), 2)?;
    /// assert_eq!(out, vec![vec![("a", 10), ("b", 20)], vec![]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn map_values<U: Data>(
        &self,
        f: impl Fn(V) -> U + Send + Sync + 'static,
    ) -> DStream<(K, U)> {
        let f = Arc::new(f);
        self.transform_named("map_values", move |rdd, _| {
            let f = Arc::clone(&f);
            rdd.map_values(move |v| f(v))
        })
    }

    /// Applies `f` to every value and pairs the key with each result
    /// (Spark's `flatMapValues`); keeps each batch's partitioner, as
    /// [`map_values`](Self::map_values) does.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec![("a", 2), ("b", 0)]], |s| s.flat_map_values(|n| 0..n), 1)?;
    /// assert_eq!(out, vec![vec![("a", 0), ("a", 1)]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn flat_map_values<U: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> DStream<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.transform_named("flat_map_values", move |rdd, _| {
            let f = Arc::clone(&f);
            rdd.flat_map_values(move |v| f(v))
        })
    }
}

impl<K: Data + Hash + Eq, V: Data> DStream<(K, V)> {
    fn partitions(&self) -> usize {
        self.rdd_context().default_parallelism()
    }

    /// Merges the values of each key within each batch.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec![("a", 1), ("b", 1), ("a", 1)]], |s| s.reduce_by_key(|x, y| x + y), 1)?;
    /// let mut batch = out[0].clone();
    /// batch.sort();
    /// assert_eq!(batch, vec![("a", 2), ("b", 1)]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> DStream<(K, V)> {
        let f = std::sync::Arc::new(f);
        let partitions = self.partitions();
        self.transform_named("reduce_by_key", move |rdd, _| {
            let f = std::sync::Arc::clone(&f);
            rdd.reduce_by_key_with_partitions(move |a, b| f(a, b), partitions)
        })
    }

    /// All values of each key within each batch.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        let partitions = self.partitions();
        self.transform_named("group_by_key", move |rdd, _| {
            rdd.group_by_key_with_partitions(partitions)
        })
    }

    /// For each key of either stream's batch, its values in both.
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> StreamResult<(K, Groups<V, W>)> {
        let partitions = self.partitions();
        self.transform_with_named("cogroup", other, move |a, b, _| {
            a.cogroup_with_partitions(b, partitions)
        })
    }

    /// Pairs of values for each key present in both streams' batches.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation2;
    /// let out = run_operation2(
    ///     vec![vec![("a", 1), ("b", 2)]],
    ///     vec![vec![("a", 'x'), ("c", 'y')]],
    ///     |l, r| l.join(&r),
    ///     1,
    /// )?;
    /// assert_eq!(out, vec![vec![("a", (1, 'x'))]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> StreamResult<(K, (V, W))> {
        self.transform_with_named("join", other, |a, b, _| a.join(b))
    }

    /// Every value of this stream's batch, with each match of `other`'s or `None`.
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> StreamResult<(K, (V, Option<W>))> {
        self.transform_with_named("left_outer_join", other, |a, b, _| a.left_outer_join(b))
    }

    /// Every value of `other`'s batch, with each match of this one's or `None`.
    pub fn right_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> StreamResult<(K, (Option<V>, W))> {
        self.transform_with_named("right_outer_join", other, |a, b, _| a.right_outer_join(b))
    }

    /// Every key of either batch, with each side's values or `None`.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> StreamResult<(K, EitherOrBoth<V, W>)> {
        self.transform_with_named("full_outer_join", other, |a, b, _| a.full_outer_join(b))
    }
}
