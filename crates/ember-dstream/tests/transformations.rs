//! Per-batch transformations through the deterministic harness: exact
//! expected batches for every operation (including empty batches and the
//! empty batches after the input runs out), then property tests against a
//! plain sequential model (one `Vec` per batch).

use std::collections::{BTreeMap, BTreeSet};

use ember_dstream::testing::{run_operation, run_operation2};
use ember_dstream::{StreamingError, Time};
use proptest::prelude::*;

type R = Result<(), StreamingError>;

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn sorted_batches<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches.into_iter().map(sorted).collect()
}

/// Group values are in an unspecified order too: sort them inside.
fn sorted_groups<K: Ord, V: Ord>(batches: Vec<Vec<(K, Vec<V>)>>) -> Vec<Vec<(K, Vec<V>)>> {
    batches
        .into_iter()
        .map(|b| sorted(b.into_iter().map(|(k, v)| (k, sorted(v))).collect()))
        .collect()
}

type CoGroups<K, V, W> = Vec<Vec<(K, (Vec<V>, Vec<W>))>>;

fn sorted_cogroups<K: Ord, V: Ord, W: Ord>(batches: CoGroups<K, V, W>) -> CoGroups<K, V, W> {
    batches
        .into_iter()
        .map(|b| {
            sorted(
                b.into_iter()
                    .map(|(k, (v, w))| (k, (sorted(v), sorted(w))))
                    .collect(),
            )
        })
        .collect()
}

/// An owned string: stream elements must be owned (serializable).
fn s(x: &str) -> String {
    x.to_owned()
}

/// `v` with owned keys.
fn pairs(v: &[(&str, i32)]) -> Vec<(String, i32)> {
    v.iter().map(|&(k, n)| (s(k), n)).collect()
}

// ---------------------------------------------------------------- exact cases

#[test]
fn map_keeps_order_and_empty_batches() -> R {
    let out = run_operation(
        vec![vec![1, 2, 3], vec![], vec![4]],
        |s| s.map(|x| x * 10),
        5,
    )?;
    assert_eq!(
        out,
        vec![vec![10, 20, 30], vec![], vec![40], vec![], vec![]]
    );
    Ok(())
}

