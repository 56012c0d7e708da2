//! The hand-written word-count baselines that every word-count benchmark is
//! measured against (the figure is the ratio within one run): a sequential
//! `HashMap` loop, and a rayon loop with one map per worker thread over a
//! contiguous share of the lines, merged at the end. Both key their maps on
//! `&str` slices of the input, so they never allocate per word.
//!
//! Every word-count bench binary (engine and baselines alike) runs on
//! mimalloc, the allocator we recommend for ember applications (README,
//! "Performance"): a Spark-style word count allocates an owned `String` per
//! word, and glibc's malloc spends on those alone about as long as the
//! baseline takes for the whole count.

// Shared by several bench targets; each uses a subset.
#![allow(dead_code)]

use std::collections::HashMap;

use rayon::prelude::*;

/// The allocator of every bench binary that includes this module.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Worker threads for the engines and the rayon baseline alike.
pub(crate) const THREADS: usize = 2;

/// One map, borrowed keys.
pub(crate) fn sequential_word_count(lines: &[String]) -> HashMap<&str, u64> {
    let mut counts = HashMap::with_capacity(16_384);
    for word in lines.iter().flat_map(|l| l.split(' ')) {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

/// One map per worker thread over a contiguous share of the lines, then
/// merged (run it inside [`baseline_pool`]'s `install`).
pub(crate) fn rayon_word_count(lines: &[String]) -> HashMap<&str, u64> {
    let share = lines.len().div_ceil(rayon::current_num_threads()).max(1);
    lines
        .par_chunks(share)
        .map(sequential_word_count)
        .reduce(HashMap::new, merge)
}

fn merge<'a>(a: HashMap<&'a str, u64>, b: HashMap<&'a str, u64>) -> HashMap<&'a str, u64> {
    let (mut into, from) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    for (word, n) in from {
        *into.entry(word).or_insert(0) += n;
    }
    into
}
