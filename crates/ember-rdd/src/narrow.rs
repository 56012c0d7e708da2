//! Narrow transformations: each output partition reads one parent partition
//! (or a fixed group of them), so they pipeline inside a task as one
//! iterator chain with no intermediate collection. Those that keep every
//! record in its partition under its key (`filter`, `map_values`,
//! `flat_map_values`, `map_partitions_preserving_partitioning`) keep the
//! parent's partitioner.

use std::sync::Arc;

use crate::chunks::{FilterOp, FlatMapOp, MapOp};
use crate::partitioning::ErasedPartitioner;
use crate::union::{CoalescedCompute, UnionCompute};
use crate::{BoxIter, Data, Dependency, JobError, Rdd, RddCompute, TaskContext};

type PartitionFn<T, U> = dyn Fn(usize, BoxIter<T>) -> BoxIter<U> + Send + Sync;

/// Spark's `MapPartitionsRDD`: applies a function to each partition's iterator.
struct MapPartitionsCompute<T, U> {
    parent: Rdd<T>,
    f: Arc<PartitionFn<T, U>>,
}

impl<T: Data, U: Data> RddCompute<U> for MapPartitionsCompute<T, U> {
    fn kind(&self) -> &'static str {
        "MapPartitionsRDD"
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::OneToOne(self.parent.info())]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<U>, JobError> {
        Ok((self.f)(partition, self.parent.iterator(partition, task)?))
    }
}

impl<T: Data> Rdd<T> {
    fn map_partitions_named<U: Data>(
        &self,
        operation: &'static str,
        f: impl Fn(usize, BoxIter<T>) -> BoxIter<U> + Send + Sync + 'static,
    ) -> Rdd<U> {
        self.map_partitions_placed(operation, None, f)
    }

    /// A `MapPartitionsRDD` whose records `partitioner` places (the
    /// parent's, when `f` keeps every record in its partition and key).
    pub(crate) fn map_partitions_placed<U: Data>(
        &self,
        operation: &'static str,
        partitioner: Option<ErasedPartitioner>,
        f: impl Fn(usize, BoxIter<T>) -> BoxIter<U> + Send + Sync + 'static,
    ) -> Rdd<U> {
        Rdd::with_partitioner(
            self.context(),
            operation,
            MapPartitionsCompute {
                parent: self.clone(),
                f: Arc::new(f),
            },
            partitioner,
        )
    }

    /// Applies `f` to every element.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// assert_eq!(ctx.parallelize(vec![1, 2], 2).map(|x| x * 10).collect()?, vec![10, 20]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Rdd<U> {
        self.elementwise("map", None, MapOp(f))
    }

    /// Applies `f` to every element and flattens the results.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize(vec![1, 3], 2).flat_map(|x| vec![x; x]);
    /// assert_eq!(rdd.collect()?, vec![1, 3, 3, 3]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        self.elementwise("flat_map", None, FlatMapOp(f))
    }

    /// Keeps the elements for which `f` is true (and the partitioner).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let evens = ctx.parallelize((1..=6).collect(), 3).filter(|x| x % 2 == 0);
    /// assert_eq!(evens.collect()?, vec![2, 4, 6]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn filter(&self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Rdd<T> {
        self.elementwise("filter", self.erased_partitioner(), FilterOp(f))
    }

    /// Applies `f` to each partition's iterator.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let sums = ctx.parallelize(vec![1, 2, 3, 4], 2).map_partitions(|it| std::iter::once(it.sum::<i32>()));
    /// assert_eq!(sums.collect()?, vec![3, 7]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn map_partitions<U: Data, I>(
        &self,
        f: impl Fn(BoxIter<T>) -> I + Send + Sync + 'static,
    ) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        self.map_partitions_named("map_partitions", move |_, iter| {
            Box::new(f(iter).into_iter())
        })
    }

    /// Applies `f` to each partition's index and iterator.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let tagged = ctx.parallelize(vec!['a', 'b'], 2).map_partitions_with_index(|i, it| it.map(move |c| (i, c)));
    /// assert_eq!(tagged.collect()?, vec![(0, 'a'), (1, 'b')]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn map_partitions_with_index<U: Data, I>(
        &self,
        f: impl Fn(usize, BoxIter<T>) -> I + Send + Sync + 'static,
    ) -> Rdd<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        self.map_partitions_named("map_partitions_with_index", move |index, iter| {
            Box::new(f(index, iter).into_iter())
        })
    }

    /// One vector per partition, holding that partition's elements.
    pub fn glom(&self) -> Rdd<Vec<T>> {
        self.map_partitions_named("glom", |_, iter| {
            Box::new(std::iter::once(iter.collect::<Vec<T>>()))
        })
    }

    /// This RDD's partitions followed by `other`'s.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let both = ctx.parallelize(vec![1], 1).union(&ctx.parallelize(vec![2, 3], 2));
    /// assert_eq!(both.num_partitions(), 3);
    /// assert_eq!(both.collect()?, vec![1, 2, 3]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn union(&self, other: &Rdd<T>) -> Rdd<T> {
        self.derive(
            "union",
            UnionCompute::new(vec![self.clone(), other.clone()]),
        )
    }

    /// Fewer partitions without a shuffle: each new partition reads a
    /// contiguous group of the old ones (never more partitions than before;
    /// use `repartition` to grow).
    pub fn coalesce(&self, num_partitions: usize) -> Rdd<T> {
        self.derive(
            "coalesce",
            CoalescedCompute::new(self.clone(), num_partitions),
        )
    }

    /// Pairs every element with the key `f` computes for it.
    pub fn key_by<K: Data>(&self, f: impl Fn(&T) -> K + Send + Sync + 'static) -> Rdd<(K, T)> {
        self.elementwise("key_by", None, MapOp(move |x| (f(&x), x)))
    }
}