#[test]
fn flat_map_flattens_in_order() -> R {
    let input = vec![vec![s("a b"), s("c")], vec![], vec![s(""), s("d e f")]];
    let out = run_operation(
        input,
        |s| s.flat_map(|l: String| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>()),
        4,
    )?;
    assert_eq!(
        out,
        vec![
            vec![s("a"), s("b"), s("c")],
            vec![],
            vec![s("d"), s("e"), s("f")],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn filter_keeps_matching() -> R {
    let out = run_operation(
        vec![vec![1, 2, 3, 4], vec![1, 3], vec![]],
        |s| s.filter(|x| x % 2 == 0),
        4,
    )?;
    assert_eq!(out, vec![vec![2, 4], vec![], vec![], vec![]]);
    Ok(())
}

#[test]
fn map_partitions_sees_the_two_harness_partitions() -> R {
    let out = run_operation(
        vec![vec![1, 2, 3, 4, 5], vec![], vec![7]],
        |s| s.map_partitions(|it| std::iter::once(it.sum::<i32>())),
        4,
    )?;
    // parallelize splits [1..5] as [1,2] | [3,4,5]; [7] as [] | [7].
    assert_eq!(out, vec![vec![3, 12], vec![0, 0], vec![0, 7], vec![0, 0]]);
    Ok(())
}

#[test]
fn glom_gives_one_vec_per_partition() -> R {
    let out = run_operation(
        vec![vec![1, 2, 3, 4, 5], vec![], vec![9, 8]],
        |s| s.glom(),
        4,
    )?;
    assert_eq!(
        out,
        vec![
            vec![vec![1, 2], vec![3, 4, 5]],
            vec![vec![], vec![]],
            vec![vec![9], vec![8]],
            vec![vec![], vec![]],
        ]
    );
    Ok(())
}

#[test]
fn repartition_changes_partitions_not_contents() -> R {
    let input = vec![(0..20).collect::<Vec<i32>>(), vec![], vec![5]];
    let out = run_operation(input.clone(), |s| s.repartition(3).glom(), 4)?;
    assert_eq!(out.len(), 4);
    for (batch, expected) in out.iter().zip(input.iter().chain([&vec![]])) {
        assert_eq!(batch.len(), 3, "3 partitions per batch");
        let flat: Vec<i32> = batch.iter().flatten().copied().collect();
        assert_eq!(sorted(flat), sorted(expected.clone()));
    }
    let out = run_operation(input.clone(), |s| s.repartition(3), 4)?;
    assert_eq!(
        sorted_batches(out),
        vec![(0..20).collect(), vec![], vec![5], vec![]]
    );
    Ok(())
}

#[test]
fn union_appends_the_other_batch() -> R {
    let out = run_operation2(
        vec![vec![1, 2], vec![], vec![3]],
        vec![vec![10], vec![20, 30]],
        |a, b| a.union(&b),
        4,
    )?;
    assert_eq!(out, vec![vec![1, 2, 10], vec![20, 30], vec![3], vec![]]);
    Ok(())
}

#[test]
fn count_is_zero_on_empty_batches() -> R {
    let out = run_operation(
        vec![vec!['a', 'b', 'c'], vec![], vec!['d']],
        |s| s.count(),
        5,
    )?;
    assert_eq!(out, vec![vec![3], vec![0], vec![1], vec![0], vec![0]]);
    Ok(())
}

#[test]
fn count_is_zero_on_a_batch_with_no_partitions() -> R {
    let out = run_operation(
        vec![vec![1, 2], vec![3]],
        |s| {
            s.transform(|rdd, time| {
                if time == Time::from_millis(2000) {
                    rdd.context().empty()
                } else {
                    rdd.clone()
                }
            })
            .count()
        },
        3,
    )?;
    assert_eq!(out, vec![vec![2], vec![0], vec![0]]);
    Ok(())
}

#[test]
fn reduce_gives_nothing_on_empty_batches() -> R {
    let out = run_operation(
        vec![vec![1, 2, 3], vec![], vec![5], vec![1, 1]],
        |s| s.reduce(|a, b| a + b),
        6,
    )?;
    assert_eq!(out, vec![vec![6], vec![], vec![5], vec![2], vec![], vec![]]);
    Ok(())
}

#[test]
fn count_by_value_counts_per_batch() -> R {
    let out = run_operation(
        vec![
            vec![s("a"), s("b"), s("a"), s("c"), s("a")],
            vec![],
            vec![s("b")],
        ],
        |s| s.count_by_value(),
        4,
    )?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![(s("a"), 3), (s("b"), 1), (s("c"), 1)],
            vec![],
            vec![(s("b"), 1)],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn reduce_by_key_merges_within_each_batch_only() -> R {
    let input = vec![
        pairs(&[("a", 1), ("b", 2), ("a", 3)]),
        vec![],
        pairs(&[("a", 10), ("c", 1), ("c", 1)]),
    ];
    let out = run_operation(input, |s| s.reduce_by_key(|x, y| x + y), 4)?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![(s("a"), 4), (s("b"), 2)],
            vec![],
            vec![(s("a"), 10), (s("c"), 2)],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn group_by_key_collects_values() -> R {
    let input = vec![
        pairs(&[("a", 1), ("b", 2), ("a", 3)]),
        vec![],
        pairs(&[("b", 5)]),
    ];
    let out = run_operation(input, |s| s.group_by_key(), 4)?;
    assert_eq!(
        sorted_groups(out),
        vec![
            vec![(s("a"), vec![1, 3]), (s("b"), vec![2])],
            vec![],
            vec![(s("b"), vec![5])],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn map_values_and_flat_map_values_keep_keys_and_order() -> R {
    let input = vec![
        pairs(&[("a", 1), ("b", 2), ("a", 3)]),
        vec![],
        pairs(&[("c", 0)]),
    ];
    let mapped = run_operation(input.clone(), |s| s.map_values(|v| v * 10), 4)?;
    assert_eq!(
        mapped,
        vec![
            vec![(s("a"), 10), (s("b"), 20), (s("a"), 30)],
            vec![],
            vec![(s("c"), 0)],
            vec![]
        ]
    );
    // Each value expands to `v` copies of itself: 0 drops the pair.
    let flat = run_operation(input, |s| s.flat_map_values(|v| vec![v; v as usize]), 4)?;
    assert_eq!(
        flat,
        vec![
            vec![
                (s("a"), 1),
                (s("b"), 2),
                (s("b"), 2),
                (s("a"), 3),
                (s("a"), 3),
                (s("a"), 3)
            ],
            vec![],
            vec![],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn map_values_and_flat_map_values_keep_the_partitioner() -> R {
    let input = vec![pairs(&[("a", 1), ("b", 2), ("a", 3)]), vec![]];
    // After a reduce_by_key each batch is placed by key; the value
    // operations keep that placement (and say so), a plain map does not.
    let out = run_operation(
        input,
        |s| {
            let reduced = s.reduce_by_key(|x, y| x + y);
            let placed = |d: ember_dstream::DStream<(String, i32)>| {
                d.transform(|rdd, _| {
                    let placed = rdd.partitioner().is_some();
                    rdd.context().parallelize(vec![placed], 1)
                })
            };
            let by_values = placed(reduced.map_values(|v| v + 1));
            let by_flat = placed(reduced.flat_map_values(Some));
            let by_map = placed(reduced.map(|(k, v)| (k, v + 1)));
            by_values.union(&by_flat)?.union(&by_map)
        },
        2,
    )?;
    assert_eq!(out, vec![vec![true, true, false], vec![true, true, false]]);
    Ok(())
}

/// combine_by_key's functions for (sum, count) per key.
type SumCount = (i32, u32);

fn sum_count(
    s: ember_dstream::DStream<(String, i32)>,
    num_partitions: Option<usize>,
) -> ember_dstream::DStream<(String, SumCount)> {
    s.combine_by_key(
        |v| (v, 1),
        |(sum, n), v| (sum + v, n + 1),
        |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
        num_partitions,
    )
}

#[test]
fn combine_by_key_combines_within_each_batch_only() -> R {
    let input = vec![
        pairs(&[("a", 1), ("b", 2), ("a", 3)]),
        vec![],
        pairs(&[("a", 10), ("c", 1), ("c", 5), ("c", -2)]),
    ];
    let out = run_operation(input.clone(), |s| sum_count(s, None), 4)?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![(s("a"), (4, 2)), (s("b"), (2, 1))],
            vec![],
            vec![(s("a"), (10, 1)), (s("c"), (4, 3))],
            vec![]
        ]
    );
    // The partition count: the context's default parallelism (2 on the
    // harness's local[2]) or the one asked for.
    let parts = |n: Option<usize>| -> Result<Vec<usize>, StreamingError> {
        let out = run_operation(input.clone(), move |s| sum_count(s, n).glom(), 3)?;
        Ok(out.iter().map(Vec::len).collect())
    };
    assert_eq!(parts(None)?, vec![2, 2, 2]);
    assert_eq!(parts(Some(5))?, vec![5, 5, 5]);
    Ok(())
}

#[test]
fn combine_by_key_with_partitioner_reuses_a_placement_by_it() -> R {
    use ember_rdd::{HashPartitioner, Partitioner};
    use std::sync::Arc;
    let by_3: Arc<dyn Partitioner<String>> = Arc::new(HashPartitioner::new(3));
    let input = vec![pairs(&[("a", 1), ("b", 2), ("a", 3)]), pairs(&[("b", 1)])];
    let out = run_operation(
        input,
        move |s| {
            let placed = s.transform({
                let by_3 = Arc::clone(&by_3);
                move |rdd, _| rdd.partition_by(Arc::clone(&by_3))
            });
            placed
                .combine_by_key_with_partitioner(
                    |v| vec![v],
                    |mut l, v| {
                        l.push(v);
                        l
                    },
                    |mut a, b| {
                        a.extend(b);
                        a
                    },
                    by_3,
                )
                .transform(|rdd, _| {
                    // One shuffle (the partition_by), none for the combine.
                    let shuffles = rdd.to_debug_string().matches("+-").count();
                    let groups = rdd.map(|(k, mut v)| {
                        v.sort();
                        (k, v)
                    });
                    groups.map(move |g| (shuffles, g))
                })
        },
        2,
    )?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![(1, (s("a"), vec![1, 3])), (1, (s("b"), vec![2]))],
            vec![(1, (s("b"), vec![1]))]
        ]
    );
    Ok(())
}

type Batches<T> = Vec<Vec<T>>;

/// The two sides of the join tests.
type JoinInputs = (Batches<(String, i32)>, Batches<(String, char)>);

fn join_inputs() -> JoinInputs {
    (
        vec![
            pairs(&[("a", 1), ("b", 2), ("a", 3)]),
            pairs(&[("x", 1)]),
            vec![],
        ],
        vec![
            vec![(s("a"), 'p'), (s("c"), 'q')],
            vec![],
            vec![(s("y"), 'r')],
        ],
    )
}

#[test]
fn join_pairs_matching_keys() -> R {
    let (l, r) = join_inputs();
    let out = run_operation2(l, r, |a, b| a.join(&b), 4)?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![(s("a"), (1, 'p')), (s("a"), (3, 'p'))],
            vec![],
            vec![],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn left_outer_join_keeps_left_keys() -> R {
    let (l, r) = join_inputs();
    let out = run_operation2(l, r, |a, b| a.left_outer_join(&b), 4)?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![
                (s("a"), (1, Some('p'))),
                (s("a"), (3, Some('p'))),
                (s("b"), (2, None))
            ],
            vec![(s("x"), (1, None))],
            vec![],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn right_outer_join_keeps_right_keys() -> R {
    let (l, r) = join_inputs();
    let out = run_operation2(l, r, |a, b| a.right_outer_join(&b), 4)?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![
                (s("a"), (Some(1), 'p')),
                (s("a"), (Some(3), 'p')),
                (s("c"), (None, 'q'))
            ],
            vec![],
            vec![(s("y"), (None, 'r'))],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn full_outer_join_keeps_every_key() -> R {
    let (l, r) = join_inputs();
    let out = run_operation2(l, r, |a, b| a.full_outer_join(&b), 4)?;
    assert_eq!(
        sorted_batches(out),
        vec![
            vec![
                (s("a"), (Some(1), Some('p'))),
                (s("a"), (Some(3), Some('p'))),
                (s("b"), (Some(2), None)),
                (s("c"), (None, Some('q'))),
            ],
            vec![(s("x"), (Some(1), None))],
            vec![(s("y"), (None, Some('r')))],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn cogroup_groups_both_sides() -> R {
    let (l, r) = join_inputs();
    let out = run_operation2(l, r, |a, b| a.cogroup(&b), 4)?;
    assert_eq!(
        sorted_cogroups(out),
        vec![
            vec![
                (s("a"), (vec![1, 3], vec!['p'])),
                (s("b"), (vec![2], vec![])),
                (s("c"), (vec![], vec!['q'])),
            ],
            vec![(s("x"), (vec![1], vec![]))],
            vec![(s("y"), (vec![], vec!['r']))],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn transform_receives_the_batch_time() -> R {
    let out = run_operation(
        vec![vec![1, 2], vec![], vec![3]],
        |s| {
            s.transform(|rdd, time| {
                let ms = time.milliseconds() as i64;
                rdd.map(move |x| (ms, i64::from(x)))
            })
        },
        4,
    )?;
    assert_eq!(
        out,
        vec![vec![(1000, 1), (1000, 2)], vec![], vec![(3000, 3)], vec![]]
    );
    // A transform may also replace the batch with one built from the time.
    let out = run_operation(
        vec![vec![0u8]],
        |s| s.transform(|rdd, time| rdd.context().parallelize(vec![time.milliseconds()], 1)),
        3,
    )?;
    assert_eq!(out, vec![vec![1000], vec![2000], vec![3000]]);
    Ok(())
}

#[test]
fn transform_with_combines_both_batches_and_the_time() -> R {
    let out = run_operation2(
        vec![vec![1, 2], vec![3], vec![]],
        vec![vec![10], vec![], vec![20]],
        |a, b| {
            a.transform_with(&b, |x, y, time| {
                let ms = time.milliseconds();
                x.union(&y.map(|v| v * 100)).map(move |v| (ms, v))
            })
        },
        4,
    )?;
    assert_eq!(
        out,
        vec![
            vec![(1000, 1), (1000, 2), (1000, 1000)],
            vec![(2000, 3)],
            vec![(3000, 2000)],
            vec![]
        ]
    );
    Ok(())
}

#[test]
fn a_chain_of_operations_composes() -> R {
    let lines = vec![vec![s("a b a"), s("c")], vec![], vec![s("b b")]];
    let out = run_operation(
        lines,
        |s| {
            s.flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .map(|w| (w, 1u64))
                .reduce_by_key(|a, b| a + b)
                .filter(|(_, n)| *n > 1)
                .count()
        },
        4,
    )?;
    assert_eq!(out, vec![vec![1], vec![0], vec![1], vec![0]]);
    Ok(())
}

#[test]
fn zero_batches_gives_nothing() -> R {
    let out = run_operation(vec![vec![1]], |s| s.map(|x| x + 1), 0)?;
    assert!(out.is_empty());
    Ok(())
}

// ------------------------------------------------------------------ proptests

/// Random input: 1..6 batches of 0..12 small numbers, and how many extra
/// (empty) batches to run after the input ends.
fn batches() -> impl Strategy<Value = (Vec<Vec<i32>>, usize)> {
    (
        prop::collection::vec(prop::collection::vec(-20i32..20, 0..12), 1..6),
        0usize..3,
    )
}

fn key_batches() -> impl Strategy<Value = (Vec<Vec<(u8, i32)>>, usize)> {
    (
        prop::collection::vec(prop::collection::vec((0u8..5, -20i32..20), 0..12), 1..6),
        0usize..3,
    )
}

/// The input as the harness sees it: padded with empty batches.
fn padded<T: Clone>(input: &[Vec<T>], n: usize) -> Vec<Vec<T>> {
    (0..n)
        .map(|i| input.get(i).cloned().unwrap_or_default())
        .collect()
}

/// Spark's `parallelize` split of a batch into `n` slices.
fn slices<T: Clone>(batch: &[T], n: usize) -> Vec<Vec<T>> {
    let len = batch.len();
    (0..n)
        .map(|i| batch[i * len / n..(i + 1) * len / n].to_vec())
        .collect()
}

fn model_reduce_by_key(batch: &[(u8, i32)]) -> Vec<(u8, i32)> {
    let mut m = BTreeMap::new();
    for &(k, v) in batch {
        *m.entry(k).or_insert(0) += v;
    }
    m.into_iter().collect()
}

fn model_group(batch: &[(u8, i32)]) -> BTreeMap<u8, Vec<i32>> {
    let mut m: BTreeMap<u8, Vec<i32>> = BTreeMap::new();
    for &(k, v) in batch {
        m.entry(k).or_default().push(v);
    }
    m.values_mut().for_each(|v| v.sort());
    m
}

type JoinRow = (u8, (Option<i32>, Option<i32>));

/// A full outer join model; the other joins are filters of it.
fn model_full_join(l: &[(u8, i32)], r: &[(u8, i32)]) -> Vec<JoinRow> {
    let (lg, rg) = (model_group(l), model_group(r));
    let keys: BTreeSet<u8> = lg.keys().chain(rg.keys()).copied().collect();
    let mut out = Vec::new();
    for k in keys {
        let ls: Vec<Option<i32>> = lg
            .get(&k)
            .map_or(vec![None], |v| v.iter().copied().map(Some).collect());
        let rs: Vec<Option<i32>> = rg
            .get(&k)
            .map_or(vec![None], |v| v.iter().copied().map(Some).collect());
        for a in &ls {
            for b in &rs {
                out.push((k, (*a, *b)));
            }
        }
    }
    sorted(out)
}

fn cases() -> ProptestConfig {
    ProptestConfig::with_cases(24)
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn prop_map_filter_flat_map((input, extra) in batches()) {
        let n = input.len() + extra;
        let out = run_operation(
            input.clone(),
            |s| s.map(|x| x * 3).filter(|x| x % 2 == 0).flat_map(|x| vec![x; 2]),
            n,
        ).unwrap();
        let model: Vec<Vec<i32>> = padded(&input, n)
            .iter()
            .map(|b| b.iter().map(|x| x * 3).filter(|x| x % 2 == 0).flat_map(|x| [x, x]).collect())
            .collect();
        prop_assert_eq!(out, model);
    }

    #[test]
    fn prop_glom_and_map_partitions((input, extra) in batches()) {
        let n = input.len() + extra;
        let out = run_operation(input.clone(), |s| s.glom(), n).unwrap();
        let model: Vec<Vec<Vec<i32>>> = padded(&input, n).iter().map(|b| slices(b, 2)).collect();
        prop_assert_eq!(out, model.clone());
        let out = run_operation(
            input.clone(),
            |s| s.map_partitions(|it| std::iter::once(it.count())),
            n,
        ).unwrap();
        let lens: Vec<Vec<usize>> = model.iter().map(|b| b.iter().map(Vec::len).collect()).collect();
        prop_assert_eq!(out, lens);
    }

    #[test]
    fn prop_repartition((input, extra) in batches(), parts in 1usize..5) {
        let n = input.len() + extra;
        let out = run_operation(input.clone(), move |s| s.repartition(parts).glom(), n).unwrap();
        prop_assert_eq!(out.len(), n);
        for (batch, expected) in out.into_iter().zip(padded(&input, n)) {
            prop_assert_eq!(batch.len(), parts);
            prop_assert_eq!(sorted(batch.concat()), sorted(expected));
        }
    }

    #[test]
    fn prop_count_and_reduce((input, extra) in batches()) {
        let n = input.len() + extra;
        let counts = run_operation(input.clone(), |s| s.count(), n).unwrap();
        let sums = run_operation(input.clone(), |s| s.reduce(|a, b| a + b), n).unwrap();
        let padded = padded(&input, n);
        let count_model: Vec<Vec<u64>> = padded.iter().map(|b| vec![b.len() as u64]).collect();
        let sum_model: Vec<Vec<i32>> = padded
            .iter()
            .map(|b| b.iter().copied().reduce(|a, b| a + b).into_iter().collect())
            .collect();
        prop_assert_eq!(counts, count_model);
        prop_assert_eq!(sums, sum_model);
    }

    #[test]
    fn prop_count_by_value((input, extra) in batches()) {
        let n = input.len() + extra;
        let out = run_operation(input.clone(), |s| s.count_by_value(), n).unwrap();
        let model: Vec<Vec<(i32, u64)>> = padded(&input, n)
            .iter()
            .map(|b| {
                let mut m = BTreeMap::new();
                for &x in b {
                    *m.entry(x).or_insert(0u64) += 1;
                }
                m.into_iter().collect()
            })
            .collect();
        prop_assert_eq!(sorted_batches(out), model);
    }

    #[test]
    fn prop_union((a, extra) in batches(), (b, _) in batches()) {
        let n = a.len().max(b.len()) + extra;
        let out = run_operation2(a.clone(), b.clone(), |x, y| x.union(&y), n).unwrap();
        let model: Vec<Vec<i32>> = padded(&a, n)
            .into_iter()
            .zip(padded(&b, n))
            .map(|(x, y)| [x, y].concat())
            .collect();
        prop_assert_eq!(out, model);
    }

    #[test]
    fn prop_reduce_by_key_and_group_by_key((input, extra) in key_batches()) {
        let n = input.len() + extra;
        let reduced = run_operation(input.clone(), |s| s.reduce_by_key(|a, b| a + b), n).unwrap();
        let grouped = run_operation(input.clone(), |s| s.group_by_key(), n).unwrap();
        let padded = padded(&input, n);
        let reduce_model: Vec<Vec<(u8, i32)>> = padded.iter().map(|b| model_reduce_by_key(b)).collect();
        let group_model: Vec<Vec<(u8, Vec<i32>)>> =
            padded.iter().map(|b| model_group(b).into_iter().collect()).collect();
        prop_assert_eq!(sorted_batches(reduced), reduce_model);
        prop_assert_eq!(sorted_groups(grouped), group_model);
    }

    #[test]
    fn prop_map_values_and_flat_map_values((input, extra) in key_batches()) {
        let n = input.len() + extra;
        let mapped = run_operation(input.clone(), |s| s.map_values(|v| i64::from(v) * 3), n).unwrap();
        let flat = run_operation(
            input.clone(),
            |s| s.flat_map_values(|v| (0..v.rem_euclid(3)).map(move |i| v + i)),
            n,
        ).unwrap();
        let padded = padded(&input, n);
        let mapped_model: Batches<(u8, i64)> = padded
            .iter()
            .map(|b| b.iter().map(|&(k, v)| (k, i64::from(v) * 3)).collect())
            .collect();
        let flat_model: Batches<(u8, i32)> = padded
            .iter()
            .map(|b| {
                b.iter()
                    .flat_map(|&(k, v)| (0..v.rem_euclid(3)).map(move |i| (k, v + i)))
                    .collect()
            })
            .collect();
        prop_assert_eq!(mapped, mapped_model);
        prop_assert_eq!(flat, flat_model);
    }

    #[test]
    fn prop_combine_by_key((input, extra) in key_batches(), parts in prop::option::of(1usize..5)) {
        let n = input.len() + extra;
        // (min, max, count) per key: merge order does not matter.
        let out = run_operation(
            input.clone(),
            move |s| s.combine_by_key(
                |v| (v, v, 1u32),
                |(lo, hi, c), v| (lo.min(v), hi.max(v), c + 1),
                |(l1, h1, c1), (l2, h2, c2)| (l1.min(l2), h1.max(h2), c1 + c2),
                parts,
            ).glom(),
            n,
        ).unwrap();
        let model: Batches<(u8, (i32, i32, u32))> = padded(&input, n)
            .iter()
            .map(|b| {
                model_group(b)
                    .into_iter()
                    .map(|(k, vs)| (k, (vs[0], vs[vs.len() - 1], vs.len() as u32)))
                    .collect()
            })
            .collect();
        for batch in &out {
            prop_assert_eq!(batch.len(), parts.unwrap_or(2));
        }
        let out: Batches<(u8, (i32, i32, u32))> = out.into_iter().map(|b| b.concat()).collect();
        prop_assert_eq!(sorted_batches(out), model);
    }

    #[test]
    fn prop_joins((l, extra) in key_batches(), (r, _) in key_batches()) {
        let n = l.len().max(r.len()) + extra;
        let full = run_operation2(l.clone(), r.clone(), |a, b| a.full_outer_join(&b), n).unwrap();
        let inner = run_operation2(l.clone(), r.clone(), |a, b| a.join(&b), n).unwrap();
        let left = run_operation2(l.clone(), r.clone(), |a, b| a.left_outer_join(&b), n).unwrap();
        let right = run_operation2(l.clone(), r.clone(), |a, b| a.right_outer_join(&b), n).unwrap();
        let models: Vec<Vec<JoinRow>> = padded(&l, n)
            .iter()
            .zip(padded(&r, n).iter())
            .map(|(a, b)| model_full_join(a, b))
            .collect();
        prop_assert_eq!(sorted_batches(full), models.clone());
        let inner_model: Batches<(u8, (i32, i32))> = models
            .iter()
            .map(|b| b.iter().filter_map(|&(k, (a, b))| Some((k, (a?, b?)))).collect())
            .collect();
        let left_model: Batches<(u8, (i32, Option<i32>))> = models
            .iter()
            .map(|b| b.iter().filter_map(|&(k, (a, b))| Some((k, (a?, b)))).collect())
            .collect();
        let right_model: Batches<(u8, (Option<i32>, i32))> = models
            .iter()
            .map(|b| b.iter().filter_map(|&(k, (a, b))| Some((k, (a, b?)))).collect())
            .collect();
        prop_assert_eq!(sorted_batches(inner), inner_model);
        prop_assert_eq!(sorted_batches(left), left_model);
        prop_assert_eq!(sorted_batches(right), right_model);
    }

    #[test]
    fn prop_cogroup((l, extra) in key_batches(), (r, _) in key_batches()) {
        let n = l.len().max(r.len()) + extra;
        let out = run_operation2(l.clone(), r.clone(), |a, b| a.cogroup(&b), n).unwrap();
        let model: CoGroups<u8, i32, i32> = padded(&l, n)
            .iter()
            .zip(padded(&r, n).iter())
            .map(|(a, b)| {
                let (ga, gb) = (model_group(a), model_group(b));
                let keys: BTreeSet<u8> = ga.keys().chain(gb.keys()).copied().collect();
                keys.into_iter()
                    .map(|k| (k, (ga.get(&k).cloned().unwrap_or_default(), gb.get(&k).cloned().unwrap_or_default())))
                    .collect()
            })
            .collect();
        prop_assert_eq!(sorted_cogroups(out), model);
    }

    #[test]
    fn prop_transform_and_transform_with((a, extra) in batches(), (b, _) in batches()) {
        let n = a.len().max(b.len()) + extra;
        let out = run_operation(
            a.clone(),
            |s| s.transform(|rdd, time| {
                let ms = time.milliseconds() as i64;
                rdd.map(move |x| i64::from(x) + ms)
            }),
            n,
        ).unwrap();
        let model: Vec<Vec<i64>> = padded(&a, n)
            .iter()
            .enumerate()
            .map(|(i, batch)| batch.iter().map(|&x| i64::from(x) + 1000 * (i as i64 + 1)).collect())
            .collect();
        prop_assert_eq!(out, model);
        let out = run_operation2(
            a.clone(),
            b.clone(),
            |x, y| x.transform_with(&y, |p, q, _| p.union(&q.map(|v| v * 2))),
            n,
        ).unwrap();
        let model: Vec<Vec<i32>> = padded(&a, n)
            .into_iter()
            .zip(padded(&b, n))
            .map(|(p, q)| p.into_iter().chain(q.into_iter().map(|v| v * 2)).collect())
            .collect();
        prop_assert_eq!(out, model);
    }
}
