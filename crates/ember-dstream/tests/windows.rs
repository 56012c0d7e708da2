//! Window operations through the deterministic harness: exact batches,
//! definition errors, properties against a naive model recomputing each
//! window from the input, and the incremental variant's cost per batch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ember_dstream::testing::run_operation;
use ember_dstream::{DStream, Duration, StreamingError};
use proptest::prelude::*;

type Pairs = Vec<(char, i64)>;
type PairFilter = Arc<dyn Fn(&(char, i64)) -> bool + Send + Sync>;
type Case = (Vec<Vec<(u8, i64)>>, usize, usize, usize);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn sorted<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches
        .into_iter()
        .map(|mut batch| {
            batch.sort();
            batch
        })
        .collect()
}

fn nonzero() -> Option<PairFilter> {
    Some(Arc::new(|(_, n)| *n != 0))
}

// ---------------------------------------------------------------- exact batches

#[test]
fn windows_over_empty_batches_and_after_the_input_ends() -> Result<(), StreamingError> {
    let input = vec![vec![1, 2], vec![], vec![3], vec![]];
    let (w, s) = (secs(3), secs(1));
    let window = run_operation(input.clone(), |d| d.window(w, s), 6)?;
    assert_eq!(
        window,
        vec![
            vec![1, 2],
            vec![1, 2],
            vec![1, 2, 3],
            vec![3],
            vec![3],
            vec![]
        ]
    );
    let counts = run_operation(input.clone(), |d| d.count_by_window(w, s), 6)?;
    assert_eq!(
        counts,
        vec![vec![2], vec![2], vec![3], vec![1], vec![1], vec![0]]
    );
    let sums = run_operation(input, |d| d.reduce_by_window(|a, b| a + b, w, s), 6)?;
    assert_eq!(
        sums,
        vec![vec![3], vec![3], vec![6], vec![3], vec![3], vec![]]
    );
    Ok(())
}

#[test]
fn slide_longer_than_the_batch_outputs_every_other_interval() -> Result<(), StreamingError> {
    let input = vec![vec![1], vec![2], vec![3], vec![4], vec![5]];
    let (w, s) = (secs(4), secs(2));
    let window = run_operation(input.clone(), |d| d.window(w, s), 8)?;
    assert_eq!(
        window,
        vec![vec![1, 2], vec![1, 2, 3, 4], vec![3, 4, 5], vec![5]]
    );
    let counts = run_operation(input.clone(), |d| d.count_by_window(w, s), 8)?;
    assert_eq!(counts, vec![vec![2], vec![4], vec![3], vec![1]]);
    let sums = run_operation(input, |d| d.reduce_by_window(|a, b| a + b, w, s), 8)?;
    assert_eq!(sums, vec![vec![3], vec![10], vec![12], vec![5]]);
    Ok(())
}

#[test]
fn count_by_window_is_empty_before_data_then_zero_for_empty_windows() -> Result<(), StreamingError>
{
    let input = vec![vec![], vec![], vec!['x']];
    let counts = run_operation(input, |d| d.count_by_window(secs(2), secs(1)), 6)?;
    assert_eq!(
        counts,
        vec![vec![], vec![], vec![1], vec![1], vec![0], vec![0]]
    );
    Ok(())
}

fn pair_input() -> Vec<Pairs> {
    vec![
        vec![('a', 1), ('b', 2)],
        vec![('a', 3)],
        vec![('b', 1)],
        vec![],
    ]
}

#[test]
fn reduce_by_key_and_window_inv_keeps_zero_keys_without_a_filter() -> Result<(), StreamingError> {
    let out = run_operation(
        pair_input(),
        |d| d.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(1), None),
        5,
    )?;
    assert_eq!(
        sorted(out),
        vec![
            vec![('a', 1), ('b', 2)],
            vec![('a', 4), ('b', 2)],
            vec![('a', 3), ('b', 1)],
            vec![('a', 0), ('b', 1)],
            vec![('a', 0), ('b', 0)],
        ]
    );
    Ok(())
}

