//! `sort_by_key` and `sort_by`: a total order across and within
//! partitions, so results are compared exactly; records with equal keys
//! keep their input order.

use ember_rdd::{Rdd, RddContext};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// Owned copies of `words`: RDD elements must be owned (serializable).
fn strs(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Checks that the partitions are each sorted and ordered among themselves.
fn assert_range_partitioned<K: Ord + std::fmt::Debug, V>(parts: &[Vec<(K, V)>], ascending: bool) {
    let keys: Vec<&K> = parts.iter().flatten().map(|(k, _)| k).collect();
    let ordered = keys.windows(2).all(|w| {
        if ascending {
            w[0] <= w[1]
        } else {
            w[0] >= w[1]
        }
    });
    assert!(ordered, "keys out of order: {keys:?}");
}

#[test]
fn sort_by_key_ascending_and_descending() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![(5, 'e'), (1, 'a'), (4, 'd'), (2, 'b'), (3, 'c')], 2);
    let up = rdd.sort_by_key(true);
    assert_eq!(up.num_partitions(), 2);
    assert_eq!(
        up.collect().unwrap(),
        vec![(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')]
    );
    assert_range_partitioned(&up.glom().collect().unwrap(), true);
    let down = rdd.sort_by_key(false);
    assert_eq!(
        down.collect().unwrap(),
        vec![(5, 'e'), (4, 'd'), (3, 'c'), (2, 'b'), (1, 'a')]
    );
    assert_range_partitioned(&down.glom().collect().unwrap(), false);
}

#[test]
fn sort_by_key_is_stable_for_equal_keys() {
    let ctx = ctx();
    let data: Vec<(u8, usize)> = (0..200).map(|i| ((i * 7 % 5) as u8, i)).collect();
    for ascending in [true, false] {
        for partitions in [1, 3, 8] {
            let sorted = ctx
                .parallelize(data.clone(), partitions)
                .sort_by_key(ascending);
            let mut expected = data.clone();
            if ascending {
                expected.sort_by_key(|(k, _)| *k);
            } else {
                expected.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
            }
            assert_eq!(
                sorted.collect().unwrap(),
                expected,
                "ascending {ascending}, {partitions} partitions"
            );
        }
    }
}

#[test]
fn sort_by_key_spreads_distinct_keys_over_every_partition() {
    let ctx = ctx();
    // 10,000 distinct keys in a scrambled order over 4 partitions.
    let data: Vec<(u64, ())> = (0..10_000u64).map(|i| ((i * 7919) % 10_000, ())).collect();
    let sorted = ctx.parallelize(data, 4).sort_by_key(true);
    let parts = sorted.glom().collect().unwrap();
    assert_eq!(parts.len(), 4);
    assert_range_partitioned(&parts, true);
    for part in &parts {
        assert!(
            (1000..=4000).contains(&part.len()),
            "range partitions are roughly balanced: {:?}",
            parts.iter().map(Vec::len).collect::<Vec<_>>()
        );
    }
    let keys: Vec<u64> = parts.into_iter().flatten().map(|(k, ())| k).collect();
    assert_eq!(keys, (0..10_000).collect::<Vec<_>>());
}

#[test]
fn sort_by_key_with_key_skew() {
    let ctx = ctx();
    let mut data: Vec<(u32, u32)> = (0..500).map(|i| (50, i)).collect();
    data.extend([(7, 0), (99, 0), (1, 0), (50, 1000), (2, 0)]);
    let sorted = ctx.parallelize(data.clone(), 5).sort_by_key(true);
    assert_eq!(sorted.num_partitions(), 5);
    let mut expected = data.clone();
    expected.sort_by_key(|(k, _)| *k);
    assert_eq!(sorted.collect().unwrap(), expected);
    let parts = sorted.glom().collect().unwrap();
    let hot: Vec<usize> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.iter().any(|(k, _)| *k == 50))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hot.len(), 1, "one key never spans partitions");
}

#[test]
fn sort_by_key_of_strings() {
    let ctx = ctx();
    let words = ctx.parallelize(
        ["pear", "apple", "fig", "banana", "cherry", "date"]
            .map(|w| (w.to_owned(), w.len()))
            .to_vec(),
        3,
    );
    let keys: Vec<String> = words.sort_by_key(true).keys().collect().unwrap();
    assert_eq!(keys, ["apple", "banana", "cherry", "date", "fig", "pear"]);
    let keys: Vec<String> = words.sort_by_key(false).keys().collect().unwrap();
    assert_eq!(keys, ["pear", "fig", "date", "cherry", "banana", "apple"]);
}

#[test]
fn sort_by_key_on_edge_inputs() {
    let ctx = ctx();
    let one = ctx
        .parallelize(vec![(2, 'b'), (1, 'a')], 1)
        .sort_by_key(true);
    assert_eq!(one.num_partitions(), 1);
    assert_eq!(one.collect().unwrap(), vec![(1, 'a'), (2, 'b')]);
    let sparse = ctx.parallelize(vec![(2, 'b'), (3, 'c'), (1, 'a')], 7);
    assert_eq!(sparse.sort_by_key(true).num_partitions(), 7);
    assert_eq!(
        sparse.sort_by_key(true).collect().unwrap(),
        vec![(1, 'a'), (2, 'b'), (3, 'c')]
    );
    assert_eq!(
        sparse.sort_by_key(false).collect().unwrap(),
        vec![(3, 'c'), (2, 'b'), (1, 'a')]
    );
    let all_same = ctx.parallelize(vec![(4, 'x'); 30], 3).sort_by_key(false);
    assert_eq!(all_same.collect().unwrap(), vec![(4, 'x'); 30]);
    let empty: Rdd<(i32, i32)> = ctx.empty();
    assert_eq!(empty.sort_by_key(true).collect().unwrap(), vec![]);
    let blank = ctx
        .parallelize(Vec::<(i32, i32)>::new(), 3)
        .sort_by_key(false);
    assert_eq!(blank.num_partitions(), 3);
    assert_eq!(blank.collect().unwrap(), vec![]);
}

#[test]
fn sort_by_computes_the_key_of_each_element() {
    let ctx = ctx();
    let words = ctx.parallelize(strs(&["ccc", "a", "bb", "dddd", "ee"]), 2);
    assert_eq!(
        words.sort_by(|w| w.len(), true).collect().unwrap(),
        vec!["a", "bb", "ee", "ccc", "dddd"]
    );
    assert_eq!(
        words.sort_by(|w| w.len(), false).collect().unwrap(),
        vec!["dddd", "ccc", "bb", "ee", "a"]
    );
    let numbers = ctx.parallelize((0..50).collect::<Vec<i32>>(), 4);
    let by_last_digit = numbers.sort_by(|x| x % 10, true).collect().unwrap();
    let mut expected: Vec<i32> = (0..50).collect();
    expected.sort_by_key(|x| x % 10);
    assert_eq!(by_last_digit, expected);
}

#[test]
fn a_sorted_rdd_can_be_used_again() {
    let ctx = ctx();
    let sorted = ctx
        .parallelize(vec![(3, ()), (1, ()), (2, ())], 2)
        .sort_by_key(true);
    let first = sorted.keys().collect().unwrap();
    let second = sorted.keys().collect().unwrap();
    assert_eq!(first, vec![1, 2, 3]);
    assert_eq!(first, second);
    assert_eq!(sorted.take(2).unwrap(), vec![(1, ()), (2, ())]);
    assert_eq!(sorted.first().unwrap(), Some((1, ())));
}
