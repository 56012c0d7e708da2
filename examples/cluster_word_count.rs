//! The word count across processes: cluster mode, on timely dataflow.
//!
//! ```text
//! cargo run --release --example cluster_word_count -- --processes 2 --batches 5
//! ```
//!
//! With `--processes N` (and no `--process`) the program starts N copies of
//! itself on 127.0.0.1 (`ember::cluster::LocalCluster`) and waits for them;
//! each copy is one process of the cluster. On several machines, start the
//! same program on each with timely's options instead, e.g. with a hostfile
//! listing every process's `host:port`, one per line:
//!
//! ```text
//! machine-a$ cluster_word_count -n 2 -p 0 -h hosts.txt --batches 5
//! machine-b$ cluster_word_count -n 2 -p 1 -h hosts.txt --batches 5
//! ```
//!
//! Every process generates the shared benchmark batches (1,000,000 words
//! each) and computes its share of every partition; `reduce_by_key`
//! shuffles the counts by word between the processes. Process 0 prints one
//! line per batch, `batch <i>: <distinct> distinct, <total> words,
//! w0=<count>`, then every process stops after `--batches` batches.
//! `-w N` sets the worker threads of each process (default 1).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use ember::cluster::{Role, launch_or_join};
use ember::datagen::WordGenerator;
use ember::prelude::*;

/// The usage line (besides timely's `-w -n -p -h`).
const USAGE: &str =
    "usage: cluster_word_count [--processes N] [-w THREADS] [--batches N] [--batch-ms MS]";

/// Batches when `--batches` is not given.
const DEFAULT_BATCHES: u64 = 5;

/// The program's own options.
struct Args {
    batches: u64,
    batch_ms: u64,
}

fn parse(args: Vec<String>) -> Result<Args, Box<dyn std::error::Error>> {
    let mut parsed = Args {
        batches: DEFAULT_BATCHES,
        batch_ms: 1000,
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--batches" => parsed.batches = value.parse()?,
            "--batch-ms" => parsed.batch_ms = value.parse()?,
            _ => return Err(USAGE.into()),
        }
    }
    Ok(parsed)
}

/// Counts the batches every process has seen, and wakes `main` at the last.
#[derive(Default)]
struct Progress {
    done: Mutex<u64>,
    changed: Condvar,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (cluster, args) = match launch_or_join(std::env::args().skip(1))? {
        Role::Launched => return Ok(()),
        Role::Process { conf, args } => (conf, parse(args)?),
    };
    let conf = StreamingConf::new()
        .app_name("ClusterWordCount")
        .cluster(&cluster);
    let ssc = StreamingContext::new(conf, Duration::from_millis(args.batch_ms))?;

    // The same batches on every process: each computes its own partitions.
    let queue = InputQueue::new();
    let mut words = WordGenerator::new();
    for _ in 0..args.batches {
        queue.push(words.batch());
    }
    let counts = ssc
        .queue_stream(queue, true)
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|word| (word, 1u64))
        .reduce_by_key(|a, b| a + b);

    let progress = Arc::new(Progress::default());
    let seen = Arc::new(AtomicU64::new(0));
    let (batches, on_batch) = (args.batches, Arc::clone(&progress));
    counts.foreach_rdd(move |rdd, _time| {
        let index = seen.fetch_add(1, Ordering::SeqCst);
        if index >= batches {
            return Ok(());
        }
        // An action: every process gets the whole batch's counts.
        let all = rdd.collect()?;
        if rdd.context().is_driver() {
            let total: u64 = all.iter().map(|(_, n)| n).sum();
            let w0 = all.iter().find(|(w, _)| w == "w0").map_or(0, |(_, n)| *n);
            println!(
                "batch {index}: {} distinct, {total} words, w0={w0}",
                all.len()
            );
        }
        let mut done = on_batch.done.lock().unwrap_or_else(PoisonError::into_inner);
        *done = index + 1;
        on_batch.changed.notify_all();
        Ok(())
    })?;

    ssc.start()?;
    let mut done = progress.done.lock().unwrap_or_else(PoisonError::into_inner);
    while *done < args.batches {
        done = progress
            .changed
            .wait_timeout(done, std::time::Duration::from_millis(200))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if ssc.await_termination_or_timeout(Duration::from_millis(1))? {
            break;
        }
    }
    drop(done);
    ssc.stop(StopOptions::default())?;
    Ok(())
}
