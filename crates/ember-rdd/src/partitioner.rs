//! Partitioners: which reduce partition a key goes to in a shuffle. Hash
//! partitioning by default, range partitioning for sorts. Two partitioners
//! that place every key alike are [`Partitioner::equivalent`]: an RDD
//! already placed by one needs no shuffle to be placed by the other.

use std::any::Any;
use std::hash::{BuildHasher, Hash};

use crate::JobError;

/// The hash state used for partitioning: fixed seed, so a key lands in
/// the same partition in every run and process.
fn hash_state() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x5eed_e3be_4ea5_71c5)
}

/// Decides the reduce partition of each key.
pub trait Partitioner<K>: Send + Sync {
    /// The number of reduce partitions.
    fn num_partitions(&self) -> usize;
    /// The partition of `key`, in `0..num_partitions()`. An index out of
    /// that range fails the shuffle with [`JobError::PartitionOutOfRange`].
    fn partition(&self, key: &K) -> usize;
    /// The partitioner's name in error messages: its type's name unless
    /// overridden.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }
    /// Called once before a shuffle's map stage uses the partitioner (a
    /// sort's range partitioner samples its input here).
    fn prepare(&self) -> Result<(), JobError> {
        Ok(())
    }
    /// Whether `other` sends every key to the same partition as this one
    /// (Spark's `Partitioner.equals`): a cogroup, join or per-key
    /// aggregation by `other` then reads an RDD placed by `self` without a
    /// shuffle. Returning `false` is always safe (it only costs a shuffle).
    /// The default recognises only the very same partitioner object.
    ///
    /// ```
    /// use ember_rdd::{HashPartitioner, Partitioner};
    /// let four: &dyn Partitioner<&str> = &HashPartitioner::new(4);
    /// assert!(four.equivalent(&HashPartitioner::new(4)));
    /// assert!(!four.equivalent(&HashPartitioner::new(5)));
    /// ```
    fn equivalent(&self, other: &dyn Partitioner<K>) -> bool {
        std::mem::size_of_val(self) != 0
            && std::ptr::addr_eq(self as *const Self, other as *const dyn Partitioner<K>)
    }
    /// This partitioner as [`Any`], so that `equivalent` can recognise
    /// another partitioner of its own type; `None` by default.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}

/// Spreads keys by hash: partition = hash(key) mod n.
///
/// ```
/// use ember_rdd::{HashPartitioner, Partitioner};
/// let p = HashPartitioner::new(4);
/// assert!(p.partition(&"spark") < 4);
/// assert_eq!(p.partition(&"spark"), p.partition(&"spark"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPartitioner {
    partitions: usize,
}

impl HashPartitioner {
    /// A hash partitioner over `partitions` partitions (at least 1).
    pub fn new(partitions: usize) -> Self {
        HashPartitioner {
            partitions: partitions.max(1),
        }
    }
}

impl<K: Hash> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &K) -> usize {
        (hash_state().hash_one(key) % self.partitions as u64) as usize
    }
    fn equivalent(&self, other: &dyn Partitioner<K>) -> bool {
        other
            .as_any()
            .and_then(|other| other.downcast_ref::<HashPartitioner>())
            == Some(self)
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// Sends keys to partitions by sorted ranges: partition i holds keys above
/// bound i-1 and up to bound i (reversed when descending).
///
/// ```
/// use ember_rdd::{Partitioner, RangePartitioner};
/// let p = RangePartitioner::new(vec![10, 20], true);
/// assert_eq!((p.partition(&5), p.partition(&10), p.partition(&15), p.partition(&99)), (0, 0, 1, 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePartitioner<K> {
    bounds: Vec<K>,
    ascending: bool,
}

impl<K: Ord> RangePartitioner<K> {
    /// A range partitioner with the given upper bounds (sorted ascending);
    /// it has `bounds.len() + 1` partitions.
    pub fn new(bounds: Vec<K>, ascending: bool) -> Self {
        RangePartitioner { bounds, ascending }
    }

    /// The bounds.
    pub fn bounds(&self) -> &[K] {
        &self.bounds
    }
}

impl<K: Ord + Send + Sync + 'static> Partitioner<K> for RangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.bounds.len() + 1
    }
    fn partition(&self, key: &K) -> usize {
        let index = self.bounds.partition_point(|bound| bound < key);
        if self.ascending {
            index
        } else {
            self.bounds.len() - index
        }
    }
    fn equivalent(&self, other: &dyn Partitioner<K>) -> bool {
        other
            .as_any()
            .and_then(|other| other.downcast_ref::<RangePartitioner<K>>())
            == Some(self)
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// Round-robin placement for `repartition`: the key is a running position.
pub(crate) struct PositionPartitioner {
    pub(crate) partitions: usize,
}

impl Partitioner<usize> for PositionPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &usize) -> usize {
        key % self.partitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_partitioner_is_stable_and_in_range() {
        let p = HashPartitioner::new(3);
        for key in 0..1000u64 {
            let part = Partitioner::<u64>::partition(&p, &key);
            assert!(part < 3);
            assert_eq!(part, Partitioner::<u64>::partition(&p, &key));
        }
        assert_eq!(
            Partitioner::<u64>::num_partitions(&HashPartitioner::new(0)),
            1
        );
    }

    #[test]
    fn range_partitioner_descending_reverses() {
        let p = RangePartitioner::new(vec![10, 20], false);
        assert_eq!(p.partition(&5), 2);
        assert_eq!(p.partition(&15), 1);
        assert_eq!(p.partition(&25), 0);
        assert_eq!(p.num_partitions(), 3);
    }

    #[test]
    fn equivalence_by_type_and_parameters() {
        let hash4: &dyn Partitioner<u32> = &HashPartitioner::new(4);
        assert!(hash4.equivalent(&HashPartitioner::new(4)));
        assert!(!hash4.equivalent(&HashPartitioner::new(3)));
        let range = RangePartitioner::new(vec![10u32, 20], true);
        assert!(range.equivalent(&RangePartitioner::new(vec![10, 20], true)));
        assert!(!range.equivalent(&RangePartitioner::new(vec![10, 20], false)));
        assert!(!range.equivalent(&RangePartitioner::new(vec![10, 21], true)));
        assert!(!range.equivalent(hash4), "same count, other placement");
        assert!(!hash4.equivalent(&range));
        // The default: only the same object.
        let position = PositionPartitioner { partitions: 4 };
        assert!(position.equivalent(&position));
        assert!(!position.equivalent(&PositionPartitioner { partitions: 4 }));
        assert!(!Partitioner::<usize>::equivalent(
            &HashPartitioner::new(4),
            &position
        ));
    }
}
