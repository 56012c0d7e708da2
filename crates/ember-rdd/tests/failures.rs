//! Task failures: a panicking task is retried up to `max_task_failures`
//! times, then its job fails with `JobError::TaskFailed` naming the stage,
//! the partition, the attempts and the panic message; the context stays
//! usable. Errors returned by a computation are final (no retry).
//!
//! The panics print through the default hook; that noise is expected (the
//! hook is process-global and tests run in parallel, so it stays as is).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ember_rdd::{
    BoxIter, Dependency, HashPartitioner, JobError, Partitioner, Rdd, RddCompute, RddConf,
    RddContext, TaskContext,
};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// An owned string: RDD elements must be owned (serializable).
fn s(text: &str) -> String {
    text.to_owned()
}

/// Owned copies of `words`.
fn strs(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| s(w)).collect()
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// Unpacks a `TaskFailed` as (stage, partition, attempts, message).
fn task_failed(err: JobError) -> (usize, usize, u32, String) {
    match err {
        JobError::TaskFailed {
            stage,
            partition,
            attempts,
            message,
        } => (stage, partition, attempts, message),
        other => panic!("expected TaskFailed, got {other:?}"),
    }
}

#[test]
fn a_panicking_task_fails_the_job_after_four_attempts() {
    let ctx = ctx();
    let calls = counter();
    let c = Arc::clone(&calls);
    let rdd = ctx
        .parallelize((0..10).collect::<Vec<i32>>(), 2)
        .map(move |x| {
            if x == 7 {
                c.fetch_add(1, Ordering::SeqCst);
                panic!("bad record {x}");
            }
            x
        });
    let err = rdd.collect().unwrap_err();
    assert_eq!(
        err.to_string(),
        "task for partition 1 of stage 0 failed 4 times; last failure: bad record 7"
    );
    assert_eq!(task_failed(err), (0, 1, 4, "bad record 7".to_owned()));
    assert_eq!(calls.load(Ordering::SeqCst), 4, "one call per attempt");
    let metrics = ctx.metrics();
    assert_eq!(metrics.task_failures, 4);
    assert_eq!(metrics.task_attempts, 1 + 4);

    // The context is still usable, and so is the same lineage minus the bad record.
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    assert_eq!(rdd.take(5).unwrap(), vec![0, 1, 2, 3, 4]);
    let again = task_failed(rdd.count().unwrap_err());
    assert_eq!((again.1, again.2), (1, 4), "fails the same way again");
}

#[test]
fn panic_messages_of_every_payload_kind() {
    let ctx = ctx();
    let literal = ctx
        .parallelize(vec![1], 1)
        .map(|_: i32| -> i32 { panic!("static text") });
    assert_eq!(task_failed(literal.count().unwrap_err()).3, "static text");
    let formatted = ctx
        .parallelize(vec![5], 1)
        .map(|x: i32| -> i32 { panic!("value {x} is out of range") });
    assert_eq!(
        task_failed(formatted.count().unwrap_err()).3,
        "value 5 is out of range"
    );
    let opaque = ctx
        .parallelize(vec![5], 1)
        .map(|_: i32| -> i32 { std::panic::panic_any(42u8) });
    assert_eq!(
        task_failed(opaque.count().unwrap_err()).3,
        "task panicked with a non-string payload"
    );
}

#[test]
fn a_task_that_panics_once_succeeds_on_retry() {
    let ctx = ctx();
    let attempts = counter();
    let a = Arc::clone(&attempts);
    let rdd = ctx
        .parallelize((0..10).collect::<Vec<i32>>(), 3)
        .map_partitions_with_index(move |index, it| {
            if index == 1 && a.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("transient failure");
            }
            it.map(|x| x * 2)
        });
    assert_eq!(
        rdd.collect().unwrap(),
        (0..10).map(|x| x * 2).collect::<Vec<_>>()
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let metrics = ctx.metrics();
    assert_eq!(metrics.task_failures, 1);
    assert_eq!(metrics.task_attempts, 3 + 1);
}

#[test]
fn max_task_failures_sets_the_number_of_attempts() {
    for attempts in [1u32, 2, 6] {
        let ctx = RddContext::new(
            RddConf::new()
                .master("local[2]")
                .max_task_failures(attempts),
        )
        .unwrap();
        let calls = counter();
        let c = Arc::clone(&calls);
        let rdd = ctx.parallelize(vec![1, 2, 3], 1).map(move |x: i32| -> i32 {
            c.fetch_add(1, Ordering::SeqCst);
            panic!("always fails on {x}")
        });
        let (stage, partition, reported, message) = task_failed(rdd.collect().unwrap_err());
        assert_eq!((stage, partition, reported), (0, 0, attempts));
        assert_eq!(message, "always fails on 1");
        assert_eq!(calls.load(Ordering::SeqCst), attempts as usize);
    }
}

