//! Key-value operations on streams of pairs, batch by batch:
//! `map_values`, `flat_map_values`, `combine_by_key`, `reduce_by_key`,
//! `group_by_key`, `cogroup` and the joins (Spark's
//! `PairDStreamFunctions`). Shuffles use the context's default parallelism
//! as their partition count, as Spark's DStreams do.

use std::hash::Hash;
use std::sync::Arc;

use ember_rdd::{Data, HashPartitioner, Partitioner};

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
    /// let input = vec![vec![("a".to_owned(), 1), ("b".to_owned(), 2)], vec![]];
    /// let out = run_operation(input, |s| s.map_values(|v| v * 10), 2)?;
    /// assert_eq!(out, vec![vec![("a".to_owned(), 10), ("b".to_owned(), 20)], vec![]]);
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
    /// let input = vec![vec![("a".to_owned(), 2), ("b".to_owned(), 0)]];
    /// let out = run_operation(input, |s| s.flat_map_values(|n| 0..n), 1)?;
    /// assert_eq!(out, vec![vec![("a".to_owned(), 0), ("a".to_owned(), 1)]]);
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

    /// The general per-key aggregation of each batch (Spark's
    /// `combineByKey`): `create` turns a key's first value into a combiner,
    /// `merge_value` adds a value to a combiner (on the map side, before
    /// the shuffle), `merge_combiners` merges the combiners of different
    /// partitions. The result is hashed into `num_partitions` partitions,
    /// or the context's default parallelism with `None`.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let input = vec![vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], vec![]];
    /// let out = run_operation(input, |s| {
    ///     s.combine_by_key(|v| (v, 1), |(sum, n), v| (sum + v, n + 1), |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2), None)
    /// }, 2)?;
    /// let mut first = out[0].clone();
    /// first.sort();
    /// assert_eq!(first, vec![("a".to_owned(), (4, 2)), ("b".to_owned(), (2, 1))]);
    /// assert_eq!(out[1], vec![]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn combine_by_key<C: Data>(
        &self,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
        num_partitions: Option<usize>,
    ) -> DStream<(K, C)> {
        let n = num_partitions.unwrap_or_else(|| self.partitions());
        let partitioner: Arc<dyn Partitioner<K>> = Arc::new(HashPartitioner::new(n));
        self.combine_by_key_with_partitioner(create, merge_value, merge_combiners, partitioner)
    }

    /// [`combine_by_key`](Self::combine_by_key) into the partitions
    /// `partitioner` chooses; a batch already placed by an equivalent
    /// partitioner is combined in place, without a shuffle.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ember_dstream::testing::run_operation;
    /// use ember_rdd::{HashPartitioner, Partitioner};
    /// let by_3: Arc<dyn Partitioner<String>> = Arc::new(HashPartitioner::new(3));
    /// let input = vec![vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)]];
    /// let out = run_operation(input, |s| {
    ///     s.combine_by_key_with_partitioner(|v| vec![v], |mut l, v| { l.push(v); l }, |mut a, b| { a.extend(b); a }, by_3)
    ///         .glom()
    /// }, 1)?;
    /// assert_eq!(out[0].len(), 3);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn combine_by_key_with_partitioner<C: Data>(
        &self,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> DStream<(K, C)> {
        let (create, merge_value, merge_combiners) = (
            Arc::new(create),
            Arc::new(merge_value),
            Arc::new(merge_combiners),
        );
        self.transform_named("combine_by_key", move |rdd, _| {
            let (create, merge_value, merge_combiners) = (
                Arc::clone(&create),
                Arc::clone(&merge_value),
                Arc::clone(&merge_combiners),
            );
            rdd.combine_by_key_with_partitioner(
                move |v| create(v),
                move |c, v| merge_value(c, v),
                move |a, b| merge_combiners(a, b),
                Arc::clone(&partitioner),
            )
        })
    }

    /// Merges the values of each key within each batch.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let input = vec![vec![("a".to_owned(), 1), ("b".to_owned(), 1), ("a".to_owned(), 1)]];
    /// let out = run_operation(input, |s| s.reduce_by_key(|x, y| x + y), 1)?;
    /// let mut batch = out[0].clone();
    /// batch.sort();
    /// assert_eq!(batch, vec![("a".to_owned(), 2), ("b".to_owned(), 1)]);
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
    ///     vec![vec![("a".to_owned(), 1), ("b".to_owned(), 2)]],
    ///     vec![vec![("a".to_owned(), 'x'), ("c".to_owned(), 'y')]],
    ///     |l, r| l.join(&r),
    ///     1,
    /// )?;
    /// assert_eq!(out, vec![vec![("a".to_owned(), (1, 'x'))]]);
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
