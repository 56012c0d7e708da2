//! State operations through the deterministic harness: exact expected
//! batches for `update_state_by_key` (also with an initial state and a
//! partition count) and `map_with_state` (keys that appear, change, vanish
//! and time out; initial state; empty batches; partition counts), then
//! property tests against a sequential model.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ember_dstream::testing::run_operation;
use ember_dstream::{Duration, State, StateSpec, StreamingError, UpdateStateOptions};
use proptest::prelude::*;

type R = Result<(), StreamingError>;

fn sorted_batches<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches
        .into_iter()
        .map(|mut b| {
            b.sort();
            b
        })
        .collect()
}

#[test]
fn update_state_by_key_keeps_updates_and_removes_keys() -> R {
    let input = vec![
        vec![('a', 1), ('b', 2)],
        vec![('a', 3), ('c', 1)],
        vec![('b', -100)],
        vec![],
    ];
    let out = run_operation(
        input,
        |s| {
            s.update_state_by_key(|new: &[i32], old: Option<i32>| {
                let total = old.unwrap_or(0) + new.iter().sum::<i32>();
                (total >= 0).then_some(total)
            })
        },
        5,
    )?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![('a', 1), ('b', 2)],
            vec![('a', 4), ('b', 2), ('c', 1)],
            vec![('a', 4), ('c', 1)],
            vec![('a', 4), ('c', 1)],
            vec![('a', 4), ('c', 1)],
        ]
    );
    Ok(())
}

#[test]
fn update_state_by_key_calls_every_key_on_empty_batches() -> R {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let input = vec![vec![('x', 1)], vec![('y', 1)], vec![], vec![]];
    // State: (total, idle batches); a key idle for 2 batches is removed.
    let out = run_operation(
        input,
        move |s| {
            s.update_state_by_key(move |new: &[u32], old: Option<(u32, u32)>| {
                counted.fetch_add(1, Ordering::SeqCst);
                let (total, idle) = old.unwrap_or((0, 0));
                if new.is_empty() {
                    (idle < 1).then_some((total, idle + 1))
                } else {
                    Some((total + new.iter().sum::<u32>(), 0))
                }
            })
        },
        5,
    )?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![('x', (1, 0))],
            vec![('x', (1, 1)), ('y', (1, 0))],
            vec![('y', (1, 1))],
            vec![],
            vec![],
        ]
    );
    // x: 1000, 2000, 3000 (removed); y: 2000, 3000, 4000 (removed).
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    Ok(())
}

#[test]
fn update_state_by_key_uses_default_parallelism() -> R {
    let out = run_operation(
        vec![vec![(1, 1), (2, 2), (3, 3)]],
        |s| {
            s.update_state_by_key(|new: &[i32], old: Option<i32>| {
                Some(old.unwrap_or(0) + new.iter().sum::<i32>())
            })
            .glom()
        },
        2,
    )?;
    // The harness runs on local[2].
    assert!(out.iter().all(|batch| batch.len() == 2), "{out:?}");
    Ok(())
}

/// What the timeout test's function returns: key, value, running sum,
/// whether the state was timing out.
type Event = (char, Option<i32>, i32, bool);

/// The lineage of each batch's state RDD, as `transform` sees it.
fn state_lineages(
    op: impl Fn(&ember_dstream::DStream<(char, i32)>) -> ember_dstream::DStream<(char, i32)>,
) -> Result<Vec<String>, StreamingError> {
    let lineages = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&lineages);
    let input = vec![vec![('a', 1), ('b', 2)], vec![('a', 3)], vec![('c', 1)]];
    run_operation(
        input,
        move |s| {
            let seen = Arc::clone(&seen);
            op(&s).transform(move |rdd, _| {
                seen.lock().unwrap().push(rdd.to_debug_string());
                rdd.clone()
            })
        },
        3,
    )?;
    let lineages = lineages.lock().unwrap().clone();
    Ok(lineages)
}

