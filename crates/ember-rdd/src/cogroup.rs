//! `cogroup` and the joins built on it, as in Spark: both sides are tagged,
//! shuffled together by key, and grouped per key.

use std::hash::Hash;
use std::sync::Arc;

use crate::partitioner::{FastMap, fast_map};
use crate::shuffle::bucket;
use crate::{BoxIter, Data, HashPartitioner, Rdd};

#[derive(Clone)]
enum Side<V, W> {
    Left(V),
    Right(W),
}

/// Both sides' values of one key.
type Groups<V, W> = (Vec<V>, Vec<W>);
/// A full outer join's pair: either side may be missing.
type EitherOrBoth<V, W> = (Option<V>, Option<W>);

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
        let left = self.map_values(Side::<V, W>::Left);
        let right = other.map_values(Side::<V, W>::Right);
        left.union(&right).shuffle(
            "cogroup",
            Arc::new(HashPartitioner::new(num_partitions)),
            bucket,
            |records| {
                let mut groups: FastMap<K, Groups<V, W>> = fast_map(1024);
                for (k, side) in records {
                    let (vs, ws) = groups.entry(k).or_default();
                    match side {
                        Side::Left(v) => vs.push(v),
                        Side::Right(w) => ws.push(w),
                    }
                }
                Box::new(groups.into_iter()) as BoxIter<(K, Groups<V, W>)>
            },
        )
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
