//! Allocation counting: a fused `flat_map(split) → filter → map →
//! reduce_by_key` stage allocates in proportion to its distinct keys and
//! partitions, not to its records, both when the key itself does not
//! allocate and when it is an owned `String` built by `w.to_owned()` (the
//! map-side combine looks the borrowed `w` up and builds the key only for a
//! new one), and the same for `combine_by_key`'s map side.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ember_dstream::DStream;
use ember_dstream::testing::run_operation;
use ember_macros::stream;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

stream! {
    fn digit_count(lines: DStream<String>) -> DStream<(u8, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.as_bytes()[1], 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    fn word_stats(lines: DStream<String>) -> DStream<(String, (u64, u32))> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .combine_by_key(|v| (v, 1u32), |(s, n), v| (s + v, n + 1), |(a, m), (b, k)| (a + b, m + k), None)
    }
}

/// Four lines holding `n` words over the 10 words `w0`..`w9`.
fn input(n: usize) -> Vec<Vec<String>> {
    let line = |i: usize| {
        (0..n / 4)
            .map(|j| format!("w{}", (i + j) % 10))
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![(0..4).map(line).collect()]
}

/// Allocations made while running `op` over `n` words in one batch (the
/// input is built before counting starts).
fn allocations<U: ember_rdd::Data>(n: usize, op: fn(DStream<String>) -> DStream<U>) -> usize {
    // One measurement at a time: the counter is global.
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let input = input(n);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let out = run_operation(input, op, 1).unwrap();
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(out[0].len(), 10);
    after - before
}

#[test]
fn allocations_follow_keys_not_records() {
    // Warm up (thread pools, lazy statics).
    allocations(1_000, digit_count);
    let small = allocations(10_000, digit_count);
    let large = allocations(100_000, digit_count);
    eprintln!("non-allocating key: {small} allocations for 10k words, {large} for 100k");
    assert!(
        large < small + small / 2,
        "allocations grew with the records: {small} → {large}"
    );
}

#[test]
fn an_owned_key_is_built_once_per_distinct_key() {
    allocations(1_000, word_count);
    let small = allocations(10_000, word_count);
    let large = allocations(100_000, word_count);
    let per_record = large.saturating_sub(small) as f64 / 90_000.0;
    eprintln!(
        "owned key: {small} allocations for 10k words, {large} for 100k ({per_record:.4}/word)"
    );
    assert!(
        large < small + small / 2,
        "allocations grew with the records: {small} → {large}"
    );
}

#[test]
fn combine_by_key_builds_an_owned_key_once_per_distinct_key() {
    allocations(1_000, word_stats);
    let small = allocations(10_000, word_stats);
    let large = allocations(100_000, word_stats);
    eprintln!("combine_by_key: {small} allocations for 10k words, {large} for 100k");
    assert!(
        large < small + small / 2,
        "allocations grew with the records: {small} → {large}"
    );
}
