//! Equivalence: every pipeline written with `stream!` gives the same batches
//! as the same pipeline written with the plain DStream API, over random
//! inputs, through the deterministic batch harness (sorted where the order
//! within a batch is unspecified). Where a test takes a partition count, the
//! input is repartitioned to it before either pipeline reads it.

use ember_dstream::testing::{run_operation, run_operation2};
use ember_dstream::{DStream, Duration, StreamResult, UpdateStateOptions};
use ember_macros::stream;
use proptest::prelude::*;

stream! {
    /// map → filter → flat_map → map → filter, all fused into one loop.
    fn narrow(xs: DStream<i64>) -> DStream<u64> {
        xs.map(|x| x * 3)
            .filter(|x| x % 2 == 0)
            .flat_map(|x| [x, x + 1])
            .map(|x| x.unsigned_abs())
            .filter(|x| *x != 7)
    }

    /// A flat_map parameter named like a value a later closure uses: the
    /// later closure still sees the value, as in the library API.
    fn shadowing(xs: DStream<i64>) -> DStream<i64> {
        let k = 10;
        xs.flat_map(|k| [k, k + 1]).map(move |x| x * k).reduce(move |a, b| a + b + k - k)
    }

    /// The issue's word count: closures borrow from the element.
    fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// The issue's second pipeline, calling the first.
    fn trending(lines: DStream<String>) -> DStream<(String, u64)> {
        word_count(lines).reduce_by_key_and_window(
            |a, b| a + b,
            Duration::from_secs(3),
            Duration::from_secs(1),
        )
    }

    fn trending_inv(lines: DStream<String>) -> DStream<(String, u64)> {
        word_count(lines).reduce_by_key_and_window_inv(
            |a, b| a + b,
            |a, b| a - b,
            Duration::from_secs(3),
            Duration::from_secs(1),
            None,
        )
    }

    fn running_totals(lines: DStream<String>) -> DStream<(String, u64)> {
        word_count(lines).update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
    }

    /// Deferred key construction on `String` elements (`to_owned` through
    /// auto-ref).
    fn owned_words(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// Deferred key construction on a temporary `&[u8]` (key `Vec<u8>`).
    fn byte_words(lines: DStream<String>) -> DStream<(Vec<u8>, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .map(|w| (w.as_bytes().to_owned(), 2u64))
            .reduce_by_key(|a, b| a.wrapping_mul(b))
    }

    /// Deferred key construction on a `Clone` type (`i64::to_owned`).
    fn copied_keys(xs: DStream<i64>) -> DStream<(i64, i64)> {
        xs.map(|x| x % 7).map(|x| (x.to_owned(), 1i64)).reduce_by_key(|a, b| a + b)
    }

    /// The value uses the key's receiver: the key is built eagerly.
    fn eager_words(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .map(|w| (w.to_owned(), w.len() as u64 + 1))
            .reduce_by_key(|a, b| a.max(b))
    }

    fn counted(xs: DStream<i64>) -> DStream<u64> {
        xs.filter(|x| *x > 0).count()
    }

    fn summed(xs: DStream<i64>) -> DStream<i64> {
        xs.map(|x| x % 1000).reduce(|a, b| a + b)
    }

    fn by_value(xs: DStream<i64>) -> DStream<(i64, u64)> {
        xs.map(|x| x % 5).count_by_value()
    }

    fn joined(a: DStream<i64>, b: DStream<i64>) -> DStream<(i64, (i64, i64))> {
        let left = a.map(|x| (x % 4, x));
        left.join(b.filter(|y| y % 3 != 0).map(|y| (y % 4, y * 10)))
    }

    fn unioned(a: DStream<i64>, b: DStream<i64>) -> DStream<i64> {
        a.map(|x| x + 1).union(b.flat_map(|y| [y; 2])).filter(|z| z % 2 == 0)
    }

    /// `map_values` and `flat_map_values` fused with a filter and the
    /// map-side combine; the `flat_map_values` closure borrows from the value.
    fn value_words(lines: DStream<String>) -> DStream<(usize, u64)> {
        lines
            .map(|l| (l.len() % 4, l))
            .flat_map_values(|l| l.split(' '))
            .filter(|(_, w)| !w.is_empty())
            .map_values(|w| w.len() as u64)
            .reduce_by_key(|a, b| a + b)
    }

    /// The value operators after a shuffle: one loop, keys (and the batch's
    /// partitioner) kept.
    fn values_after_shuffle(xs: DStream<i64>) -> DStream<(i64, i64)> {
        xs.map(|x| (x % 5, x))
            .reduce_by_key(|a, b| a + b)
            .map_values(|v| v * 2)
            .filter(|(_, v)| *v != 0)
            .flat_map_values(|v| [v, -v, v + 1])
    }

    fn combined(xs: DStream<i64>) -> DStream<(i64, (i64, u64))> {
        xs.map(|x| (x % 6, x)).combine_by_key(
            |v| (v, 1u64),
            |(sum, n), v| (sum + v, n + 1),
            |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
            Some(3),
        )
    }

    /// `combine_by_key` on borrowed words: the key is built once per new
    /// key, the combiner by the inlined `create`, values added by the
    /// inlined `merge_value` (whose pattern destructures the combiner).
    fn word_stats(lines: DStream<String>) -> DStream<(String, (u64, u32))> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .combine_by_key(
                |v| (v, 1u32),
                |(sum, n), v| (sum + v, n + 1),
                |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
                Some(2),
            )
    }

    /// `combine_by_key` whose functions are paths and whose key is built
    /// eagerly (the value uses the word).
    fn word_lengths(lines: DStream<String>) -> DStream<(String, Vec<usize>)> {
        lines
            .flat_map(|line| line.split(' '))
            .map(|w| (w.to_owned(), w.len()))
            .combine_by_key(one, push, concat, None)
    }

    fn combined_default(xs: DStream<i64>) -> DStream<(i64, Vec<i64>)> {
        xs.map(|x| (x % 4, x))
            .combine_by_key(
                |v| vec![v],
                |mut c, v| {
                    c.push(v);
                    c
                },
                |mut a, b| {
                    a.extend(b);
                    a
                },
                None,
            )
            .map_values(|mut vs| {
                vs.sort();
                vs
            })
    }

    fn grouped_windows(xs: DStream<i64>) -> DStream<(i64, Vec<i64>)> {
        xs.map(|x| (x % 3, x))
            .group_by_key_and_window(Duration::from_secs(3), Duration::from_secs(1))
            .map_values(|mut vs| {
                vs.sort();
                vs
            })
    }

    fn grouped_windows_sliding(xs: DStream<i64>) -> DStream<(i64, Vec<i64>)> {
        xs.map(|x| (x % 3, x))
            .group_by_key_and_window(Duration::from_secs(4), Duration::from_secs(2))
            .map_values(|mut vs| {
                vs.sort();
                vs
            })
    }

    fn incremental_sums(xs: DStream<i64>) -> DStream<i64> {
        xs.map(|x| x % 100).reduce_by_window_inv(
            |a, b| a + b,
            |a, b| a - b,
            Duration::from_secs(3),
            Duration::from_secs(1),
        )
    }

    fn running_from_initial(lines: DStream<String>) -> DStream<(String, u64)> {
        let initial = DStream::rdd_context(&lines)
            .parallelize(vec![("a".to_owned(), 10u64), ("z".to_owned(), 5)], 2);
        word_count(lines).update_state_by_key_with(
            |new: &[u64], old: Option<u64>| {
                let total = old.unwrap_or(0) + new.iter().sum::<u64>();
                (total < 40).then_some(total)
            },
            UpdateStateOptions {
                num_partitions: Some(3),
                initial_state: Some(initial), partitioner: None,
            },
        )
    }
}

