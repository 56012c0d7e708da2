//! [`KafkaStreams::create_direct_stream`] (Spark's
//! `KafkaUtils.createDirectStream`): the input source that turns each batch
//! into offset ranges, and the [`DirectKafkaStream`] handle that gives a
//! batch's ranges to outputs and commits them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration as StdDuration;

use ember_dstream::{DStream, InputEnv, InputSource, StreamingContext, StreamingError, Time};
use ember_rdd::{Data, Rdd};
use ember_sources::receiver::PidRateEstimator;

use crate::batches::GeneratedBatches;
use crate::consumer_pool::ConsumerPool;
use crate::driver::Driver;
use crate::options::ResolvedOptions;
use crate::placement::Placement;
use crate::rate::{EstimatedRate, RateController, max_messages_per_partition};
use crate::rdd::{KafkaRdd, ReadEnv};
use crate::strategy::ResetPolicy;
use crate::{
    BytesDeserializer, ConsumerRecord, ConsumerStrategy, Deserializer, KafkaError, KafkaOptions,
    OffsetOutOfRange, OffsetRange, StringDeserializer, TopicPartition,
};

/// The source's name in logs and listener events.
pub(crate) const NAME: &str = "kafka direct stream";
/// First pause between two attempts to reach the broker.
const FIRST_BACKOFF: StdDuration = StdDuration::from_millis(50);
/// Longest pause between two attempts.
const MAX_BACKOFF: StdDuration = StdDuration::from_secs(1);

/// Types with a standard Kafka deserializer: `String` (UTF-8) and
/// `Vec<u8>` (the bytes).
pub trait FromKafkaBytes: Data {
    /// The deserializer of this type.
    fn deserializer() -> Arc<dyn Deserializer<Self>>;
}

impl FromKafkaBytes for String {
    fn deserializer() -> Arc<dyn Deserializer<Self>> {
        Arc::new(StringDeserializer)
    }
}

impl FromKafkaBytes for Vec<u8> {
    fn deserializer() -> Arc<dyn Deserializer<Self>> {
        Arc::new(BytesDeserializer)
    }
}

/// Creates Kafka direct streams (Spark's `KafkaUtils`).
#[derive(Debug, Clone, Copy)]
pub struct KafkaStreams;

impl KafkaStreams {
    /// A stream of the records of the partitions `strategy` selects, keys
    /// and values deserialized with their type's standard deserializer.
    /// Each batch reads, per partition, the offsets from where the previous
    /// batch ended to the partition's end offset when the batch is
    /// generated (less if a rate limit says so).
    ///
    /// Errors: an invalid option or Kafka parameter, or a client that
    /// cannot be created.
    pub fn create_direct_stream<K: FromKafkaBytes, V: FromKafkaBytes>(
        ssc: &StreamingContext,
        strategy: ConsumerStrategy,
        options: KafkaOptions,
    ) -> Result<DirectKafkaStream<K, V>, KafkaError> {
        Self::create_direct_stream_with(
            ssc,
            strategy,
            options,
            K::deserializer(),
            V::deserializer(),
        )
    }