#[test]
fn a_flaky_task_needs_enough_attempts() {
    let ctx = RddContext::new(RddConf::new().master("local[2]").max_task_failures(2)).unwrap();
    let attempts = counter();
    let a = Arc::clone(&attempts);
    // Panics on its first two attempts: two attempts are not enough.
    let rdd = ctx.parallelize(vec![1], 1).map(move |x: i32| {
        if a.fetch_add(1, Ordering::SeqCst) < 2 {
            panic!("attempt failed");
        }
        x
    });
    assert_eq!(task_failed(rdd.collect().unwrap_err()).2, 2);
    // The third call (a new job) succeeds.
    assert_eq!(rdd.collect().unwrap(), vec![1]);
}

#[test]
fn panics_in_a_shuffle_map_stage_and_in_a_reduce_stage() {
    let ctx = ctx();
    let words = ctx.parallelize(strs(&["a", "b", "boom", "a", "c", "b"]), 3);

    // Map stage (stage 0): the map before the shuffle panics on "boom",
    // which is in map partition 1.
    let counts = words
        .map(|w| {
            assert_ne!(w, "boom", "cannot count this word");
            (w, 1u32)
        })
        .reduce_by_key(|a, b| a + b);
    let (stage, partition, attempts, message) = task_failed(counts.collect().unwrap_err());
    assert_eq!((stage, partition, attempts), (0, 1, 4));
    assert!(message.contains("cannot count this word"), "{message}");

    // Reduce stage: merging combiners of "a" (one from each of two map
    // tasks) panics. Stage 1 is the map stage, stage 2 the result stage.
    let merged = words.map(|w| (w, 1u32)).combine_by_key(
        |v| v,
        |c, v| c + v,
        |x, y| {
            assert!(x + y < 2, "merge overflowed");
            x + y
        },
        Some(2),
    );
    let (stage, partition, attempts, message) = task_failed(merged.collect().unwrap_err());
    assert_eq!(stage, 2);
    assert_eq!(partition, HashPartitioner::new(2).partition(&s("a")));
    assert_eq!(attempts, 4);
    assert!(message.contains("merge overflowed"), "{message}");

    // The same context runs the word count that does not panic.
    let mut good = words
        .map(|w| (w, 1u32))
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap();
    good.sort();
    assert_eq!(
        good,
        vec![(s("a"), 2), (s("b"), 2), (s("boom"), 1), (s("c"), 1)]
    );
}

#[test]
fn a_panic_in_the_second_of_two_shuffles_names_its_map_stage() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize((0..20u32).map(|i| (i % 4, i)).collect(), 2)
        .reduce_by_key(|a, b| a + b)
        .map(|(k, v)| {
            assert_ne!(k, 3, "key 3 is poisoned");
            (v % 2, k)
        })
        .group_by_key();
    let (stage, partition, attempts, message) = task_failed(rdd.collect().unwrap_err());
    // Stage 0: first map stage; stage 1: the second shuffle's map stage,
    // whose task for the partition holding key 3 fails.
    assert_eq!(stage, 1);
    assert_eq!(partition, HashPartitioner::new(2).partition(&3u32));
    assert_eq!(attempts, 4);
    assert!(message.contains("key 3 is poisoned"));
}

#[test]
fn a_transient_panic_in_a_shuffle_map_task_is_retried() {
    let ctx = ctx();
    let attempts = counter();
    let a = Arc::clone(&attempts);
    let counts = ctx
        .parallelize(strs(&["x", "y", "x", "z"]), 2)
        .map_partitions_with_index(move |index, it| {
            if index == 0 && a.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("lost executor");
            }
            it.map(|w| (w, 1))
        })
        .reduce_by_key(|a, b| a + b);
    let mut out = counts.collect().unwrap();
    out.sort();
    assert_eq!(out, vec![(s("x"), 2), (s("y"), 1), (s("z"), 1)]);
    assert_eq!(ctx.metrics().task_failures, 1);
}