fn one(v: usize) -> Vec<usize> {
    vec![v]
}

fn push(mut c: Vec<usize>, v: usize) -> Vec<usize> {
    c.push(v);
    c
}

fn concat(mut a: Vec<usize>, b: Vec<usize>) -> Vec<usize> {
    a.extend(b);
    a
}

fn plain_word_count(lines: DStream<String>) -> DStream<(String, u64)> {
    lines
        .flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
}

fn plain_values_after_shuffle(xs: DStream<i64>) -> DStream<(i64, i64)> {
    xs.map(|x| (x % 5, x))
        .reduce_by_key(|a, b| a + b)
        .map_values(|v| v * 2)
        .filter(|(_, v)| *v != 0)
        .flat_map_values(|v| [v, -v, v + 1])
}

/// Each element tagged with whether its batch kept a partitioner.
fn placed<K: ember_rdd::Data, V: ember_rdd::Data>(s: DStream<(K, V)>) -> DStream<(bool, (K, V))> {
    s.transform(|rdd, _| {
        let placed = rdd.partitioner().is_some();
        rdd.map(move |kv| (placed, kv))
    })
}

fn sorted<T: Ord>(batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches
        .into_iter()
        .map(|mut b| {
            b.sort();
            b
        })
        .collect()
}

