//! Cluster mode against the local engine at the same total threads: the
//! word count and the windowed word count (3 batches, sliding by 1) over
//! the shared generator's 1,000,000-word batches, on 1 process x 2 threads
//! (local) and on 2 processes x 1 thread (cluster, real processes on
//! 127.0.0.1 connected by timely). The ratio cluster / local is the figure
//! (issue #12's target: at most 1.3x); the bytes sent between the
//! processes per input record are printed beside it.
//!
//! The cluster side runs this same binary as its processes (with timely's
//! `-n -p -w -h` options): each sample starts a cluster that times the
//! asked number of iterations after a warm-up and reports the time.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ember::cluster::{Cluster, ClusterConf, LocalCluster};
use ember::datagen::WordGenerator;
use ember::prelude::*;

/// Batches of the window.
const WINDOW: usize = 3;
/// Words per batch.
const WORDS: u64 = 1_000_000;

/// The word count of one batch: flat_map → map → reduce_by_key.
fn counts(ctx: &RddContext, lines: &[String]) -> Rdd<(String, u64)> {
    ctx.parallelize(lines.to_vec(), ctx.default_parallelism())
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
}

/// What one iteration runs.
#[derive(Clone, Copy)]
enum Kind {
    /// One batch's word count, counted.
    WordCount,
    /// One batch's word count, then the counts of the last [`WINDOW`]
    /// batches merged (Spark's `reduceByKeyAndWindow` without the inverse).
    Windowed,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::WordCount => "word_count",
            Kind::Windowed => "windowed_word_count",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        [Kind::WordCount, Kind::Windowed]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// Runs `iters` iterations of `kind` after two of warm-up; returns their
/// time. `window` keeps the last batches' counts between iterations.
fn run(ctx: &RddContext, kind: Kind, iters: u64) -> Result<Duration, JobError> {
    let batches: Vec<Vec<String>> = {
        let mut words = WordGenerator::new();
        (0..WINDOW).map(|_| words.batch()).collect()
    };
    let mut window: Vec<Rdd<(String, u64)>> = Vec::new();
    let mut once = |i: u64| -> Result<usize, JobError> {
        let batch = counts(ctx, &batches[i as usize % WINDOW]);
        match kind {
            Kind::WordCount => Ok(batch.count()? as usize),
            Kind::Windowed => {
                batch.cache();
                batch.count()?;
                window.push(batch);
                if window.len() > WINDOW {
                    window.remove(0);
                }
                let merged = ctx.union(&window).reduce_by_key(|a, b| a + b);
                Ok(merged.count()? as usize)
            }
        }
    };
    once(0)?;
    once(1)?;
    let start = Instant::now();
    for i in 0..iters {
        black_box(once(i + 2)?);
    }
    Ok(start.elapsed())
}

/// One process of a cluster a sample started: times the iterations and,
/// on process 0, writes the time and the bytes sent per record to `--out`.
fn process(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let (cluster, rest) = ClusterConf::from_args(args)?;
    let [kind, iters, out] = rest.as_slice() else {
        return Err("expected: <kind> <iterations> <out file>".into());
    };
    let kind = Kind::parse(kind).ok_or("unknown kind")?;
    let iters: u64 = iters.parse()?;
    let joined = Arc::new(Cluster::connect(&cluster)?);
    let ctx = RddContext::new_in_cluster(
        RddConf::new().master(format!("local[{}]", cluster.threads)),
        Arc::clone(&joined) as Arc<dyn ember::rdd::Exchange>,
    )?;
    let before = ctx.metrics().exchange_bytes_sent;
    let elapsed = run(&ctx, kind, iters)?;
    let sent = ctx.metrics().exchange_bytes_sent - before;
    if cluster.process == 0 {
        let per_record = sent as f64 / ((iters + 2) * WORDS) as f64;
        std::fs::write(out, format!("{} {per_record}", elapsed.as_nanos()))?;
    }
    joined.shutdown()?;
    Ok(())
}

/// Starts a 2 x 1 cluster of this binary for `iters` iterations; returns
/// their time and process 0's bytes sent per input record.
fn cluster_sample(kind: Kind, iters: u64) -> (Duration, f64) {
    let out = tempfile::NamedTempFile::new().expect("a temp file");
    let path = out.path().display().to_string();
    LocalCluster::new(2, 1)
        .expect("the bench binary")
        .args([kind.name().to_owned(), iters.to_string(), path.clone()])
        .spawn()
        .expect("the cluster starts")
        .wait()
        .expect("the cluster runs");
    let report = std::fs::read_to_string(&path).expect("process 0's report");
    let mut fields = report.split(' ');
    let nanos: u64 = fields.next().and_then(|f| f.parse().ok()).expect("nanos");
    let per_record: f64 = fields.next().and_then(|f| f.parse().ok()).expect("bytes");
    (Duration::from_nanos(nanos), per_record)
}

fn bench(c: &mut Criterion) {
    let local = RddContext::local(2).expect("thread pool");
    for kind in [Kind::WordCount, Kind::Windowed] {
        let mut group = c.benchmark_group(kind.name());
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(8))
            .throughput(Throughput::Elements(WORDS));
        group.bench_function("local_1x2", |b| {
            b.iter_custom(|iters| run(&local, kind, iters).expect("local run"))
        });
        let mut bytes = 0.0;
        group.bench_function("cluster_2x1", |b| {
            b.iter_custom(|iters| {
                let (time, per_record) = cluster_sample(kind, iters);
                bytes = per_record;
                time
            })
        });
        group.finish();
        println!(
            "{}: cluster 2x1 sent {bytes:.3} bytes per input record to the other process",
            kind.name()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-p") {
        if let Err(e) = process(args) {
            eprintln!("cluster bench process failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
