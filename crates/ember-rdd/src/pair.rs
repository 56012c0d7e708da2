//! Key-value transformations that shuffle: `combine_by_key` and the
//! operations built on it (`reduce_by_key`, `fold_by_key`,
//! `aggregate_by_key`, `group_by_key`), `partition_by`, `distinct` and
//! `repartition`. Where the operation allows, map tasks combine values per
//! key before the shuffle. An RDD already placed by the partitioner an
//! aggregation asks for is aggregated in place, without a shuffle (as
//! Spark does).

use std::hash::Hash;
use std::sync::Arc;

use crate::combine::{combine, combine_chunks};
use crate::partitioner::PositionPartitioner;
use crate::partitioning::default_partitioner;
use crate::shuffle::{bucket, bucket_entries};
use crate::{BoxIter, Data, HashPartitioner, Partitioner, Rdd};

/// A hash partitioner over `n` partitions, as a trait object.
fn hash_partitioner<K: Hash>(n: usize) -> Arc<dyn Partitioner<K>> {
    Arc::new(HashPartitioner::new(n))
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// The partitioner of a per-key operation on this RDD that was given
    /// none: its own partitioner when it has one (so no shuffle is
    /// needed), else a hash partitioner over its number of partitions.
    fn own_default_partitioner(&self) -> Arc<dyn Partitioner<K>> {
        default_partitioner(&[(self.num_partitions(), self.partitioner())])
    }

    /// The general per-key aggregation: `create` turns a key's first value
    /// into a combiner, `merge_value` adds a value to a combiner (on the map
    /// side, before the shuffle), `merge_combiners` merges combiners from
    /// different map tasks. With `num_partitions`, the result is hashed
    /// into that many partitions; without, it keeps this RDD's partitioner
    /// when it has one (and then needs no shuffle), else hashes into as
    /// many partitions as this RDD has.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], 2);
    /// let mut sums_and_counts = pairs
    ///     .combine_by_key(|v| (v, 1), |(s, n), v| (s + v, n + 1), |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2), None)
    ///     .collect()?;
    /// sums_and_counts.sort();
    /// assert_eq!(sums_and_counts, vec![("a".to_owned(), (4, 2)), ("b".to_owned(), (2, 1))]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn combine_by_key<C: Data>(
        &self,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
        num_partitions: Option<usize>,
    ) -> Rdd<(K, C)> {
        let partitioner = match num_partitions {
            Some(n) => hash_partitioner(n),
            None => self.own_default_partitioner(),
        };
        self.combine_by_key_with_partitioner(create, merge_value, merge_combiners, partitioner)
    }

    /// `combine_by_key` into the partitions `partitioner` chooses; when
    /// this RDD is already placed by an equivalent partitioner, each
    /// partition is combined where it is, without a shuffle.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ember_rdd::{HashPartitioner, Partitioner};
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let by_3: Arc<dyn Partitioner<String>> = Arc::new(HashPartitioner::new(3));
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], 2).partition_by(Arc::clone(&by_3));
    /// let lists = pairs.combine_by_key_with_partitioner(|v| vec![v], |mut l, v| { l.push(v); l }, |mut a, b| { a.extend(b); a }, by_3);
    /// assert!(!lists.to_debug_string().contains("+-(3)"), "one shuffle only: {}", lists.to_debug_string());
    /// let mut lists = lists.collect()?;
    /// lists.sort();
    /// assert_eq!(lists, vec![("a".to_owned(), vec![1, 3]), ("b".to_owned(), vec![2])]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn combine_by_key_with_partitioner<C: Data>(
        &self,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, C)> {
        self.combine_named(
            "combine_by_key",
            create,
            merge_value,
            merge_combiners,
            partitioner,
        )
    }

    fn combine_named<C: Data>(
        &self,
        operation: &'static str,
        create: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, C)> {
        if self.is_partitioned_like(partitioner.as_ref()) {
            // Every key's records are in one partition already.
            return self.map_partitions_placed(
                operation,
                self.erased_partitioner(),
                move |_, records| Box::new(combine(records, &create, &merge_value).into_iter()),
            );
        }
        let merge_combiners = Arc::new(merge_combiners);
        self.shuffle(
            operation,
            partitioner,
            move |records, p| bucket_entries(combine_chunks(records, &create, &merge_value), p),
            move |records| {
                let merge = Arc::clone(&merge_combiners);
                let combined = combine(records, |c| c, |a, b| merge(a, b));
                Box::new(combined.into_iter()) as BoxIter<(K, C)>
            },
        )
    }

    /// Merges the values of each key with `f` (combining on the map side).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let mut counts = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 1), ("a".to_owned(), 1)], 2)
    ///     .reduce_by_key(|x, y| x + y)
    ///     .collect()?;
    /// counts.sort();
    /// assert_eq!(counts, vec![("a".to_owned(), 2), ("b".to_owned(), 1)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Rdd<(K, V)> {
        self.reduce_by_key_with_partitioner(f, self.own_default_partitioner())
    }

    /// `reduce_by_key` hashed into `num_partitions` partitions.
    pub fn reduce_by_key_with_partitions(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        num_partitions: usize,
    ) -> Rdd<(K, V)> {
        self.reduce_by_key_with_partitioner(f, hash_partitioner(num_partitions))
    }

    /// `reduce_by_key` into the partitions `partitioner` chooses (no
    /// shuffle when this RDD is already placed by an equivalent one).
    pub fn reduce_by_key_with_partitioner(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, V)> {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        self.combine_named(
            "reduce_by_key",
            |v| v,
            move |a, b| f(a, b),
            move |a, b| g(a, b),
            partitioner,
        )
    }

    /// `reduce_by_key_with_partitions` without the map-side combine: each
    /// record goes to its key's reduce partition as it is, and the reduce
    /// side merges a key's records with `f` in map-partition order, the
    /// same merges in the same order as `reduce_by_key` when every map
    /// partition holds at most one record per key. For an RDD already
    /// combined per partition (as a fused `stream!` stage's map-side
    /// combine leaves it), where a second combine would only copy each
    /// record through a hash table (Spark's `combineByKey` with
    /// `mapSideCombine = false`).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let combined = ctx.parallelize(vec![("a".to_owned(), 2), ("b".to_owned(), 1), ("a".to_owned(), 5)], 2);
    /// let mut sums = combined.reduce_by_key_without_map_side_combine(|x, y| x + y, 2).collect()?;
    /// sums.sort();
    /// assert_eq!(sums, vec![("a".to_owned(), 7), ("b".to_owned(), 1)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn reduce_by_key_without_map_side_combine(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        num_partitions: usize,
    ) -> Rdd<(K, V)> {
        let partitioner = hash_partitioner(num_partitions);
        if self.is_partitioned_like(partitioner.as_ref()) {
            return self.reduce_by_key_with_partitioner(f, partitioner);
        }
        let f = Arc::new(f);
        self.shuffle("reduce_by_key", partitioner, bucket, move |records| {
            let merge = Arc::clone(&f);
            let combined = combine(records, |v| v, |a, b| merge(a, b));
            Box::new(combined.into_iter()) as BoxIter<(K, V)>
        })
    }

    /// Merges the values of each key with `f`, starting from `zero` once per
    /// key and map partition (as Spark does).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], 2);
    /// let mut sums = pairs.fold_by_key(0, |x, y| x + y).collect()?;
    /// sums.sort();
    /// assert_eq!(sums, vec![("a".to_owned(), 4), ("b".to_owned(), 2)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn fold_by_key(
        &self,
        zero: V,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Rdd<(K, V)> {
        self.fold_by_key_with_partitioner(zero, f, self.own_default_partitioner())
    }

    /// `fold_by_key` hashed into `num_partitions` partitions.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("a".to_owned(), 2)], 2);
    /// let sums = pairs.fold_by_key_with_partitions(0, |x, y| x + y, 3);
    /// assert_eq!(sums.num_partitions(), 3);
    /// assert_eq!(sums.collect()?, vec![("a".to_owned(), 3)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn fold_by_key_with_partitions(
        &self,
        zero: V,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        num_partitions: usize,
    ) -> Rdd<(K, V)> {
        self.fold_by_key_with_partitioner(zero, f, hash_partitioner(num_partitions))
    }

    /// `fold_by_key` into the partitions `partitioner` chooses (no shuffle
    /// when this RDD is already placed by an equivalent one).
    pub fn fold_by_key_with_partitioner(
        &self,
        zero: V,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, V)> {
        let f = Arc::new(f);
        let (g, h) = (Arc::clone(&f), Arc::clone(&f));
        self.combine_named(
            "fold_by_key",
            move |v| f(zero.clone(), v),
            move |a, b| g(a, b),
            move |a, b| h(a, b),
            partitioner,
        )
    }

    /// Aggregates the values of each key: `seq` folds values into an
    /// accumulator that starts at `zero`, `comb` merges accumulators.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], 2);
    /// let mut lists = pairs.aggregate_by_key(Vec::new(), |mut l, v| { l.push(v); l }, |mut a, b| { a.extend(b); a }).collect()?;
    /// lists.sort();
    /// assert_eq!(lists, vec![("a".to_owned(), vec![1, 3]), ("b".to_owned(), vec![2])]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn aggregate_by_key<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, V) -> U + Send + Sync + 'static,
        comb: impl Fn(U, U) -> U + Send + Sync + 'static,
    ) -> Rdd<(K, U)> {
        self.aggregate_by_key_with_partitioner(zero, seq, comb, self.own_default_partitioner())
    }

    /// `aggregate_by_key` hashed into `num_partitions` partitions.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("a".to_owned(), 2)], 2);
    /// let counts = pairs.aggregate_by_key_with_partitions(0u64, |n, _| n + 1, |a, b| a + b, 1);
    /// assert_eq!(counts.num_partitions(), 1);
    /// assert_eq!(counts.collect()?, vec![("a".to_owned(), 2)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn aggregate_by_key_with_partitions<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, V) -> U + Send + Sync + 'static,
        comb: impl Fn(U, U) -> U + Send + Sync + 'static,
        num_partitions: usize,
    ) -> Rdd<(K, U)> {
        self.aggregate_by_key_with_partitioner(zero, seq, comb, hash_partitioner(num_partitions))
    }

    /// `aggregate_by_key` into the partitions `partitioner` chooses (no
    /// shuffle when this RDD is already placed by an equivalent one).
    pub fn aggregate_by_key_with_partitioner<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, V) -> U + Send + Sync + 'static,
        comb: impl Fn(U, U) -> U + Send + Sync + 'static,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, U)> {
        let seq = Arc::new(seq);
        let seq2 = Arc::clone(&seq);
        self.combine_named(
            "aggregate_by_key",
            move |v| seq(zero.clone(), v),
            move |u, v| seq2(u, v),
            comb,
            partitioner,
        )
    }

    /// All values of each key, in one vector (no map-side combine: it
    /// would save nothing).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let mut groups = ctx.parallelize(vec![(1, 'x'), (2, 'y'), (1, 'z')], 2).group_by_key().collect()?;
    /// groups.sort();
    /// assert_eq!(groups, vec![(1, vec!['x', 'z']), (2, vec!['y'])]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        self.group_by_key_with_partitioner(self.own_default_partitioner())
    }

    /// `group_by_key` hashed into `num_partitions` partitions.
    pub fn group_by_key_with_partitions(&self, num_partitions: usize) -> Rdd<(K, Vec<V>)> {
        self.group_by_key_with_partitioner(hash_partitioner(num_partitions))
    }

    fn group_by_key_with_partitioner(
        &self,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, Vec<V>)> {
        fn group<K: Hash + Eq + 'static, V: 'static>(
            records: BoxIter<(K, V)>,
        ) -> BoxIter<(K, Vec<V>)> {
            let groups = combine(
                records,
                |v| vec![v],
                |mut vs: Vec<V>, v| {
                    vs.push(v);
                    vs
                },
            );
            Box::new(groups.into_iter())
        }
        if self.is_partitioned_like(partitioner.as_ref()) {
            return self.map_partitions_placed(
                "group_by_key",
                self.erased_partitioner(),
                |_, records| group(records),
            );
        }
        self.shuffle("group_by_key", partitioner, bucket, group)
    }

    /// Moves every record to the partition `partitioner` gives its key;
    /// an RDD already placed by an equivalent partitioner is returned as
    /// it is.
    pub fn partition_by(&self, partitioner: Arc<dyn Partitioner<K>>) -> Rdd<(K, V)> {
        if self.is_partitioned_like(partitioner.as_ref()) {
            return self.clone();
        }
        self.shuffle("partition_by", partitioner, bucket, |records| records)
    }
}

