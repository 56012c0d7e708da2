//! `stream!` against the plain DStream API and a hand-written rayon loop, in
//! one run, on one batch of 1,000,000 words from the shared generator, 2
//! threads: word count (`flat_map → filter → map → reduce_by_key`) and a
//! five-operator narrow chain over the words ending in `count`. Both DStream
//! variants run one batch through the engine per iteration (manual clock,
//! queue stream; the input copy pushed into the queue is not timed);
//! `stream_macro_borrowed` is the same `stream!` pipeline over
//! `DStream<&str>`, reading the queued lines in place instead of a copy of
//! each. The
//! ratio of `stream!` to the foldhash yardstick (per-thread foldhash maps on
//! `&str`, merged) is the figure; the std `HashMap` loop runs beside it,
//! and so does `api_closures_by_hand`: the plain API's own closures (a
//! `String` per word, a `Vec` per line) into per-thread maps by hand, the
//! floor under the plain API's figure.
//!
//! The `paired_*` groups report the same ratios measured another way: one
//! batch of the engine and one run of its baseline in turn, the engine's
//! summed time over the baseline's (`common::paired`). On a machine whose
//! speed drifts over seconds, they repeat where the sequential groups'
//! ratios do not.
//!
//! The narrow chain's ratio mostly measures whether LLVM inlines
//! `str::split`'s `next` into each loop, which it does only where that
//! `next` has a single caller in its codegen unit. Each `stream!` stage
//! loop has a module of its own, and the workspace's bench profile sets
//! `codegen-units` for this crate so that rustc does not merge small
//! modules' units. No loop here, `stream!`'s or hand-written, calls that
//! `next` out of line (README, "Performance").
//!
//! The narrow chain's engines run with `spark.default.parallelism` at 3
//! tasks per thread, as Spark's tuning guide advises (2–3 tasks per core):
//! its rayon loop splits the lines adaptively, and one task per thread
//! leaves a thread idle whenever the other's half runs late. The word
//! counts keep the default (one partition per thread): their shuffle costs
//! more with more partitions than the balance gains.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration as StdDuration, Instant};

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use ember::datagen::WordGenerator;
use ember::dstream::{ManualClock, StreamingContext};
use ember::prelude::*;
use rayon::prelude::*;

mod common;

use common::paired::{Paired, PairedTimes};
use common::{THREADS, foldhash_word_count, owned_word_count, rayon_word_count};

const PATIENCE: StdDuration = StdDuration::from_secs(60);

stream! {
    /// Word count, fused: one loop per partition with the map-side combine.
    fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// Five narrow operators and a count, fused into one loop over the
    /// words, borrowed from their line.
    fn narrow_chain(lines: DStream<String>) -> DStream<u64> {
        lines
            .filter(|line| !line.is_empty())
            .flat_map(|line| line.split(' '))
            .map(|w| w.len())
            .filter(|n| *n > 2)
            .map(|n| n * 3)
            .count()
    }

    /// The word count over lines borrowed where the batch keeps them.
    fn borrowed_word_count(lines: DStream<&str>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// The narrow chain over lines borrowed where the batch keeps them.
    fn borrowed_narrow_chain(lines: DStream<&str>) -> DStream<u64> {
        lines
            .filter(|line| !line.is_empty())
            .flat_map(|line| line.split(' '))
            .map(|w| w.len())
            .filter(|n| *n > 2)
            .map(|n| n * 3)
            .count()
    }
}

/// Word count with the plain DStream API.
fn plain_word_count(lines: DStream<String>) -> DStream<(String, u64)> {
    lines
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
}

/// The narrow chain with the plain DStream API.
fn plain_narrow_chain(lines: DStream<String>) -> DStream<u64> {
    lines
        .filter(|line| !line.is_empty())
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| w.len())
        .filter(|n| *n > 2)
        .map(|n| n * 3)
        .count()
}

