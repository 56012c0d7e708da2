//! The direct stream against librdkafka's mock broker running as its own
//! process on 127.0.0.1: exact records per batch, word counts, subscribe
//! and assign, partitions appearing, rate limits, `auto.offset.reset`,
//! out-of-range offsets, the broker going down and up, offset ranges and
//! commits.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use common::*;
use ember_dstream::{StopOptions, StreamingConf, StreamingListener};
use ember_kafka::{
    ConsumerStrategy, KafkaError, KafkaOptions, KafkaStreams, OffsetOutOfRange, OffsetRange,
    TopicPartition,
};

fn lines(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix} w{} w{}", i % 7, i % 3))
        .collect()
}

#[test]
fn word_count_over_four_partitions_is_exact() {
    let mut broker = broker();
    broker.create_topic("words", 4).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let mut all_lines = Vec::new();
    for p in 0..4 {
        let l = lines(&format!("p{p}"), 50 + p as usize * 10);
        produce(&bootstrap, "words", p, &l);
        all_lines.extend(l);
    }
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["words"], params(&bootstrap, "earliest")),
        KafkaOptions::default(),
    )
    .expect("stream");
    let counts = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let partitions = Arc::new(Mutex::new(Vec::new()));
    let (sink, parts) = (Arc::clone(&counts), Arc::clone(&partitions));
    stream
        .flat_map(|r| {
            r.value
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .foreach_rdd(move |rdd, _| {
            for (w, c) in rdd.collect()? {
                *sink
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(w)
                    .or_insert(0) += c;
            }
            Ok(())
        })
        .expect("output");
    stream
        .foreach_rdd(move |rdd, _| {
            parts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(rdd.num_partitions());
            Ok(())
        })
        .expect("output");
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 2);
    ssc.stop(StopOptions::default()).expect("stop");
    assert_eq!(
        *counts.lock().unwrap_or_else(PoisonError::into_inner),
        word_counts(&all_lines)
    );
    assert_eq!(
        *partitions.lock().unwrap_or_else(PoisonError::into_inner),
        vec![4, 4]
    );
}

#[test]
fn assign_reads_only_its_partitions_and_subscribe_reads_all() {
    let mut broker = broker();
    broker.create_topic("t", 3).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let per: Vec<Vec<String>> = (0..3).map(|p| lines(&format!("p{p}"), 5)).collect();
    for (p, l) in per.iter().enumerate() {
        produce(&bootstrap, "t", p as i32, l);
    }
    let (ssc, clock) = manual_context(StreamingConf::new());
    let assigned = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::assign(
            [TopicPartition::new("t", 0), TopicPartition::new("t", 2)],
            params(&bootstrap, "earliest"),
        ),
        KafkaOptions::default(),
    )
    .expect("stream");
    let subscribed = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["t"], params(&bootstrap, "earliest")),
        KafkaOptions::default(),
    )
    .expect("stream");
    let (a, s) = (collect(&assigned), collect(&subscribed));
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    let mut want_a = expected("t", 0, 0, &per[0]);
    want_a.extend(expected("t", 2, 0, &per[2]));
    let mut want_s = want_a.clone();
    want_s.extend(expected("t", 1, 0, &per[1]));
    want_s.sort();
    assert_eq!(all_seen(&a), want_a);
    assert_eq!(all_seen(&s), want_s);
}

