//! `spark.default.parallelism`: the partition count of the queue stream's
//! batches and of a shuffle given none, while the worker threads stay the
//! master's. Exact partition counts and results, then a property test of
//! a word count against a sequential model over random lines and settings.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use ember_dstream::{
    Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, StreamingError,
};
use proptest::prelude::*;

type R = Result<(), StreamingError>;

/// What one batch looked like: the input's partition count, the counts'
/// partition count and the counts, sorted.
type Seen = (usize, usize, Vec<(String, u64)>);

/// Runs a word count over `batches` on `local[2]` with the given
/// `spark.default.parallelism` (unset for `None`), one batch a second.
fn word_counts(
    parallelism: Option<&str>,
    batches: Vec<Vec<String>>,
) -> Result<Vec<Seen>, StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let mut conf = StreamingConf::new()
        .master("local[2]")
        .app_name("parallelism");
    if let Some(n) = parallelism {
        conf = conf.set("spark.default.parallelism", n);
    }
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    let n = batches.len() as u64;
    let lines = ssc.queue_stream(VecDeque::from(batches), true);
    let seen: Arc<Mutex<Vec<(usize, Seen)>>> = Arc::default();
    let input_partitions: Arc<Mutex<BTreeMap<u64, usize>>> = Arc::default();
    let record_input = Arc::clone(&input_partitions);
    lines.foreach_rdd(move |rdd, time| {
        record_input
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(time.milliseconds(), rdd.num_partitions());
        Ok(())
    })?;
    let record = Arc::clone(&seen);
    let inputs = Arc::clone(&input_partitions);
    lines
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .foreach_rdd(move |rdd, time| {
            let mut counts = rdd.collect()?;
            counts.sort();
            let input = inputs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&time.milliseconds())
                .copied()
                .unwrap_or_default();
            record.lock().unwrap_or_else(PoisonError::into_inner).push((
                time.milliseconds() as usize,
                (input, rdd.num_partitions(), counts),
            ));
            Ok(())
        })?;
    ssc.start()?;
    clock.advance(Duration::from_secs(n));
    let done = ssc.await_batches(n, Duration::from_secs(120));
    ssc.stop(StopOptions::default())?;
    assert!(done?, "{n} batches did not complete");
    let mut seen = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    seen.sort_by_key(|(time, _)| *time);
    Ok(seen.into_iter().map(|(_, batch)| batch).collect())
}

fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

fn model(lines: &[String]) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for word in lines
        .iter()
        .flat_map(|l| l.split(' '))
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_owned()).or_default() += 1;
    }
    counts.into_iter().collect()
}

#[test]
fn the_setting_gives_the_partition_counts_and_the_same_counts() -> R {
    let batches = vec![owned(&["a b a", "c", "b a"]), owned(&[]), owned(&["d d"])];
    let expected_counts: Vec<Vec<(String, u64)>> = batches.iter().map(|b| model(b)).collect();
    let defaults = word_counts(None, batches.clone())?;
    let six = word_counts(Some("6"), batches)?;
    let with = |partitions: usize| -> Vec<Seen> {
        expected_counts
            .iter()
            .map(|c| (partitions, partitions, c.clone()))
            .collect()
    };
    // Unset: the master's 2 threads; set: 6, on the same 2 threads.
    assert_eq!(defaults, with(2));
    assert_eq!(six, with(6));
    Ok(())
}

#[test]
fn a_setting_that_is_not_a_positive_count_is_refused() {
    for bad in ["0", "-1", "two", ""] {
        let conf = StreamingConf::new()
            .master("local[2]")
            .set("spark.default.parallelism", bad);
        match StreamingContext::new(conf, Duration::from_secs(1)) {
            Err(StreamingError::InvalidConf { key, .. }) => {
                assert_eq!(key, "spark.default.parallelism", "{bad:?}")
            }
            Err(other) => panic!("{bad:?}: expected InvalidConf, got {other}"),
            Ok(_) => panic!("{bad:?} was accepted"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn a_word_count_equals_the_model_at_any_setting(
        parallelism in 1usize..9,
        batches in prop::collection::vec(
            prop::collection::vec("[a-d]{0,2}( [a-d]{1,2}){0,3}", 0..12),
            1..4,
        ),
    ) {
        let seen = word_counts(Some(&parallelism.to_string()), batches.clone())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected: Vec<Seen> = batches
            .iter()
            .map(|b| (parallelism, parallelism, model(b)))
            .collect();
        prop_assert_eq!(seen, expected);
    }
}
