//! The other forms of Spark's state operations: the time-aware and the
//! partition-iterator `update_state_by_key`, a custom partitioner for the
//! state, the time-aware `map_with_state` function, and
//! `StreamingContext::transform` over many streams. Exact batches, then
//! property tests against sequential models.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ember_dstream::testing::{run_operation, run_operation_n};
use ember_dstream::{
    Duration, State, StateSpec, StreamingConf, StreamingContext, StreamingError, Time,
    UpdateStateOptions,
};
use ember_rdd::Partitioner;
use proptest::prelude::*;

type R = Result<(), StreamingError>;

/// A key's state in the models: (sum, time in ms it last got values).
type Sum = (i64, u64);

fn sorted<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches
        .into_iter()
        .map(|mut b| {
            b.sort();
            b
        })
        .collect()
}

/// The time-aware update: adds the new values and stamps the time; a key
/// idle for more than 2 s, or whose sum falls below zero, is removed.
fn timed_update(time: Time, _key: &u8, new: &[i64], old: Option<Sum>) -> Option<Sum> {
    let now = time.milliseconds();
    let (sum, last) = old.unwrap_or((0, now));
    if new.is_empty() {
        return (now - last <= 2000).then_some((sum, last));
    }
    let sum = sum + new.iter().sum::<i64>();
    (sum >= 0).then_some((sum, now))
}

/// `update_state_by_key` run by hand: each batch, every key with a state
/// or new values goes through `update`; the whole state is the output.
fn model_states(
    batches: &[Vec<(u8, i64)>],
    num_batches: usize,
    update: impl Fn(Time, &u8, &[i64], Option<Sum>) -> Option<Sum>,
) -> Vec<Vec<(u8, Sum)>> {
    let mut state: BTreeMap<u8, Sum> = BTreeMap::new();
    (0..num_batches)
        .map(|i| {
            let time = Time::from_millis(1000 * (i as u64 + 1));
            let mut new: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
            for (k, v) in batches.get(i).into_iter().flatten() {
                new.entry(*k).or_default().push(*v);
            }
            let keys: BTreeSet<u8> = state.keys().chain(new.keys()).copied().collect();
            for key in keys {
                let values = new.remove(&key).unwrap_or_default();
                match update(time, &key, &values, state.remove(&key)) {
                    Some(s) => state.insert(key, s),
                    None => None,
                };
            }
            state.iter().map(|(k, s)| (*k, *s)).collect()
        })
        .collect()
}

/// Keys to partitions by `key % 3`: a partitioner no hash would match.
struct ByRemainder;

impl Partitioner<u8> for ByRemainder {
    fn num_partitions(&self) -> usize {
        3
    }
    fn partition(&self, key: &u8) -> usize {
        usize::from(*key % 3)
    }
}

#[test]
fn the_time_aware_update_sees_each_batch_time() -> R {
    let input = vec![
        vec![(1u8, 5i64), (2, 1)],
        vec![(1, 1)],
        vec![],
        vec![],
        vec![],
    ];
    let out = run_operation(
        input,
        |s| s.update_state_by_key_with_time(timed_update, UpdateStateOptions::default()),
        5,
    )?;
    assert_eq!(
        sorted(out),
        vec![
            vec![(1, (5, 1000)), (2, (1, 1000))],
            vec![(1, (6, 2000)), (2, (1, 1000))],
            vec![(1, (6, 2000)), (2, (1, 1000))],
            // Key 2 idle for 3 s: removed; key 1 for 2 s: kept.
            vec![(1, (6, 2000))],
            vec![],
        ]
    );
    Ok(())
}

#[test]
fn the_partition_form_gets_every_key_of_a_partition() -> R {
    // Each call returns its partition's keys with the number of keys the
    // call saw (so a key's state tells its partition's size).
    let input = vec![vec![(0u8, 1i64), (3, 1), (1, 1), (2, 1), (5, 1)], vec![]];
    let options = UpdateStateOptions {
        partitioner: Some(Arc::new(ByRemainder) as Arc<dyn Partitioner<u8>>),
        ..UpdateStateOptions::default()
    };
    let out = run_operation(
        input,
        move |s| {
            s.update_state_by_key_partitions(
                |records| {
                    let keys: Vec<u8> = records
                        .map(|(k, _, _): (u8, Vec<i64>, Option<usize>)| k)
                        .collect();
                    let n = keys.len();
                    keys.into_iter().map(move |k| (k, n))
                },
                options,
            )
            .glom()
        },
        2,
    )?;
    let expected = vec![vec![(0, 2), (3, 2)], vec![(1, 1)], vec![(2, 2), (5, 2)]];
    for batch in out {
        assert_eq!(
            batch
                .into_iter()
                .map(|mut p| {
                    p.sort();
                    p
                })
                .collect::<Vec<_>>(),
            expected
        );
    }
    Ok(())
}