#[test]
fn reduce_by_key_and_window_inv_drops_what_the_filter_drops() -> Result<(), StreamingError> {
    let expected = vec![
        vec![('a', 1), ('b', 2)],
        vec![('a', 4), ('b', 2)],
        vec![('a', 3), ('b', 1)],
        vec![('b', 1)],
        vec![],
    ];
    let filtered = run_operation(
        pair_input(),
        |d| d.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(1), nonzero()),
        5,
    )?;
    assert_eq!(sorted(filtered), expected);
    let plain = run_operation(
        pair_input(),
        |d| d.reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1)),
        5,
    )?;
    assert_eq!(sorted(plain), expected);
    Ok(())
}

#[test]
fn reduce_by_key_and_window_inv_with_a_slide_of_two_batches() -> Result<(), StreamingError> {
    // Overlapping windows: 4 s every 2 s.
    let input: Vec<Pairs> = (0..5).map(|_| vec![('a', 1)]).collect();
    let out = run_operation(
        input,
        |d| d.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(4), secs(2), None),
        8,
    )?;
    assert_eq!(
        out,
        vec![
            vec![('a', 2)],
            vec![('a', 4)],
            vec![('a', 3)],
            vec![('a', 1)]
        ]
    );
    // Slide longer than the window: batches 1 and 3 are in no window (and
    // 'b' never shows), the key stays once seen.
    let input: Vec<Pairs> = vec![
        vec![('a', 1)],
        vec![('a', 2)],
        vec![('b', 5)],
        vec![('a', 1)],
    ];
    let out = run_operation(
        input,
        |d| d.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(1), secs(2), None),
        6,
    )?;
    assert_eq!(out, vec![vec![('a', 2)], vec![('a', 1)], vec![('a', 0)]]);
    Ok(())
}

#[test]
fn count_by_value_and_window_drops_zero_counts() -> Result<(), StreamingError> {
    let input = vec![vec!['a', 'b', 'a'], vec!['a'], vec![], vec!['b']];
    let out = run_operation(input, |d| d.count_by_value_and_window(secs(2), secs(1)), 5)?;
    assert_eq!(
        sorted(out),
        vec![
            vec![('a', 2), ('b', 1)],
            vec![('a', 3), ('b', 1)],
            vec![('a', 1)],
            vec![('b', 1)],
            vec![('b', 1)],
        ]
    );
    Ok(())
}

#[test]
fn window_with_slide_two_and_key_window_ops() -> Result<(), StreamingError> {
    let input = vec![
        vec![('a', 1)],
        vec![('b', 1)],
        vec![('a', 1)],
        vec![],
        vec![],
    ];
    let out = run_operation(
        input,
        |d| d.reduce_by_key_and_window(|a, b| a + b, secs(3), secs(2)),
        6,
    )?;
    // windows (−1, 2], (1, 4], (3, 6]
    assert_eq!(
        sorted(out),
        vec![vec![('a', 1), ('b', 1)], vec![('a', 1), ('b', 1)], vec![]]
    );
    Ok(())
}

/// Groups with their values sorted, batches sorted: both orders are
/// unspecified.
fn sorted_groups<K: Ord, V: Ord>(batches: Vec<Vec<(K, Vec<V>)>>) -> Vec<Vec<(K, Vec<V>)>> {
    sorted(
        batches
            .into_iter()
            .map(|b| {
                b.into_iter()
                    .map(|(k, mut vs)| {
                        vs.sort();
                        (k, vs)
                    })
                    .collect()
            })
            .collect(),
    )
}

#[test]
fn group_by_key_and_window_collects_each_keys_values_in_the_window() -> Result<(), StreamingError> {
    // 'b' appears, vanishes with its window and comes back; an empty batch
    // in the middle; the first windows are longer than the data so far.
    let input = vec![
        vec![('a', 1), ('b', 2), ('a', 3)],
        vec![],
        vec![('a', 4)],
        vec![],
        vec![],
        vec![('b', 5)],
    ];
    let out = run_operation(
        input.clone(),
        |d| d.group_by_key_and_window(secs(3), secs(1)),
        9,
    )?;
    assert_eq!(
        sorted_groups(out),
        vec![
            vec![('a', vec![1, 3]), ('b', vec![2])],
            vec![('a', vec![1, 3]), ('b', vec![2])],
            vec![('a', vec![1, 3, 4]), ('b', vec![2])],
            vec![('a', vec![4])],
            vec![('a', vec![4])],
            vec![('b', vec![5])],
            vec![('b', vec![5])],
            vec![('b', vec![5])],
            vec![],
        ]
    );
    // Sliding by two batches: windows (−2, 2], (0, 4], (2, 6], (4, 8].
    let out = run_operation(input, |d| d.group_by_key_and_window(secs(4), secs(2)), 8)?;
    assert_eq!(
        sorted_groups(out),
        vec![
            vec![('a', vec![1, 3]), ('b', vec![2])],
            vec![('a', vec![1, 3, 4]), ('b', vec![2])],
            vec![('a', vec![4]), ('b', vec![5])],
            vec![('b', vec![5])],
        ]
    );
    Ok(())
}

