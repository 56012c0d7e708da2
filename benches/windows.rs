//! The incremental windowed reduction's cost per batch must not grow with
//! the window: `reduce_by_key_and_window_inv` over a window of 100 batches
//! against one of 10 batches, slide 1 batch, 10,000 keyed records a batch
//! (words of the shared generator). Driven on a manual clock: warm up past
//! the window, then each measured step advances the clock one batch and
//! waits for that batch's output job. The ratio of the two per-batch times
//! is the figure (target ≤ 1.5; a window recomputed naively would be ≈ 10).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember::datagen::WordGenerator;
use ember::dstream::ManualClock;
use ember::prelude::*;

const RECORDS_PER_BATCH: usize = 10_000;
const BATCH: Duration = Duration::from_secs(1);

/// A running pipeline and the handles to step it one batch at a time.
struct Pipeline {
    ssc: StreamingContext,
    clock: Arc<ManualClock>,
    done: Receiver<Time>,
}

impl Pipeline {
    fn start(window_batches: u64) -> Pipeline {
        let clock = Arc::new(ManualClock::new());
        let conf = StreamingConf::new()
            .master("local[2]")
            .app_name("bench-windows");
        let ssc = StreamingContext::with_clock(conf, BATCH, clock.clone()).expect("context");
        let mut words = WordGenerator::new();
        let batch: Vec<(String, u64)> = (0..RECORDS_PER_BATCH)
            .map(|_| (format!("w{}", words.next_id()), 1))
            .collect();
        // The queue stays empty: every batch is the default one.
        let input = ssc.queue_stream_with_default(InputQueue::new(), true, Some(batch));
        let windowed = input
            .reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                BATCH * window_batches,
                BATCH,
                None,
            )
            .expect("valid window");
        let (tx, done) = channel();
        windowed
            .foreach_rdd(move |rdd, time| {
                rdd.count()?;
                let _ = tx.send(time);
                Ok(())
            })
            .expect("output");
        ssc.start().expect("start");
        let pipeline = Pipeline { ssc, clock, done };
        // Warm up past the window, so every step adds and removes a batch.
        pipeline.step(window_batches + 10);
        pipeline
    }

    /// Advances the clock `n` batches, one at a time, waiting for each.
    fn step(&self, n: u64) {
        for _ in 0..n {
            self.clock.advance(BATCH);
            self.done.recv().expect("batch completed");
        }
    }
}

fn windows(c: &mut Criterion) {
    let mut group = c.benchmark_group("reduce_by_key_and_window_inv_10k_records");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(3));
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.throughput(Throughput::Elements(RECORDS_PER_BATCH as u64));
    for window_batches in [10u64, 100] {
        let pipeline = Pipeline::start(window_batches);
        group.bench_function(format!("window_{window_batches}_batches"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                pipeline.step(iters);
                start.elapsed()
            })
        });
        pipeline.ssc.stop(StopOptions::default()).expect("stop");
    }
    group.finish();
}

criterion_group!(benches, windows);
criterion_main!(benches);
