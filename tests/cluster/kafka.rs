//! Kafka's direct stream in a cluster: a topic of several partitions,
//! written while the stream runs, feeds a per-batch word count on a 2 x 1
//! cluster and in local mode. Every batch's counts must equal the words of
//! exactly the offset ranges the processes report for it (each Kafka
//! partition in one range per batch, the same on every process that
//! reports it), the ranges of each partition must follow each other from
//! offset 0 to the last record produced, and the words counted over all
//! batches must be the records produced: nothing lost, nothing doubled.
//!
//! The broker is librdkafka's mock cluster (a real Kafka-protocol broker
//! on 127.0.0.1) in the test's own process; the cluster's processes reach
//! it over TCP like any client.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration as StdDuration, Instant};

use ember::cluster::LocalCluster;
use ember::kafka::mock_broker::{MockBroker, TestProducer};
use ember::kafka::{
    ConsumerRecord, ConsumerStrategy, KafkaOptions, KafkaParams, KafkaStreams, OffsetRange,
};
use ember::prelude::*;

use crate::Error;

/// Kafka partitions of each topic.
const PARTITIONS: i32 = 4;
/// Rounds of writing while the stream runs.
const ROUNDS: usize = 16;
/// Records per partition per round.
const PER_ROUND: usize = 25;
/// Pause between rounds.
const ROUND_PAUSE: StdDuration = StdDuration::from_millis(120);
/// The batch interval.
const BATCH_MS: u64 = 100;

/// The value of record `index` of `partition`.
fn record(partition: i32, index: usize) -> String {
    let p = partition as usize;
    format!(
        "p{partition} w{} w{}",
        (index * 7 + p) % 11,
        (index + p * 3) % 5
    )
}

/// The words of `line`.
fn words(line: &str) -> impl Iterator<Item = &str> {
    line.split(' ')
}

/// The batches an output saw so far.
#[derive(Default)]
struct Progress {
    /// One line per batch.
    lines: Vec<String>,
    /// The words they held.
    words: u64,
    /// They held every word expected.
    finished: bool,
}

