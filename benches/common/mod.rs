//! The hand-written word-count baselines that every word-count benchmark is
//! measured against (the figure is the ratio within one run): the
//! yardstick, the fastest honest hand-written program (a rayon loop with
//! one `foldhash` map per worker thread over a contiguous share of the
//! lines, merged at the end), and beside it the same loop on std's
//! `HashMap` (SipHash) and a sequential `HashMap` loop. All key their maps
//! on `&str` slices of the input, so they never allocate per word.
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

pub(crate) mod paired;

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

/// The plain DStream API word count's own closures (`flat_map` to a
/// `Vec<String>` per line, `filter`, `map` to an owned `(String, u64)`)
/// run by hand: one foldhash map keyed by owned words per worker thread
/// over a contiguous share of the lines, merged (run it inside the pool's
/// `install`). Each line is cloned first, as `flat_map`'s closure takes it
/// by value. What the API's user code and a per-key map cost with no
/// engine at all: the floor under the plain API's ratio.
pub(crate) fn owned_word_count(
    lines: &[String],
) -> HashMap<String, u64, foldhash::fast::RandomState> {
    type OwnedMap = HashMap<String, u64, foldhash::fast::RandomState>;
    let share = lines.len().div_ceil(rayon::current_num_threads()).max(1);
    lines
        .par_chunks(share)
        .map(|chunk| {
            let mut counts = OwnedMap::with_capacity_and_hasher(16_384, Default::default());
            let pairs = chunk
                .iter()
                .cloned()
                .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .filter(|w| !w.is_empty())
                .map(|w| (w, 1u64));
            for (word, n) in pairs {
                *counts.entry(word).or_insert(0) += n;
            }
            counts
        })
        .reduce(OwnedMap::default, |a, b| {
            let (mut into, from) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (word, n) in from {
                *into.entry(word).or_insert(0) += n;
            }
            into
        })
}

/// A map keyed by borrowed words with foldhash's fast hasher.
pub(crate) type FoldMap<'a> = HashMap<&'a str, u64, foldhash::fast::RandomState>;

/// The yardstick: one foldhash map per worker thread over a contiguous
/// share of the lines, merged (run it inside the pool's `install`).
pub(crate) fn foldhash_word_count(lines: &[String]) -> FoldMap<'_> {
    let share = lines.len().div_ceil(rayon::current_num_threads()).max(1);
    lines
        .par_chunks(share)
        .map(|chunk| {
            let mut counts = FoldMap::with_capacity_and_hasher(16_384, Default::default());
            for word in chunk.iter().flat_map(|l| l.split(' ')) {
                *counts.entry(word).or_insert(0) += 1;
            }
            counts
        })
        .reduce(FoldMap::default, |a, b| {
            let (mut into, from) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (word, n) in from {
                *into.entry(word).or_insert(0) += n;
            }
            into
        })
}
