//! [`Placement`]: which process of a cluster reads a Kafka partition.
//!
//! Spark's driver plans every batch's offset ranges once. In an ember
//! cluster every process generates its batches itself, at its own moment,
//! so two processes asking the broker for a partition's end offset get
//! different answers. A partition is therefore planned, read and
//! checkpointed by one process only, its owner: the process decided by a
//! fixed hash of the partition (the same in every process and every run
//! with the same process count). Each batch's ranges of a partition are
//! thus decided once, and its position lives in the owner's part of the
//! checkpoint.

use crate::TopicPartition;

/// This process's place in its cluster (one process in local mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    /// How many processes read the stream.
    pub(crate) processes: usize,
    /// This one's index.
    pub(crate) process: usize,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            processes: 1,
            process: 0,
        }
    }
}

impl Placement {
    /// The process that reads `tp`: FNV-1a of the topic's name plus the
    /// partition number, modulo the process count (so one topic's
    /// partitions are dealt round-robin).
    pub(crate) fn owner(&self, tp: &TopicPartition) -> usize {
        use std::hash::Hasher;
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(tp.topic.as_bytes());
        let slot = hasher
            .finish()
            .wrapping_add(u64::from(tp.partition.unsigned_abs()));
        (slot % self.processes.max(1) as u64) as usize
    }

    /// Whether this process reads `tp`.
    pub(crate) fn reads(&self, tp: &TopicPartition) -> bool {
        self.processes <= 1 || self.owner(tp) == self.process
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_s_partitions_are_dealt_round_robin_and_each_read_once() {
        let places: Vec<Placement> = (0..3)
            .map(|process| Placement {
                processes: 3,
                process,
            })
            .collect();
        let owners: Vec<usize> = (0..6)
            .map(|p| places[0].owner(&TopicPartition::new("t", p)))
            .collect();
        assert_eq!(owners[3..], owners[..3]);
        let mut first = owners[..3].to_vec();
        first.sort_unstable();
        assert_eq!(first, vec![0, 1, 2]);
        for p in 0..6 {
            let tp = TopicPartition::new("t", p);
            let readers: Vec<usize> = places
                .iter()
                .filter(|pl| pl.reads(&tp))
                .map(|pl| pl.process)
                .collect();
            assert_eq!(readers, vec![owners[p as usize]]);
        }
        assert!(Placement::default().reads(&TopicPartition::new("t", 5)));
    }

    #[test]
    fn the_owner_is_fnv1a_of_the_topic_plus_the_partition() {
        // Every process of a cluster, of any build, must agree.
        let place = Placement {
            processes: 1000,
            process: 0,
        };
        assert_eq!(place.owner(&TopicPartition::new("orders", 2)), 974);
        assert_eq!(place.owner(&TopicPartition::new("orders", 5)), 977);
    }
}
