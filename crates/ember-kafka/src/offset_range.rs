//! [`TopicPartition`] and [`OffsetRange`]: which records of which Kafka
//! partition a batch holds (Spark's `OffsetRange`).

use serde::{Deserialize, Serialize};

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// Partition `partition` of `topic`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The records `[from_offset, until_offset)` of one partition: what one
/// batch reads from it, one RDD partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic.
    pub topic: String,
    /// The partition number.
    pub partition: i32,
    /// The first offset read.
    pub from_offset: i64,
    /// The offset after the last one read (exclusive end).
    pub until_offset: i64,
}

impl OffsetRange {
    /// The range `[from_offset, until_offset)` of `tp`.
    pub fn new(tp: &TopicPartition, from_offset: i64, until_offset: i64) -> Self {
        OffsetRange {
            topic: tp.topic.clone(),
            partition: tp.partition,
            from_offset,
            until_offset,
        }
    }

    /// The partition the range lies in.
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.partition)
    }

    /// How many offsets the range spans (the record count, unless the
    /// topic is compacted or transactional: markers and deleted records
    /// take offsets too).
    pub fn count(&self) -> u64 {
        u64::try_from(self.until_offset - self.from_offset).unwrap_or(0)
    }
}
