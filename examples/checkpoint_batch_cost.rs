//! What a checkpoint costs the batch it falls in: `update_state_by_key`
//! state of 1,000,000 keys, checkpointed every 4th batch, on a manual clock
//! advanced one batch at a time. Prints each batch's processing time (from
//! the listener's `BatchInfo`), the mean of the batches with and without a
//! checkpoint, and the process's peak resident memory (`VmHWM`) before the
//! first checkpoint and at the end (Linux).
//!
//! Then the memory a checkpoint write takes, apart from the batches: four
//! more batches, each run alone (the next starts once the previous one,
//! and its checkpoint, is done), with the live heap bytes counted by a
//! global allocator; printed is the peak rise during each batch, and for
//! the last one also from the batch's end until its checkpoint file was in
//! place (the write, alone; resident memory cannot tell it, as the heap
//! reuses what the batch freed).
//!
//! ```text
//! cargo run --release --example checkpoint_batch_cost
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};

use ember::dstream::{
    BatchInfo, Duration, InputEnv, InputSource, ManualClock, StopOptions, StreamingConf,
    StreamingContext, StreamingError, StreamingListener, Time,
};
use ember::rdd::Rdd;

/// Keys in the state.
const KEYS: u64 = 1_000_000;
/// Keys updated by each batch after the first.
const UPDATES: u64 = 20_000;
/// Batches run.
const BATCHES: u64 = 16;
/// A checkpoint every this many batches.
const EVERY: u64 = 4;

/// Batch 1 holds every key once; later batches update `UPDATES` keys.
struct Keys;

impl InputSource<(u64, u64)> for Keys {
    fn name(&self) -> &'static str {
        "keys"
    }
    fn compute(
        &self,
        time: Time,
        env: &InputEnv,
    ) -> Result<Option<Rdd<(u64, u64)>>, StreamingError> {
        let k = time.milliseconds() / 1000;
        let pairs: Vec<(u64, u64)> = if k == 1 {
            (0..KEYS).map(|key| (key, 1)).collect()
        } else {
            (0..UPDATES)
                .map(|i| ((i * 7919 + k * 104_729) % KEYS, 1))
                .collect()
        };
        Ok(Some(env.rdd_context().parallelize(pairs, 4)))
    }
}

/// Processing time of each batch, by batch time in seconds.
#[derive(Default)]
struct Times(Mutex<BTreeMap<u64, f64>>);

impl StreamingListener for Times {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        if let (Some(start), Some(end)) = (batch.processing_start, batch.processing_end) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(
                batch.batch_time.milliseconds() / 1000,
                (end - start).as_secs_f64() * 1000.0,
            );
        }
    }
}

/// A field of /proc/self/status in KiB (`VmHWM:`, `VmRSS:`), where Linux
/// tells.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process's peak resident memory in MiB (`VmHWM`), where Linux tells.
fn peak_rss_mib() -> Option<f64> {
    status_kib("VmHWM:").map(|kib| kib as f64 / 1024.0)
}

/// The system allocator, counting live heap bytes and their peak.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grow(bytes: isize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts a new peak window at the live heap now; returns it (bytes).
fn reset_peak() -> isize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

/// How far the live heap rose above `from` since the last reset, in MiB.
fn rise_mib(from: isize) -> f64 {
    (PEAK.load(Ordering::Relaxed) - from).max(0) as f64 / f64::from(1 << 20)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ember-ckpt-cost-{}", std::process::id()));
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::with_clock(
        StreamingConf::new()
            .master("local[2]")
            .app_name("checkpoint-cost"),
        Duration::from_secs(1),
        clock.clone(),
    )?;
    ssc.checkpoint(&dir);
    let times = Arc::new(Times::default());
    ssc.add_listener(times.clone());
    let state = ssc
        .input_stream(Keys)
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpoint(Duration::from_secs(EVERY))?;
    state.foreach_rdd(|rdd, _| {
        let _ = rdd.count();
        Ok(())
    })?;
    ssc.start()?;
    let mut before_first = None;
    for k in 1..=BATCHES {
        clock.set_time(Time::from_millis(k * 1000));
        if !ssc.await_batches(k, Duration::from_secs(600))? {
            return Err("a batch did not complete".into());
        }
        if k == EVERY - 1 {
            before_first = peak_rss_mib();
        }
    }
    let at_end = peak_rss_mib();
    // Batches alone, and the last one's checkpoint write alone.
    let mut rises = Vec::new();
    for k in BATCHES + 1..=BATCHES + EVERY {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let before = reset_peak();
        clock.set_time(Time::from_millis(k * 1000));
        if !ssc.await_batches(k, Duration::from_secs(600))? {
            return Err("a batch did not complete".into());
        }
        let batch_rise = rise_mib(before);
        // The checkpoint is written once its batch completed: from there
        // until its file is in place.
        let write_rise = if k % EVERY == 0 {
            let before = reset_peak();
            let file = dir.join(format!("checkpoint-{}", k * 1000));
            while !file.exists() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Some(rise_mib(before))
        } else {
            None
        };
        rises.push((k, batch_rise, write_rise));
    }
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    let times = times.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for (&k, &ms) in times.range(..=BATCHES) {
        let checkpointed = k % EVERY == 0;
        println!(
            "batch {k:>2}: {ms:>8.1} ms{}",
            if checkpointed { "  (checkpoint)" } else { "" }
        );
        // Batch 1 builds the state; it is no steady-state batch.
        if k > 1 {
            if checkpointed {
                with.push(ms);
            } else {
                without.push(ms);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "mean batch: {:.1} ms with a checkpoint ({} batches), {:.1} ms without ({} batches): {:+.1}%",
        mean(&with),
        with.len(),
        mean(&without),
        without.len(),
        (mean(&with) / mean(&without) - 1.0) * 100.0
    );
    println!(
        "peak RSS (VmHWM): {before_first:.1?} MiB before the first checkpoint, {at_end:.1?} MiB at the end"
    );
    for (k, batch_rise, write_rise) in &rises {
        print!("batch {k} alone: the live heap rose {batch_rise:.1} MiB during the batch");
        match write_rise {
            Some(rise) => println!(
                ", then {rise:.1} MiB while its checkpoint was written (from the batch's end)"
            ),
            None => println!(),
        }
    }
    let size = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.metadata().ok().map(|m| m.len()))
        .max()
        .unwrap_or(0);
    println!(
        "largest checkpoint object: {:.1} MiB",
        size as f64 / (1 << 20) as f64
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