/// The narrow chain by hand with rayon.
fn rayon_narrow(lines: &[String]) -> u64 {
    lines
        .par_iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.split(' ').filter(|w| w.len() > 2).count() as u64)
        .sum()
}

/// A running context whose output sends `summary(batch)` for each batch,
/// with the queue that feeds it.
struct Engine<T> {
    ssc: StreamingContext,
    clock: Arc<ManualClock>,
    queue: InputQueue<String>,
    done: Receiver<T>,
}

impl<T: Send + 'static> Engine<T> {
    /// `tasks_per_thread` sets `spark.default.parallelism` to that many
    /// partitions per worker thread.
    fn new<U: ember::rdd::Data>(
        pipeline: fn(DStream<String>) -> DStream<U>,
        summary: fn(Vec<U>) -> T,
        tasks_per_thread: usize,
    ) -> Self {
        let clock = Arc::new(ManualClock::new());
        let conf = StreamingConf::new()
            .master(format!("local[{THREADS}]"))
            .set(
                "spark.default.parallelism",
                (tasks_per_thread * THREADS).to_string(),
            )
            .app_name("macro-bench");
        let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())
            .expect("context");
        let queue = InputQueue::new();
        let (tx, done) = channel();
        pipeline(ssc.queue_stream(queue.clone(), true))
            .foreach_rdd(move |rdd, _time| {
                let _ = tx.send(summary(rdd.collect()?));
                Ok(())
            })
            .expect("output");
        ssc.start().expect("start");
        Engine {
            ssc,
            clock,
            queue,
            done,
        }
    }

    fn run(&self, lines: &[String]) -> T {
        self.queue.push(lines.to_vec());
        self.clock.advance(Duration::from_secs(1));
        self.done.recv_timeout(PATIENCE).expect("batch output")
    }

    /// Times one batch, leaving the input copy out.
    fn time_one(&self, lines: &[String]) -> StdDuration {
        self.queue.push(lines.to_vec());
        let start = Instant::now();
        self.clock.advance(Duration::from_secs(1));
        black_box(self.done.recv_timeout(PATIENCE).expect("batch output"));
        start.elapsed()
    }

    /// Times `iters` batches, leaving the input copies out.
    fn time(&self, lines: &[String], iters: u64) -> StdDuration {
        (0..iters).map(|_| self.time_one(lines)).sum()
    }

    /// Times `iters` batches, each in turn with one run of `baseline`.
    fn paired(
        &self,
        lines: &[String],
        iters: u64,
        baseline: impl Fn() -> StdDuration,
    ) -> PairedTimes {
        let mut times = PairedTimes::default();
        for _ in 0..iters {
            let base = baseline();
            times.add(self.time_one(lines), base);
        }
        times
    }

    fn stop(self) {
        self.ssc.stop(StopOptions::default()).expect("stop");
    }
}

fn distinct(batch: Vec<(String, u64)>) -> usize {
    batch.len()
}

fn single(batch: Vec<u64>) -> u64 {
    batch.first().copied().unwrap_or(0)
}