#[test]
fn state_stays_partitioned_so_only_the_batch_is_shuffled() -> R {
    let update = |s: &ember_dstream::DStream<(char, i32)>| {
        s.update_state_by_key(|new: &[i32], old: Option<i32>| {
            Some(old.unwrap_or(0) + new.iter().sum::<i32>())
        })
    };
    let with_state = |s: &ember_dstream::DStream<(char, i32)>| {
        s.map_with_state(StateSpec::function(
            |_: &char, v: Option<i32>, st: &mut State<i32>| {
                st.update(st.get().copied().unwrap_or(0) + v.unwrap_or(0));
            },
        ))
        .state_snapshots()
    };
    for lineages in [state_lineages(update)?, state_lineages(with_state)?] {
        assert_eq!(lineages.len(), 3, "{lineages:?}");
        // Stage boundaries (`+-`) lead only to the batches' inputs: every
        // previous state is read in place (a narrow parent of the cogroup),
        // never re-shuffled. Without the shared partitioner the previous
        // state would sit behind a boundary (`+-(2) MapPartitionsRDD`).
        for lineage in &lineages {
            let boundaries: Vec<&str> = lineage
                .lines()
                .filter_map(|line| line.split_once("+-").map(|(_, rest)| rest))
                .collect();
            assert!(!boundaries.is_empty(), "{lineage}");
            for boundary in boundaries {
                assert!(
                    boundary.contains("ParallelCollectionRDD") || boundary.contains("EmptyRDD"),
                    "state behind a shuffle: {lineage}"
                );
            }
        }
        assert!(lineages[2].contains("CoGroupedRDD"), "{}", lineages[2]);
    }
    Ok(())
}

fn summing_spec(timeout: Option<Duration>) -> StateSpec<char, i32, i32, Event> {
    let spec = StateSpec::function(|k: &char, v: Option<i32>, s: &mut State<i32>| {
        let sum = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
        let timing_out = s.is_timing_out();
        // Harmless on a timing-out state: the key goes away regardless.
        s.update(sum);
        (*k, v, sum, timing_out)
    });
    match timeout {
        Some(d) => spec.timeout(d),
        None => spec,
    }
}

fn timeout_input() -> Vec<Vec<(char, i32)>> {
    vec![vec![('a', 1), ('b', 1)], vec![('a', 1)]]
}

/// What [`summing_over_timeout_input`] returns: the mapped values and the
/// state snapshots of every batch, each batch sorted.
type SummingRun = (Vec<Vec<Event>>, Vec<Vec<(char, i32)>>);

/// Runs [`summing_spec`] with `timeout` over [`timeout_input`] for
/// `batches` intervals, twice: for the mapped values and for the state
/// snapshots.
fn summing_over_timeout_input(
    timeout: Option<Duration>,
    batches: usize,
) -> Result<SummingRun, StreamingError> {
    let mapped = run_operation(
        timeout_input(),
        |s| s.map_with_state(summing_spec(timeout)),
        batches,
    )?;
    let snapshots = run_operation(
        timeout_input(),
        |s| s.map_with_state(summing_spec(timeout)).state_snapshots(),
        batches,
    )?;
    Ok((sorted_batches(mapped), sorted_batches(snapshots)))
}

#[test]
fn map_with_state_times_out_idle_keys_once() -> R {
    let (mapped, snapshots) = summing_over_timeout_input(Some(Duration::from_secs(2)), 6)?;
    assert_eq!(
        mapped,
        vec![
            vec![('a', Some(1), 1, false), ('b', Some(1), 1, false)],
            vec![('a', Some(1), 2, false)],
            vec![],
            // b's last record was at 1000: idle 3 s > 2 s at 4000.
            vec![('b', None, 1, true)],
            vec![('a', None, 2, true)],
            vec![],
        ]
    );
    assert_eq!(
        snapshots,
        vec![
            vec![('a', 1), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 2)],
            vec![],
            vec![],
        ]
    );
    Ok(())
}

