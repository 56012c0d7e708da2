//! Kafka ingestion: records per second through a direct stream (a count of
//! every batch) beside a plain librdkafka consumer loop over the same topic
//! in the same run; the ratio is the figure (target ≥ 0.7), with the
//! process's peak RSS after each. The broker is librdkafka's mock cluster
//! in this process; two topics of 4 partitions hold the shared generator's
//! text (`ember::datagen`): `lines`, 20,000 lines of 100 words (about
//! 11.8 MB), and `short`, 160,000 lines of 10 words (about 10 MB), where
//! the per-record cost weighs more than the stream's fixed latency (the
//! first 50 ms batch interval, contexts and consumers made anew). Each
//! iteration reads a whole topic from its start, client creation and
//! connection included on both sides; the baseline is one consumer
//! assigned every partition.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember::datagen::{WORDS_PER_LINE, WordGenerator};
use ember::kafka::mock_broker::{MockBroker, TestProducer};
use ember::kafka::{ConsumerStrategy, KafkaOptions, KafkaParams, KafkaStreams};
use ember::prelude::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// A topic to read: its name, records and words per record. At most about
/// 3 MB a partition: librdkafka's mock broker keeps about 5 MB of log per
/// partition and deletes older records beyond that (retention).
struct Workload {
    topic: &'static str,
    lines: usize,
    words_per_line: usize,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        topic: "lines",
        lines: 20_000,
        words_per_line: WORDS_PER_LINE,
    },
    Workload {
        topic: "short",
        lines: 160_000,
        words_per_line: WORDS_PER_LINE / 10,
    },
];
const PARTITIONS: i32 = 4;

/// The process's peak resident set (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The baseline: one consumer configured as the stream's workers
/// configure theirs, assigned every partition at offset 0 and polled until
/// all the topic's records arrived, each value decoded into an owned
/// `String` as the stream's deserializer does.
fn plain_consumer_loop(bootstrap: &str, w: &Workload) -> StdDuration {
    let start = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "spark-executor-bench")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "error")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(w.topic, p, Offset::Offset(0))
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut records = 0;
    while records < w.lines {
        match consumer.poll(StdDuration::from_millis(100)) {
            Some(Ok(msg)) => {
                let value = String::from_utf8_lossy(msg.payload().unwrap_or_default()).into_owned();
                std::hint::black_box(value);
                records += 1;
            }
            _ => assert!(
                start.elapsed() < StdDuration::from_secs(60),
                "consumer loop: stuck after {records} records"
            ),
        }
    }
    start.elapsed()
}

/// The direct stream: a new context reading the topic from its start in
/// 50 ms batches, counting each batch, until every record was counted.
fn direct_stream(bootstrap: &str, w: &Workload) -> StdDuration {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("kafka-ingestion-bench");
    let ssc = StreamingContext::new(conf, Duration::from_millis(50)).unwrap();
    let params = KafkaParams::from([
        ("bootstrap.servers".to_owned(), bootstrap.to_owned()),
        ("auto.offset.reset".to_owned(), "earliest".to_owned()),
    ]);
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe([w.topic], params),
        KafkaOptions::default(),
    )
    .unwrap();
    let counted = Arc::new(AtomicU64::new(0));
    let sink = Arc::clone(&counted);
    stream
        .foreach_rdd(move |rdd, _| {
            sink.fetch_add(rdd.count()?, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    let start = Instant::now();
    ssc.start().unwrap();
    while counted.load(Ordering::SeqCst) < w.lines as u64 {
        assert!(
            start.elapsed() < StdDuration::from_secs(60),
            "direct stream: stuck after {} records",
            counted.load(Ordering::SeqCst)
        );
        std::thread::sleep(StdDuration::from_micros(200));
    }
    let elapsed = start.elapsed();
    ssc.stop(StopOptions::default()).unwrap();
    assert_eq!(counted.load(Ordering::SeqCst), w.lines as u64);
    elapsed
}

fn ingestion(c: &mut Criterion) {
    let broker = MockBroker::start(1).unwrap();
    let bootstrap = broker.bootstrap_servers();
    let producer = TestProducer::new(&bootstrap).unwrap();
    for w in &WORKLOADS {
        broker.create_topic(w.topic, PARTITIONS).unwrap();
        let mut words = WordGenerator::new();
        let mut bytes = 0;
        for i in 0..w.lines {
            let line = words.line(w.words_per_line);
            bytes += line.len();
            producer
                .send(w.topic, i as i32 % PARTITIONS, None, &line)
                .unwrap();
        }
        producer.flush().unwrap();
        println!(
            "topic {}: {} records, {:.1} MB, {PARTITIONS} partitions; peak RSS after producing: {:.0} MiB",
            w.topic,
            w.lines,
            bytes as f64 / 1e6,
            peak_rss_mib()
        );
    }
    for w in &WORKLOADS {
        let mut group = c.benchmark_group(format!("kafka_ingestion_{}", w.topic));
        group.sample_size(10);
        group.throughput(Throughput::Elements(w.lines as u64));
        group.bench_function("direct_stream_count", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| direct_stream(&bootstrap, w)).sum())
        });
        println!(
            "peak RSS after the direct stream: {:.0} MiB",
            peak_rss_mib()
        );
        group.bench_function("plain_consumer_loop", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| plain_consumer_loop(&bootstrap, w)).sum())
        });
        println!(
            "peak RSS after the consumer loop: {:.0} MiB",
            peak_rss_mib()
        );
        group.finish();
    }
}

criterion_group!(benches, ingestion);
criterion_main!(benches);
