//! `DStream::slice` with Spark's semantics: both ends included after
//! rounding down to the slide, times at or before the zero time skipped,
//! an error before the context started. Exact batches, then a property
//! test against a model over the input batches.

use std::collections::VecDeque;

use ember_dstream::testing::run_operation_n;
use ember_dstream::{Duration, StreamingConf, StreamingContext, StreamingError, Time};
use proptest::prelude::*;

type R = Result<(), StreamingError>;

/// At every batch time `t`, the batches that `slice(from(t), to(t))` of the
/// input returns (one output element: each sliced batch collected).
fn sliced_per_batch(
    input: Vec<Vec<i32>>,
    bounds: impl Fn(Time) -> (Time, Time) + Send + Sync + 'static,
    num_batches: usize,
) -> Result<Vec<Vec<Vec<Vec<i32>>>>, StreamingError> {
    run_operation_n(
        vec![input],
        move |ssc, mut streams| {
            // Keep every batch: slicing an input batch that was forgotten
            // would take a new one from the queue.
            ssc.remember(Duration::from_secs(60));
            let stream = streams.remove(0);
            let sliced = stream.clone();
            stream.transform(move |_rdd, time| {
                let (from, to) = bounds(time);
                let batches: Vec<Vec<i32>> = sliced
                    .slice(from, to)
                    .expect("slice after start")
                    .iter()
                    .map(|rdd| rdd.collect().expect("collect a sliced batch"))
                    .collect();
                sliced.rdd_context().parallelize(vec![batches], 1)
            })
        },
        num_batches,
    )
}

/// The model: the input batches of times `k`·1000 ms with
/// `floor(from) <= k·1000 <= floor(to)`, `k >= 1`, no later than `now`.
fn model(input: &[Vec<i32>], from: u64, to: u64, now: u64) -> Vec<Vec<i32>> {
    let (first, last) = ((from / 1000).max(1), (to / 1000).min(now / 1000));
    (first..=last)
        .map(|k| input.get(k as usize - 1).cloned().unwrap_or_default())
        .collect()
}

#[test]
fn both_ends_are_included() -> R {
    // At 3000 ms: slice(1000, 3000) holds the batches of 1000, 2000, 3000.
    let out = sliced_per_batch(
        vec![vec![1], vec![2, 3], vec![4]],
        |t| (t - Duration::from_secs(2), t),
        3,
    )?;
    assert_eq!(
        out,
        vec![
            vec![vec![vec![1]]],
            vec![vec![vec![1], vec![2, 3]]],
            vec![vec![vec![1], vec![2, 3], vec![4]]],
        ]
    );
    Ok(())
}

#[test]
fn ends_are_rounded_down_to_the_slide() -> R {
    // slice(t - 1500, t - 1) at 3000 ms is [1500, 2999] rounded down:
    // [1000, 2000].
    let out = sliced_per_batch(
        vec![vec![1], vec![2], vec![3]],
        |t| {
            (
                t - Duration::from_millis(1500),
                t - Duration::from_millis(1),
            )
        },
        3,
    )?;
    assert_eq!(
        out,
        vec![
            vec![vec![]],
            vec![vec![vec![1]]],
            vec![vec![vec![1], vec![2]]],
        ]
    );
    Ok(())
}

#[test]
fn from_after_to_and_before_the_zero_time_give_nothing_extra() -> R {
    let out = sliced_per_batch(
        vec![vec![7], vec![8]],
        |t| {
            if t == Time::from_millis(1000) {
                // Before the zero time up to now: only the first batch.
                (Time::from_millis(0), t)
            } else {
                (t, t - Duration::from_secs(1))
            }
        },
        2,
    )?;
    assert_eq!(out, vec![vec![vec![vec![7]]], vec![vec![]]]);
    Ok(())
}

#[test]
fn slicing_before_start_is_an_error() -> R {
    let ssc = StreamingContext::new(
        StreamingConf::new().master("local[2]"),
        Duration::from_secs(1),
    )?;
    let stream = ssc.queue_stream(VecDeque::from([vec![1]]), true);
    match stream.slice(Time::from_millis(0), Time::from_millis(5000)) {
        Err(StreamingError::NotInitialized { operation }) => assert_eq!(operation, "slice"),
        other => panic!("expected NotInitialized, got {:?}", other.map(|v| v.len())),
    }
    Ok(())
}

#[test]
fn windows_keep_their_results() -> R {
    // A window of 2 s sliding 1 s: (t - 2 s, t], not [t - 2 s, t].
    let out = run_operation_n(
        vec![vec![vec![1], vec![2], vec![3]]],
        |_, mut s| {
            s.remove(0)
                .window(Duration::from_secs(2), Duration::from_secs(1))
        },
        4,
    )?;
    assert_eq!(out, vec![vec![1], vec![1, 2], vec![2, 3], vec![3]]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn slice_matches_the_model(
        input in prop::collection::vec(prop::collection::vec(-50i32..50, 0..4), 0..5),
        back_from in 0u64..4500,
        back_to in 0u64..2500,
        num_batches in 1usize..6,
    ) {
        let out = sliced_per_batch(
            input.clone(),
            move |t| (t - Duration::from_millis(back_from), t - Duration::from_millis(back_to)),
            num_batches,
        ).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected: Vec<Vec<Vec<Vec<i32>>>> = (1..=num_batches as u64)
            .map(|k| {
                let now = k * 1000;
                let (from, to) = (now.saturating_sub(back_from), now.saturating_sub(back_to));
                vec![model(&input, from, to, now)]
            })
            .collect();
        prop_assert_eq!(out, expected);
    }
}
