//! The seeded fault-injection suite. Each test runs a reference pipeline
//! under schedules drawn from seeds — graceful and abrupt stops each
//! followed by a recovery, `spark.streaming.concurrentJobs` 1/2/4, slow
//! outputs that build a generator backlog, a damaged newest checkpoint,
//! restarts that discard the state — and checks every output batch of
//! every incarnation, and the final state, against a plain sequential
//! model: every record the receiver stored (and every line of every file)
//! counted exactly once, in the batch it belongs to; batches re-run after a
//! recovery output exactly what they output before. The child-process
//! crash tests (`crash_recovery.rs`, `crash_socket.rs`) are the SIGKILL
//! half of the suite.
//!
//! Seeds: by default a fixed list, so CI runs the same schedules every
//! time. `EMBER_FAULT_SEED=<n>` runs that one seed (a failure prints the
//! command); `EMBER_FAULT_RUNS=<k>` runs `k` more seeds drawn from the
//! clock (each printed); `EMBER_FAULT_JOBS=<n>` pins
//! `spark.streaming.concurrentJobs` (drawn from 1, 2 and 4 otherwise).

mod feed;
mod harness;
mod model;
mod rng;

use harness::Inputs;

/// The seeds every run checks (a run takes a fraction of a second).
const FIXED_SEEDS: std::ops::RangeInclusive<u64> = 1..=24;

fn seeds() -> Vec<u64> {
    if let Some(seed) = std::env::var("EMBER_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let mut seeds: Vec<u64> = FIXED_SEEDS.collect();
    let more: u64 = std::env::var("EMBER_FAULT_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    seeds.extend((0..more).map(|i| base.wrapping_add(i.wrapping_mul(0x9E37_79B9))));
    seeds
}

/// Runs `inputs` under every seed; fails naming the seed that broke.
fn run_seeds(test: &str, inputs: Inputs) {
    for seed in seeds() {
        let started = std::time::Instant::now();
        let result = std::panic::catch_unwind(|| harness::run(seed, inputs))
            .unwrap_or_else(|panic| Err(format!("panicked: {panic:?}")));
        match result {
            Ok(summary) => eprintln!(
                "{test}: seed {seed} passed in {:?} with concurrentJobs {}: {summary:?}",
                started.elapsed(),
                summary.concurrent_jobs
            ),
            Err(e) => panic!(
                "{test}: seed {seed} failed: {e}\nreproduce with: EMBER_FAULT_SEED={seed} cargo test -p ember-sources --test fault_injection {test}"
            ),
        }
    }
}

#[test]
fn reliable_receiver_with_write_ahead_log() {
    run_seeds(
        "reliable_receiver_with_write_ahead_log",
        Inputs {
            receiver: true,
            files: false,
        },
    );
}

#[test]
fn file_stream() {
    run_seeds(
        "file_stream",
        Inputs {
            receiver: false,
            files: true,
        },
    );
}

#[test]
fn receiver_and_file_stream_unioned() {
    run_seeds(
        "receiver_and_file_stream_unioned",
        Inputs {
            receiver: true,
            files: true,
        },
    );
}