    /// [`create_direct_stream`](Self::create_direct_stream) with explicit
    /// key and value deserializers.
    pub fn create_direct_stream_with<K: Data, V: Data>(
        ssc: &StreamingContext,
        strategy: ConsumerStrategy,
        options: KafkaOptions,
        key: Arc<dyn Deserializer<K>>,
        value: Arc<dyn Deserializer<V>>,
    ) -> Result<DirectKafkaStream<K, V>, KafkaError> {
        let resolved = options.resolve(ssc.conf())?;
        let reset = ResetPolicy::from_params(&strategy.params)?;
        if !strategy.params.contains_key("bootstrap.servers") {
            return Err(KafkaError::InvalidSetting {
                key: "bootstrap.servers".to_owned(),
                value: String::new(),
                reason: "the Kafka parameters must name the brokers".to_owned(),
            });
        }
        let rate = Arc::new(EstimatedRate::default());
        if resolved.backpressure {
            let estimator =
                PidRateEstimator::from_conf(ssc.conf(), ssc.batch_duration().milliseconds())
                    .map_err(|e| KafkaError::InvalidSetting {
                        key: "spark.streaming.backpressure.pid".to_owned(),
                        value: String::new(),
                        reason: e.to_string(),
                    })?;
            ssc.add_listener(Arc::new(RateController {
                estimator: Mutex::new(estimator),
                rate: Arc::clone(&rate),
            }));
        }
        let stopped = Arc::new(AtomicBool::new(false));
        let pool = Arc::new(ConsumerPool::new(&strategy.params));
        let shared = Arc::new(Shared {
            placement: Mutex::new(Placement::default()),
            driver: Mutex::new(None),
            batches: Mutex::new(GeneratedBatches::default()),
            strategy,
            reset,
            options: resolved,
            rate,
            stopped: Arc::clone(&stopped),
            pool: Arc::clone(&pool),
        });
        let read = Arc::new(ReadEnv {
            pool,
            key,
            value,
            poll_timeout: resolved.poll_timeout,
            stopped,
        });
        let stream = ssc.input_stream(DirectKafkaSource {
            shared: Arc::clone(&shared),
            read,
        });
        Ok(DirectKafkaStream {
            stream,
            offsets: KafkaOffsets { shared },
        })
    }
}

/// A direct stream: the [`DStream`] of its records (it dereferences to it)
/// and the [`KafkaOffsets`] of its batches.
pub struct DirectKafkaStream<K, V> {
    stream: DStream<ConsumerRecord<K, V>>,
    offsets: KafkaOffsets,
}

impl<K, V> DirectKafkaStream<K, V> {
    /// The stream of records.
    pub fn dstream(&self) -> &DStream<ConsumerRecord<K, V>> {
        &self.stream
    }

    /// The batches' offsets, to move into an output (Spark's
    /// `HasOffsetRanges` and `CanCommitOffsets`).
    pub fn offsets(&self) -> KafkaOffsets {
        self.offsets.clone()
    }
}

impl<K, V> std::ops::Deref for DirectKafkaStream<K, V> {
    type Target = DStream<ConsumerRecord<K, V>>;
    fn deref(&self) -> &Self::Target {
        &self.stream
    }
}

/// The offset ranges of a direct stream's batches, and commits of them to
/// the consumer group. Cheap to clone; move it into `foreach_rdd`:
///
/// ```no_run
/// # use ember_kafka::{ConsumerStrategy, KafkaOptions, KafkaParams, KafkaStreams};
/// # fn f(ssc: &ember_dstream::StreamingContext) -> Result<(), Box<dyn std::error::Error>> {
/// let params = KafkaParams::from([
///     ("bootstrap.servers".to_owned(), "127.0.0.1:9092".to_owned()),
///     ("group.id".to_owned(), "word-count".to_owned()),
/// ]);
/// let stream = KafkaStreams::create_direct_stream::<String, String>(
///     ssc,
///     ConsumerStrategy::subscribe(["lines"], params),
///     KafkaOptions::default(),
/// )?;
/// let offsets = stream.offsets();
/// stream.foreach_rdd(move |rdd, time| {
///     let ranges = offsets.offset_ranges(time).unwrap_or_default();
///     let _written = rdd.count(); // ... the output, then:
///     offsets.commit_async(&ranges)?;
///     Ok(())
/// })?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KafkaOffsets {
    shared: Arc<Shared>,
}

impl KafkaOffsets {
    /// The ranges of the batch at `time` (one per partition, in the order
    /// of the batch RDD's partitions), while the stream remembers it.
    ///
    /// In cluster mode each Kafka partition is planned and read by one
    /// process (a fixed hash of the partition decides which), so each
    /// process returns the ranges of the partitions it read: the batch is
    /// the union over the processes. An output that stores ranges with
    /// its results does so where the partitions live (with
    /// `foreach_partition`-style work), and each process commits its own.
    pub fn offset_ranges(&self, time: Time) -> Option<Vec<OffsetRange>> {
        let placement = self.shared.placement();
        self.shared
            .batches()
            .batches
            .get(&time.milliseconds())
            .map(|b| {
                b.ranges
                    .iter()
                    .filter(|r| placement.reads(&r.topic_partition()))
                    .cloned()
                    .collect()
            })
    }