#[test]
fn map_with_state_without_timeout_keeps_keys_and_outputs_only_records() -> R {
    let (mapped, snapshots) = summing_over_timeout_input(None, 4)?;
    assert_eq!(
        mapped,
        vec![
            vec![('a', Some(1), 1, false), ('b', Some(1), 1, false)],
            vec![('a', Some(1), 2, false)],
            vec![],
            vec![],
        ]
    );
    assert_eq!(
        snapshots,
        vec![
            vec![('a', 1), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 2), ('b', 1)],
            vec![('a', 2), ('b', 1)],
        ]
    );
    Ok(())
}

#[test]
fn map_with_state_remove_drops_the_key() -> R {
    // A value of 0 removes the key; the next record starts from scratch.
    let spec = StateSpec::function(|_k: &char, v: Option<i32>, s: &mut State<i32>| {
        let v = v.unwrap_or(0);
        if v == 0 {
            s.remove();
        } else {
            s.update(s.get().copied().unwrap_or(0) + v);
        }
        s.exists()
    });
    let input = vec![vec![('k', 5), ('j', 1)], vec![('k', 0)], vec![('k', 2)]];
    let spec2 = spec.clone();
    let snapshots = run_operation(
        input.clone(),
        move |s| s.map_with_state(spec2).state_snapshots(),
        3,
    )?;
    assert_eq!(
        sorted_batches(snapshots),
        vec![
            vec![('j', 1), ('k', 5)],
            vec![('j', 1)],
            vec![('j', 1), ('k', 2)],
        ]
    );
    let mapped = run_operation(input, move |s| s.map_with_state(spec), 3)?;
    assert_eq!(
        sorted_batches(mapped),
        vec![vec![true, true], vec![false], vec![true]]
    );
    Ok(())
}

#[test]
fn map_with_state_starts_from_initial_state() -> R {
    let spec = |s: &ember_dstream::DStream<(char, i32)>| {
        let initial = s.rdd_context().parallelize(vec![('a', 10), ('z', 5)], 2);
        StateSpec::function(|_k: &char, v: Option<i32>, st: &mut State<i32>| {
            let sum = st.get().copied().unwrap_or(0) + v.unwrap_or(0);
            st.update(sum);
            sum
        })
        .initial_state(initial)
    };
    let input = vec![vec![('a', 1)], vec![('b', 2)]];
    let mapped = run_operation(input.clone(), |s| s.map_with_state(spec(&s)), 3)?;
    assert_eq!(sorted_batches(mapped), vec![vec![11], vec![2], vec![]]);
    let snapshots = run_operation(input, |s| s.map_with_state(spec(&s)).state_snapshots(), 3)?;
    assert_eq!(
        sorted_batches(snapshots),
        vec![
            vec![('a', 11), ('z', 5)],
            vec![('a', 11), ('b', 2), ('z', 5)],
            vec![('a', 11), ('b', 2), ('z', 5)],
        ]
    );
    Ok(())
}

#[test]
fn map_with_state_respects_num_partitions_and_derefs_to_a_stream() -> R {
    let spec = || {
        StateSpec::function(|_k: &u8, v: Option<u8>, st: &mut State<u8>| {
            st.update(v.unwrap_or(0));
            u32::from(v.unwrap_or(0))
        })
        .num_partitions(3)
    };
    let input = vec![vec![(1u8, 1u8), (2, 2), (3, 3), (4, 4)]];
    let parts = run_operation(
        input.clone(),
        |s| s.map_with_state(spec()).state_snapshots().glom(),
        2,
    )?;
    assert!(parts.iter().all(|b| b.len() == 3), "{parts:?}");
    assert_eq!(parts[0].iter().map(Vec::len).sum::<usize>(), 4);
    // Deref: stream operations apply to the result directly.
    let doubled = run_operation(input, |s| s.map_with_state(spec()).map(|x| x * 2), 1)?;
    assert_eq!(sorted_batches(doubled), vec![vec![2, 4, 6, 8]]);
    Ok(())
}

/// The sequential model of the proptest's update function: (total, idle
/// batches); removed when the total exceeds 20 or after 2 idle batches.
fn model_update(new: &[i32], old: Option<(i32, u32)>) -> Option<(i32, u32)> {
    let (total, idle) = old.unwrap_or((0, 0));
    if new.is_empty() {
        return (idle < 2).then_some((total, idle + 1));
    }
    let total = total + new.iter().sum::<i32>();
    (total <= 20).then_some((total, 0))
}

