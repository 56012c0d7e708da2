//! Which partitioner places an RDD's records (Spark's `rdd.partitioner`)
//! and how an operation that needs one picks it (Spark's
//! `Partitioner.defaultPartitioner`). A shuffle sets it; narrow operations
//! that keep every key in its partition (`filter`, `map_values`,
//! `flat_map_values`, `map_partitions_preserving_partitioning`) pass it on;
//! every other operation drops it. A cogroup or per-key aggregation reads a
//! parent placed by an equivalent partitioner without a shuffle.

use std::any::Any;
use std::hash::Hash;
use std::sync::Arc;

use crate::{Data, HashPartitioner, Partitioner, Rdd};

/// An `Arc<dyn Partitioner<K>>` with its key type erased, so that an
/// `RddNode<T>` can hold it without knowing that `T` is `(K, V)`.
pub(crate) type ErasedPartitioner = Arc<dyn Any + Send + Sync>;

/// Erases the key type of `partitioner`.
pub(crate) fn erase<K: 'static>(partitioner: Arc<dyn Partitioner<K>>) -> ErasedPartitioner {
    Arc::new(partitioner)
}

impl<T: Data> Rdd<T> {
    /// The partitioner, type-erased, for a narrow child whose partitions
    /// hold the same keys.
    pub(crate) fn erased_partitioner(&self) -> Option<ErasedPartitioner> {
        self.node.partitioner.clone()
    }
}

impl<K: Data, V: Data> Rdd<(K, V)> {
    /// The partitioner that placed this RDD's records, if it is known
    /// (Spark's `rdd.partitioner`): set by shuffles (`reduce_by_key`,
    /// `partition_by`, `cogroup`, `sort_by_key`, …), kept by `filter`,
    /// `map_values`, `flat_map_values` and
    /// `map_partitions_preserving_partitioning`, dropped by anything that
    /// may change keys (`map`, `flat_map`, `union`, `coalesce`, …).
    ///
    /// ```
    /// use ember_rdd::{HashPartitioner, Partitioner};
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3)], 2);
    /// assert!(pairs.partitioner().is_none());
    /// let sums = pairs.reduce_by_key(|x, y| x + y).map_values(|v| v * 10);
    /// let placed_by = sums.partitioner().expect("kept by map_values");
    /// assert!(placed_by.equivalent(&HashPartitioner::new(2)));
    /// assert!(sums.map(|pair| pair).partitioner().is_none());
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn partitioner(&self) -> Option<Arc<dyn Partitioner<K>>> {
        self.node
            .partitioner
            .as_ref()?
            .downcast_ref::<Arc<dyn Partitioner<K>>>()
            .cloned()
    }

    /// Whether this RDD's records are already where `partitioner` would
    /// put them, so that no shuffle is needed to place them by it.
    pub(crate) fn is_partitioned_like(&self, partitioner: &dyn Partitioner<K>) -> bool {
        self.partitioner().is_some_and(|own| {
            own.num_partitions() == self.num_partitions() && own.equivalent(partitioner)
        })
    }

    /// An RDD with the same data as this one from `compute` placed by
    /// `partitioner`.
    pub(crate) fn derive_partitioned<W: Data>(
        &self,
        operation: &'static str,
        compute: impl crate::RddCompute<(K, W)>,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, W)> {
        Rdd::with_partitioner(self.context(), operation, compute, Some(erase(partitioner)))
    }
}

/// A parent of an operation that needs a partitioner: its number of
/// partitions and its partitioner, if any.
pub(crate) type ParentPlacement<K> = (usize, Option<Arc<dyn Partitioner<K>>>);

/// The partitioner for an operation over `rdds` that was given none, as
/// Spark chooses it: the partitioner of the parent with the most
/// partitions among those that have one, when its count is within a factor
/// of ten of the largest parent's; otherwise a hash partitioner over as
/// many partitions as the largest parent has. Reusing a parent's
/// partitioner spares that parent a shuffle.
pub(crate) fn default_partitioner<K: Data + Hash>(
    rdds: &[ParentPlacement<K>],
) -> Arc<dyn Partitioner<K>> {
    let most_partitions = rdds.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let largest_partitioned = rdds
        .iter()
        .filter_map(|(_, p)| p.as_ref().filter(|p| p.num_partitions() > 0))
        .max_by_key(|p| p.num_partitions());
    match largest_partitioned {
        Some(p) if is_eligible(p.num_partitions(), most_partitions) => Arc::clone(p),
        _ => Arc::new(HashPartitioner::new(most_partitions)),
    }
}

/// Spark's `isEligiblePartitioner`: fewer partitions than the largest
/// parent by less than an order of magnitude.
fn is_eligible(partitions: usize, most_partitions: usize) -> bool {
    partitions >= most_partitions
        || (most_partitions as f64).log10() - (partitions as f64).log10() < 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: usize) -> Option<Arc<dyn Partitioner<u32>>> {
        Some(Arc::new(HashPartitioner::new(n)))
    }

    fn count(p: &Arc<dyn Partitioner<u32>>) -> usize {
        p.num_partitions()
    }

    #[test]
    fn default_partitioner_follows_spark() {
        assert_eq!(
            count(&default_partitioner::<u32>(&[(3, None), (5, None)])),
            5
        );
        assert_eq!(count(&default_partitioner(&[(4, hash(4)), (8, None)])), 4);
        assert_eq!(count(&default_partitioner(&[(4, hash(4)), (40, None)])), 40);
        assert_eq!(
            count(&default_partitioner(&[(4, hash(4)), (6, hash(6))])),
            6
        );
        assert_eq!(count(&default_partitioner::<u32>(&[])), 1);
        let own = hash(3);
        let chosen = default_partitioner(&[(3, own.clone()), (2, None)]);
        assert!(chosen.equivalent(own.as_deref().unwrap()));
    }
}
