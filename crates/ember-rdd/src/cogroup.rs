//! `cogroup` and the joins built on it, as in Spark: a `CoGroupedRDD` with
//! one shuffle dependency per parent (both by the same hash partitioner)
//! that groups each key's values from both sides.

use std::hash::Hash;
use std::sync::Arc;

use crate::partitioner::{FastMap, fast_map};
use crate::shuffle::{ShuffleDep, bucket};
use crate::{
    BoxIter, Data, Dependency, HashPartitioner, JobError, Partitioner, Rdd, RddCompute, TaskContext,
};

/// Both sides' values of one key.
type Groups<V, W> = (Vec<V>, Vec<W>);
/// A full outer join's pair: either side may be missing.
type EitherOrBoth<V, W> = (Option<V>, Option<W>);

/// Spark's `CoGroupedRDD`: reads the same reduce partition of both
/// parents' shuffles and groups the values per key.
struct CoGroupedCompute<K, V, W> {
    left: Arc<ShuffleDep<K, V, V>>,
    right: Arc<ShuffleDep<K, W, W>>,
}

impl<K: Data + Hash + Eq, V: Data, W: Data> RddCompute<(K, Groups<V, W>)>
    for CoGroupedCompute<K, V, W>
{
    fn kind(&self) -> &'static str {
        "CoGroupedRDD"
    }
    fn num_partitions(&self) -> usize {
        self.left.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Shuffle(self.left.clone()),
            Dependency::Shuffle(self.right.clone()),
        ]
    }
    fn compute(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<BoxIter<(K, Groups<V, W>)>, JobError> {
        let mut groups: FastMap<K, Groups<V, W>> = fast_map(1024);
        for (k, v) in self.left.read(partition, task)? {
            groups.entry(k).or_default().0.push(v);
        }
        for (k, w) in self.right.read(partition, task)? {
            groups.entry(k).or_default().1.push(w);
        }
        Ok(Box::new(groups.into_iter()))
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// For each key in either RDD, the values it has in this one and in
    /// `other`; partitions: the larger of the two RDDs'.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let a = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
    /// let b = ctx.parallelize(vec![(1, "x"), (1, "y"), (3, "z")], 2);
    /// let mut groups = a.cogroup(&b).collect()?;
    /// groups.sort();
    /// assert_eq!(groups, vec![
    ///     (1, (vec!['a'], vec!["x", "y"])),
    ///     (2, (vec!['b'], vec![])),
    ///     (3, (vec![], vec!["z"])),
    /// ]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn cogroup<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, Groups<V, W>)> {
        let n = self.num_partitions().max(other.num_partitions());
        self.cogroup_with_partitions(other, n)
    }

    /// `cogroup` into `num_partitions` partitions.
    pub fn cogroup_with_partitions<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        num_partitions: usize,
    ) -> Rdd<(K, Groups<V, W>)> {
        let partitioner: Arc<dyn Partitioner<K>> = Arc::new(HashPartitioner::new(num_partitions));
        let left = self.shuffle_dependency(Arc::clone(&partitioner), bucket);
        let right = other.shuffle_dependency(partitioner, bucket);
        self.derive("cogroup", CoGroupedCompute { left, right })
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