#[test]
fn a_topic_matching_the_pattern_created_while_running_is_read_from_its_start() {
    let mut broker = broker();
    broker.create_topic("events-a", 2).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let first = lines("a", 4);
    produce(&bootstrap, "events-a", 1, &first);
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe_pattern("events-.*", params(&bootstrap, "latest"))
            .expect("pattern"),
        KafkaOptions::default(),
    )
    .expect("stream");
    let out = collect(&stream);
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 1);
    // Two new partitions appear; records written before the stream sees
    // them are read too.
    broker.create_topic("events-b", 2).expect("topic");
    broker.create_topic("other", 1).expect("topic");
    let (b0, b1, other) = (lines("b0", 3), lines("b1", 2), lines("x", 2));
    produce(&bootstrap, "events-b", 0, &b0);
    produce(&bootstrap, "events-b", 1, &b1);
    produce(&bootstrap, "other", 0, &other);
    let more_a = lines("a2", 2);
    produce(&bootstrap, "events-a", 1, &more_a);
    run_batches(&ssc, &clock, 1, 2);
    ssc.stop(StopOptions::default()).expect("stop");
    let mut want = expected("events-b", 0, 0, &b0);
    want.extend(expected("events-b", 1, 0, &b1));
    want.extend(expected("events-a", 1, 4, &more_a));
    want.sort();
    assert_eq!(all_seen(&out), want);
    let batches = out.lock().unwrap_or_else(PoisonError::into_inner);
    assert!(batches[0].1.is_empty(), "latest: nothing before the start");
}

#[test]
fn partitions_of_a_subscribed_topic_that_appear_while_running_are_read_from_their_start() {
    // The mock broker cannot add partitions to a topic (no
    // CreatePartitions), so the subscribed topic goes from no partition to
    // two while the stream runs: the same discovery, at each batch.
    let mut broker = broker();
    broker.create_topic("early", 1).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["early", "late"], params(&bootstrap, "latest")),
        KafkaOptions::default(),
    )
    .expect("stream");
    let offsets = stream.offsets();
    let partitions = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&partitions);
    stream
        .foreach_rdd(move |rdd, time| {
            let ranges = offsets.offset_ranges(time).unwrap_or_default();
            let named: Vec<String> = ranges
                .iter()
                .map(|r| format!("{}-{}", r.topic, r.partition))
                .collect();
            assert_eq!(named.len(), rdd.num_partitions());
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(named);
            Ok(())
        })
        .expect("output");
    let out = collect(&stream);
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 1);
    broker.create_topic("late", 2).expect("topic");
    let (l0, l1) = (lines("l0", 3), lines("l1", 4));
    produce(&bootstrap, "late", 0, &l0);
    produce(&bootstrap, "late", 1, &l1);
    run_batches(&ssc, &clock, 1, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    let mut want = expected("late", 0, 0, &l0);
    want.extend(expected("late", 1, 0, &l1));
    assert_eq!(all_seen(&out), want);
    assert_eq!(
        *partitions.lock().unwrap_or_else(PoisonError::into_inner),
        vec![
            vec!["early-0".to_owned()],
            vec![
                "early-0".to_owned(),
                "late-0".to_owned(),
                "late-1".to_owned()
            ]
        ]
    );
}

#[test]
fn max_rate_per_partition_gives_exact_batch_sizes() {
    let mut broker = broker();
    broker.create_topic("r", 2).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let (l0, l1) = (lines("p0", 25), lines("p1", 7));
    produce(&bootstrap, "r", 0, &l0);
    produce(&bootstrap, "r", 1, &l1);
    // 100 records/s for 100 ms batches: 10 per partition and batch.
    let (ssc, clock) = manual_context(
        StreamingConf::new().set("spark.streaming.kafka.maxRatePerPartition", "100"),
    );
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["r"], params(&bootstrap, "earliest")),
        KafkaOptions::default(),
    )
    .expect("stream");
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
    let out = collect(&stream);
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 4);
    ssc.stop(StopOptions::default()).expect("stop");
    let sizes: Vec<Vec<usize>> = out
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(_, b)| {
            (0..2)
                .map(|p| b.iter().filter(|r| r.1 == p).count())
                .collect()
        })
        .collect();
    assert_eq!(
        sizes,
        vec![vec![10, 7], vec![10, 0], vec![5, 0], vec![0, 0]]
    );
    let r = |p, from, until| OffsetRange {
        topic: "r".to_owned(),
        partition: p,
        from_offset: from,
        until_offset: until,
    };
    assert_eq!(
        *ranges.lock().unwrap_or_else(PoisonError::into_inner),
        vec![
            vec![r(0, 0, 10), r(1, 0, 7)],
            vec![r(0, 10, 20), r(1, 7, 7)],
            vec![r(0, 20, 25), r(1, 7, 7)],
            vec![r(0, 25, 25), r(1, 7, 7)],
        ]
    );
    let mut want = expected("r", 0, 0, &l0);
    want.extend(expected("r", 1, 0, &l1));
    assert_eq!(all_seen(&out), want);
}

