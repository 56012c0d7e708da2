//! Word count over one batch of 1,000,000 words from the shared generator:
//! the RDD API beside the hand-written baselines in the same run: the
//! yardstick (per-thread foldhash maps on `&str`, merged), the same loop on
//! std's `HashMap`, and a sequential `HashMap` loop, on 2 threads. The
//! ratio to the foldhash yardstick is the figure.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember::datagen::WordGenerator;
use ember::prelude::*;

mod common;

use common::{THREADS, foldhash_word_count, rayon_word_count, sequential_word_count};

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
        sequential_word_count(&lines).len()
    );

    let mut group = c.benchmark_group("word_count_1M_words");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("sequential_hashmap", |b| {
        b.iter(|| black_box(sequential_word_count(&lines)).len())
    });
    group.bench_function("foldhash_yardstick", |b| {
        b.iter(|| pool.install(|| black_box(foldhash_word_count(&lines)).len()))
    });
    group.bench_function("rayon_baseline", |b| {
        b.iter(|| pool.install(|| black_box(rayon_word_count(&lines)).len()))
    });
    group.bench_function("rdd_api", |b| {
        b.iter(|| black_box(rdd_api(&ctx, &lines).expect("job")).len())
    });
    group.finish();
}

criterion_group!(benches, word_count);
criterion_main!(benches);