impl<K: Data, V: Data> Rdd<(K, V)> {
    /// Applies `f` to every value, keeping the keys (and the partitioner).
    pub fn map_values<U: Data>(&self, f: impl Fn(V) -> U + Send + Sync + 'static) -> Rdd<(K, U)> {
        self.elementwise(
            "map_values",
            self.erased_partitioner(),
            MapOp(move |(k, v)| (k, f(v))),
        )
    }

    /// Applies `f` to each partition's iterator, promising that `f` keeps
    /// every key it outputs in the partition it came from (typically: it
    /// keeps the keys and changes or drops values), so the result keeps
    /// this RDD's partitioner. Spark's
    /// `mapPartitions(f, preservesPartitioning = true)`. Breaking the
    /// promise makes later cogroups and joins by that partitioner miss
    /// matches.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)];
    /// let sums = ctx.parallelize(pairs, 2).reduce_by_key(|x, y| x + y);
    /// let big = sums.map_partitions_preserving_partitioning(|it| it.filter(|(_, n)| *n > 2).map(|(k, n)| (k, n * 10)));
    /// assert_eq!(big.collect()?, vec![("a".to_owned(), 40)]);
    /// assert!(big.partitioner().is_some());
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn map_partitions_preserving_partitioning<W: Data, I>(
        &self,
        f: impl Fn(BoxIter<(K, V)>) -> I + Send + Sync + 'static,
    ) -> Rdd<(K, W)>
    where
        I: IntoIterator<Item = (K, W)> + 'static,
        I::IntoIter: 'static,
    {
        self.map_partitions_placed(
            "map_partitions",
            self.erased_partitioner(),
            move |_, iter| Box::new(f(iter).into_iter()),
        )
    }

    /// Applies `f` to every value and pairs the key with each result
    /// (keeping the partitioner).
    pub fn flat_map_values<U: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> Rdd<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        self.elementwise(
            "flat_map_values",
            self.erased_partitioner(),
            FlatMapOp(move |(k, v): (K, V)| f(v).into_iter().map(move |u| (k.clone(), u))),
        )
    }

    /// The keys.
    pub fn keys(&self) -> Rdd<K> {
        self.elementwise("keys", None, MapOp(|(k, _): (K, V)| k))
    }

    /// The values.
    pub fn values(&self) -> Rdd<V> {
        self.elementwise("values", None, MapOp(|(_, v): (K, V)| v))
    }
}