#[test]
fn reduce_by_window_inv_keeps_the_inverse_zero_once_data_was_seen() -> Result<(), StreamingError> {
    // Nothing before the first data; windows longer than the data so far;
    // an empty batch in the middle; zero once everything left.
    let input = vec![vec![], vec![1, 2], vec![], vec![4], vec![], vec![], vec![]];
    let (w, s) = (secs(3), secs(1));
    let out = run_operation(
        input.clone(),
        |d| d.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, w, s),
        8,
    )?;
    assert_eq!(
        out,
        vec![
            vec![],
            vec![3],
            vec![3],
            vec![7],
            vec![4],
            vec![4],
            vec![0],
            vec![0]
        ]
    );
    // Where the window holds data it equals the plain reduce_by_window,
    // which gives nothing for an empty window.
    let plain = run_operation(input, |d| d.reduce_by_window(|a, b| a + b, w, s), 8)?;
    assert_eq!(
        plain,
        vec![
            vec![],
            vec![3],
            vec![3],
            vec![7],
            vec![4],
            vec![4],
            vec![],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn reduce_by_window_inv_with_slides_of_two_batches() -> Result<(), StreamingError> {
    let input = vec![vec![1], vec![2], vec![3], vec![4], vec![5]];
    let inv = |w: u64, s: u64| {
        let input = input.clone();
        run_operation(
            input,
            move |d| d.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, secs(w), secs(s)),
            8,
        )
    };
    // Overlapping: windows (−2, 2], (0, 4], (2, 6], (4, 8].
    assert_eq!(inv(4, 2)?, vec![vec![3], vec![10], vec![12], vec![5]]);
    // Slide longer than the window: batches 1, 3, 5 are in no window.
    assert_eq!(inv(1, 2)?, vec![vec![2], vec![4], vec![0], vec![0]]);
    Ok(())
}

// ----------------------------------------------------------------------- errors

/// Every window operation, defined on a stream of pairs of numbers.
fn define_all(d: &DStream<(u8, i64)>, w: Duration, s: Duration) -> Vec<StreamingError> {
    let results: Vec<Result<(), StreamingError>> = vec![
        d.window(w, s).map(drop),
        d.count_by_window(w, s).map(drop),
        d.reduce_by_window(|a, _| a, w, s).map(drop),
        d.reduce_by_key_and_window(|a, b| a + b, w, s).map(drop),
        d.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, s, None)
            .map(drop),
        d.count_by_value_and_window(w, s).map(drop),
        d.group_by_key_and_window(w, s).map(drop),
        d.map(|(_, v)| v)
            .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, w, s)
            .map(drop),
    ];
    results.into_iter().filter_map(Result::err).collect()
}

fn definition_errors(w: Duration, s: Duration) -> Result<Vec<String>, StreamingError> {
    let mut errors = Vec::new();
    let out = run_operation(
        vec![vec![(1u8, 1i64)]],
        |d| {
            errors = define_all(&d, w, s)
                .iter()
                .map(ToString::to_string)
                .collect();
            d
        },
        1,
    )?;
    assert_eq!(out, vec![vec![(1, 1)]]);
    Ok(errors)
}

