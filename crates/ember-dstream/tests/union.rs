//! `StreamingContext::union` of several streams: exact batches (streams of
//! different lengths, empty batches, a windowed stream among the parts),
//! the definition errors, and a property test against a plain model (each
//! output batch is the parts' batches of that time, concatenated in order).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use ember_dstream::{
    DStream, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, StreamingError,
    Time,
};
use ember_rdd::JobError;
use proptest::prelude::*;

type R = Result<(), StreamingError>;

/// Output batches with their times.
type Batches = Vec<(Time, Vec<u32>)>;

fn manual_context() -> Result<(StreamingContext, Arc<ManualClock>), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]").app_name("union");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    Ok((ssc, clock))
}

/// Runs `build(ssc, parts)` over one queue stream per input for
/// `num_batches` one-second batches and returns the output's batches in
/// time order, each collected in partition order.
fn run_union(
    inputs: Vec<Vec<Vec<u32>>>,
    num_batches: u64,
    build: impl FnOnce(&StreamingContext, Vec<DStream<u32>>) -> Result<DStream<u32>, StreamingError>,
) -> Result<Batches, StreamingError> {
    let (ssc, clock) = manual_context()?;
    let parts = inputs
        .into_iter()
        .map(|batches| ssc.queue_stream(VecDeque::from(batches), true))
        .collect();
    let sink: Arc<Mutex<Batches>> = Arc::default();
    let collected = Arc::clone(&sink);
    build(&ssc, parts)?.foreach_rdd(move |rdd, time| -> Result<(), JobError> {
        let batch = rdd.collect()?;
        collected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((time, batch));
        Ok(())
    })?;
    ssc.start()?;
    for n in 1..=num_batches {
        clock.advance(Duration::from_secs(1));
        assert!(
            ssc.await_batches(n, Duration::from_secs(60))?,
            "batch {n} did not finish"
        );
    }
    ssc.stop(StopOptions::default())?;
    let mut batches = std::mem::take(&mut *sink.lock().unwrap_or_else(PoisonError::into_inner));
    batches.sort_by_key(|(time, _)| *time);
    Ok(batches)
}

fn at(ms: u64, batch: Vec<u32>) -> (Time, Vec<u32>) {
    (Time::from_millis(ms), batch)
}

#[test]
fn three_streams_of_different_lengths_side_by_side() -> R {
    let out = run_union(
        vec![
            vec![vec![1, 2], vec![3], vec![]],
            vec![vec![10], vec![], vec![11, 12]],
            vec![vec![], vec![20, 21]],
        ],
        4,
        |ssc, parts| ssc.union(&parts),
    )?;
    assert_eq!(
        out,
        vec![
            at(1000, vec![1, 2, 10]),
            at(2000, vec![3, 20, 21]),
            at(3000, vec![11, 12]),
            at(4000, vec![]),
        ]
    );
    Ok(())
}

#[test]
fn one_stream_is_that_stream() -> R {
    let out = run_union(vec![vec![vec![5, 6], vec![7]]], 2, |ssc, parts| {
        ssc.union(&parts)
    })?;
    assert_eq!(out, vec![at(1000, vec![5, 6]), at(2000, vec![7])]);
    Ok(())
}

#[test]
fn windows_of_the_same_slide_unite_at_their_slide() -> R {
    let out = run_union(
        vec![
            vec![vec![1], vec![2], vec![3], vec![4]],
            vec![vec![10], vec![20]],
        ],
        4,
        |ssc, parts| {
            let slide = Duration::from_secs(2);
            let a = parts[0].window(Duration::from_secs(2), slide)?;
            let b = parts[1].window(Duration::from_secs(4), slide)?;
            ssc.union(&[a, b])
        },
    )?;
    assert_eq!(
        out,
        vec![at(2000, vec![1, 2, 10, 20]), at(4000, vec![3, 4, 10, 20])]
    );
    Ok(())
}

#[test]
fn no_streams_is_an_error() -> R {
    let (ssc, _clock) = manual_context()?;
    let err = ssc.union::<u32>(&[]).err();
    assert!(matches!(err, Some(StreamingError::EmptyUnion)), "{err:?}");
    Ok(())
}

#[test]
fn different_slides_are_an_error_naming_both() -> R {
    let (ssc, _clock) = manual_context()?;
    let batches = ssc.queue_stream(VecDeque::<Vec<u32>>::new(), true);
    let windowed = batches.window(Duration::from_secs(4), Duration::from_secs(2))?;
    let err = ssc.union(&[batches, windowed]).err();
    let Some(StreamingError::SlideMismatch { left, right }) = &err else {
        panic!("expected SlideMismatch, got {err:?}");
    };
    assert_eq!(
        (*left, *right),
        (Duration::from_secs(1), Duration::from_secs(2))
    );
    assert!(
        err.as_ref()
            .is_some_and(|e| e.to_string().contains("1000 ms"))
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn union_is_concatenation_in_order(
        inputs in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(0u32..100, 0..8), 0..5),
            1..5,
        ),
        extra in 0u64..2,
    ) {
        let longest = inputs.iter().map(Vec::len).max().unwrap_or(0) as u64;
        let num_batches = longest + extra;
        let model: Batches = (0..num_batches)
            .map(|b| {
                let batch = inputs
                    .iter()
                    .flat_map(|part| part.get(b as usize).cloned().unwrap_or_default())
                    .collect();
                at((b + 1) * 1000, batch)
            })
            .collect();
        let out = run_union(inputs, num_batches, |ssc, parts| ssc.union(&parts))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(out, model);
    }
}
