//! [`KafkaRdd`]: one batch of a direct stream, one RDD partition per
//! offset range, read by the workers when a job runs (Spark's `KafkaRDD`).
//!
//! A partition is read whole into a `Vec` before its records are handed
//! on, so that every failure (broker unreachable for the poll timeout, an
//! offset out of range, a deserializer failing or panicking) is a typed
//! task error rather than a panic inside an iterator. Its size is bounded
//! by the batch's range, which the rate limits bound.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ember_rdd::{BoxIter, Dependency, JobError, RddCompute, TaskContext};
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError as ClientError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Timestamp};

use crate::consumer_pool::{ConsumerPool, PooledConsumer};
use crate::placement::Placement;
use crate::record::{RecordHeader, TimestampType};
use crate::{ConsumerRecord, Deserializer, KafkaError, OffsetRange};

/// How long one poll waits before the loop checks its deadline and the
/// stop flag.
const POLL_SLICE: std::time::Duration = std::time::Duration::from_millis(100);
/// After the stream stopped, how long a read may go without progress before
/// it gives up (the broker is unreachable; the batch is re-run on recovery).
const STOPPED_PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// What reading a batch needs besides its ranges; shared by every batch of
/// a stream.
pub(crate) struct ReadEnv<K, V> {
    pub(crate) pool: Arc<ConsumerPool>,
    pub(crate) key: Arc<dyn Deserializer<K>>,
    pub(crate) value: Arc<dyn Deserializer<V>>,
    pub(crate) poll_timeout: std::time::Duration,
    pub(crate) stopped: Arc<AtomicBool>,
}

/// One batch: its offset ranges and how to read them.
pub(crate) struct KafkaRdd<K, V> {
    pub(crate) ranges: Vec<OffsetRange>,
    pub(crate) env: Arc<ReadEnv<K, V>>,
    /// Which process reads which partition (the ranges of other
    /// processes' partitions are placeholders).
    pub(crate) placement: Placement,
}

impl<K: ember_rdd::Data, V: ember_rdd::Data> RddCompute<ConsumerRecord<K, V>> for KafkaRdd<K, V> {
    fn kind(&self) -> &'static str {
        "KafkaRDD"
    }
    fn num_partitions(&self) -> usize {
        self.ranges.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn owner(&self, partition: usize, _processes: usize) -> Option<usize> {
        self.ranges
            .get(partition)
            .map(|r| self.placement.owner(&r.topic_partition()))
    }
    fn compute(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<BoxIter<ConsumerRecord<K, V>>, JobError> {
        let Some(range) = self.ranges.get(partition) else {
            return Ok(Box::new(std::iter::empty()));
        };
        let owner = self.placement.owner(&range.topic_partition());
        if !self.placement.reads(&range.topic_partition()) {
            return Err(JobError::NotLocal {
                partition,
                owner,
                process: self.placement.process,
            });
        }
        read_range(range, &self.env)
            .map(|records| Box::new(records.into_iter()) as BoxIter<_>)
            .map_err(|e| e.into_job_error(task.stage, Some(partition)))
    }
}

/// The panic message of a caught panic.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs a user deserializer on `data` under `catch_unwind`.
fn deserialize<T: 'static>(
    de: &dyn Deserializer<T>,
    part: &'static str,
    range: &OffsetRange,
    offset: i64,
    data: Option<&[u8]>,
) -> Result<Option<T>, KafkaError> {
    let Some(data) = data else { return Ok(None) };
    let fail = |message: String| KafkaError::Deserialize {
        part,
        topic: range.topic.clone(),
        partition: range.partition,
        offset,
        message,
    };
    match catch_unwind(AssertUnwindSafe(|| de.deserialize(&range.topic, data))) {
        Ok(Ok(value)) => Ok(Some(value)),
        Ok(Err(message)) => Err(fail(message)),
        Err(panic) => Err(fail(format!("panicked: {}", panic_message(panic.as_ref())))),
    }
}

/// One record out of librdkafka's message: the key's and value's bytes
/// are read in place from the fetch buffer by the deserializers (one copy,
/// into the deserialized value).
fn to_record<K: 'static, V: 'static>(
    msg: &BorrowedMessage<'_>,
    topic: &Arc<str>,
    range: &OffsetRange,
    env: &ReadEnv<K, V>,
) -> Result<ConsumerRecord<K, V>, KafkaError> {
    let offset = msg.offset();
    let (timestamp, timestamp_type) = match msg.timestamp() {
        Timestamp::NotAvailable => (None, TimestampType::NoTimestamp),
        Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
        Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
    };
    let headers = msg
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| RecordHeader {
                    key: h.key.to_owned(),
                    value: h.value.map(<[u8]>::to_vec),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ConsumerRecord {
        topic: Arc::clone(topic),
        partition: range.partition,
        offset,
        timestamp,
        timestamp_type,
        key: deserialize(env.key.as_ref(), "key", range, offset, msg.key())?,
        value: deserialize(env.value.as_ref(), "value", range, offset, msg.payload())?,
        headers,
    })
}