/// A key's state in the model: (total, idle batches).
type ModelState = (i32, u32);

/// The whole state after each of `num_batches` batches, folding
/// [`model_update`] over the keys of the state and of the batch, in order,
/// from `initial`.
fn model_states(
    initial: HashMap<u8, ModelState>,
    batches: &[Vec<(u8, i32)>],
    num_batches: usize,
) -> Vec<Vec<(u8, ModelState)>> {
    let mut state = initial;
    let mut snapshots = Vec::new();
    for i in 0..num_batches {
        let mut new: BTreeMap<u8, Vec<i32>> = BTreeMap::new();
        for &(k, v) in batches.get(i).into_iter().flatten() {
            new.entry(k).or_default().push(v);
        }
        let mut keys: Vec<u8> = state.keys().chain(new.keys()).copied().collect();
        keys.sort();
        keys.dedup();
        let mut next = HashMap::new();
        for k in keys {
            let values = new.get(&k).cloned().unwrap_or_default();
            if let Some(s) = model_update(&values, state.get(&k).copied()) {
                next.insert(k, s);
            }
        }
        state = next;
        let mut batch: Vec<(u8, ModelState)> = state.iter().map(|(k, s)| (*k, *s)).collect();
        batch.sort();
        snapshots.push(batch);
    }
    snapshots
}

fn batches_strategy() -> impl Strategy<Value = Vec<Vec<(u8, i32)>>> {
    prop::collection::vec(prop::collection::vec((0u8..8, -5i32..6), 0..12), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn update_state_by_key_matches_a_sequential_fold(batches in batches_strategy()) {
        let extra = 2;
        let num_batches = batches.len() + extra;
        let expected = model_states(HashMap::new(), &batches, num_batches);
        // The sum within a key does not depend on the values' order.
        let out = run_operation(batches, |s| s.update_state_by_key(model_update), num_batches)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sorted_batches(out), expected);
    }

    #[test]
    fn map_with_state_running_counts_match_a_model(batches in batches_strategy()) {
        let num_batches = batches.len() + 1;
        // State: (records seen, sum); each record maps to (key, records seen
        // so far), a multiset that does not depend on the order of a key's
        // records within a batch.
        let spec = || StateSpec::function(|k: &u8, v: Option<i32>, st: &mut State<(u32, i32)>| {
            let (n, sum) = st.get().copied().unwrap_or((0, 0));
            let next = (n + 1, sum + v.unwrap_or(0));
            st.update(next);
            (*k, next.0)
        });
        let mut state: HashMap<u8, (u32, i32)> = HashMap::new();
        let mut mapped = Vec::new();
        let mut snapshots = Vec::new();
        for i in 0..num_batches {
            let mut out = Vec::new();
            for &(k, v) in batches.get(i).into_iter().flatten() {
                let e = state.entry(k).or_insert((0, 0));
                e.0 += 1;
                e.1 += v;
                out.push((k, e.0));
            }
            out.sort();
            mapped.push(out);
            let mut snap: Vec<(u8, (u32, i32))> = state.iter().map(|(k, s)| (*k, *s)).collect();
            snap.sort();
            snapshots.push(snap);
        }
        let got = run_operation(batches.clone(), |s| s.map_with_state(spec()), num_batches)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sorted_batches(got), mapped);
        let got = run_operation(batches, |s| s.map_with_state(spec()).state_snapshots(), num_batches)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sorted_batches(got), snapshots);
    }
}

/// (total, idle batches): a negative total removes the key, an empty slice
/// counts an idle batch.
fn total_and_idle(new: &[i32], old: Option<(i32, u32)>) -> Option<(i32, u32)> {
    let (total, idle) = old.unwrap_or((0, 0));
    if new.is_empty() {
        return Some((total, idle + 1));
    }
    let total = total + new.iter().sum::<i32>();
    (total >= 0).then_some((total, 0))
}

