//! Persisted streams (`DStream::persist` / `cache`, and the parent a window
//! persists by itself): every batch is computed once however many windows
//! or outputs read it (counted by the user closure's calls), results stay
//! exact, and the kept partitions are freed with the RDDs the stream
//! forgets, so the block count stays bounded over a long run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ember_dstream::testing::run_operation;
use ember_dstream::{Duration, StreamingError};
use ember_rdd::StorageLevel;

type R = Result<(), StreamingError>;

fn batches(n: u32) -> Vec<Vec<u32>> {
    (0..n)
        .map(|b| vec![b * 10, b * 10 + 1, b * 10 + 2])
        .collect()
}

#[test]
fn a_window_computes_each_parent_batch_once() -> R {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let out = run_operation(
        batches(4),
        move |s| {
            s.map(move |x| {
                counter.fetch_add(1, Ordering::Relaxed);
                x + 1
            })
            .window(Duration::from_secs(3), Duration::from_secs(1))
        },
        5,
    )?;
    assert_eq!(
        out,
        vec![
            vec![1, 2, 3],
            vec![1, 2, 3, 11, 12, 13],
            vec![1, 2, 3, 11, 12, 13, 21, 22, 23],
            vec![11, 12, 13, 21, 22, 23, 31, 32, 33],
            vec![21, 22, 23, 31, 32, 33],
        ]
    );
    // 12 elements, each mapped once although most fall in three windows
    // (without the parent kept: 27 calls).
    assert_eq!(calls.load(Ordering::Relaxed), 12);
    Ok(())
}

/// The `map` closure's calls when a stream is read by two unions of
/// itself, with or without `persist`.
fn calls_when_read_twice(level: StorageLevel) -> Result<usize, StreamingError> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let out = run_operation(
        batches(2),
        move |s| {
            let doubled = s
                .map(move |x| {
                    counter.fetch_add(1, Ordering::Relaxed);
                    x * 2
                })
                .persist(level);
            doubled.union(&doubled)
        },
        2,
    )?;
    assert_eq!(
        out,
        vec![vec![0, 2, 4, 0, 2, 4], vec![20, 22, 24, 20, 22, 24]]
    );
    Ok(calls.load(Ordering::Relaxed))
}

#[test]
fn a_persisted_stream_read_twice_is_computed_once() -> R {
    assert_eq!(calls_when_read_twice(StorageLevel::MemoryOnly)?, 6);
    assert_eq!(calls_when_read_twice(StorageLevel::None)?, 12);
    Ok(())
}

#[test]
fn cache_is_memory_only_and_a_window_caches_its_parent() -> R {
    let out = run_operation(
        vec![vec![1u32]],
        |s| {
            assert_eq!(s.storage_level(), StorageLevel::None);
            let cached = s.map(|x| x + 1).cache();
            assert_eq!(cached.storage_level(), StorageLevel::MemoryOnly);
            let plain = s.map(|x| x + 2);
            let _window = plain.window(Duration::from_secs(2), Duration::from_secs(1))?;
            assert_eq!(plain.storage_level(), StorageLevel::MemoryOnly);
            Ok::<_, StreamingError>(cached)
        },
        1,
    )?;
    assert_eq!(out, vec![vec![2]]);
    Ok(())
}

#[test]
fn kept_blocks_are_freed_with_the_rdds_the_stream_forgets() -> R {
    const BATCHES: u32 = 300;
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let record = Arc::clone(&seen);
    let out = run_operation(
        batches(BATCHES),
        move |s| {
            let ctx = s.rdd_context().clone();
            let windowed = s
                .map(|x| x + 1)
                .window(Duration::from_secs(4), Duration::from_secs(1))?;
            Ok::<_, StreamingError>(windowed.count().transform(move |rdd, _| {
                let blocks = ctx.block_manager().block_ids().len();
                record
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(blocks);
                rdd.clone()
            }))
        },
        BATCHES as usize,
    )?;
    assert_eq!(out.len(), BATCHES as usize);
    assert!(out[4..].iter().all(|batch| batch == &vec![12]), "{out:?}");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    let most = seen.iter().copied().max().unwrap_or(0);
    // The parent remembers its window plus one batch (5 RDDs of 2
    // partitions), and a batch can be generated before the one before it
    // was cleared: never more than 6 × 2 blocks, where keeping everything
    // would reach 600.
    assert!(most > 0, "nothing was kept: {seen:?}");
    assert!(most <= 12, "blocks kept grew to {most}: {seen:?}");
    Ok(())
}
