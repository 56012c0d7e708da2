//! `update_state_by_key` with 1,000,000 live keys: the time of one batch of
//! 100,000 updates (the whole state is cogrouped with the batch, as in
//! Spark's `StateDStream`), and the memory the state takes per key, counted
//! by a global allocator (live heap bytes) and cross-checked with the
//! process's resident set size (`/proc/self/statm`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ember::dstream::{Clock, ManualClock, Time};
use ember::prelude::*;

const LIVE_KEYS: u64 = 1_000_000;
const UPDATES: u64 = 100_000;
const THREADS: usize = 2;

/// The system allocator, counting live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// A running stateful pipeline driven batch by batch on a manual clock.
struct Pipeline {
    ssc: StreamingContext,
    clock: Arc<ManualClock>,
    queue: InputQueue<(u64, u64)>,
    done: std::sync::mpsc::Receiver<Time>,
    state: DStream<(u64, u64)>,
    next_key: u64,
}

impl Pipeline {
    fn new() -> Result<Self, StreamingError> {
        let clock = Arc::new(ManualClock::new());
        let conf = StreamingConf::new()
            .master(format!("local[{THREADS}]"))
            .app_name("state-bench");
        let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
        let queue = InputQueue::new();
        let state = ssc.queue_stream(queue.clone(), true).update_state_by_key(
            |new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()),
        );
        let (sender, done) = std::sync::mpsc::channel();
        state.foreach_rdd(move |rdd, time| {
            rdd.count()?;
            let _ = sender.send(time);
            Ok(())
        })?;
        ssc.start()?;
        Ok(Pipeline {
            ssc,
            clock,
            queue,
            done,
            state,
            next_key: 0,
        })
    }

    /// Runs one batch and waits until its output operation finished.
    fn batch(&mut self, records: Vec<(u64, u64)>) -> Result<(), StreamingError> {
        self.queue.push(records);
        self.clock.advance(Duration::from_secs(1));
        let target = self.clock.now();
        loop {
            let time = self
                .done
                .recv_timeout(std::time::Duration::from_secs(600))
                .map_err(|e| StreamingError::Timeout {
                    what: format!("a state batch ({e})"),
                    after: std::time::Duration::from_secs(600),
                })?;
            if time >= target {
                return Ok(());
            }
        }
    }

    /// 100,000 updates of existing keys (a stride through the key space).
    fn updates(&mut self) -> Vec<(u64, u64)> {
        (0..UPDATES)
            .map(|_| {
                self.next_key = (self.next_key + 7_919) % LIVE_KEYS;
                (self.next_key, 1)
            })
            .collect()
    }
}

fn bench_state(c: &mut Criterion) {
    let before_live = LIVE.load(Ordering::SeqCst);
    let before_rss = rss_bytes().unwrap_or(0);
    let Ok(mut pipeline) = Pipeline::new() else {
        eprintln!("could not start the pipeline");
        return;
    };
    let started = Instant::now();
    let all_keys: Vec<(u64, u64)> = (0..LIVE_KEYS).map(|k| (k, 1)).collect();
    if let Err(e) = pipeline.batch(all_keys) {
        eprintln!("building the state failed: {e}");
        return;
    }
    // An empty batch: the first batch's input RDD is forgotten, the state
    // (local-checkpointed) is what remains.
    if let Err(e) = pipeline.batch(Vec::new()) {
        eprintln!("an empty batch failed: {e}");
        return;
    }
    let build = started.elapsed();
    // The output operation reports before the engine's clean-up after the
    // batch (local checkpoint of the new state, forgetting the old one):
    // let it finish so only one state RDD is counted.
    let settle = Instant::now();
    while pipeline.state.retained_rdds() > 1
        && settle.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let live = LIVE.load(Ordering::SeqCst) - before_live;
    let rss = rss_bytes().unwrap_or(0).saturating_sub(before_rss);
    eprintln!(
        "state of {LIVE_KEYS} keys built in {build:?}: {:.1} live heap bytes/key, {:.1} RSS bytes/key \
         (retained state RDDs: {})",
        live as f64 / LIVE_KEYS as f64,
        rss as f64 / LIVE_KEYS as f64,
        pipeline.state.retained_rdds(),
    );

    let mut group = c.benchmark_group("update_state_by_key");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(5));
    group.throughput(Throughput::Elements(UPDATES));
    group.bench_function("batch_of_100k_updates_over_1m_keys", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let records = pipeline.updates();
                let start = Instant::now();
                if let Err(e) = pipeline.batch(records) {
                    eprintln!("batch failed: {e}");
                }
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
    let _ = pipeline.ssc.stop(StopOptions {
        stop_gracefully: true,
    });
}

criterion_group!(benches, bench_state);
criterion_main!(benches);
