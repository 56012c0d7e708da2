//! [`KafkaError`]: why creating, generating or reading a Kafka direct
//! stream failed, and its conversion into the engine's errors.

use std::sync::Arc;

use ember_dstream::StreamingError;
use ember_rdd::JobError;

/// Why a Kafka direct stream could not be created, generate a batch or read
/// a batch's records.
#[derive(Clone, thiserror::Error)]
pub enum KafkaError {
    /// The Kafka client (librdkafka) reported an error.
    #[error("kafka client error while {operation}: {source}")]
    Client {
        /// What the stream was doing.
        operation: String,
        /// librdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// An offset the stream must read is no longer (or not yet) kept by the
    /// broker: retention deleted it, or the topic was recreated. Never
    /// skipped silently: set `ember.kafka.offsetOutOfRange` to `earliest`
    /// (or [`OffsetOutOfRange::ResetToEarliest`](crate::OffsetOutOfRange)) to
    /// reset with a logged warning instead.
    #[error(
        "offset {offset} of {topic}-{partition} is out of range: the broker keeps offsets [{earliest}, {latest})"
    )]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset the stream needed.
        offset: i64,
        /// The earliest offset the broker keeps.
        earliest: i64,
        /// The broker's end offset.
        latest: i64,
    },
    /// A Kafka parameter or stream option that cannot be used.
    #[error("invalid Kafka setting {key} = {value:?}: {reason}")]
    InvalidSetting {
        /// The parameter or option.
        key: String,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No record arrived for `waited` while a batch's range was not fully
    /// read (`spark.streaming.kafka.consumer.poll.ms`).
    #[error(
        "no progress for {waited:?} reading {topic}-{partition} offsets [{from}, {until}): next offset {next}"
    )]
    FetchTimeout {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The range's first offset.
        from: i64,
        /// The range's end (exclusive).
        until: i64,
        /// The first offset not read yet.
        next: i64,
        /// How long nothing arrived.
        waited: std::time::Duration,
    },
    /// The stream was stopped while a range could not be read (the broker
    /// being unreachable); the batch is re-run after a recovery.
    #[error("stopped while reading {topic}-{partition} at offset {next}")]
    Stopped {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The first offset not read.
        next: i64,
    },
    /// A key or value deserializer failed or panicked.
    #[error("deserializing the {part} of {topic}-{partition} at offset {offset}: {message}")]
    Deserialize {
        /// `"key"` or `"value"`.
        part: &'static str,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The record's offset.
        offset: i64,
        /// What the deserializer said (or its panic message).
        message: String,
    },
    /// Reading or writing a stream outside Kafka failed (the mock broker's
    /// command channel).
    #[error("I/O error while {operation}: {source}")]
    Io {
        /// What was being done.
        operation: String,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The offsets saved in a checkpoint cannot be decoded.
    #[error("the Kafka offsets in the checkpoint cannot be decoded: {message}")]
    CorruptCheckpoint {
        /// What the decoder said.
        message: String,
    },
}

impl KafkaError {
    /// Wraps a client error with what the stream was doing.
    pub(crate) fn client(operation: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        KafkaError::Client {
            operation: operation.into(),
            source,
        }
    }

    /// The error as a job error of the RDD core (reading partition
    /// `partition` of a batch's RDD `rdd`).
    pub(crate) fn into_job_error(self, rdd: usize, partition: Option<usize>) -> JobError {
        JobError::Storage {
            rdd,
            partition,
            source: Arc::new(self),
        }
    }
}

impl From<KafkaError> for StreamingError {
    fn from(e: KafkaError) -> Self {
        match e {
            KafkaError::InvalidSetting { key, value, reason } => {
                StreamingError::InvalidConf { key, value, reason }
            }
            other => StreamingError::Input {
                stream_id: None,
                name: crate::direct_stream::NAME,
                source: Arc::new(other),
            },
        }
    }
}

/// The same text as `Display`: the message with its context, so that a
/// `main` returning this error (which prints it with `Debug`) shows what
/// went wrong and what to do, not the variant's raw fields.
impl std::fmt::Debug for KafkaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
