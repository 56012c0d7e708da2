//! ember's side of the head-to-head with Apache Spark Streaming
//! (`compare/spark/run.sh`, `compare/spark/README.md`): the same program as
//! `compare/spark/WordCountBench.java`, keep the two in step.
//!
//! DESIGN.md's word count, `queue_stream` (one batch at a time) →
//! `flat_map(split ' ')` → `map((w, 1))` → `reduce_by_key(+)` →
//! `foreach_rdd(collect)`, on `local[2]` with the system clock, over batches
//! of the shared generator, in two scenarios:
//!
//! - throughput: 1,000,000 words a batch, 4 s batches, 10 warm-up + 10
//!   measured;
//! - latency: 1,000 words a batch, 200 ms batches, 100 warm-up + 100
//!   measured.
//!
//! A listener records each batch's processing and total delay; the warm-up
//! batches are dropped (as many as the JVM needs on Spark's side, where
//! processing times keep falling for about 10 big or 100 small batches).
//! Every batch's collected counts are checked (they add up to the batch's
//! words; the shared batch 0 has 10,000 distinct words and `w0` 89 times).
//! Prints one line per scenario, `RESULT ember <scenario> key=value …` (and
//! a `DETAIL` line with every batch's delays), and ends by itself.
//!
//! `cargo run --release --example spark_compare`

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use ember::datagen::{WORDS_PER_LINE, WordGenerator};
use ember::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One scenario: its batches' size, interval and how many batches run.
struct Scenario {
    name: &'static str,
    interval: Duration,
    lines_per_batch: usize,
    warm_up: usize,
    measured: usize,
}

impl Scenario {
    fn batches(&self) -> usize {
        self.warm_up + self.measured
    }

    fn words_per_batch(&self) -> u64 {
        (self.lines_per_batch * WORDS_PER_LINE) as u64
    }
}

// The intervals are set by Spark: 4 s, as it needs 0.5-2 s for 1M words here
// once warm (2 s when the shared machine is busy; the cold first batches take
// longer and queue); 200 ms, as it runs tiny batches at 100 ms only with bouts
// of queueing.

/// Big batches: words per second.
const THROUGHPUT: Scenario = Scenario {
    name: "throughput",
    interval: Duration::from_millis(4_000),
    lines_per_batch: 10_000,
    warm_up: 10,
    measured: 10,
};

/// Tiny batches: how soon a batch's result is out.
const LATENCY: Scenario = Scenario {
    name: "latency",
    interval: Duration::from_millis(200),
    lines_per_batch: 10,
    warm_up: 100,
    measured: 100,
};

/// Longest a scenario may run before the program gives up.
const PATIENCE: Duration = Duration::from_secs(600);

/// One completed batch's delays, in milliseconds.
#[derive(Clone, Copy)]
struct Delays {
    processing: f64,
    total: f64,
    scheduling: f64,
}

/// Keeps every completed batch's delays, in completion order.
#[derive(Default)]
struct DelayRecorder {
    batches: Mutex<Vec<Delays>>,
}

impl StreamingListener for DelayRecorder {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        if let (Some(processing), Some(total), Some(scheduling)) = (
            batch.processing_delay(),
            batch.total_delay(),
            batch.scheduling_delay(),
        ) {
            self.batches
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Delays {
                    processing: ms(processing),
                    total: ms(total),
                    scheduling: ms(scheduling),
                });
        }
    }
}

/// Checks every batch's collected counts: they add up to the batch's words.
struct OutputCheck {
    words_per_batch: u64,
    batches: usize,
    shared_batch_zero: bool,
    state: Mutex<CheckState>,
}

#[derive(Default)]
struct CheckState {
    index: usize,
    failures: Vec<String>,
}

