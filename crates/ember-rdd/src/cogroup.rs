//! `cogroup` and the joins built on it, as in Spark: a `CoGroupedRDD` that
//! groups each key's values from both sides. A parent already placed by
//! the cogroup's partitioner is read partition by partition (a narrow,
//! one-to-one dependency); only the others are shuffled.

use std::hash::Hash;
use std::sync::Arc;

use crate::combine::{Combiners, INITIAL_KEYS};
use crate::partitioning::default_partitioner;
use crate::shuffle::{ShuffleDep, bucket};
use crate::{
    BoxIter, Data, Dependency, HashPartitioner, JobError, Partitioner, Rdd, RddCompute, TaskContext,
};

/// Both sides' values of one key.
type Groups<V, W> = (Vec<V>, Vec<W>);
/// A full outer join's pair: either side may be missing.
type EitherOrBoth<V, W> = (Option<V>, Option<W>);

/// How a `CoGroupedRDD` reads one parent.
pub(crate) enum CoGroupInput<K, V> {
    /// Already placed by the cogroup's partitioner: partition i of the
    /// cogroup reads partition i of the parent.
    CoPartitioned(Rdd<(K, V)>),
    /// Shuffled by the cogroup's partitioner.
    Shuffled(Arc<ShuffleDep<K, V, V>>),
}

impl<K: Data, V: Data> CoGroupInput<K, V> {
    pub(crate) fn new(parent: &Rdd<(K, V)>, partitioner: &Arc<dyn Partitioner<K>>) -> Self {
        if parent.is_partitioned_like(partitioner.as_ref()) {
            CoGroupInput::CoPartitioned(parent.clone())
        } else {
            CoGroupInput::Shuffled(parent.shuffle_dependency(Arc::clone(partitioner), bucket))
        }
    }

    pub(crate) fn dependency(&self) -> Dependency {
        match self {
            CoGroupInput::CoPartitioned(parent) => Dependency::OneToOne(parent.info()),
            CoGroupInput::Shuffled(shuffle) => Dependency::Shuffle(shuffle.clone()),
        }
    }

    pub(crate) fn read(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<BoxIter<(K, V)>, JobError> {
        match self {
            CoGroupInput::CoPartitioned(parent) => parent.iterator(partition, task),
            CoGroupInput::Shuffled(shuffle) => shuffle.read(partition, task),
        }
    }
}

/// Spark's `CoGroupedRDD`: reads the same partition of both parents
/// (shuffled or co-partitioned) and groups the values per key.
struct CoGroupedCompute<K, V, W> {
    num_partitions: usize,
    left: CoGroupInput<K, V>,
    right: CoGroupInput<K, W>,
}

impl<K: Data + Hash + Eq, V: Data, W: Data> RddCompute<(K, Groups<V, W>)>
    for CoGroupedCompute<K, V, W>
{
    fn kind(&self) -> &'static str {
        "CoGroupedRDD"
    }
    fn num_partitions(&self) -> usize {
        self.num_partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![self.left.dependency(), self.right.dependency()]
    }
    fn compute(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<BoxIter<(K, Groups<V, W>)>, JobError> {
        let mut groups: Combiners<K, Groups<V, W>> = Combiners::with_capacity(INITIAL_KEYS);
        groups.extend(
            self.left.read(partition, task)?,
            |v| (vec![v], Vec::new()),
            |mut group, v| {
                group.0.push(v);
                group
            },
        );
        groups.extend(
            self.right.read(partition, task)?,
            |w| (Vec::new(), vec![w]),
            |mut group, w| {
                group.1.push(w);
                group
            },
        );
        Ok(Box::new(groups.into_entries().into_iter()))
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// For each key in either RDD, the values it has in this one and in
    /// `other`. The partitioner is Spark's default: that of a parent that
    /// has one (the one with more partitions, if its count is within ten
    /// times the larger parent's), whose side then needs no shuffle;
    /// otherwise hashing into as many partitions as the larger parent has.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let a = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
    /// let b = ctx.parallelize(vec![(1, "x".to_owned()), (1, "y".to_owned()), (3, "z".to_owned())], 2);
    /// let mut groups = a.cogroup(&b).collect()?;
    /// groups.sort();
    /// assert_eq!(groups, vec![
    ///     (1, (vec!['a'], vec!["x".to_owned(), "y".to_owned()])),
    ///     (2, (vec!['b'], vec![])),
    ///     (3, (vec![], vec!["z".to_owned()])),
    /// ]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn cogroup<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, Groups<V, W>)> {
        let partitioner = default_partitioner(&[
            (self.num_partitions(), self.partitioner()),
            (other.num_partitions(), other.partitioner()),
        ]);
        self.cogroup_with_partitioner(other, partitioner)
    }

    /// `cogroup` hashed into `num_partitions` partitions.
    pub fn cogroup_with_partitions<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        num_partitions: usize,
    ) -> Rdd<(K, Groups<V, W>)> {
        self.cogroup_with_partitioner(other, Arc::new(HashPartitioner::new(num_partitions)))
    }