#[test]
fn invalid_windows_are_errors_at_definition() -> Result<(), StreamingError> {
    let errors = definition_errors(Duration::from_millis(1500), secs(1))?;
    assert_eq!(errors.len(), 8, "{errors:?}");
    for e in &errors {
        assert_eq!(
            e,
            "window duration 1500 ms must be a multiple of the parent's slide duration 1000 ms"
        );
    }
    let errors = definition_errors(secs(2), Duration::from_millis(500))?;
    assert_eq!(errors.len(), 8, "{errors:?}");
    for e in &errors {
        assert_eq!(
            e,
            "slide duration 500 ms must be a multiple of the parent's slide duration 1000 ms"
        );
    }
    let errors = definition_errors(Duration::ZERO, secs(1))?;
    assert_eq!(errors.len(), 8, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e == "the window duration must be positive")
    );
    let errors = definition_errors(secs(1), Duration::ZERO)?;
    assert_eq!(errors.len(), 8, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e == "the slide duration must be positive")
    );
    // The harness passes the definition error through.
    let err = run_operation(vec![vec![1]], |d| d.count_by_window(secs(3), secs(2)), 1);
    assert!(err.is_ok());
    let err = run_operation(
        vec![vec![1]],
        |d| d.count_by_window(Duration::from_millis(2500), secs(1)),
        1,
    );
    assert!(matches!(err, Err(StreamingError::WindowNotMultiple { .. })));
    Ok(())
}

// --------------------------------------------------------------- naive model

/// The output times (in batches) and each one's window of input batches.
fn model_windows<T: Clone>(
    input: &[Vec<T>],
    num_batches: usize,
    w: usize,
    s: usize,
) -> Vec<Vec<T>> {
    (1..=num_batches)
        .filter(|k| k % s == 0)
        .map(|k| {
            let first = (k + 1).saturating_sub(w).max(1);
            (first..=k)
                .flat_map(|i| input.get(i - 1).cloned().unwrap_or_default())
                .collect()
        })
        .collect()
}

fn model_sums(window: &[(u8, i64)]) -> BTreeMap<u8, i64> {
    let mut sums = BTreeMap::new();
    for (k, v) in window {
        *sums.entry(*k).or_insert(0) += v;
    }
    sums
}

fn inputs() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(prop::collection::vec((0u8..5, 1i64..5), 0..7), 1..8),
        1usize..=4,
        1usize..=4,
        0usize..4,
    )
        .prop_map(|(input, w, s, extra)| {
            let num_batches = input.len() + extra;
            (input, w, s, num_batches)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn window_ops_match_the_naive_model((input, w, s, n) in inputs()) {
        let (wd, sd) = (secs(w as u64), secs(s as u64));
        let windows = model_windows(&input, n, w, s);

        let out = run_operation(input.clone(), |d| d.window(wd, sd), n)?;
        prop_assert_eq!(&out, &windows);

        let out = run_operation(input.clone(), |d| d.reduce_by_window(|a, b| (a.0.max(b.0), a.1 + b.1), wd, sd), n)?;
        let expected: Vec<Vec<(u8, i64)>> = windows.iter().map(|win| {
            win.iter().copied().reduce(|a, b| (a.0.max(b.0), a.1 + b.1)).into_iter().collect()
        }).collect();
        prop_assert_eq!(out, expected);

        // count_by_window: nothing until a window held data, then a count.
        let out = run_operation(input.clone(), |d| d.count_by_window(wd, sd), n)?;
        let mut seen = false;
        let expected: Vec<Vec<u64>> = windows.iter().map(|win| {
            seen |= !win.is_empty();
            if seen { vec![win.len() as u64] } else { vec![] }
        }).collect();
        prop_assert_eq!(out, expected);

        // reduce_by_window_inv: like count_by_window, nothing until a
        // window held data, then the window's sum (0 when empty).
        let values: Vec<Vec<i64>> = input.iter().map(|b| b.iter().map(|(_, v)| *v).collect()).collect();
        let out = run_operation(values, |d| d.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, wd, sd), n)?;
        let mut seen = false;
        let expected: Vec<Vec<i64>> = windows.iter().map(|win| {
            seen |= !win.is_empty();
            if seen { vec![win.iter().map(|(_, v)| v).sum()] } else { vec![] }
        }).collect();
        prop_assert_eq!(out, expected);

        let out = run_operation(input.clone(), |d| d.reduce_by_key_and_window(|a, b| a + b, wd, sd), n)?;
        let expected: Vec<Vec<(u8, i64)>> = windows.iter().map(|win| model_sums(win).into_iter().collect()).collect();
        prop_assert_eq!(sorted(out), expected.clone());

        // The incremental variant with a filter dropping zeros equals the
        // plain one (all values are positive).
        let out = run_operation(input.clone(), |d| d.reduce_by_key_and_window_inv(
            |a, b| a + b, |a, b| a - b, wd, sd, Some(Arc::new(|(_, v): &(u8, i64)| *v != 0))), n)?;
        prop_assert_eq!(sorted(out), expected);

        // Without a filter, every key seen in a window so far stays.
        let out = run_operation(input.clone(), |d| d.reduce_by_key_and_window_inv(
            |a, b| a + b, |a, b| a - b, wd, sd, None), n)?;
        let mut keys = BTreeMap::new();
        let expected: Vec<Vec<(u8, i64)>> = windows.iter().map(|win| {
            for v in keys.values_mut() { *v = 0; }
            keys.extend(model_sums(win));
            keys.iter().map(|(k, v)| (*k, *v)).collect()
        }).collect();
        prop_assert_eq!(sorted(out), expected);

        let out = run_operation(input.clone(), |d| d.group_by_key_and_window(wd, sd), n)?;
        let expected: Vec<Vec<(u8, Vec<i64>)>> = windows.iter().map(|win| {
            let mut groups: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
            for (k, v) in win { groups.entry(*k).or_default().push(*v); }
            groups.into_iter().map(|(k, mut vs)| { vs.sort(); (k, vs) }).collect()
        }).collect();
        prop_assert_eq!(sorted_groups(out), expected);

        let keys_only: Vec<Vec<u8>> = input.iter().map(|b| b.iter().map(|(k, _)| *k).collect()).collect();
        let out = run_operation(keys_only, |d| d.count_by_value_and_window(wd, sd), n)?;
        let expected: Vec<Vec<(u8, u64)>> = windows.iter().map(|win| {
            let mut counts = BTreeMap::new();
            for (k, _) in win { *counts.entry(*k).or_insert(0u64) += 1; }
            counts.into_iter().collect()
        }).collect();
        prop_assert_eq!(sorted(out), expected);
    }
}