#[test]
fn auto_offset_reset_earliest_reads_old_records_and_latest_only_new_ones() {
    let mut broker = broker();
    broker.create_topic("o", 1).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let old = lines("old", 5);
    produce(&bootstrap, "o", 0, &old);
    let (ssc, clock) = manual_context(StreamingConf::new());
    let make = |reset: &str| {
        let mut p = params(&bootstrap, reset);
        p.remove("group.id");
        KafkaStreams::create_direct_stream::<String, String>(
            &ssc,
            ConsumerStrategy::subscribe(["o"], p),
            KafkaOptions::default(),
        )
        .expect("stream")
    };
    let (earliest, latest) = (make("earliest"), make("latest"));
    let (e, l) = (collect(&earliest), collect(&latest));
    ssc.start().expect("start");
    let new = lines("new", 3);
    produce(&bootstrap, "o", 0, &new);
    run_batches(&ssc, &clock, 0, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    let mut want_e = expected("o", 0, 0, &old);
    want_e.extend(expected("o", 0, 5, &new));
    want_e.sort();
    assert_eq!(all_seen(&e), want_e);
    assert_eq!(all_seen(&l), expected("o", 0, 5, &new));
}

/// Counts the input errors posted to the listeners.
#[derive(Default)]
struct Errors(Mutex<Vec<String>>);

impl StreamingListener for Errors {
    fn on_receiver_error(&self, receiver: &ember_dstream::ReceiverInfo) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(receiver.last_error.clone().unwrap_or_default());
    }
}

#[test]
fn an_offset_out_of_range_fails_the_batch_or_resets_with_an_event() {
    let mut broker = broker();
    broker.create_topic("g", 1).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let values = lines("v", 6);
    produce(&bootstrap, "g", 0, &values);
    let start_past_the_end = || {
        ConsumerStrategy::subscribe(["g"], params(&bootstrap, "earliest"))
            .with_offsets(BTreeMap::from([(TopicPartition::new("g", 0), 40)]))
    };
    // Fail (the default): the batch's error names the offsets.
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        start_past_the_end(),
        KafkaOptions::default(),
    )
    .expect("stream");
    let _out = collect(&stream);
    ssc.start().expect("start");
    clock.advance(ember_dstream::Duration::from_millis(BATCH_MS));
    let err = ssc.await_batches(1, PATIENCE).expect_err("the batch fails");
    assert!(
        err.to_string()
            .contains("offset 40 of g-0 is out of range: the broker keeps offsets [0, 6)"),
        "{err}"
    );
    ssc.stop(StopOptions::default()).expect("stop");
    // Reset: every record is read, and the reset is an event.
    let (ssc, clock) = manual_context(StreamingConf::new());
    let errors = Arc::new(Errors::default());
    ssc.add_listener(errors.clone());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        start_past_the_end(),
        KafkaOptions {
            offset_out_of_range: Some(OffsetOutOfRange::ResetToEarliest),
            ..KafkaOptions::default()
        },
    )
    .expect("stream");
    let out = collect(&stream);
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    assert_eq!(all_seen(&out), expected("g", 0, 0, &values));
    let seen = errors
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains("offset 40 of g-0 is out of range"),
        "{seen:?}"
    );
}

