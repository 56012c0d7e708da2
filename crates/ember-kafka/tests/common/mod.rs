//! What the Kafka tests share: the mock broker process, Kafka parameters,
//! a context on a manual clock, streams, collectors of output batches,
//! offset ranges and listener events, and the models' helpers.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use ember_dstream::{
    BatchInfo, Duration, InputErrorInfo, ManualClock, StreamingConf, StreamingContext,
    StreamingListener, Time,
};
use ember_kafka::mock_broker::{MockBrokerProcess, TestProducer};
use ember_kafka::{
    ConsumerRecord, ConsumerStrategy, DirectKafkaStream, KafkaOptions, KafkaParams, KafkaStreams,
    OffsetRange,
};

/// The batch interval of the tests.
pub const BATCH_MS: u64 = 100;
/// How long a test waits for a batch before failing (a hang guard).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A mock broker in its own process.
pub fn broker() -> MockBrokerProcess {
    MockBrokerProcess::spawn(env!("CARGO_BIN_EXE_ember_kafka_mock_broker"))
        .expect("the mock broker process starts")
}

/// A mock broker process with `topic` of `partitions` partitions, and its
/// `bootstrap.servers`.
pub fn broker_with(topic: &str, partitions: i32) -> (MockBrokerProcess, String) {
    let mut broker = broker();
    broker.create_topic(topic, partitions).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    (broker, bootstrap)
}

/// Kafka parameters for `bootstrap` with `auto.offset.reset` = `reset`.
pub fn params(bootstrap: &str, reset: &str) -> KafkaParams {
    KafkaParams::from([
        ("bootstrap.servers".to_owned(), bootstrap.to_owned()),
        ("auto.offset.reset".to_owned(), reset.to_owned()),
        ("group.id".to_owned(), "ember-tests".to_owned()),
    ])
}

/// A context of `local[2]` with 100 ms batches on a manual clock.
pub fn manual_context(conf: StreamingConf) -> (StreamingContext, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::with_clock(
        conf.master("local[2]").app_name("ember-kafka-tests"),
        Duration::from_millis(BATCH_MS),
        clock.clone(),
    )
    .expect("context");
    (ssc, clock)
}

/// What one batch delivered: (topic, partition, offset, value).
pub type Seen = (String, i32, i64, String);

/// The batches an output collected: (time, records sorted).
pub type Collected = Arc<Mutex<Vec<(Time, Vec<Seen>)>>>;

/// Collects every batch of `stream`.
pub fn collect(stream: &DirectKafkaStream<String, String>) -> Collected {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&out);
    stream
        .foreach_rdd(move |rdd, time| {
            let mut records: Vec<Seen> = rdd
                .collect()?
                .into_iter()
                .map(|r: ConsumerRecord<String, String>| {
                    (
                        r.topic.to_string(),
                        r.partition,
                        r.offset,
                        r.value.unwrap_or_default(),
                    )
                })
                .collect();
            records.sort();
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((time, records));
            Ok(())
        })
        .expect("output registered");
    out
}

/// Runs batches `done+1 ..= done+n` on the manual clock and waits for them.
pub fn run_batches(ssc: &StreamingContext, clock: &ManualClock, done: u64, n: u64) {
    for i in 1..=n {
        clock.advance(Duration::from_millis(BATCH_MS));
        assert!(
            ssc.await_batches(done + i, PATIENCE)
                .expect("batch succeeds"),
            "batch {} did not complete",
            done + i
        );
    }
}

/// Every record seen so far, flattened.
pub fn all_seen(out: &Mutex<Vec<(Time, Vec<Seen>)>>) -> Vec<Seen> {
    let mut all: Vec<Seen> = out
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .flat_map(|(_, b)| b.iter().cloned())
        .collect();
    all.sort();
    all
}

/// Writes `values` to `partition` of `topic`, waiting for the acks.
pub fn produce(bootstrap: &str, topic: &str, partition: i32, values: &[String]) {
    let producer = TestProducer::new(bootstrap).expect("producer");
    for v in values {
        producer.send(topic, partition, None, v).expect("send");
    }
    producer.flush().expect("flush");
}