impl OutputCheck {
    fn accept(&self, counts: &[(String, u64)]) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = state.index;
        state.index += 1;
        if batch >= self.batches {
            return; // an empty batch after the queue ran out
        }
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        let w0 = counts
            .iter()
            .find(|(w, _)| w == "w0")
            .map_or(0, |(_, n)| *n);
        if total != self.words_per_batch {
            state.failures.push(format!(
                "batch {batch}: counts add up to {total}, not {}",
                self.words_per_batch
            ));
        }
        if batch == 0 && self.shared_batch_zero && (counts.len() != 10_000 || w0 != 89) {
            state.failures.push(format!(
                "batch 0: {} distinct words and w0 = {w0}, not 10000 and 89",
                counts.len()
            ));
        }
    }

    fn failures(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failures
            .clone()
    }
}

/// Nearest-rank percentile of sorted values: the ⌈p·n⌉-th smallest.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.max(1) - 1]
}

fn sorted(batches: &[Delays], delay: impl Fn(&Delays) -> f64) -> Vec<f64> {
    let mut values: Vec<f64> = batches.iter().map(delay).collect();
    values.sort_by(f64::total_cmp);
    values
}

fn run(scenario: &Scenario) -> Result<(), Box<dyn std::error::Error>> {
    // The generator continues across a scenario's batches; each scenario starts at seed 42.
    let mut words = WordGenerator::new();
    let queue: VecDeque<Vec<String>> = (0..scenario.batches())
        .map(|_| {
            (0..scenario.lines_per_batch)
                .map(|_| words.line(WORDS_PER_LINE))
                .collect()
        })
        .collect();

    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("WordCountBench");
    let ssc = StreamingContext::new(conf, scenario.interval)?;
    let recorder = Arc::new(DelayRecorder::default());
    ssc.add_listener(recorder.clone());
    let check = Arc::new(OutputCheck {
        words_per_batch: scenario.words_per_batch(),
        batches: scenario.batches(),
        shared_batch_zero: scenario.lines_per_batch == 10_000,
        state: Mutex::default(),
    });

    let output = Arc::clone(&check);
    ssc.queue_stream(queue, true)
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .foreach_rdd(move |rdd, _time| {
            output.accept(&rdd.collect()?);
            Ok(())
        })?;

    ssc.start()?;
    let finished = ssc.await_batches(scenario.batches() as u64, PATIENCE)?;
    // The wanted batches are done; later ones are empty.
    ssc.stop(StopOptions {
        stop_gracefully: false,
    })?;
    if !finished {
        return Err(format!(
            "{}: {} batches did not complete within {PATIENCE}",
            scenario.name,
            scenario.batches()
        )
        .into());
    }
    let failures = check.failures();
    if !failures.is_empty() {
        return Err(format!("{}: wrong counts: {failures:?}", scenario.name).into());
    }

    let all: Vec<Delays> = recorder
        .batches
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .take(scenario.batches())
        .copied()
        .collect();
    let detail: Vec<String> = all
        .iter()
        .map(|d| format!("{:.3}/{:.3}", d.processing, d.scheduling))
        .collect();
    println!(
        "DETAIL ember {} processing_ms/scheduling_ms: {}",
        scenario.name,
        detail.join(" ")
    );
    let measured = &all[scenario.warm_up.min(all.len())..];
    if measured.is_empty() {
        return Err(format!("{}: no batch was measured", scenario.name).into());
    }
    let processing = sorted(measured, |d| d.processing);
    let total = sorted(measured, |d| d.total);
    let scheduling = sorted(measured, |d| d.scheduling);
    let median = percentile(&processing, 0.5);
    println!(
        "RESULT ember {} batches={} words_per_batch={} interval_ms={} median_ms={median:.3} \
         p95_ms={:.3} median_total_ms={:.3} p95_total_ms={:.3} max_scheduling_ms={:.3} \
         words_per_s={:.0}",
        scenario.name,
        measured.len(),
        scenario.words_per_batch(),
        scenario.interval.milliseconds(),
        percentile(&processing, 0.95),
        percentile(&total, 0.5),
        percentile(&total, 0.95),
        percentile(&scheduling, 1.0),
        scenario.words_per_batch() as f64 / (median / 1000.0),
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(&THROUGHPUT)?;
    run(&LATENCY)?;
    Ok(())
}