    /// `cogroup` into the partitions `partitioner` chooses. A side already
    /// placed by an equivalent partitioner (the output of `reduce_by_key`,
    /// `partition_by`, an earlier `cogroup`, … by it) is read in place; only
    /// the other side is shuffled. The result is placed by `partitioner`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ember_rdd::{HashPartitioner, Partitioner};
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let by_2: Arc<dyn Partitioner<u32>> = Arc::new(HashPartitioner::new(2));
    /// let state = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2).partition_by(Arc::clone(&by_2));
    /// let batch = ctx.parallelize(vec![(1, 10), (3, 30)], 3);
    /// let groups = state.cogroup_with_partitioner(&batch, by_2);
    /// assert_eq!(groups.to_debug_string(), "\
    /// (2) CoGroupedRDD[3] at cogroup []
    ///  |  ShuffledRDD[1] at partition_by []
    ///  +-(2) ParallelCollectionRDD[0] at parallelize []
    ///  +-(3) ParallelCollectionRDD[2] at parallelize []");
    /// let mut groups = groups.collect()?;
    /// groups.sort();
    /// assert_eq!(groups, vec![
    ///     (1, (vec!['a'], vec![10])),
    ///     (2, (vec!['b'], vec![])),
    ///     (3, (vec![], vec![30])),
    /// ]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn cogroup_with_partitioner<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, Groups<V, W>)> {
        let compute = CoGroupedCompute {
            num_partitions: partitioner.num_partitions(),
            left: CoGroupInput::new(self, &partitioner),
            right: CoGroupInput::new(other, &partitioner),
        };
        self.derive_partitioned("cogroup", compute, partitioner)
    }

    /// Pairs of values for each key present in both RDDs.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let a = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
    /// let b = ctx.parallelize(vec![(1, 10), (1, 11), (3, 30)], 1);
    /// let mut joined = a.join(&b).collect()?;
    /// joined.sort();
    /// assert_eq!(joined, vec![(1, ('a', 10)), (1, ('a', 11))]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        self.cogroup(other).flat_map_values(|(vs, ws)| {
            vs.iter()
                .flat_map(|v| ws.iter().map(move |w| (v.clone(), w.clone())))
                .collect::<Vec<_>>()
        })
    }

    /// Every value of this RDD, with each matching value of `other` or `None`.
    pub fn left_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        self.cogroup(other).flat_map_values(|(vs, ws)| {
            vs.iter()
                .flat_map(|v| optional(&ws).map(move |w| (v.clone(), w)))
                .collect::<Vec<_>>()
        })
    }

    /// Every value of `other`, with each matching value of this RDD or `None`.
    pub fn right_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        self.cogroup(other).flat_map_values(|(vs, ws)| {
            optional(&vs)
                .flat_map(|v| ws.iter().map(move |w| (v.clone(), w.clone())))
                .collect::<Vec<_>>()
        })
    }

    /// Every key of either RDD, with the values of each side or `None`.
    pub fn full_outer_join<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, EitherOrBoth<V, W>)> {
        self.cogroup(other).flat_map_values(|(vs, ws)| {
            optional(&vs)
                .flat_map(|v| optional(&ws).map(move |w| (v.clone(), w)))
                .collect::<Vec<_>>()
        })
    }
}

/// `Some(x)` for each value, or a single `None` when there are none.
fn optional<T: Clone>(values: &[T]) -> Box<dyn Iterator<Item = Option<T>> + '_> {
    if values.is_empty() {
        Box::new(std::iter::once(None))
    } else {
        Box::new(values.iter().cloned().map(Some))
    }
}
