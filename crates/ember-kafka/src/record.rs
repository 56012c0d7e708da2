//! [`ConsumerRecord`]: one Kafka record as the stream delivers it (Kafka's
//! `ConsumerRecord`: topic, partition, offset, timestamp, key, value,
//! headers).

use std::sync::Arc;

/// Which clock a record's timestamp comes from (Kafka's `TimestampType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TimestampType {
    /// The record has no timestamp.
    NoTimestamp,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when it appended the record.
    LogAppendTime,
}

/// One record header: a key and an optional value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RecordHeader {
    /// The header's key.
    pub key: String,
    /// The header's value (`None` for a null value).
    pub value: Option<Vec<u8>>,
}

/// One Kafka record: where it lies, when it was written, its deserialized
/// key and value (`None` when Kafka holds null, e.g. a tombstone) and its
/// headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ConsumerRecord<K, V> {
    /// The topic (shared by every record of a partition's batch).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// Milliseconds since the Unix epoch, when the record has a timestamp.
    pub timestamp: Option<i64>,
    /// What the timestamp means.
    pub timestamp_type: TimestampType,
    /// The key, `None` when null.
    pub key: Option<K>,
    /// The value, `None` when null.
    pub value: Option<V>,
    /// The headers, in order.
    pub headers: Vec<RecordHeader>,
}
