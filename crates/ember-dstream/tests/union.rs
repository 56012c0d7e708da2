//! `StreamingContext::union` of several streams (through
//! `testing::run_operation_n`): exact batches (streams of
//! different lengths, empty batches, a windowed stream among the parts),
//! the definition errors, and a property test against a plain model (each
//! output batch is the parts' batches of that time, concatenated in order).

use std::collections::VecDeque;
use std::sync::Arc;

use ember_dstream::testing::run_operation_n;
use ember_dstream::{Duration, ManualClock, StreamingConf, StreamingContext, StreamingError};
use proptest::prelude::*;

type R = Result<(), StreamingError>;

fn manual_context() -> Result<(StreamingContext, Arc<ManualClock>), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]").app_name("union");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    Ok((ssc, clock))
}

#[test]
fn three_streams_of_different_lengths_side_by_side() -> R {
    let out = run_operation_n(
        vec![
            vec![vec![1, 2], vec![3], vec![]],
            vec![vec![10], vec![], vec![11, 12]],
            vec![vec![], vec![20, 21]],
        ],
        |ssc, parts| ssc.union(&parts),
        4,
    )?;
    assert_eq!(
        out,
        vec![vec![1, 2, 10], vec![3, 20, 21], vec![11, 12], vec![]]
    );
    Ok(())
}

#[test]
fn one_stream_is_that_stream() -> R {
    let out = run_operation_n(
        vec![vec![vec![5u32, 6], vec![7]]],
        |ssc, parts| ssc.union(&parts),
        2,
    )?;
    assert_eq!(out, vec![vec![5, 6], vec![7]]);
    Ok(())
}

#[test]
fn windows_of_the_same_slide_unite_at_their_slide() -> R {
    // Outputs at 2 s and 4 s only.
    let out = run_operation_n(
        vec![
            vec![vec![1u32], vec![2], vec![3], vec![4]],
            vec![vec![10], vec![20]],
        ],
        |ssc, parts| {
            let slide = Duration::from_secs(2);
            let a = parts[0].window(Duration::from_secs(2), slide)?;
            let b = parts[1].window(Duration::from_secs(4), slide)?;
            ssc.union(&[a, b])
        },
        4,
    )?;
    assert_eq!(out, vec![vec![1, 2, 10, 20], vec![3, 4, 10, 20]]);
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
        extra in 0usize..2,
    ) {
        let longest = inputs.iter().map(Vec::len).max().unwrap_or(0);
        let num_batches = longest + extra;
        let model: Vec<Vec<u32>> = (0..num_batches)
            .map(|b| {
                inputs
                    .iter()
                    .flat_map(|part| part.get(b).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        let out = run_operation_n(inputs, |ssc, parts| ssc.union(&parts), num_batches)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(out, model);
    }
}
