//! Kafka word count (Spark's `DirectKafkaWordCount`): counts the words of
//! the records of Kafka topics with a direct stream, two-second batches.
//!
//! `cargo run --release --example kafka_word_count <brokers> <group id> <topics>`
//! reads `<topics>` (comma-separated) from `<brokers>` until interrupted.
//!
//! With no argument it starts librdkafka's mock broker in this process,
//! writes two batches of the shared benchmark text (`ember::datagen`: 20,000
//! lines, 2,000,000 words) to a topic of 4 partitions, counts them, checks
//! the total and stops by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ember::datagen::{LINES_PER_BATCH, WORDS_PER_LINE, WordGenerator};
use ember::kafka::mock_broker::{MockBroker, TestProducer};
use ember::kafka::{ConsumerStrategy, KafkaOptions, KafkaParams, KafkaStreams};
use ember::prelude::*;

/// Batches of generated text written to the local broker.
const GENERATED_BATCHES: usize = 2;

/// Builds the word count; returns the running total of words counted.
fn word_count(
    ssc: &StreamingContext,
    brokers: &str,
    group: &str,
    topics: Vec<String>,
) -> Result<Arc<AtomicU64>, Box<dyn std::error::Error>> {
    let params = KafkaParams::from([
        ("bootstrap.servers".to_owned(), brokers.to_owned()),
        ("group.id".to_owned(), group.to_owned()),
        ("auto.offset.reset".to_owned(), "earliest".to_owned()),
    ]);
    let messages = KafkaStreams::create_direct_stream::<String, String>(
        ssc,
        ConsumerStrategy::subscribe(topics, params),
        KafkaOptions::default(),
    )?;
    let word_counts = messages
        .flat_map(|record| {
            record
                .value
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    word_counts.print()?;
    let total = Arc::new(AtomicU64::new(0));
    let sink = Arc::clone(&total);
    word_counts.foreach_rdd(move |rdd, _| {
        let words: u64 = rdd.map(|(_, c)| c).collect()?.into_iter().sum();
        sink.fetch_add(words, Ordering::SeqCst);
        Ok(())
    })?;
    Ok(total)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("DirectKafkaWordCount");
    let ssc = StreamingContext::new(conf, Duration::from_secs(2))?;
    if let [brokers, group, topics] = args.as_slice() {
        let topics = topics.split(',').map(str::to_owned).collect();
        word_count(&ssc, brokers, group, topics)?;
        ssc.start()?;
        ssc.await_termination()?;
        return Ok(());
    }
    if !args.is_empty() {
        eprintln!("usage: kafka_word_count <brokers> <group id> <topics>");
        std::process::exit(2);
    }
    let broker = MockBroker::start(1)?;
    broker.create_topic("lines", 4)?;
    let brokers = broker.bootstrap_servers();
    println!("local mock broker at {brokers}, topic \"lines\" with 4 partitions");
    let producer = TestProducer::new(&brokers)?;
    let mut words = WordGenerator::new();
    for i in 0..GENERATED_BATCHES * LINES_PER_BATCH {
        producer.send("lines", (i % 4) as i32, None, &words.line(WORDS_PER_LINE))?;
    }
    producer.flush()?;
    let expected = (GENERATED_BATCHES * LINES_PER_BATCH * WORDS_PER_LINE) as u64;
    let total = word_count(&ssc, &brokers, "kafka-word-count", vec!["lines".to_owned()])?;
    ssc.start()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while total.load(Ordering::SeqCst) < expected && std::time::Instant::now() < deadline {
        ssc.await_termination_or_timeout(Duration::from_millis(200))?;
    }
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    let counted = total.load(Ordering::SeqCst);
    println!("counted {counted} words of {expected} written");
    if counted != expected {
        return Err(format!("counted {counted} words, expected {expected}").into());
    }
    Ok(())
}