fn benches(c: &mut Criterion) {
    let lines = WordGenerator::new().batch();
    let words: usize = lines.iter().map(|l| l.split(' ').count()).sum();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("thread pool");

    let fused = Engine::new(word_count, distinct, 1);
    let borrowed = Engine::new(borrowed_word_count, distinct, 1);
    let plain = Engine::new(plain_word_count, distinct, 1);
    let expected = pool.install(|| rayon_word_count(&lines).len());
    assert_eq!(fused.run(&lines), expected);
    assert_eq!(borrowed.run(&lines), expected);
    assert_eq!(plain.run(&lines), expected);
    assert_eq!(pool.install(|| owned_word_count(&lines).len()), expected);

    let mut group = c.benchmark_group("macro_word_count_1M_words");
    group.sample_size(10);
    group.throughput(Throughput::Elements(words as u64));
    group.bench_function("foldhash_yardstick", |b| {
        b.iter(|| pool.install(|| black_box(foldhash_word_count(&lines)).len()))
    });
    group.bench_function("rayon_baseline", |b| {
        b.iter(|| pool.install(|| black_box(rayon_word_count(&lines)).len()))
    });
    group.bench_function("api_closures_by_hand", |b| {
        b.iter(|| pool.install(|| black_box(owned_word_count(&lines)).len()))
    });
    let engines = [
        ("stream_macro", fused),
        ("stream_macro_borrowed", borrowed),
        ("plain_dstream", plain),
    ];
    bench_engines(group, engines, |engine, n| engine.time(&lines, n));

    let fused = Engine::new(narrow_chain, single, 3);
    let borrowed = Engine::new(borrowed_narrow_chain, single, 3);
    let plain = Engine::new(plain_narrow_chain, single, 3);
    let expected = pool.install(|| rayon_narrow(&lines));
    assert_eq!(fused.run(&lines), expected);
    assert_eq!(borrowed.run(&lines), expected);
    assert_eq!(plain.run(&lines), expected);

    let mut group = c.benchmark_group("macro_narrow_chain_1M_words");
    group.sample_size(10);
    group.throughput(Throughput::Elements(words as u64));
    group.bench_function("rayon_baseline", |b| {
        b.iter(|| pool.install(|| black_box(rayon_narrow(&lines))))
    });
    let engines = [
        ("stream_macro", fused),
        ("stream_macro_borrowed", borrowed),
        ("plain_dstream", plain),
    ];
    bench_engines(group, engines, |engine, n| engine.time(&lines, n));
}

/// Adds to `group` one benchmark per engine, `measure(engine, iters)`
/// timing its iterations, ends the group, then stops the engines.
fn bench_engines<T: Send + 'static, M: Measurement, const N: usize>(
    mut group: BenchmarkGroup<'_, M>,
    engines: [(&str, Engine<T>); N],
    measure: impl Fn(&Engine<T>, u64) -> M::Value,
) {
    for (name, engine) in &engines {
        group.bench_function(*name, |b| b.iter_custom(|n| measure(engine, n)));
    }
    group.finish();
    engines.into_iter().for_each(|(_, engine)| engine.stop());
}

/// Times `f` once.
fn timed<T>(f: impl FnOnce() -> T) -> StdDuration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

/// The engines' ratios to their baselines, timed in alternation (see
/// `common::paired`): the figures least moved by a machine whose speed
/// drifts.
fn paired(c: &mut Criterion<Paired>) {
    let lines = WordGenerator::new().batch();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("thread pool");
    let yardstick = || timed(|| pool.install(|| foldhash_word_count(&lines).len()));
    let narrow = || timed(|| pool.install(|| rayon_narrow(&lines)));

    let fused = Engine::new(word_count, distinct, 1);
    let borrowed = Engine::new(borrowed_word_count, distinct, 1);
    let plain = Engine::new(plain_word_count, distinct, 1);
    let mut group = c.benchmark_group("paired_word_count_1M_words");
    group.sample_size(10);
    let engines = [
        ("stream_macro", fused),
        ("stream_macro_borrowed", borrowed),
        ("plain_dstream", plain),
    ];
    bench_engines(group, engines, |engine, n| {
        engine.paired(&lines, n, yardstick)
    });

    let fused = Engine::new(narrow_chain, single, 3);
    let borrowed = Engine::new(borrowed_narrow_chain, single, 3);
    let mut group = c.benchmark_group("paired_narrow_chain_1M_words");
    group.sample_size(10);
    let engines = [("stream_macro", fused), ("stream_macro_borrowed", borrowed)];
    bench_engines(group, engines, |engine, n| engine.paired(&lines, n, narrow));
}

criterion_group!(macro_benches, benches);
criterion_group! {
    name = paired_benches;
    config = Criterion::default().with_measurement(Paired);
    targets = paired
}
criterion_main!(macro_benches, paired_benches);