// ----------------------------------------------------------------- incremental

/// Steady input: 40 records over 8 keys each batch.
fn steady(batches: usize) -> Vec<Vec<(u8, u64)>> {
    (0..batches)
        .map(|b| (0..40).map(|i| (((i + b) % 8) as u8, 1u64)).collect())
        .collect()
}

/// How many times the reduce function runs in `batches` batches.
fn reduce_calls(
    window_batches: u64,
    batches: usize,
    incremental: bool,
) -> Result<usize, StreamingError> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let f = move |a: u64, b: u64| {
        counter.fetch_add(1, Ordering::Relaxed);
        a + b
    };
    let w = secs(window_batches);
    run_operation(
        steady(batches),
        |d| {
            if incremental {
                d.reduce_by_key_and_window_inv(f, |a, b| a - b, w, secs(1), None)
            } else {
                d.reduce_by_key_and_window(f, w, secs(1))
            }
        },
        batches,
    )?;
    Ok(calls.load(Ordering::Relaxed))
}

/// Reduce calls per batch once the window is full (past the first window).
fn steady_calls_per_batch(window_batches: u64, incremental: bool) -> Result<usize, StreamingError> {
    let short = reduce_calls(window_batches, 14, incremental)?;
    let long = reduce_calls(window_batches, 20, incremental)?;
    Ok((long - short) / 6)
}

#[test]
fn the_inverse_variant_touches_only_entering_and_leaving_batches() -> Result<(), StreamingError> {
    let small = steady_calls_per_batch(2, true)?;
    let large = steady_calls_per_batch(10, true)?;
    assert!(
        large <= small + 4,
        "window 10: {large} calls a batch, window 2: {small}"
    );
    // The naive window re-reduces every batch of the window: the counter
    // does see the difference.
    let naive_small = steady_calls_per_batch(2, false)?;
    let naive_large = steady_calls_per_batch(10, false)?;
    assert!(
        naive_large >= naive_small + 40,
        "naive: window 10: {naive_large}, window 2: {naive_small}"
    );
    Ok(())
}