#[test]
fn update_state_by_key_with_starts_from_the_initial_state() -> R {
    let input = vec![
        vec![('a', 1), ('b', 2), ('d', -5)],
        vec![],
        vec![('z', -10), ('b', 1)],
        vec![('a', -20), ('c', 7)],
    ];
    let out = run_operation(
        input,
        |s| {
            let initial = s
                .rdd_context()
                .parallelize(vec![('a', (10, 0)), ('z', (5, 0)), ('d', (1, 0))], 2);
            let options = UpdateStateOptions {
                num_partitions: None,
                initial_state: Some(initial),
                partitioner: None,
            };
            s.update_state_by_key_with(total_and_idle, options)
        },
        5,
    )?;
    assert_eq!(
        sorted_batches(out),
        vec![
            // 'a' updated, 'd' removed by its batch, 'z' (only in the
            // initial state) called with no values, 'b' new.
            vec![('a', (11, 0)), ('b', (2, 0)), ('z', (5, 1))],
            vec![('a', (11, 1)), ('b', (2, 1)), ('z', (5, 2))],
            vec![('a', (11, 2)), ('b', (3, 0))],
            vec![('b', (3, 1)), ('c', (7, 0))],
            vec![('b', (3, 2)), ('c', (7, 1))],
        ]
    );
    Ok(())
}

#[test]
fn update_state_by_key_with_keeps_the_state_in_num_partitions() -> R {
    let input = vec![vec![(1u8, 1), (2, 2), (3, 3), (4, 4)], vec![(5, 5)]];
    for (num_partitions, with_initial) in [(Some(3), false), (Some(3), true), (Some(1), true)] {
        let out = run_operation(
            input.clone(),
            move |s| {
                let initial = with_initial.then(|| s.rdd_context().parallelize(vec![(9u8, 9)], 2));
                let options = UpdateStateOptions {
                    num_partitions,
                    initial_state: initial,
                    partitioner: None,
                };
                s.update_state_by_key_with(
                    |new: &[i32], old: Option<i32>| {
                        Some(old.unwrap_or(0) + new.iter().sum::<i32>())
                    },
                    options,
                )
                .glom()
            },
            3,
        )?;
        let expected_parts = num_partitions.unwrap_or(2);
        assert!(
            out.iter().all(|b| b.len() == expected_parts),
            "{num_partitions:?}: {out:?}"
        );
        let keys = usize::from(with_initial);
        let sizes: Vec<usize> = out.iter().map(|b| b.iter().map(Vec::len).sum()).collect();
        assert_eq!(sizes, vec![4 + keys, 5 + keys, 5 + keys]);
    }
    // Without options it is update_state_by_key: default parallelism.
    let out = run_operation(
        input,
        |s| {
            s.update_state_by_key_with(
                |new: &[i32], old: Option<i32>| Some(old.unwrap_or(0) + new.iter().sum::<i32>()),
                UpdateStateOptions::default(),
            )
            .glom()
        },
        1,
    )?;
    assert_eq!(out[0].len(), 2);
    Ok(())
}

fn initial_strategy() -> impl Strategy<Value = BTreeMap<u8, ModelState>> {
    prop::collection::btree_map(0u8..10, (-3i32..15, 0u32..2), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn update_state_by_key_with_matches_a_sequential_fold_from_the_initial_state(
        batches in batches_strategy(),
        initial in initial_strategy(),
        num_partitions in prop::option::of(1usize..5),
    ) {
        let num_batches = batches.len() + 2;
        let expected = model_states(initial.clone().into_iter().collect(), &batches, num_batches);
        let out = run_operation(
            batches,
            move |s| {
                let initial = s.rdd_context().parallelize(initial.into_iter().collect(), 3);
                let options = UpdateStateOptions { num_partitions, initial_state: Some(initial), partitioner: None };
                s.update_state_by_key_with(model_update, options).glom()
            },
            num_batches,
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for batch in &out {
            prop_assert_eq!(batch.len(), num_partitions.unwrap_or(2));
        }
        let out: Vec<Vec<(u8, ModelState)>> = out.into_iter().map(|b| b.concat()).collect();
        prop_assert_eq!(sorted_batches(out), expected);
    }
}
