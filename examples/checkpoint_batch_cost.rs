//! What a checkpoint costs the batch it falls in: `update_state_by_key`
//! state of 1,000,000 keys, checkpointed every 4th batch, on a manual clock
//! advanced one batch at a time. Prints each batch's processing time (from
//! the listener's `BatchInfo`), the mean of the batches with and without a
//! checkpoint, and the process's peak resident memory (`VmHWM`) before the
//! first checkpoint and at the end (Linux).
//!
//! ```text
//! cargo run --release --example checkpoint_batch_cost
//! ```

use std::collections::BTreeMap;
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

/// The process's peak resident memory in MiB (`VmHWM`), where Linux tells.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
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
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    let at_end = peak_rss_mib();
    let times = times.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for (&k, &ms) in &times {
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