/// Each partition of each batch sorted (the partitions stay in order).
fn sorted_partitions<T: Ord>(batches: Vec<Vec<Vec<T>>>) -> Vec<Vec<Vec<T>>> {
    batches.into_iter().map(sorted).collect()
}

fn lines() -> impl Strategy<Value = Vec<Vec<String>>> {
    let word = prop::sample::select(vec!["a", "b", "c", "dd", "", "e"]);
    let line = prop::collection::vec(word, 0..8).prop_map(|w| w.join(" "));
    prop::collection::vec(prop::collection::vec(line, 0..6), 0..4)
}

fn numbers() -> impl Strategy<Value = Vec<Vec<i64>>> {
    prop::collection::vec(prop::collection::vec(-50i64..50, 0..12), 0..4)
}

/// The partition count the input is repartitioned to.
fn partitions() -> impl Strategy<Value = usize> {
    1usize..5
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn narrow_chain(input in numbers()) {
        let fused = run_operation(input.clone(), narrow, 4).unwrap();
        let plain = run_operation(input, |xs| {
            xs.map(|x| x * 3)
                .filter(|x| x % 2 == 0)
                .flat_map(|x| [x, x + 1])
                .map(|x: i64| x.unsigned_abs())
                .filter(|x| *x != 7)
        }, 4).unwrap();
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn names_keep_their_meaning(input in numbers()) {
        let fused = run_operation(input.clone(), shadowing, 4).unwrap();
        let plain = run_operation(input, |xs| {
            let k = 10;
            xs.flat_map(|k| [k, k + 1]).map(move |x| x * k).reduce(move |a, b| a + b + k - k)
        }, 4).unwrap();
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn word_counts(input in lines()) {
        let fused = sorted(run_operation(input.clone(), word_count, 4).unwrap());
        let plain = sorted(run_operation(input, plain_word_count, 4).unwrap());
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn deferred_keys(input in lines(), numbers in numbers()) {
        let fused = sorted(run_operation(input.clone(), owned_words, 4).unwrap());
        let plain = sorted(run_operation(input.clone(), plain_word_count, 4).unwrap());
        prop_assert_eq!(fused, plain);
        let fused = sorted(run_operation(input.clone(), byte_words, 4).unwrap());
        let plain = sorted(run_operation(input.clone(), |l| {
            l.flat_map(|l: String| l.split(' ').map(|w| w.as_bytes().to_vec()).collect::<Vec<_>>())
                .map(|w| (w, 2u64))
                .reduce_by_key(|a, b| a.wrapping_mul(b))
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
        let fused = sorted(run_operation(input.clone(), eager_words, 4).unwrap());
        let plain = sorted(run_operation(input, |l| {
            l.flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .map(|w| { let n = w.len() as u64 + 1; (w, n) })
                .reduce_by_key(|a: u64, b| a.max(b))
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
        let fused = sorted(run_operation(numbers.clone(), copied_keys, 4).unwrap());
        let plain = sorted(run_operation(numbers, |xs| {
            xs.map(|x| (x % 7, 1i64)).reduce_by_key(|a, b| a + b)
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn windows(input in lines()) {
        let fused = sorted(run_operation(input.clone(), trending, 5).unwrap());
        let plain = sorted(run_operation(input.clone(), |l| {
            plain_word_count(l).reduce_by_key_and_window(|a, b| a + b, Duration::from_secs(3), Duration::from_secs(1))
        }, 5).unwrap());
        prop_assert_eq!(fused, plain);
        let fused = sorted(run_operation(input.clone(), trending_inv, 5).unwrap());
        let plain = sorted(run_operation(input, |l| -> StreamResult<(String, u64)> {
            plain_word_count(l).reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, Duration::from_secs(3), Duration::from_secs(1), None)
        }, 5).unwrap());
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn state(input in lines()) {
        let fused = sorted(run_operation(input.clone(), running_totals, 4).unwrap());
        let plain = sorted(run_operation(input, |l| {
            plain_word_count(l).update_state_by_key(|new: &[u64], old: Option<u64>| {
                Some(old.unwrap_or(0) + new.iter().sum::<u64>())
            })
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn aggregates(input in numbers()) {
        let fused = run_operation(input.clone(), counted, 4).unwrap();
        let plain = run_operation(input.clone(), |xs| xs.filter(|x| *x > 0).count(), 4).unwrap();
        prop_assert_eq!(fused, plain);
        let fused = run_operation(input.clone(), summed, 4).unwrap();
        let plain = run_operation(input.clone(), |xs| xs.map(|x| x % 1000).reduce(|a, b| a + b), 4).unwrap();
        prop_assert_eq!(fused, plain);
        let fused = sorted(run_operation(input.clone(), by_value, 4).unwrap());
        let plain = sorted(run_operation(input, |xs| xs.map(|x| x % 5).count_by_value(), 4).unwrap());
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn two_streams(a in numbers(), b in numbers()) {
        let fused = sorted(run_operation2(a.clone(), b.clone(), joined, 4).unwrap());
        let plain = sorted(run_operation2(a.clone(), b.clone(), |a, b| {
            a.map(|x| (x % 4, x)).join(&b.filter(|y| y % 3 != 0).map(|y| (y % 4, y * 10)))
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
        let fused = run_operation2(a.clone(), b.clone(), unioned, 4).unwrap();
        let plain = run_operation2(a, b, |a, b| -> StreamResult<i64> {
            Ok(a.map(|x| x + 1).union(&b.flat_map(|y| [y; 2]))?.filter(|z| z % 2 == 0))
        }, 4).unwrap();
        prop_assert_eq!(fused, plain);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn value_operators(input in lines(), numbers in numbers(), n in partitions()) {
        let fused = sorted(run_operation(input.clone(), |l| value_words(l.repartition(n)), 4).unwrap());
        let plain = sorted(run_operation(input, |l| {
            l.repartition(n)
                .map(|l| (l.len() % 4, l))
                .flat_map_values(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .filter(|(_, w)| !w.is_empty())
                .map_values(|w| w.len() as u64)
                .reduce_by_key(|a, b| a + b)
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
        // Same partitions, same order within each, and the partitioner kept.
        let fused = run_operation(numbers.clone(), |xs| placed(values_after_shuffle(xs.repartition(n))).glom(), 4).unwrap();
        let plain = run_operation(numbers, |xs| placed(plain_values_after_shuffle(xs.repartition(n))).glom(), 4).unwrap();
        prop_assert!(fused.iter().flatten().flatten().all(|(placed, _)| *placed));
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn combine_by_key(input in numbers(), n in partitions()) {
        let fused = run_operation(input.clone(), |xs| combined(xs.repartition(n)).glom(), 4).unwrap();
        let plain = run_operation(input.clone(), |xs| {
            xs.repartition(n)
                .map(|x| (x % 6, x))
                .combine_by_key(|v| (v, 1u64), |(sum, n), v| (sum + v, n + 1), |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2), Some(3))
                .glom()
        }, 4).unwrap();
        // Three partitions per batch, each key in the same one.
        prop_assert!(fused.iter().all(|batch| batch.len() == 3));
        prop_assert_eq!(sorted_partitions(fused), sorted_partitions(plain));
        let fused = sorted(run_operation(input.clone(), |xs| combined_default(xs.repartition(n)), 4).unwrap());
        let plain = sorted(run_operation(input, |xs| {
            xs.repartition(n)
                .map(|x| (x % 4, x))
                .combine_by_key(|v| vec![v], |mut c, v| { c.push(v); c }, |mut a, b| { a.extend(b); a }, None)
                .map_values(|mut vs: Vec<i64>| { vs.sort(); vs })
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn combine_by_key_on_borrowed_words(input in lines(), n in partitions()) {
        let fused = run_operation(input.clone(), |l| word_stats(l.repartition(n)).glom(), 4).unwrap();
        let plain = run_operation(input.clone(), |l| {
            l.repartition(n)
                .flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .filter(|w| !w.is_empty())
                .map(|w| (w, 1u64))
                .combine_by_key(|v| (v, 1u32), |(sum, n), v| (sum + v, n + 1), |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2), Some(2))
                .glom()
        }, 4).unwrap();
        // Two partitions per batch, each key in the same one.
        prop_assert!(fused.iter().all(|batch| batch.len() == 2));
        prop_assert_eq!(sorted_partitions(fused), sorted_partitions(plain));
        let sort_values = |batches: Vec<Vec<(String, Vec<usize>)>>| {
            sorted(batches.into_iter().map(|b| b.into_iter().map(|(k, mut v)| { v.sort(); (k, v) }).collect()).collect())
        };
        let fused = sort_values(run_operation(input.clone(), |l| word_lengths(l.repartition(n)), 4).unwrap());
        let plain = sort_values(run_operation(input, |l| {
            l.repartition(n)
                .flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .map(|w| { let len = w.len(); (w, len) })
                .combine_by_key(one, push, concat, None)
        }, 4).unwrap());
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn group_by_key_and_window(input in numbers(), n in partitions()) {
        let plain_grouped = |xs: DStream<i64>, w: u64, s: u64| -> StreamResult<(i64, Vec<i64>)> {
            Ok(xs.repartition(n)
                .map(|x| (x % 3, x))
                .group_by_key_and_window(Duration::from_secs(w), Duration::from_secs(s))?
                .map_values(|mut vs: Vec<i64>| { vs.sort(); vs }))
        };
        let fused = sorted(run_operation(input.clone(), |xs| grouped_windows(xs.repartition(n)), 6).unwrap());
        let plain = sorted(run_operation(input.clone(), |xs| plain_grouped(xs, 3, 1), 6).unwrap());
        prop_assert_eq!(fused.len(), 6);
        prop_assert_eq!(fused, plain);
        let fused = sorted(run_operation(input.clone(), |xs| grouped_windows_sliding(xs.repartition(n)), 6).unwrap());
        let plain = sorted(run_operation(input, |xs| plain_grouped(xs, 4, 2), 6).unwrap());
        prop_assert_eq!(fused.len(), 3);
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn reduce_by_window_inv(input in numbers(), n in partitions()) {
        let fused = run_operation(input.clone(), |xs| incremental_sums(xs.repartition(n)), 6).unwrap();
        let plain = run_operation(input, |xs| {
            xs.repartition(n)
                .map(|x| x % 100)
                .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, Duration::from_secs(3), Duration::from_secs(1))
        }, 6).unwrap();
        prop_assert_eq!(fused, plain);
    }

    #[test]
    fn update_state_by_key_with(input in lines(), n in partitions()) {
        let fused = run_operation(input.clone(), |l| running_from_initial(l.repartition(n)).glom(), 4).unwrap();
        let plain = run_operation(input, |l| {
            let initial = l.rdd_context().parallelize(vec![("a".to_owned(), 10u64), ("z".to_owned(), 5)], 2);
            plain_word_count(l.repartition(n))
                .update_state_by_key_with(
                    |new: &[u64], old: Option<u64>| {
                        let total = old.unwrap_or(0) + new.iter().sum::<u64>();
                        (total < 40).then_some(total)
                    },
                    UpdateStateOptions { num_partitions: Some(3), initial_state: Some(initial), partitioner: None },
                )
                .glom()
        }, 4).unwrap();
        // The state is kept in three partitions and starts from the initial one.
        prop_assert!(fused.iter().all(|batch| batch.len() == 3));
        prop_assert!(fused[0].iter().flatten().any(|(k, v)| k == "z" && *v == 5));
        prop_assert_eq!(sorted_partitions(fused), sorted_partitions(plain));
    }
}

#[test]
fn value_and_window_operators_give_the_expected_batches() {
    let input = vec![vec![1i64, 2, 4], vec![5], vec![]];
    let groups = sorted(run_operation(input.clone(), grouped_windows, 4).unwrap());
    assert_eq!(
        groups,
        vec![
            vec![(1, vec![1, 4]), (2, vec![2])],
            vec![(1, vec![1, 4]), (2, vec![2, 5])],
            vec![(1, vec![1, 4]), (2, vec![2, 5])],
            vec![(2, vec![5])],
        ]
    );
    let sums = run_operation(input.clone(), incremental_sums, 5).unwrap();
    assert_eq!(sums, vec![vec![7], vec![12], vec![12], vec![5], vec![0]]);
    let averages = sorted(run_operation(input, combined, 2).unwrap());
    assert_eq!(
        averages,
        vec![
            vec![(1, (1, 1)), (2, (2, 1)), (4, (4, 1))],
            vec![(5, (5, 1))]
        ]
    );
    let words = sorted(
        run_operation(
            vec![vec!["ab c".to_owned(), "dd".to_owned()]],
            value_words,
            1,
        )
        .unwrap(),
    );
    assert_eq!(words, vec![vec![(0, 3), (2, 2)]]);
}

#[test]
fn the_issue_example_runs() {
    let input = vec![vec!["a b a".to_string()], vec!["b".to_string()]];
    let counts = sorted(run_operation(input.clone(), word_count, 2).unwrap());
    assert_eq!(counts[0], vec![("a".to_string(), 2), ("b".to_string(), 1)]);
    let trend = sorted(run_operation(input, trending, 2).unwrap());
    assert_eq!(trend[1], vec![("a".to_string(), 2), ("b".to_string(), 2)]);
}