/// The records `produce` wrote, as the stream should deliver them, given
/// the first offset of the partition.
pub fn expected(topic: &str, partition: i32, first_offset: i64, values: &[String]) -> Vec<Seen> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (
                topic.to_owned(),
                partition,
                first_offset + i as i64,
                v.clone(),
            )
        })
        .collect()
}

/// Word counts of `lines`.
pub fn word_counts<'a>(lines: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in lines {
        for w in line.split_whitespace() {
            *counts.entry(w.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// `n` lines of words, each starting with `prefix`.
pub fn lines(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix} w{} w{}", i % 7, i % 3))
        .collect()
}

/// The words of a record's value.
pub fn words(record: ConsumerRecord<String, String>) -> Vec<String> {
    record
        .value
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A stream of String records from `strategy` with `options`.
pub fn stream_with(
    ssc: &StreamingContext,
    strategy: ConsumerStrategy,
    options: KafkaOptions,
) -> DirectKafkaStream<String, String> {
    KafkaStreams::create_direct_stream::<String, String>(ssc, strategy, options).expect("stream")
}

/// A stream subscribed to `topics` of `bootstrap`, with `auto.offset.reset`
/// = `reset` and default options.
pub fn subscribe<const N: usize>(
    ssc: &StreamingContext,
    topics: [&str; N],
    bootstrap: &str,
    reset: &str,
) -> DirectKafkaStream<String, String> {
    stream_with(
        ssc,
        ConsumerStrategy::subscribe(topics, params(bootstrap, reset)),
        KafkaOptions::default(),
    )
}

/// The offset ranges of every batch of `stream`, in batch order.
pub type Ranges = Arc<Mutex<Vec<Vec<OffsetRange>>>>;

/// Records the offset ranges of every batch of `stream`.
pub fn record_ranges(stream: &DirectKafkaStream<String, String>) -> Ranges {
    let offsets = stream.offsets();
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ranges);
    stream
        .foreach_rdd(move |_, time| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(offsets.offset_ranges(time).unwrap_or_default());
            Ok(())
        })
        .expect("output");
    ranges
}

/// An offset range of `topic`.
pub fn range(topic: &str, partition: i32, from: i64, until: i64) -> OffsetRange {
    OffsetRange {
        topic: topic.to_owned(),
        partition,
        from_offset: from,
        until_offset: until,
    }
}

/// Records the listeners' input errors and counts completed batches.
#[derive(Default)]
pub struct Events {
    state: Mutex<EventsSeen>,
    changed: Condvar,
}

/// What [`Events`] saw.
#[derive(Default, Clone)]
pub struct EventsSeen {
    /// Every `on_input_error`, in order.
    pub input_errors: Vec<InputErrorInfo>,
    /// Every completed batch's `(time, input_errors)`.
    pub batches: Vec<(Time, Vec<(usize, String)>)>,
}

impl Events {
    /// A recorder registered on `ssc`.
    pub fn on(ssc: &StreamingContext) -> Arc<Self> {
        let events = Arc::new(Events::default());
        ssc.add_listener(events.clone());
        events
    }

    /// What it saw so far.
    pub fn seen(&self) -> EventsSeen {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `n` batches completed (as delivered to listeners).
    pub fn wait_batches(&self, n: usize) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (state, timeout) = self
            .changed
            .wait_timeout_while(state, PATIENCE.to_std(), |s| s.batches.len() < n)
            .unwrap_or_else(PoisonError::into_inner);
        assert!(
            !timeout.timed_out(),
            "{} of {n} batches delivered",
            state.batches.len()
        );
    }
}

impl StreamingListener for Events {
    fn on_input_error(&self, error: &InputErrorInfo) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .input_errors
            .push(error.clone());
    }
    fn on_batch_completed(&self, batch: &BatchInfo) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .batches
            .push((batch.batch_time, batch.input_errors.clone()));
        self.changed.notify_all();
    }
}