    /// Commits the ends of `ranges` to the consumer group (`group.id`)
    /// without waiting for the broker (Spark's `commitAsync`). Kafka's
    /// committed offsets are then at-least-once; ember's checkpoint keeps
    /// the exactly-once position either way.
    pub fn commit_async(&self, ranges: &[OffsetRange]) -> Result<(), KafkaError> {
        let driver = self.shared.driver();
        match driver.as_ref() {
            Some(d) => d.commit_async(ranges),
            None => Driver::new(&self.shared.strategy.params, StdDuration::from_secs(5))?
                .commit_async(ranges),
        }
    }
}

/// What the source and its handle share.
struct Shared {
    strategy: ConsumerStrategy,
    reset: ResetPolicy,
    options: ResolvedOptions,
    /// Which Kafka partitions this process reads (all in local mode).
    placement: Mutex<Placement>,
    driver: Mutex<Option<Driver>>,
    batches: Mutex<GeneratedBatches>,
    rate: Arc<EstimatedRate>,
    stopped: Arc<AtomicBool>,
    pool: Arc<ConsumerPool>,
}

impl Shared {
    fn batches(&self) -> MutexGuard<'_, GeneratedBatches> {
        self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn driver(&self) -> MutexGuard<'_, Option<Driver>> {
        self.driver.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn placement(&self) -> Placement {
        *self
            .placement
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Tries `op` until it succeeds, a non-transient error, the stream's
    /// stop, or [`attempts_within`]`(patience)` attempts, with exponential
    /// backoff; every failed attempt is logged and reported to the
    /// listeners as an input error (of the batch at `time`, if any).
    fn with_retries<T>(
        &self,
        env: &InputEnv,
        time: Option<Time>,
        patience: StdDuration,
        mut op: impl FnMut() -> Result<T, KafkaError>,
    ) -> Result<T, KafkaError> {
        let attempts = attempts_within(patience);
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1.. {
            match op() {
                Ok(v) => return Ok(v),
                Err(e @ KafkaError::Client { .. }) => {
                    tracing::warn!(error = %e, attempt, attempts, "kafka broker unreachable");
                    report(env, time, &e);
                    if self.stopped.load(Ordering::SeqCst) || attempt >= attempts {
                        return Err(e);
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the attempts are bounded")
    }

    /// Where partitions seen for the first time start: an offset given
    /// with the strategy, else the group's committed offset, else (for the
    /// partitions of the first batch) `auto.offset.reset`, or (for
    /// partitions that appeared later) their earliest offset.
    fn starting_offsets(
        &self,
        driver: &Driver,
        partitions: &[TopicPartition],
        at_start: bool,
    ) -> Result<BTreeMap<TopicPartition, i64>, KafkaError> {
        let committed = driver.committed(partitions)?;
        let mut out = BTreeMap::new();
        for tp in partitions {
            let offset = if let Some(o) = self.strategy.offsets.get(tp) {
                *o
            } else if let Some(o) = committed.get(tp) {
                *o
            } else {
                let (low, high) = driver.watermarks(tp)?;
                match (at_start, self.reset) {
                    (true, ResetPolicy::Latest) => high,
                    (true, ResetPolicy::None) => {
                        return Err(KafkaError::InvalidSetting {
                            key: "auto.offset.reset".to_owned(),
                            value: "none".to_owned(),
                            reason: format!("{tp} has no committed offset"),
                        });
                    }
                    _ => low,
                }
            };
            out.insert(tp.clone(), offset);
        }
        Ok(out)
    }

    /// The next batch's ranges: every partition from where it stands to its
    /// end offset now, capped by the rate limits.
    fn plan(&self, env: &InputEnv, time: Time) -> Result<Vec<OffsetRange>, KafkaError> {
        let guard = self.driver();
        let driver = guard.as_ref().ok_or_else(|| KafkaError::InvalidSetting {
            key: "state".to_owned(),
            value: "not started".to_owned(),
            reason: "the stream's context has not started".to_owned(),
        })?;
        let placement = self.placement();
        let partitions = driver.partitions(&self.strategy.selection)?;
        let known = self.batches().next.clone();
        let fresh: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| placement.reads(tp) && !known.contains_key(*tp))
            .cloned()
            .collect();
        let mut starts = known;
        if !fresh.is_empty() {
            tracing::info!(partitions = ?fresh, "kafka partitions discovered");
            starts.extend(self.starting_offsets(driver, &fresh, false)?);
        }
        let mut ends = BTreeMap::new();
        for (tp, from) in starts.iter_mut() {
            let (low, high) = driver.watermarks(tp)?;
            if *from < low || *from > high {
                let e = KafkaError::OffsetOutOfRange {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    offset: *from,
                    earliest: low,
                    latest: high,
                };
                match self.options.offset_out_of_range {
                    OffsetOutOfRange::Fail => return Err(e),
                    OffsetOutOfRange::ResetToEarliest => {
                        tracing::warn!(error = %e, "resetting to the earliest offset kept");
                        report(env, Some(time), &e);
                        *from = low;
                    }
                }
            }
            ends.insert(tp.clone(), high);
        }
        let lags = starts
            .iter()
            .map(|(tp, from)| (tp.clone(), ends[tp] - from))
            .collect();
        let limits = max_messages_per_partition(
            &lags,
            &self.options,
            self.rate.get(),
            env.batch_duration().milliseconds(),
        );
        let everyone: BTreeSet<&TopicPartition> = starts.keys().chain(&partitions).collect();
        Ok(everyone
            .into_iter()
            .map(|tp| match starts.get(tp) {
                Some(from) => {
                    let end = ends[tp];
                    let until = limits
                        .as_ref()
                        .and_then(|l| l.get(tp))
                        .map_or(end, |max| end.min(from.saturating_add(*max)));
                    OffsetRange::new(tp, *from, until)
                }
                // Another process's partition: it plans and reads it.
                None => OffsetRange::new(tp, 0, 0),
            })
            .collect())
    }

    /// The ranges where every partition stands: a batch that reads nothing
    /// (the broker is unreachable, or the stream stopped); what it did not
    /// read goes to the next batch.
    fn empty_ranges(&self) -> Vec<OffsetRange> {
        let batches = self.batches();
        let everyone: BTreeSet<&TopicPartition> =
            batches.next.keys().chain(&batches.partitions).collect();
        everyone
            .into_iter()
            .map(|tp| {
                let at = batches.next.get(tp).copied().unwrap_or_default();
                OffsetRange::new(tp, at, at)
            })
            .collect()
    }
}

/// How many attempts fit in `patience`: the first at once, each next one
/// after a backoff that starts at [`FIRST_BACKOFF`] and doubles up to
/// [`MAX_BACKOFF`], as long as the backoffs sum to at most `patience` (a
/// count, not a deadline, so that a slow answer does not cut the retries
/// short).
fn attempts_within(patience: StdDuration) -> u32 {
    let (mut attempts, mut waited, mut backoff) = (1, StdDuration::ZERO, FIRST_BACKOFF);
    while waited + backoff <= patience {
        waited += backoff;
        attempts += 1;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    attempts
}

/// Reports `e` to the listeners as an error of the stream's input, met
/// while generating the batch at `time` (or while starting).
fn report(env: &InputEnv, time: Option<Time>, e: &KafkaError) {
    match time {
        Some(time) => env.report_error(time, e.to_string()),
        None => env.report_start_error(e.to_string()),
    }
}

/// `e` as the engine's error: an invalid setting is a configuration error,
/// anything else an error of this input stream.
fn input_error(env: &InputEnv, e: KafkaError) -> StreamingError {
    match e {
        e @ KafkaError::InvalidSetting { .. } => e.into(),
        other => env.error(other),
    }
}

/// The input source behind a direct stream.
struct DirectKafkaSource<K, V> {
    shared: Arc<Shared>,
    read: Arc<ReadEnv<K, V>>,
}

impl<K: Data, V: Data> DirectKafkaSource<K, V> {
    fn rdd(&self, env: &InputEnv, ranges: Vec<OffsetRange>) -> Rdd<ConsumerRecord<K, V>> {
        Rdd::from_compute(
            env.rdd_context(),
            "createDirectStream",
            KafkaRdd {
                ranges,
                env: Arc::clone(&self.read),
                placement: self.shared.placement(),
            },
        )
    }
}

impl<K: Data, V: Data> InputSource<ConsumerRecord<K, V>> for DirectKafkaSource<K, V> {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start(&self, env: &InputEnv) -> Result<(), StreamingError> {
        let shared = &self.shared;
        shared.stopped.store(false, Ordering::SeqCst);
        let ctx = env.rdd_context();
        let placement = Placement {
            processes: ctx.processes(),
            process: ctx.process(),
        };
        *shared
            .placement
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = placement;
        let driver = Driver::new(&shared.strategy.params, env.batch_duration().to_std())
            .map_err(|e| input_error(env, e))?;
        let restored = shared.batches().restored_at.is_some();
        if !restored {
            let (partitions, starts) = shared
                .with_retries(env, None, shared.options.start_timeout, || {
                    let partitions = driver.partitions(&shared.strategy.selection)?;
                    let mine: Vec<TopicPartition> = partitions
                        .iter()
                        .filter(|tp| placement.reads(tp))
                        .cloned()
                        .collect();
                    let starts = shared.starting_offsets(&driver, &mine, true)?;
                    Ok((partitions, starts))
                })
                .map_err(|e| input_error(env, e))?;
            tracing::info!(offsets = ?starts, "kafka direct stream starts");
            let mut batches = shared.batches();
            batches.next = starts;
            batches.partitions.extend(partitions);
        }
        *shared.driver() = Some(driver);
        Ok(())
    }

    fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.pool.clear();
    }

    fn compute(
        &self,
        time: Time,
        env: &InputEnv,
    ) -> Result<Option<Rdd<ConsumerRecord<K, V>>>, StreamingError> {
        let t = time.milliseconds();
        let known = {
            let mut batches = self.shared.batches();
            let restored_at = batches.restored_at;
            match batches.batches.get_mut(&t) {
                Some(b) => {
                    let report = !b.reported;
                    b.reported = true;
                    Some((b.ranges.clone(), report))
                }
                None if restored_at.is_some_and(|r| t <= r) => Some((Vec::new(), false)),
                None => None,
            }
        };
        let (ranges, report) = match known {
            Some(known) => known,
            None => {
                let planned = if self.shared.stopped.load(Ordering::SeqCst) {
                    self.shared.empty_ranges()
                } else {
                    let patience = env.batch_duration().to_std().max(FIRST_BACKOFF * 4);
                    match self
                        .shared
                        .with_retries(env, Some(time), patience, || self.shared.plan(env, time))
                    {
                        Ok(ranges) => ranges,
                        Err(e @ KafkaError::Client { .. }) => {
                            tracing::error!(%time, error = %e,
                                "kafka unreachable: this batch reads nothing, the next ones catch up");
                            self.shared.empty_ranges()
                        }
                        Err(e) => return Err(input_error(env, e)),
                    }
                };
                let placement = self.shared.placement();
                let mut batches = self.shared.batches();
                batches.add(t, planned.clone(), |tp| placement.reads(tp));
                if let Some(b) = batches.batches.get_mut(&t) {
                    b.reported = true;
                }
                (planned, true)
            }
        };
        if report {
            env.report_records(time, ranges.iter().map(OffsetRange::count).sum());
        }
        Ok(Some(self.rdd(env, ranges)))
    }

    fn clear_metadata(&self, time: Time, env: &InputEnv) {
        let cutoff = time
            .milliseconds()
            .saturating_sub(env.remember_duration().milliseconds());
        self.shared.batches().forget_before(cutoff);
    }

    fn checkpoint_state(
        &self,
        _time: Time,
        env: &InputEnv,
    ) -> Result<Option<Vec<u8>>, StreamingError> {
        let bytes = self.shared.batches().to_bytes();
        bytes.map(Some).map_err(|e| input_error(env, e))
    }

    fn restore_state(
        &self,
        time: Time,
        bytes: &[u8],
        env: &InputEnv,
    ) -> Result<(), StreamingError> {
        *self.shared.batches() = GeneratedBatches::from_bytes(time.milliseconds(), bytes)
            .map_err(|e| input_error(env, e))?;
        Ok(())
    }
}
