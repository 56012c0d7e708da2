//! Kafka input for ember: Spark's direct stream
//! (`spark-streaming-kafka-0-10`'s `KafkaUtils.createDirectStream`).
//!
//! ```no_run
//! use ember_dstream::{Duration, StreamingConf, StreamingContext};
//! use ember_kafka::{ConsumerStrategy, KafkaOptions, KafkaParams, KafkaStreams};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ssc = StreamingContext::new(StreamingConf::new().master("local[2]"), Duration::from_secs(1))?;
//! let params = KafkaParams::from([("bootstrap.servers".to_owned(), "127.0.0.1:9092".to_owned())]);
//! let stream = KafkaStreams::create_direct_stream::<String, String>(
//!     &ssc,
//!     ConsumerStrategy::subscribe(["lines"], params),
//!     KafkaOptions::default(),
//! )?;
//! let words = stream.flat_map(|r| {
//!     r.value.unwrap_or_default().split_whitespace().map(str::to_owned).collect::<Vec<_>>()
//! });
//! words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b).print()?;
//! ssc.start()?;
//! # Ok(()) }
//! ```
//!
//! # How it works
//! There is no receiver. When a batch is generated, the stream asks the
//! brokers for the end offset of every partition it reads and makes the
//! batch the offset ranges `[from, until)` from where the previous batch
//! ended to that end (less when `spark.streaming.kafka.maxRatePerPartition`
//! or backpressure says so). The batch's RDD has one partition per Kafka
//! partition; the workers read them in parallel when the job runs, each
//! with a consumer assigned to its partition (kept between batches, so
//! consecutive batches need no seek). [`KafkaOffsets`] gives a batch's
//! ranges to outputs (Spark's `HasOffsetRanges`) and commits them to the
//! consumer group (`commitAsync`).
//!
//! # In cluster mode
//! Spark's driver plans each batch's ranges once. ember's processes
//! generate their batches each at its own moment, so each Kafka partition
//! has one owner (a fixed hash of topic and partition, the same in every
//! process), which alone plans its ranges, reads them and keeps its
//! position in its part of the checkpoint: every record is read by one
//! process, in one batch. [`KafkaOffsets::offset_ranges`] returns, on each
//! process, the ranges of the partitions it read, and each process commits
//! its own. The topic's partitions must not change while a cluster runs
//! (the processes could see a new partition at different batches).
//!
//! # Guarantees
//! The ranges of every generated batch, completed or pending, are part of
//! ember's checkpoint. After a crash, `StreamingContext::get_or_create`
//! restores them: each batch that had not completed reads exactly the same
//! ranges again, and new batches continue where the last one ended. State
//! (`update_state_by_key`, windows) is therefore exactly-once; an output is
//! exactly-once end to end when it stores a batch's ranges atomically with
//! its results (read them with [`KafkaOffsets::offset_ranges`]) and skips
//! ranges it already stored, as Spark's guide shows. Offsets committed to
//! Kafka with `commit_async` are at-least-once.
//!
//! An offset that fell out of retention is an error
//! ([`KafkaError::OffsetOutOfRange`]), or a logged reset with
//! [`OffsetOutOfRange::ResetToEarliest`]; never a silent skip. A broker that
//! is down or slow: batch generation retries with backoff (as many
//! attempts as backoffs of 50 ms, doubling up to 1 s, fit in one batch
//! interval, at least 200 ms), reporting each failure to the listeners
//! (`on_input_error`, and in the batch's `BatchInfo::input_errors`); if it
//! is still down the batch reads nothing and the next batch catches up
//! from the same offsets, so no record is lost. At `start` the same
//! retries last up to `ember.kafka.startTimeoutMs` (30 s), then `start`
//! fails with `StreamingError::Input` (the [`KafkaError`] as its source);
//! an offset out of range stops the context with
//! `StreamingError::InputFailed` naming the batch and that error.
//! Workers wait for a range's records up to
//! `spark.streaming.kafka.consumer.poll.ms` without progress, while
//! librdkafka reconnects; after the context stopped they give up after one
//! second without progress, so a stop never hangs on a dead broker.
//!
//! # The client: librdkafka through `rdkafka`
//! The stream uses `rdkafka` 0.39 (librdkafka 2.12, built from the bundled
//! source with `make` and the C compiler, no cmake and no system library:
//! default features are off, so neither zlib, OpenSSL nor SASL is linked;
//! add rdkafka's features in an application that needs them).
//! - Build time on this 2-core machine: about 3 minutes for `rdkafka-sys`
//!   on a cold target directory, once; nothing afterwards.
//! - Protocol: librdkafka is the reference C client, maintained by the
//!   Kafka project's main vendor: consumer groups and committed offsets,
//!   `isolation.level=read_committed` (end offsets are then the last stable
//!   offset, and aborted records are skipped), every compression codec,
//!   SASL/TLS. The pure-Rust clients are behind: `rskafka` has neither
//!   consumer groups nor committed offsets, `kafka` (kafka-rust) speaks old
//!   protocol versions without transactions, and `samsa` is young.
//! - Runtime: none; the blocking `BaseConsumer` is used (rdkafka's `tokio`
//!   feature is off), and librdkafka runs its own I/O threads.
//! - Copies: librdkafka fetches into its own buffers; a record's key and
//!   value are handed to the deserializers as slices of that buffer, so a
//!   record's bytes are copied once, into the deserialized value.
//! - Tests: librdkafka ships a Kafka-protocol mock cluster
//!   ([`mock_broker`]); the suite runs it as a separate process on
//!   127.0.0.1 (see `src/bin/ember_kafka_mock_broker.rs`).

mod batches;
mod consumer_pool;
mod deserializer;
mod direct_stream;
mod driver;
mod error;
pub mod mock_broker;
mod offset_range;
mod options;
mod placement;
mod rate;
mod rdd;
mod record;
mod strategy;

pub use deserializer::{BytesDeserializer, Deserializer, StringDeserializer};
pub use direct_stream::{DirectKafkaStream, FromKafkaBytes, KafkaOffsets, KafkaStreams};
pub use error::KafkaError;
pub use offset_range::{OffsetRange, TopicPartition};
pub use options::{
    KafkaOptions, MAX_RATE_PER_PARTITION, MIN_RATE_PER_PARTITION, OFFSET_OUT_OF_RANGE,
    OffsetOutOfRange, POLL_TIMEOUT_MS, START_TIMEOUT_MS,
};
pub use record::{ConsumerRecord, RecordHeader, TimestampType};
pub use strategy::{ConsumerStrategy, KafkaParams};