/// The consumer's fetch position in the range's partition, if known.
fn position(consumer: &PooledConsumer, range: &OffsetRange) -> Option<i64> {
    let positions = consumer.consumer.position().ok()?;
    let elem = positions.find_partition(&range.topic, range.partition)?;
    elem.offset().to_raw()
}

/// Whether a consumer error means the range cannot be read at all (rather
/// than a broker being unreachable for a while, which librdkafka retries).
fn is_fatal(e: &ClientError) -> bool {
    let code = match e {
        ClientError::MessageConsumption(code) | ClientError::MessageConsumptionFatal(code) => *code,
        _ => return false,
    };
    matches!(
        code,
        RDKafkaErrorCode::OffsetOutOfRange
            | RDKafkaErrorCode::AutoOffsetReset
            | RDKafkaErrorCode::UnknownTopicOrPartition
            | RDKafkaErrorCode::UnknownPartition
            | RDKafkaErrorCode::UnknownTopic
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::Fatal
    ) || matches!(e, ClientError::MessageConsumptionFatal(_))
}

/// Reads every record of `range`. A consumer that ends exactly at the
/// range's end goes back to the pool for the partition's next batch.
pub(crate) fn read_range<K: 'static, V: 'static>(
    range: &OffsetRange,
    env: &ReadEnv<K, V>,
) -> Result<Vec<ConsumerRecord<K, V>>, KafkaError> {
    if range.until_offset <= range.from_offset {
        return Ok(Vec::new());
    }
    let tp = range.topic_partition();
    let mut consumer = env.pool.take(&tp, range.from_offset)?;
    let topic: Arc<str> = Arc::from(range.topic.as_str());
    let capacity = usize::try_from(range.count()).unwrap_or(0).min(1 << 20);
    let mut records = Vec::with_capacity(capacity);
    let mut next = range.from_offset;
    let mut last_progress = Instant::now();
    let mut reusable = true;
    let timed_out = |next: i64, last_progress: Instant| {
        let waited = last_progress.elapsed();
        if waited >= env.poll_timeout {
            return Some(KafkaError::FetchTimeout {
                topic: range.topic.clone(),
                partition: range.partition,
                from: range.from_offset,
                until: range.until_offset,
                next,
                waited,
            });
        }
        if env.stopped.load(Ordering::SeqCst) && waited >= STOPPED_PATIENCE {
            return Some(KafkaError::Stopped {
                topic: range.topic.clone(),
                partition: range.partition,
                next,
            });
        }
        None
    };
    while next < range.until_offset {
        match consumer.consumer.poll(POLL_SLICE) {
            None => {}
            Some(Ok(msg)) => {
                let offset = msg.offset();
                if msg.partition() != range.partition || offset < next {
                    continue;
                }
                last_progress = Instant::now();
                if offset >= range.until_offset {
                    // A gap (compaction, transaction markers) ran past the
                    // end: this consumer is now beyond it.
                    reusable = false;
                    break;
                }
                records.push(to_record(&msg, &topic, range, env)?);
                next = offset + 1;
            }
            Some(Err(ClientError::PartitionEOF(_))) => {
                // At the end of what the broker has: offsets up to the
                // position that hold no record (markers, compacted) are done.
                if let Some(pos) = position(&consumer, range)
                    && pos > next
                {
                    last_progress = Instant::now();
                    next = pos.min(range.until_offset);
                    reusable = pos == range.until_offset;
                }
            }
            Some(Err(e)) if is_fatal(&e) => {
                return Err(KafkaError::client(
                    format!(
                        "reading {tp} offsets [{}, {}) at {next}",
                        range.from_offset, range.until_offset
                    ),
                    e,
                ));
            }
            Some(Err(e)) => {
                tracing::warn!(partition = %tp, next, error = %e, "kafka fetch error; retrying");
            }
        }
        if next < range.until_offset
            && let Some(e) = timed_out(next, last_progress)
        {
            return Err(e);
        }
    }
    if reusable {
        consumer.next_offset = range.until_offset;
        env.pool.give_back(tp, consumer);
    }
    Ok(records)
}
