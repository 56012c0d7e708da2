//! The direct stream against librdkafka's mock broker running as its own
//! process on 127.0.0.1: exact records per batch, word counts, subscribe
//! and assign, partitions appearing, rate limits, `auto.offset.reset`,
//! out-of-range offsets, the broker going down and up, offset ranges and
//! commits.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use common::*;
use ember_dstream::{InputErrorInfo, StopOptions, StreamingConf, StreamingError, Time};
use ember_kafka::{
    ConsumerStrategy, KafkaError, KafkaOptions, KafkaStreams, OffsetOutOfRange, TopicPartition,
};

#[test]
fn word_count_over_four_partitions_is_exact() {
    let (_broker, bootstrap) = broker_with("words", 4);
    let mut all_lines = Vec::new();
    for p in 0..4 {
        let l = lines(&format!("p{p}"), 50 + p as usize * 10);
        produce(&bootstrap, "words", p, &l);
        all_lines.extend(l);
    }
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = subscribe(&ssc, ["words"], &bootstrap, "earliest");
    let counts = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let partitions = Arc::new(Mutex::new(Vec::new()));
    let (sink, parts) = (Arc::clone(&counts), Arc::clone(&partitions));
    stream
        .flat_map(words)
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
    let (_broker, bootstrap) = broker_with("t", 3);
    let per: Vec<Vec<String>> = (0..3).map(|p| lines(&format!("p{p}"), 5)).collect();
    for (p, l) in per.iter().enumerate() {
        produce(&bootstrap, "t", p as i32, l);
    }
    let (ssc, clock) = manual_context(StreamingConf::new());
    let assigned = stream_with(
        &ssc,
        ConsumerStrategy::assign(
            [TopicPartition::new("t", 0), TopicPartition::new("t", 2)],
            params(&bootstrap, "earliest"),
        ),
        KafkaOptions::default(),
    );
    let subscribed = subscribe(&ssc, ["t"], &bootstrap, "earliest");
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
    let (mut broker, bootstrap) = broker_with("events-a", 2);
    let first = lines("a", 4);
    produce(&bootstrap, "events-a", 1, &first);
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = stream_with(
        &ssc,
        ConsumerStrategy::subscribe_pattern("events-.*", params(&bootstrap, "latest"))
            .expect("pattern"),
        KafkaOptions::default(),
    );
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
    // The mock broker cannot add partitions to a topic (librdkafka 2.12.1's
    // mock serves no CreatePartitions, see `mock_broker`), so a subscribed
    // topic goes from no partition to two while the stream runs: the same
    // discovery, at each batch.
    let (mut broker, bootstrap) = broker_with("early", 1);
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = subscribe(&ssc, ["early", "late"], &bootstrap, "latest");
    let ranges = record_ranges(&stream);
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
        *ranges.lock().unwrap_or_else(PoisonError::into_inner),
        vec![
            vec![range("early", 0, 0, 0)],
            vec![
                range("early", 0, 0, 0),
                range("late", 0, 0, 3),
                range("late", 1, 0, 4)
            ]
        ]
    );
}

