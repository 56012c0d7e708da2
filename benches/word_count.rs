//! Word count over one batch of 1,000,000 words from the shared generator:
//! the RDD API beside two hand-written baselines in the same run, a
//! sequential `HashMap` loop and a rayon loop (per-thread maps, then
//! merged), both on 2 threads. The ratio to the rayon baseline is the figure.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember::datagen::WordGenerator;
use ember::prelude::*;
use rayon::prelude::*;

const THREADS: usize = 2;

/// The sequential baseline: one map, borrowed keys.
fn sequential(lines: &[String]) -> HashMap<&str, u64> {
    let mut counts = HashMap::with_capacity(16_384);
    for word in lines.iter().flat_map(|l| l.split(' ')) {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

/// The rayon baseline: a map per split of the input, merged pairwise.
fn rayon_baseline(lines: &[String]) -> HashMap<&str, u64> {
    lines
        .par_iter()
        .fold(HashMap::new, |mut counts: HashMap<&str, u64>, line| {
            for word in line.split(' ') {
                *counts.entry(word).or_insert(0) += 1;
            }
            counts
        })
        .reduce(HashMap::new, |mut a, b| {
            if a.len() < b.len() {
                return merge(b, a);
            }
            for (w, n) in b {
                *a.entry(w).or_insert(0) += n;
            }
            a
        })
}

fn merge<'a>(
    mut into: HashMap<&'a str, u64>,
    from: HashMap<&'a str, u64>,
) -> HashMap<&'a str, u64> {
    for (w, n) in from {
        *into.entry(w).or_insert(0) += n;
    }
    into
}

/// The RDD API: flat_map → map → reduce_by_key → collect.
fn rdd_api(ctx: &RddContext, lines: &[String]) -> Result<Vec<(String, u64)>, JobError> {
    ctx.parallelize(lines.to_vec(), THREADS)
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .collect()
}

fn word_count(c: &mut Criterion) {
    let lines = WordGenerator::new().batch();
    let ctx = RddContext::local(THREADS).expect("thread pool");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("thread pool");
    assert_eq!(
        rdd_api(&ctx, &lines).expect("job").len(),
        sequential(&lines).len()
    );

    let mut group = c.benchmark_group("word_count_1M_words");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("sequential_hashmap", |b| {
        b.iter(|| black_box(sequential(&lines)).len())
    });
    group.bench_function("rayon_baseline", |b| {
        b.iter(|| pool.install(|| black_box(rayon_baseline(&lines)).len()))
    });
    group.bench_function("rdd_api", |b| {
        b.iter(|| black_box(rdd_api(&ctx, &lines).expect("job")).len())
    });
    group.finish();
}

criterion_group!(benches, word_count);
criterion_main!(benches);