#[test]
fn the_time_aware_map_with_state_function_maps_to_optional_values() -> R {
    // Emits (key, time, running sum) when the running sum is even; a key
    // idle for more than 1 s times out with one last call (value None).
    let spec = StateSpec::function_with_time(
        |time: Time, key: &u8, value: Option<i64>, state: &mut State<i64>| {
            if state.is_timing_out() {
                return Some((*key, time.milliseconds(), -1));
            }
            let sum = state.get().copied().unwrap_or(0) + value.unwrap_or(0);
            state.update(sum);
            (sum % 2 == 0).then_some((*key, time.milliseconds(), sum))
        },
    )
    .timeout(Duration::from_secs(1));
    let input = vec![
        vec![(1u8, 1i64), (1, 1), (2, 3)],
        vec![(2, 1)],
        vec![],
        vec![],
    ];
    let out = run_operation(input, |s| s.map_with_state(spec), 4)?;
    assert_eq!(
        sorted(out),
        vec![
            vec![(1, 1000, 2)],
            vec![(2, 2000, 4)],
            // Key 1 last got a record at 1000 ms: idle 2 s > 1 s.
            vec![(1, 3000, -1)],
            vec![(2, 4000, -1)],
        ]
    );
    Ok(())
}

#[test]
fn context_transform_sees_every_batch_of_the_time() -> R {
    let inputs = vec![
        vec![vec![1], vec![2]],
        vec![vec![10]],
        vec![vec![], vec![30]],
    ];
    let out = run_operation_n(
        inputs,
        |ssc, streams| {
            ssc.transform(&streams, |batches, time| {
                let tagged: Vec<_> = batches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b.map(move |x| (i, x, time.milliseconds())))
                    .collect();
                batches[0].context().union(&tagged)
            })
        },
        2,
    )?;
    assert_eq!(
        out,
        vec![
            vec![(0, 1, 1000), (1, 10, 1000)],
            vec![(0, 2, 2000), (2, 30, 2000)]
        ]
    );
    Ok(())
}

#[test]
fn context_transform_definition_errors() -> R {
    let ssc = StreamingContext::new(
        StreamingConf::new().master("local[2]"),
        Duration::from_secs(1),
    )?;
    let none: Vec<ember_dstream::DStream<u8>> = Vec::new();
    let empty = ssc.transform(&none, |b, _| b[0].clone());
    assert!(matches!(
        empty,
        Err(StreamingError::NoStreams {
            operation: "transform"
        })
    ));
    let a = ssc.queue_stream(std::collections::VecDeque::from([vec![1u8]]), true);
    let b = a.window(Duration::from_secs(2), Duration::from_secs(2))?;
    let mismatch = ssc.transform(&[a, b], |b, _| b[0].clone());
    assert!(matches!(
        mismatch,
        Err(StreamingError::SlideMismatch { .. })
    ));
    Ok(())
}