impl<T: Data> Rdd<T> {
    /// The distinct elements.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let mut d = ctx.parallelize(vec![3, 1, 3, 2, 1], 2).distinct().collect()?;
    /// d.sort();
    /// assert_eq!(d, vec![1, 2, 3]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn distinct(&self) -> Rdd<T>
    where
        T: Hash + Eq,
    {
        self.distinct_with_partitions(self.num_partitions())
    }

    /// The distinct elements, hashed into `num_partitions` partitions.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let d = ctx.parallelize(vec![3, 1, 3, 2, 1], 2).distinct_with_partitions(3);
    /// assert_eq!(d.num_partitions(), 3);
    /// assert_eq!(d.count()?, 3);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn distinct_with_partitions(&self, num_partitions: usize) -> Rdd<T>
    where
        T: Hash + Eq,
    {
        let pairs = self.map(|x| (x, ()));
        let partitioner = hash_partitioner(num_partitions);
        pairs
            .combine_named("distinct", |()| (), |(), ()| (), |(), ()| (), partitioner)
            .keys()
    }

    /// Exactly `num_partitions` partitions (at least 1) of near-equal size,
    /// through a shuffle that deals records out round-robin.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let r = ctx.parallelize((0..10).collect(), 1).repartition(3);
    /// assert_eq!(r.glom().collect()?.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 3, 3]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn repartition(&self, num_partitions: usize) -> Rdd<T> {
        let partitions = num_partitions.max(1);
        self.map_partitions_with_index(move |index, iter| {
            iter.enumerate()
                .map(move |(i, x)| (index.wrapping_add(i), x))
        })
        .shuffle(
            "repartition",
            Arc::new(PositionPartitioner { partitions }),
            bucket,
            |records| records,
        )
        .values()
    }
}