/// What one process of a Kafka check runs: the per-batch word counts of
/// `topic`, each batch written as one line `time|ranges|counts` (the
/// ranges every process reports, `process:partition:from:until`, and the
/// counts `word=n`), until the batches hold `expected` words.
pub(crate) fn process(
    ssc: StreamingContext,
    bootstrap: &str,
    topic: &str,
    expected: u64,
) -> Result<Vec<String>, Error> {
    let params = KafkaParams::from([
        ("bootstrap.servers".to_owned(), bootstrap.to_owned()),
        ("auto.offset.reset".to_owned(), "earliest".to_owned()),
    ]);
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe([topic], params),
        KafkaOptions::default(),
    )?;
    let offsets = stream.offsets();
    let counts = stream
        .flat_map(|r: ConsumerRecord<String, String>| {
            let line = r.value.unwrap_or_default();
            words(&line).map(str::to_owned).collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    let done: Arc<(Mutex<Progress>, Condvar)> = Arc::default();
    let seen = Arc::clone(&done);
    counts.foreach_rdd(move |rdd, time| {
        let mut batch = rdd.collect()?;
        batch.sort();
        let mine = offsets.offset_ranges(time).unwrap_or_default();
        let all: Vec<Vec<OffsetRange>> = rdd.context().all_gather(Ok(mine))?;
        let ranges: Vec<String> = all
            .iter()
            .enumerate()
            .flat_map(|(q, ranges)| {
                ranges.iter().map(move |r| {
                    format!("{q}:{}:{}:{}", r.partition, r.from_offset, r.until_offset)
                })
            })
            .collect();
        let counted: Vec<String> = batch.iter().map(|(w, n)| format!("{w}={n}")).collect();
        let mut slot = seen.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !slot.finished {
            slot.words += batch.iter().map(|(_, n)| n).sum::<u64>();
            let line = format!(
                "{}|{}|{}",
                time.milliseconds(),
                ranges.join(","),
                counted.join(",")
            );
            slot.lines.push(line);
            if slot.words >= expected {
                slot.finished = true;
                seen.1.notify_all();
            }
        }
        Ok(())
    })?;
    ssc.start()?;
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let mut slot = done.0.lock().unwrap_or_else(PoisonError::into_inner);
    while !slot.finished && Instant::now() < deadline {
        slot = done
            .1
            .wait_timeout(slot, StdDuration::from_millis(100))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    let finished = slot.finished;
    let lines = std::mem::take(&mut slot.lines);
    drop(slot);
    ssc.stop(StopOptions::default())?;
    if !finished {
        return Err(format!(
            "the topic's {expected} words did not all arrive within 60 s: {lines:?}"
        )
        .into());
    }
    Ok(lines)
}

/// The batch interval of the Kafka checks.
pub(crate) fn batch_interval() -> Duration {
    Duration::from_millis(BATCH_MS)
}

/// Writes [`ROUNDS`] rounds of records to every partition of `topic`.
fn produce(bootstrap: &str, topic: &str) -> Result<(), Error> {
    let producer = TestProducer::new(bootstrap)?;
    for round in 0..ROUNDS {
        for partition in 0..PARTITIONS {
            for i in 0..PER_ROUND {
                producer.send(
                    topic,
                    partition,
                    None,
                    &record(partition, round * PER_ROUND + i),
                )?;
            }
        }
        producer.flush()?;
        std::thread::sleep(ROUND_PAUSE);
    }
    Ok(())
}

/// Every word of every record produced to a topic.
fn expected_words() -> u64 {
    let per_partition: usize = (0..ROUNDS * PER_ROUND)
        .map(|i| words(&record(0, i)).count())
        .sum();
    (per_partition as u64) * PARTITIONS as u64
}

/// Checks the batches a run wrote (see the module's doc).
fn verify(lines: &[String], what: &str) -> Result<(), Error> {
    let produced = (ROUNDS * PER_ROUND) as i64;
    let mut next: BTreeMap<i32, i64> = (0..PARTITIONS).map(|p| (p, 0)).collect();
    let mut total = 0u64;
    for line in lines {
        let mut fields = line.split('|');
        let (Some(time), Some(ranges), Some(counted)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("{what}: malformed batch line {line:?}").into());
        };
        let mut batch: BTreeMap<i32, (i64, i64, usize)> = BTreeMap::new();
        for range in ranges.split(',').filter(|r| !r.is_empty()) {
            let v: Vec<i64> = range.split(':').map(str::parse).collect::<Result<_, _>>()?;
            let [q, p, from, until] = v[..] else {
                return Err(format!("{what}: malformed range {range:?}").into());
            };
            let (p, q) = (p as i32, q as usize);
            match batch.get(&p) {
                Some(&(f, u, other)) if (f, u) != (from, until) => {
                    return Err(format!(
                        "{what}, batch {time}: processes {other} and {q} report different ranges of partition {p}: {f}..{u} and {from}..{until}"
                    )
                    .into());
                }
                _ => {
                    batch.insert(p, (from, until, q));
                }
            }
        }
        let mut model: BTreeMap<String, u64> = BTreeMap::new();
        for (p, (from, until, _)) in &batch {
            let expected_from = next.get(p).copied().unwrap_or_default();
            if *from != expected_from {
                return Err(format!(
                    "{what}, batch {time}: partition {p}'s range starts at {from}, the previous one ended at {expected_from}"
                )
                .into());
            }
            next.insert(*p, *until);
            for i in *from..*until {
                for w in words(&record(*p, i as usize)) {
                    *model.entry(w.to_owned()).or_default() += 1;
                }
            }
        }
        let model: Vec<String> = model.iter().map(|(w, n)| format!("{w}={n}")).collect();
        let got: Vec<&str> = counted.split(',').filter(|c| !c.is_empty()).collect();
        if got != model {
            return Err(format!(
                "{what}, batch {time}: the counts differ from the words of the batch's ranges {ranges}\n  ranges' words: {model:?}\n  counted:       {got:?}"
            )
            .into());
        }
        total += model
            .iter()
            .filter_map(|c| c.split('=').nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    if next.values().any(|&until| until != produced) || total != expected_words() {
        return Err(format!(
            "{what}: the batches read up to {next:?} ({total} words), {produced} records per partition ({} words) were produced",
            expected_words()
        )
        .into());
    }
    Ok(())
}

/// A topic of [`PARTITIONS`] partitions written while a 2 x 1 cluster and
/// then local mode read it: every batch's counts equal its ranges' words,
/// and all batches together hold the records produced exactly once.
pub(crate) fn check() -> Result<(), Error> {
    let broker = MockBroker::start(1)?;
    let bootstrap = broker.bootstrap_servers();
    let dir = tempfile::tempdir()?;
    for layout in [Some((2, 1)), None] {
        let started = Instant::now();
        let topic = match layout {
            Some((n, t)) => format!("words-{n}x{t}"),
            None => "words-local".to_owned(),
        };
        broker.create_topic(&topic, PARTITIONS)?;
        let writer = {
            let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
            std::thread::spawn(move || produce(&bootstrap, &topic).map_err(|e| e.to_string()))
        };
        let (lines, what) = match layout {
            Some((processes, threads)) => {
                let out = dir.path().join(&topic);
                LocalCluster::new(processes, threads)?
                    .args(
                        [
                            "--mode",
                            "kafka",
                            "--bootstrap",
                            &bootstrap,
                            "--topic",
                            &topic,
                            "--expected-words",
                            &expected_words().to_string(),
                            "--out",
                            &out.display().to_string(),
                        ]
                        .map(str::to_owned),
                    )
                    .spawn()?
                    .wait()?;
                let text = std::fs::read_to_string(&out)?;
                (
                    text.lines().map(str::to_owned).collect::<Vec<_>>(),
                    format!("{processes} x {threads} cluster"),
                )
            }
            None => {
                let conf = StreamingConf::new()
                    .master("local[2]")
                    .app_name("KafkaLocal")
                    .set("spark.ui.enabled", "false");
                let ssc = StreamingContext::new(conf, batch_interval())?;
                let lines = process(ssc, &bootstrap, &topic, expected_words())?;
                (lines, "local mode".to_owned())
            }
        };
        writer
            .join()
            .map_err(|_| "the producer thread panicked")?
            .map_err(|e| format!("producing to {topic}: {e}"))?;
        verify(&lines, &what)?;
        println!(
            "kafka: {what}, {PARTITIONS} partitions written while it ran, {} batches, each equal to its ranges' words, every record once ({:.1} s)",
            lines.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