fn batches_strategy() -> impl Strategy<Value = Vec<Vec<(u8, i64)>>> {
    prop::collection::vec(prop::collection::vec((0u8..6, -3i64..6), 0..6), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    #[test]
    fn time_aware_update_matches_the_model(batches in batches_strategy(), custom in any::<bool>()) {
        let num_batches = batches.len() + 3;
        let expected = model_states(&batches, num_batches, timed_update);
        let options = UpdateStateOptions {
            partitioner: custom.then(|| Arc::new(ByRemainder) as Arc<dyn Partitioner<u8>>),
            ..UpdateStateOptions::default()
        };
        let out = run_operation(
            batches,
            move |s| s.update_state_by_key_with_time(timed_update, options).glom(),
            num_batches,
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for batch in &out {
            prop_assert_eq!(batch.len(), if custom { 3 } else { 2 });
            if custom {
                for (i, part) in batch.iter().enumerate() {
                    prop_assert!(part.iter().all(|(k, _)| usize::from(*k % 3) == i));
                }
            }
        }
        let out: Vec<Vec<(u8, Sum)>> = out.into_iter().map(|b| b.concat()).collect();
        prop_assert_eq!(sorted(out), expected);
    }

    #[test]
    fn partition_form_matches_the_model(batches in batches_strategy()) {
        let num_batches = batches.len() + 3;
        let plain = |_: Time, k: &u8, new: &[i64], old: Option<Sum>| timed_update(Time::from_millis(0), k, new, old.map(|(s, _)| (s, 0)));
        let expected = model_states(&batches, num_batches, plain);
        let out = run_operation(
            batches,
            move |s| {
                s.update_state_by_key_partitions(
                    move |records| {
                        records.filter_map(move |(k, new, old): (u8, Vec<i64>, Option<Sum>)| {
                            plain(Time::from_millis(0), &k, &new, old).map(|s| (k, s))
                        })
                    },
                    UpdateStateOptions::default(),
                )
            },
            num_batches,
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sorted(out), expected);
    }

    #[test]
    fn time_aware_map_with_state_matches_the_model(batches in batches_strategy()) {
        let num_batches = batches.len() + 3;
        // Each record: running (count, sum); emits (key, time, count) on
        // odd counts; a key idle for more than 1 s emits (key, time, 0) and
        // goes.
        let f = |time: Time, key: &u8, value: Option<i64>, state: &mut State<(u32, i64)>| {
            if state.is_timing_out() {
                return Some((*key, time.milliseconds(), 0));
            }
            let (n, sum) = state.get().copied().unwrap_or((0, 0));
            let next = (n + 1, sum + value.unwrap_or(0));
            state.update(next);
            (next.0 % 2 == 1).then_some((*key, time.milliseconds(), next.0))
        };
        let mut state: BTreeMap<u8, ((u32, i64), u64)> = BTreeMap::new();
        let mut mapped = Vec::new();
        for i in 0..num_batches {
            let now = 1000 * (i as u64 + 1);
            let time = Time::from_millis(now);
            let mut out = Vec::new();
            let batch = batches.get(i).cloned().unwrap_or_default();
            let with_records: BTreeSet<u8> = batch.iter().map(|(k, _)| *k).collect();
            for (k, v) in batch {
                let mut st = State::new(state.get(&k).map(|(s, _)| *s));
                out.extend(f(time, &k, Some(v), &mut st));
                match st.get() {
                    Some(s) => state.insert(k, (*s, now)),
                    None => state.remove(&k),
                };
            }
            let idle: Vec<u8> = state
                .iter()
                .filter(|(k, (_, last))| !with_records.contains(k) && now - last > 1000)
                .map(|(k, _)| *k)
                .collect();
            for k in idle {
                // `f`'s timing-out call (a `State` cannot be made timing
                // out from outside): its output, then the key goes.
                state.remove(&k);
                out.push((k, now, 0));
            }
            out.sort();
            mapped.push(out);
        }
        let spec = StateSpec::function_with_time(f).timeout(Duration::from_secs(1));
        let out = run_operation(batches, move |s| s.map_with_state(spec), num_batches)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sorted(out), mapped);
    }

    #[test]
    fn context_transform_matches_the_model(
        inputs in prop::collection::vec(prop::collection::vec(prop::collection::vec(0i32..9, 0..4), 0..4), 1..4),
    ) {
        let num_batches = 4;
        let expected: Vec<Vec<(usize, i32, u64)>> = (0..num_batches)
            .map(|t| {
                inputs
                    .iter()
                    .enumerate()
                    .flat_map(|(i, input)| {
                        input.get(t).cloned().unwrap_or_default().into_iter().map(move |x| (i, x, 1000 * (t as u64 + 1)))
                    })
                    .collect()
            })
            .collect();
        let out = run_operation_n(
            inputs,
            |ssc, streams| {
                ssc.transform(&streams, |batches, time| {
                    let tagged: Vec<_> = batches
                        .iter()
                        .enumerate()
                        .map(|(i, b)| b.map(move |x| (i, x, time.milliseconds())))
                        .collect();
                    batches[0].context().union(&tagged)
                })
            },
            num_batches,
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(out, expected);
    }
}
