//! Persisted streams (`DStream::persist` / `cache`, and the parent a window
//! persists by itself): every batch is computed once however many windows
//! or outputs read it (counted by the user closure's calls), results stay
//! exact, and the kept partitions are freed with the RDDs the stream
//! forgets, so the block count stays bounded over a long run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use std::collections::VecDeque;

use ember_dstream::testing::run_operation;
use ember_dstream::{
    Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, StreamingError, Time,
};
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
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]").app_name("persist");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    let ctx = ssc.rdd_context().clone();
    let windowed = ssc
        .queue_stream(VecDeque::from(batches(BATCHES)), true)
        .map(|x| x + 1)
        .window(Duration::from_secs(4), Duration::from_secs(1))?;
    // Each batch's count and the blocks kept right after its job read the
    // window: measured inside the output job (not at generation, which
    // runs ahead of the jobs and would race the window's caching). Batches
    // run one at a time, and the previous batch was cleared before this
    // one's job started, so the count is exact.
    let seen: Arc<Mutex<Vec<(Time, u64, usize)>>> = Arc::default();
    let record = Arc::clone(&seen);
    windowed.foreach_rdd(move |rdd, time| {
        let count = rdd.count()?;
        let blocks = ctx.block_manager().block_ids().len();
        record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((time, count, blocks));
        Ok(())
    })?;
    ssc.start()?;
    clock.advance(Duration::from_secs(u64::from(BATCHES)));
    let done = ssc.await_batches(u64::from(BATCHES), Duration::from_secs(120));
    ssc.stop(StopOptions::default())?;
    assert!(done?, "{BATCHES} batches did not complete");
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    // The parent (2 partitions a batch) is remembered for its window plus
    // one batch: when batch n's job runs, batch n - 1's cleanup has kept
    // batches n - 5..n - 1, and the job caches batch n: 6 batches of 2
    // blocks in the steady state (keeping everything would reach 600).
    let expected: Vec<(Time, u64, usize)> = (1..=u64::from(BATCHES))
        .map(|n| {
            let in_window = n.min(4);
            let kept = n.min(6) as usize;
            (Time::from_millis(n * 1000), 3 * in_window, 2 * kept)
        })
        .collect();
    assert_eq!(*seen, expected);
    Ok(())
}