#[test]
fn max_rate_per_partition_gives_exact_batch_sizes() {
    let (_broker, bootstrap) = broker_with("r", 2);
    let (l0, l1) = (lines("p0", 25), lines("p1", 7));
    produce(&bootstrap, "r", 0, &l0);
    produce(&bootstrap, "r", 1, &l1);
    // 100 records/s for 100 ms batches: 10 per partition and batch.
    let (ssc, clock) = manual_context(
        StreamingConf::new().set("spark.streaming.kafka.maxRatePerPartition", "100"),
    );
    let stream = subscribe(&ssc, ["r"], &bootstrap, "earliest");
    let ranges = record_ranges(&stream);
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
    let r = |p, from, until| range("r", p, from, until);
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
    let (_broker, bootstrap) = broker_with("o", 1);
    let old = lines("old", 5);
    produce(&bootstrap, "o", 0, &old);
    let (ssc, clock) = manual_context(StreamingConf::new());
    let make = |reset: &str| {
        let mut p = params(&bootstrap, reset);
        p.remove("group.id");
        stream_with(
            &ssc,
            ConsumerStrategy::subscribe(["o"], p),
            KafkaOptions::default(),
        )
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

/// The stream's name in listener events and errors.
const NAME: &str = "kafka direct stream";

/// The input error event of `stream` for the batch at `ms` (or at start).
fn input_error(stream: usize, ms: Option<u64>, message: &str) -> InputErrorInfo {
    InputErrorInfo {
        stream_id: stream,
        name: NAME.to_owned(),
        batch_time: ms.map(Time::from_millis),
        message: message.to_owned(),
    }
}

#[test]
fn an_offset_out_of_range_fails_the_batch_or_resets_with_an_event() {
    let (_broker, bootstrap) = broker_with("g", 1);
    let values = lines("v", 6);
    produce(&bootstrap, "g", 0, &values);
    let start_past_the_end = || {
        ConsumerStrategy::subscribe(["g"], params(&bootstrap, "earliest"))
            .with_offsets(BTreeMap::from([(TopicPartition::new("g", 0), 40)]))
    };
    // Fail (the default): the batch's error names the offsets.
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = stream_with(&ssc, start_past_the_end(), KafkaOptions::default());
    let _out = collect(&stream);
    ssc.start().expect("start");
    clock.advance(ember_dstream::Duration::from_millis(BATCH_MS));
    let err = ssc.await_batches(1, PATIENCE).expect_err("the batch fails");
    let out_of_range = "offset 40 of g-0 is out of range: the broker keeps offsets [0, 6)";
    assert!(
        matches!(&err, StreamingError::InputFailed { name: NAME, time, message }
            if time.milliseconds() == BATCH_MS
                && *message == format!("input stream {NAME} (id {}): {out_of_range}", stream.id())),
        "{err}"
    );
    ssc.stop(StopOptions::default()).expect("stop");
    // Reset: every record is read, and the reset is an event.
    let (ssc, clock) = manual_context(StreamingConf::new());
    let events = Events::on(&ssc);
    let stream = stream_with(
        &ssc,
        start_past_the_end(),
        KafkaOptions {
            offset_out_of_range: Some(OffsetOutOfRange::ResetToEarliest),
            ..KafkaOptions::default()
        },
    );
    let out = collect(&stream);
    ssc.start().expect("start");
    run_batches(&ssc, &clock, 0, 1);
    ssc.stop(StopOptions::default()).expect("stop");
    assert_eq!(all_seen(&out), expected("g", 0, 0, &values));
    let seen = events.seen();
    assert_eq!(
        seen.input_errors,
        vec![input_error(stream.id(), Some(BATCH_MS), out_of_range)]
    );
    assert_eq!(
        seen.batches,
        vec![(
            Time::from_millis(BATCH_MS),
            vec![(stream.id(), out_of_range.to_owned())]
        )]
    );
}

#[test]
fn the_broker_going_down_and_up_mid_stream_loses_and_doubles_nothing() {
    let (mut broker, bootstrap) = broker_with("d", 2);
    let (ssc, clock) = manual_context(StreamingConf::new());
    let events = Events::on(&ssc);
    let stream = subscribe(&ssc, ["d"], &bootstrap, "earliest");
    let out = collect(&stream);
    ssc.start().expect("start");
    let before: Vec<Vec<String>> = (0..2).map(|p| lines(&format!("before{p}"), 8)).collect();
    for (p, l) in before.iter().enumerate() {
        produce(&bootstrap, "d", p as i32, l);
    }
    run_batches(&ssc, &clock, 0, 1);
    broker.set_down().expect("down");
    // Batches generated while the broker is down read nothing and report
    // each of their 3 attempts (backoffs of 50 and 100 ms fit in the
    // 200 ms a batch may retry); none is lost.
    run_batches(&ssc, &clock, 1, 2);
    broker.set_up().expect("up");
    let after: Vec<Vec<String>> = (0..2).map(|p| lines(&format!("after{p}"), 6)).collect();
    for (p, l) in after.iter().enumerate() {
        produce(&bootstrap, "d", p as i32, l);
    }
    let mut want = Vec::new();
    for p in 0..2 {
        want.extend(expected("d", p, 0, &before[p as usize]));
        want.extend(expected("d", p, 8, &after[p as usize]));
    }
    want.sort();
    // librdkafka reconnects in its own time (slower on a loaded machine):
    // a batch before that reads nothing and the next ones catch up. Run
    // batches until every record arrived (at most 30), then check that
    // each came exactly once.
    let mut next = 3;
    while all_seen(&out).len() < want.len() && next < 30 {
        run_batches(&ssc, &clock, next, 1);
        next += 1;
    }
    ssc.stop(StopOptions::default()).expect("stop");
    assert_eq!(all_seen(&out), want);
    let seen = events.seen();
    for ms in [200, 300] {
        let time = Time::from_millis(ms);
        let posted: Vec<InputErrorInfo> = seen
            .input_errors
            .iter()
            .filter(|e| e.batch_time == Some(time))
            .cloned()
            .collect();
        let messages: Vec<String> = posted.iter().map(|e| e.message.clone()).collect();
        assert_eq!(messages.len(), 3, "{posted:?}");
        let want: Vec<InputErrorInfo> = messages
            .iter()
            .map(|m| input_error(stream.id(), Some(ms), m))
            .collect();
        assert_eq!(posted, want);
        let in_batch = seen.batches.iter().find(|(t, _)| *t == time);
        let in_batch: Vec<(usize, String)> = in_batch.map(|(_, e)| e.clone()).unwrap_or_default();
        assert_eq!(
            in_batch,
            messages
                .into_iter()
                .map(|m| (stream.id(), m))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(
        seen.batches
            .iter()
            .find(|(t, _)| t.milliseconds() == 100)
            .map(|(_, e)| e.len()),
        Some(0),
        "no error before the outage"
    );
}

#[test]
fn offset_ranges_describe_each_batch_and_commits_reach_the_group() {
    let (_broker, bootstrap) = broker_with("c", 2);
    produce(&bootstrap, "c", 0, &lines("x", 3));
    produce(&bootstrap, "c", 1, &lines("y", 4));
    let (ssc, clock) = manual_context(StreamingConf::new());
    let stream = subscribe(&ssc, ["c"], &bootstrap, "earliest");
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
    let stream = subscribe(&ssc, ["c"], &bootstrap, "earliest");
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

#[test]
fn a_broker_down_at_start_is_an_input_error_after_the_reported_retries() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (ssc, _clock) = manual_context(StreamingConf::new());
    let events = Events::on(&ssc);
    // 200 ms of patience: an attempt at once, then after 50 and 100 ms.
    let stream = stream_with(
        &ssc,
        ConsumerStrategy::subscribe(["t"], params(&format!("127.0.0.1:{port}"), "earliest")),
        KafkaOptions {
            start_timeout: Some(std::time::Duration::from_millis(200)),
            ..KafkaOptions::default()
        },
    );
    let _out = collect(&stream);
    let err = ssc.start().expect_err("start fails");
    let StreamingError::Input {
        stream_id,
        name,
        ref source,
    } = err
    else {
        panic!("not an input error: {err}");
    };
    assert_eq!((stream_id, name), (Some(stream.id()), NAME));
    let kafka = source.downcast_ref::<KafkaError>();
    assert!(matches!(kafka, Some(KafkaError::Client { .. })), "{source}");
    ssc.stop(StopOptions::default()).expect("stop");
    let seen = events.seen();
    let messages: Vec<String> = seen
        .input_errors
        .iter()
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages.last(), Some(&source.to_string()));
    let want: Vec<InputErrorInfo> = messages
        .iter()
        .map(|m| input_error(stream.id(), None, m))
        .collect();
    assert_eq!(seen.input_errors, want);
}

/// Spark's `maxMessagesPerPartition` for 100 ms batches under
/// backpressure, the model of `backpressure_limits_each_batch_...`:
/// without an estimate every partition may take `max_rate` records/s;
/// with `rate`, each its share of it by lag, at most `max_rate` and at
/// least `min_rate` records/s. The ranges of each batch, from offset 0 to
/// `ends`, until every partition is read.
fn backpressure_model(
    ends: &[i64],
    max_rate: f64,
    min_rate: f64,
    rate: f64,
) -> Vec<Vec<(i64, i64)>> {
    let secs = BATCH_MS as f64 / 1000.0;
    let floor = ((min_rate * secs) as i64).max(1);
    let mut from = vec![0i64; ends.len()];
    let (mut batches, mut non_empty) = (Vec::new(), 0);
    while from.iter().zip(ends).any(|(f, e)| f < e) {
        // The estimator calibrates on the first non-empty batch and
        // estimates from the second on.
        let estimate = (non_empty >= 2).then_some(rate);
        let lags: Vec<i64> = ends.iter().zip(&from).map(|(e, f)| e - f).collect();
        let total: i64 = lags.iter().sum();
        let batch: Vec<(i64, i64)> = (0..ends.len())
            .map(|p| {
                let limit = match estimate {
                    Some(rate) => (lags[p] as f64 / total as f64 * rate).min(max_rate),
                    None => max_rate,
                };
                let max = ((secs * limit) as i64).max(floor);
                (from[p], ends[p].min(from[p] + max))
            })
            .collect();
        if batch.iter().any(|(f, u)| u > f) {
            non_empty += 1;
        }
        for (p, (_, until)) in batch.iter().enumerate() {
            from[p] = *until;
        }
        batches.push(batch);
    }
    batches
}

#[test]
fn backpressure_limits_each_batch_by_lag_within_the_max_and_min_rates() {
    let (_broker, bootstrap) = broker_with("b", 3);
    let per: Vec<Vec<String>> = [150, 62, 12]
        .iter()
        .enumerate()
        .map(|(p, n)| lines(&format!("p{p}"), *n))
        .collect();
    for (p, l) in per.iter().enumerate() {
        produce(&bootstrap, "b", p as i32, l);
    }
    // Every batch takes at least 250 ms to process and holds at most 45
    // records: the measured rate stays below 180 records/s, so the PID
    // estimate (Spark's gains) is exactly its floor, pid.minRate = 300.
    let (ssc, clock) = manual_context(
        StreamingConf::new()
            .set("spark.streaming.backpressure.enabled", "true")
            .set("spark.streaming.backpressure.pid.minRate", "300")
            .set("spark.streaming.kafka.maxRatePerPartition", "150")
            .set("spark.streaming.kafka.minRatePerPartition", "50"),
    );
    let stream = subscribe(&ssc, ["b"], &bootstrap, "earliest");
    let ranges = record_ranges(&stream);
    let out = collect(&stream);
    stream
        .foreach_rdd(|_, _| {
            std::thread::sleep(std::time::Duration::from_millis(250));
            Ok(())
        })
        .expect("output");
    let events = Events::on(&ssc);
    let model = backpressure_model(&[150, 62, 12], 150.0, 50.0, 300.0);
    ssc.start().expect("start");
    for done in 0..model.len() as u64 {
        run_batches(&ssc, &clock, done, 1);
        // The rate controller saw the batch before the next is generated.
        events.wait_batches(done as usize + 1);
    }
    ssc.stop(StopOptions::default()).expect("stop");
    let got: Vec<Vec<(i64, i64)>> = ranges
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|b| b.iter().map(|r| (r.from_offset, r.until_offset)).collect())
        .collect();
    assert_eq!(got, model);
    // The model goes through all three limits: partition 0 is held to the
    // max rate (15 a batch); partition 1 gets its share by lag (6 of
    // 300 records/s · 32/152 · 0.1 s), later the min rate (5 where its
    // share is 4).
    assert_eq!(model[2], vec![(30, 45), (30, 36), (12, 12)]);
    assert_eq!(model[6], vec![(90, 105), (51, 56), (12, 12)]);
    let mut want = Vec::new();
    for (p, l) in per.iter().enumerate() {
        want.extend(expected("b", p as i32, 0, l));
    }
    want.sort();
    assert_eq!(all_seen(&out), want);
}
