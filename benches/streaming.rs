//! The streaming engine's costs: the per-batch overhead of an empty batch
//! through the job generator and scheduler (manual clock, one queue stream,
//! a trivial `foreach_rdd`), and word count on one batch of 1,000,000 words
//! through `queue_stream → flat_map → map → reduce_by_key` beside the
//! hand-written baselines on 2 threads. The ratio to the foldhash yardstick
//! (per-thread foldhash maps on `&str`, merged) is the figure; the same
//! loop on std's `HashMap` runs beside it.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration as StdDuration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember::datagen::WordGenerator;
use ember::dstream::{ManualClock, StreamingContext};
use ember::prelude::*;

mod common;

use common::{THREADS, foldhash_word_count, rayon_word_count};

const PATIENCE: StdDuration = StdDuration::from_secs(60);

fn manual_context() -> (StreamingContext, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new()
        .master(format!("local[{THREADS}]"))
        .app_name("streaming-bench");
    let ssc =
        StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).expect("context");
    (ssc, clock)
}

/// Advances the clock one batch and waits for that batch's output.
fn next_batch<T>(clock: &ManualClock, done: &Receiver<T>) -> T {
    clock.advance(Duration::from_secs(1));
    done.recv_timeout(PATIENCE).expect("batch output")
}

fn per_batch_overhead(c: &mut Criterion) {
    let (ssc, clock) = manual_context();
    let (tx, rx) = channel::<Time>();
    ssc.queue_stream(VecDeque::<Vec<u64>>::new(), true)
        .foreach_rdd(move |_rdd, time| {
            let _ = tx.send(time);
            Ok(())
        })
        .expect("output");
    ssc.start().expect("start");

    let mut group = c.benchmark_group("streaming_batch_overhead");
    group.throughput(Throughput::Elements(1));
    group.bench_function("empty_batch", |b| {
        b.iter(|| black_box(next_batch(&clock, &rx)))
    });
    group.finish();
    ssc.stop(StopOptions::default()).expect("stop");
}

fn word_count(c: &mut Criterion) {
    let lines = WordGenerator::new().batch();
    let words: usize = lines.iter().map(|l| l.split(' ').count()).sum();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("thread pool");

    let (ssc, clock) = manual_context();
    let queue = InputQueue::new();
    let (tx, rx) = channel::<usize>();
    ssc.queue_stream(queue.clone(), true)
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .foreach_rdd(move |rdd, _time| {
            let counts = rdd.collect()?;
            let _ = tx.send(counts.len());
            Ok(())
        })
        .expect("output");
    ssc.start().expect("start");

    // Both sides agree before anything is timed.
    queue.push(lines.clone());
    let distinct = next_batch(&clock, &rx);
    assert_eq!(distinct, pool.install(|| rayon_word_count(&lines).len()));

    let mut group = c.benchmark_group("streaming_word_count_1M_words");
    group.sample_size(10);
    group.throughput(Throughput::Elements(words as u64));
    group.bench_function("foldhash_yardstick", |b| {
        b.iter(|| pool.install(|| black_box(foldhash_word_count(&lines)).len()))
    });
    group.bench_function("rayon_baseline", |b| {
        b.iter(|| pool.install(|| black_box(rayon_word_count(&lines)).len()))
    });
    group.bench_function("dstream_batch", |b| {
        b.iter_custom(|iters| {
            let mut total = StdDuration::ZERO;
            for _ in 0..iters {
                // The input copy is the queue's, not the pipeline's, cost.
                queue.push(lines.clone());
                let start = Instant::now();
                black_box(next_batch(&clock, &rx));
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
    ssc.stop(StopOptions::default()).expect("stop");
}

criterion_group!(benches, per_batch_overhead, word_count);
criterion_main!(benches);