#[test]
fn after_a_failed_map_stage_only_the_missing_map_tasks_run_again() {
    let ctx = ctx();
    let computed: Arc<Vec<AtomicUsize>> = Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (c, b) = (Arc::clone(&computed), Arc::clone(&broken));
    let sums = ctx
        .parallelize((0..40u32).collect(), 4)
        .map_partitions_with_index(move |index, it| {
            c[index].fetch_add(1, Ordering::SeqCst);
            assert!(!(index == 2 && b.load(Ordering::SeqCst)), "disk full");
            it.map(|x| (x % 3, x))
        })
        .reduce_by_key(|a, b| a + b);
    let (stage, partition, attempts, _) = task_failed(sums.collect().unwrap_err());
    assert_eq!((stage, partition, attempts), (0, 2, 4));
    let counts = || {
        computed
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(), vec![1, 1, 4, 1]);

    broken.store(false, Ordering::SeqCst);
    let before = ctx.metrics();
    let mut out = sums.collect().unwrap();
    out.sort();
    let expected: Vec<(u32, u32)> = (0..3)
        .map(|k| (k, (0..40).filter(|x| x % 3 == k).sum()))
        .collect();
    assert_eq!(out, expected);
    // Map tasks 0, 1 and 3 kept their outputs; only task 2 ran again.
    assert_eq!(counts(), vec![1, 1, 5, 1]);
    let after = ctx.metrics();
    assert_eq!(
        after.task_attempts - before.task_attempts,
        1 + 4,
        "one map task, four reduce tasks"
    );
}

#[test]
fn a_cached_partition_is_stored_only_by_a_successful_attempt() {
    let ctx = ctx();
    let computed = counter();
    let first_tries = counter();
    let (c, f) = (Arc::clone(&computed), Arc::clone(&first_tries));
    let rdd = ctx
        .parallelize(vec![1, 2, 3, 4], 2)
        .map_partitions_with_index(move |index, it| {
            c.fetch_add(1, Ordering::SeqCst);
            // Partition 0's first attempt panics after yielding an element.
            let doomed = index == 0 && f.fetch_add(1, Ordering::SeqCst) == 0;
            it.inspect(move |x| {
                assert!(!(doomed && *x == 2), "half-way through the partition");
            })
        });
    rdd.cache();
    assert_eq!(rdd.collect().unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(
        computed.load(Ordering::SeqCst),
        3,
        "partition 0 twice, partition 1 once"
    );
    assert_eq!(ctx.metrics().task_failures, 1);
    assert_eq!(rdd.collect().unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(computed.load(Ordering::SeqCst), 3, "served from cache");
}

/// A source whose compute returns an error (not a panic).
struct Broken(Arc<AtomicUsize>);

impl RddCompute<u8> for Broken {
    fn kind(&self) -> &'static str {
        "BrokenRDD"
    }
    fn num_partitions(&self) -> usize {
        2
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<u8>, JobError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        if partition == 1 {
            return Err(JobError::io(
                "/nonexistent/input",
                std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
            ));
        }
        Ok(Box::new(std::iter::once(1)))
    }
}

#[test]
fn returned_errors_are_final_and_not_retried() {
    let ctx = ctx();
    let calls = counter();
    let rdd = Rdd::from_compute(&ctx, "broken", Broken(Arc::clone(&calls)));
    match rdd.map(|x| x + 1).collect().unwrap_err() {
        JobError::Io { path, source } => {
            assert_eq!(path, std::path::Path::new("/nonexistent/input"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one call per partition");
    assert_eq!(ctx.metrics().task_failures, 0);
    // Errors also stop a shuffle's map stage.
    let shuffled = rdd.map(|x| (x, x)).reduce_by_key(|a, b| a + b);
    assert!(matches!(
        shuffled.collect().unwrap_err(),
        JobError::Io { .. }
    ));
    assert_eq!(rdd.take(1).unwrap(), vec![1], "partition 0 is fine");
}

#[test]
fn failures_in_other_actions() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![1, 2, 3], 3);
    let bad = |x: &i32| assert_ne!(*x, 3, "three");
    assert!(matches!(
        rdd.foreach(move |x| bad(&x)).unwrap_err(),
        JobError::TaskFailed { partition: 2, .. }
    ));
    assert!(matches!(
        rdd.foreach_partition(|mut it| {
            assert!(it.next().is_none(), "non-empty");
        })
        .unwrap_err(),
        JobError::TaskFailed { partition: 0, .. }
    ));
    assert!(matches!(
        rdd.map(|x| 10 / (x - 2)).reduce(|a, b| a + b).unwrap_err(),
        JobError::TaskFailed { partition: 1, .. }
    ));
    // take stops before the partition that would fail.
    let poisoned = ctx.from_partitions(vec![vec![1, 2], vec![3]]).map(|x| {
        assert_ne!(x, 3, "three");
        x
    });
    assert_eq!(poisoned.take(2).unwrap(), vec![1, 2]);
    assert!(poisoned.take(3).is_err());
}