#[test]
fn the_broker_going_down_and_up_mid_stream_loses_and_doubles_nothing() {
    let mut broker = broker();
    broker.create_topic("d", 2).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    let (ssc, clock) = manual_context(StreamingConf::new());
    let errors = Arc::new(Errors::default());
    ssc.add_listener(errors.clone());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["d"], params(&bootstrap, "earliest")),
        KafkaOptions::default(),
    )
    .expect("stream");
    let out = collect(&stream);
    ssc.start().expect("start");
    let before: Vec<Vec<String>> = (0..2).map(|p| lines(&format!("before{p}"), 8)).collect();
    for (p, l) in before.iter().enumerate() {
        produce(&bootstrap, "d", p as i32, l);
    }
    run_batches(&ssc, &clock, 0, 1);
    broker.set_down().expect("down");
    // Batches generated while the broker is down read nothing and post
    // errors; none is lost.
    run_batches(&ssc, &clock, 1, 2);
    broker.set_up().expect("up");
    let after: Vec<Vec<String>> = (0..2).map(|p| lines(&format!("after{p}"), 6)).collect();
    for (p, l) in after.iter().enumerate() {
        produce(&bootstrap, "d", p as i32, l);
    }
    run_batches(&ssc, &clock, 3, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    let mut want = Vec::new();
    for p in 0..2 {
        want.extend(expected("d", p, 0, &before[p as usize]));
        want.extend(expected("d", p, 8, &after[p as usize]));
    }
    want.sort();
    assert_eq!(all_seen(&out), want);
    assert!(
        !errors
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty(),
        "the outage was posted to the listeners"
    );
}

#[test]
fn offset_ranges_describe_each_batch_and_commits_reach_the_group() {
    let mut broker = broker();
    broker.create_topic("c", 2).expect("topic");
    let bootstrap = broker.bootstrap_servers().to_owned();
    produce(&bootstrap, "c", 0, &lines("x", 3));
    produce(&bootstrap, "c", 1, &lines("y", 4));
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["c"], params(&bootstrap, "earliest")),
        KafkaOptions::default(),
    )
    .expect("stream");
    let offsets = stream.offsets();
    let per_partition = Arc::new(Mutex::new(HashMap::new()));
    let sink = Arc::clone(&per_partition);
    stream
        .foreach_rdd(move |rdd, time| {
            let ranges = offsets.offset_ranges(time).unwrap_or_default();
            let sizes = rdd.map(|_| 1u64).glom().collect()?;
            for (range, size) in ranges.iter().zip(sizes) {
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(range.partition, (range.count(), size.len() as u64));
            }
            Ok(offsets
                .commit_async(&ranges)
                .map_err(|e| ember_rdd::JobError::ThreadPool {
                    message: e.to_string(),
                })?)
        })
        .expect("output");
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    assert_eq!(
        *per_partition.lock().unwrap_or_else(PoisonError::into_inner),
        HashMap::from([(0, (3, 3)), (1, (4, 4))])
    );
    // A new stream of the same group starts at the committed offsets.
    produce(&bootstrap, "c", 1, &lines("z", 2));
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["c"], params(&bootstrap, "earliest")),
        KafkaOptions::default(),
    )
    .expect("stream");
    let out = collect(&stream);
    let mut committed = false;
    for _ in 0..100 {
        // The commit was asynchronous: wait until the group has it.
        if committed_offsets(&bootstrap) == vec![3, 4] {
            committed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(committed, "the commit reached the group");
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    assert_eq!(all_seen(&out), expected("c", 1, 4, &lines("z", 2)));
}

/// The group's committed offsets of `c`-0 and `c`-1 (-1 when none).
fn committed_offsets(bootstrap: &str) -> Vec<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ember-tests")
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition("c", 0);
    tpl.add_partition("c", 1);
    let committed = consumer
        .committed_offsets(tpl, std::time::Duration::from_secs(5))
        .expect("committed offsets");
    committed
        .elements()
        .iter()
        .map(|e| e.offset().to_raw().unwrap_or(-1))
        .collect()
}

#[test]
fn creating_a_stream_without_brokers_is_an_error() {
    let (ssc, _clock) = manual_context(StreamingConf::new());
    let err = KafkaStreams::create_direct_stream::<String, String>(
        &ssc,
        ConsumerStrategy::subscribe(["t"], Default::default()),
        KafkaOptions::default(),
    )
    .err();
    assert!(
        matches!(err, Some(KafkaError::InvalidSetting { ref key, .. }) if key == "bootstrap.servers")
    );
}
