//! Key-value shuffles: `combine_by_key`, `reduce_by_key[_with_partitions]`,
//! `fold_by_key`, `aggregate_by_key`, `group_by_key[_with_partitions]`,
//! `partition_by`, `distinct` and `repartition`. A shuffle's output order
//! is unspecified, so results are sorted before they are compared; the
//! partition a key lands in is checked against the partitioner.

mod common;

use std::sync::Arc;

use common::{normalize_groups, sorted};
use ember_rdd::{Dependency, HashPartitioner, JobError, Partitioner, Rdd, RddContext};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// `pairs` with owned keys: RDD elements must be owned (serializable).
fn owned<V>(pairs: Vec<(&str, V)>) -> Vec<(String, V)> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Owned copies of `words`.
fn strs(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn words(ctx: &RddContext) -> Rdd<(String, u32)> {
    ctx.parallelize(
        owned(vec![
            ("spark", 1),
            ("rust", 1),
            ("spark", 1),
            ("ember", 1),
            ("rust", 1),
            ("spark", 1),
        ]),
        3,
    )
}

/// 1,000 records of which 990 have the key `"hot"`.
fn skewed(ctx: &RddContext) -> Rdd<(String, u64)> {
    let data: Vec<(String, u64)> = (0..1000u64)
        .map(|i| {
            let key = if i % 100 < 99 {
                "hot".to_owned()
            } else {
                format!("cold{i}")
            };
            (key, i)
        })
        .collect();
    ctx.parallelize(data, 4)
}

#[test]
fn reduce_by_key_sums_per_key() {
    let ctx = ctx();
    let counts = words(&ctx).reduce_by_key(|a, b| a + b);
    assert_eq!(counts.num_partitions(), 3, "defaults to the parent's count");
    assert_eq!(
        sorted(counts.collect().unwrap()),
        owned(vec![("ember", 1), ("rust", 2), ("spark", 3)])
    );
    assert!(matches!(
        &counts.dependencies()[..],
        [Dependency::Shuffle(_)]
    ));
}

#[test]
fn reduce_by_key_places_each_key_by_its_hash() {
    let ctx = ctx();
    let counts = words(&ctx).reduce_by_key_with_partitions(|a, b| a + b, 5);
    assert_eq!(counts.num_partitions(), 5);
    let p = HashPartitioner::new(5);
    let parts = counts.glom().collect().unwrap();
    for (index, part) in parts.iter().enumerate() {
        for (k, _) in part {
            assert_eq!(p.partition(k), index, "{k} is in the wrong partition");
        }
    }
    let all: Vec<_> = parts.into_iter().flatten().collect();
    assert_eq!(
        sorted(all),
        owned(vec![("ember", 1), ("rust", 2), ("spark", 3)])
    );
}

#[test]
fn reduce_by_key_with_one_partition_and_with_more_partitions_than_keys() {
    let ctx = ctx();
    let one = ctx.parallelize(vec![(1, 10), (2, 20), (1, 1)], 1);
    assert_eq!(
        sorted(one.reduce_by_key(|a, b| a + b).collect().unwrap()),
        vec![(1, 11), (2, 20)]
    );
    let many = one.reduce_by_key_with_partitions(|a, b| a + b, 16);
    assert_eq!(many.num_partitions(), 16);
    assert_eq!(sorted(many.collect().unwrap()), vec![(1, 11), (2, 20)]);
    let sparse = ctx.parallelize(vec![(7, 1)], 6).reduce_by_key(|a, b| a + b);
    assert_eq!(sparse.collect().unwrap(), vec![(7, 1)]);
}

#[test]
fn reduce_by_key_applies_a_non_commutative_but_associative_function() {
    // String concatenation of single letters per key: the multiset of letters
    // is fixed whatever the merge order.
    let ctx = ctx();
    let pairs = ctx.parallelize(
        vec![(1, "a"), (2, "b"), (1, "c"), (1, "d"), (2, "e")]
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect(),
        3,
    );
    let joined = pairs.reduce_by_key(|a, b| a + &b).collect().unwrap();
    let normalized: Vec<(i32, Vec<char>)> = joined
        .into_iter()
        .map(|(k, s)| (k, sorted(s.chars().collect())))
        .collect();
    assert_eq!(
        sorted(normalized),
        vec![(1, vec!['a', 'c', 'd']), (2, vec!['b', 'e'])]
    );
}

#[test]
fn reduce_by_key_with_key_skew() {
    let ctx = ctx();
    let sums = sorted(skewed(&ctx).reduce_by_key(|a, b| a + b).collect().unwrap());
    let hot: u64 = (0..1000u64).filter(|i| i % 100 < 99).sum();
    let mut expected = vec![("hot".to_owned(), hot)];
    expected.extend((0..10u64).map(|j| (format!("cold{}", j * 100 + 99), j * 100 + 99)));
    assert_eq!(sums, sorted(expected));
}

#[test]
fn combine_by_key_builds_per_key_combiners() {
    let ctx = ctx();
    let scores = ctx.parallelize(
        owned(vec![
            ("a", 3.0),
            ("b", 4.0),
            ("a", 5.0),
            ("c", 1.0),
            ("a", 1.0),
        ]),
        2,
    );
    let combined = scores.combine_by_key(
        |v| (v, 1u32),
        |(sum, n), v| (sum + v, n + 1),
        |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
        Some(3),
    );
    assert_eq!(combined.num_partitions(), 3);
    let mut averages: Vec<(String, f64)> = combined
        .map_values(|(sum, n)| sum / f64::from(n))
        .collect()
        .unwrap();
    averages.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(averages, owned(vec![("a", 3.0), ("b", 4.0), ("c", 1.0)]));
    let default = scores.combine_by_key(
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
    );
    assert_eq!(default.num_partitions(), 2);
    assert_eq!(default.count().unwrap(), 3);
}

#[test]
fn fold_by_key_starts_from_zero_once_per_key_and_map_partition() {
    let ctx = ctx();
    let pairs = ctx.from_partitions(vec![
        owned(vec![("a", 1), ("a", 2)]),
        owned(vec![("a", 3), ("b", 4)]),
    ]);
    // As in Spark: a = (10 + 1 + 2) + (10 + 3), b = 10 + 4.
    assert_eq!(
        sorted(pairs.fold_by_key(10, |x, y| x + y).collect().unwrap()),
        owned(vec![("a", 26), ("b", 14)])
    );
    // With a neutral zero it is a plain per-key fold.
    assert_eq!(
        sorted(pairs.fold_by_key(0, |x, y| x + y).collect().unwrap()),
        owned(vec![("a", 6), ("b", 4)])
    );
    assert_eq!(pairs.fold_by_key(0, |x, y| x + y).num_partitions(), 2);
}

#[test]
fn aggregate_by_key_seqs_per_partition_and_combines_across() {
    let ctx = ctx();
    let pairs = ctx.from_partitions(vec![
        owned(vec![("a", 1), ("a", 5)]),
        owned(vec![("a", 3), ("b", 4)]),
        owned(vec![("b", 2)]),
    ]);
    // Spark's classic: max per partition, summed across partitions.
    let max_sums = pairs.aggregate_by_key(0, |acc, v| acc.max(v), |x, y| x + y);
    assert_eq!(
        sorted(max_sums.collect().unwrap()),
        owned(vec![("a", 5 + 3), ("b", 4 + 2)])
    );
    let lists = pairs.aggregate_by_key(
        Vec::new(),
        |mut acc, v| {
            acc.push(v);
            acc
        },
        |mut x, y| {
            x.extend(y);
            x
        },
    );
    assert_eq!(
        normalize_groups(lists.collect().unwrap()),
        owned(vec![("a", vec![1, 3, 5]), ("b", vec![2, 4])])
    );
}

#[test]
fn group_by_key_collects_every_value() {
    let ctx = ctx();
    let groups = words(&ctx)
        .map_values(|_| ())
        .keys()
        .key_by(|w| w.len())
        .group_by_key();
    assert_eq!(groups.num_partitions(), 3);
    assert_eq!(
        normalize_groups(groups.collect().unwrap()),
        vec![
            (4, strs(&["rust", "rust"])),
            (5, strs(&["ember", "spark", "spark", "spark"]))
        ]
    );
    let four = words(&ctx).group_by_key_with_partitions(4);
    assert_eq!(four.num_partitions(), 4);
    assert_eq!(
        normalize_groups(four.collect().unwrap()),
        owned(vec![
            ("ember", vec![1]),
            ("rust", vec![1, 1]),
            ("spark", vec![1, 1, 1])
        ])
    );
}

#[test]
fn group_by_key_with_key_skew() {
    let ctx = ctx();
    let groups = normalize_groups(
        skewed(&ctx)
            .group_by_key_with_partitions(3)
            .collect()
            .unwrap(),
    );
    assert_eq!(groups.len(), 11);
    let hot = groups.iter().find(|(k, _)| k == "hot").unwrap();
    assert_eq!(
        hot.1,
        (0..1000u64).filter(|i| i % 100 < 99).collect::<Vec<_>>()
    );
    assert!(
        groups
            .iter()
            .filter(|(k, _)| k != "hot")
            .all(|(_, vs)| vs.len() == 1)
    );
}

#[test]
fn partition_by_moves_every_record_to_its_keys_partition() {
    let ctx = ctx();
    let data: Vec<(u32, char)> = (0..50u32)
        .map(|i| (i % 7, char::from(b'a' + (i % 26) as u8)))
        .collect();
    let rdd = ctx.parallelize(data.clone(), 4);
    let p = HashPartitioner::new(3);
    let parts = rdd.partition_by(Arc::new(p)).glom().collect().unwrap();
    assert_eq!(parts.len(), 3);
    for (index, part) in parts.iter().enumerate() {
        assert!(part.iter().all(|(k, _)| p.partition(k) == index));
    }
    assert_eq!(sorted(parts.concat()), sorted(data));
}

/// Even keys to partition 0, odd keys to partition 1.
struct Parity;

impl Partitioner<u32> for Parity {
    fn num_partitions(&self) -> usize {
        2
    }
    fn partition(&self, key: &u32) -> usize {
        (*key % 2) as usize
    }
}

#[test]
fn partition_by_with_a_custom_partitioner() {
    let ctx = ctx();
    let rdd = ctx.parallelize((0..10u32).map(|i| (i, i * i)).collect(), 3);
    let parts = rdd.partition_by(Arc::new(Parity)).glom().collect().unwrap();
    assert_eq!(
        sorted(parts[0].clone()),
        vec![(0, 0), (2, 4), (4, 16), (6, 36), (8, 64)]
    );
    assert_eq!(
        sorted(parts[1].clone()),
        vec![(1, 1), (3, 9), (5, 25), (7, 49), (9, 81)]
    );
}

#[test]
fn distinct_removes_duplicates() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![3, 1, 3, 2, 1, 3, 3], 3);
    assert_eq!(sorted(rdd.distinct().collect().unwrap()), vec![1, 2, 3]);
    assert_eq!(rdd.distinct().num_partitions(), 3);
    let words = ctx.parallelize(vec!["b".to_owned(), "a".to_owned(), "b".to_owned()], 1);
    assert_eq!(sorted(words.distinct().collect().unwrap()), vec!["a", "b"]);
    let same = ctx.parallelize(vec![7; 500], 4);
    assert_eq!(same.distinct().collect().unwrap(), vec![7]);
}

#[test]
fn repartition_deals_records_out_evenly() {
    let ctx = ctx();
    let rdd = ctx.parallelize((0..10).collect::<Vec<i32>>(), 1);
    let three = rdd.repartition(3);
    assert_eq!(three.num_partitions(), 3);
    let parts = three.glom().collect().unwrap();
    assert_eq!(
        parts.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4, 3, 3]
    );
    assert_eq!(sorted(parts.concat()), (0..10).collect::<Vec<_>>());
    assert!(matches!(
        &three.dependencies()[..],
        [Dependency::OneToOne(_)]
    ));
}

#[test]
fn repartition_grows_shrinks_and_handles_edge_counts() {
    let ctx = ctx();
    let rdd = ctx.parallelize((0..100).collect::<Vec<i32>>(), 7);
    for n in [1, 2, 7, 13] {
        let r = rdd.repartition(n);
        assert_eq!(r.num_partitions(), n);
        let parts = r.glom().collect().unwrap();
        assert_eq!(parts.len(), n);
        let (min, max) = (
            parts.iter().map(Vec::len).min().unwrap(),
            parts.iter().map(Vec::len).max().unwrap(),
        );
        assert!(max - min <= 7, "{n} partitions: sizes {min}..={max}");
        assert_eq!(sorted(parts.concat()), (0..100).collect::<Vec<_>>());
    }
    assert_eq!(rdd.repartition(0).num_partitions(), 1);
    let few = ctx.parallelize(vec!['a', 'b'], 1).repartition(5);
    assert_eq!(few.num_partitions(), 5);
    assert_eq!(sorted(few.collect().unwrap()), vec!['a', 'b']);
}

#[test]
fn every_shuffle_on_empty_inputs() {
    let ctx = ctx();
    for rdd in [ctx.empty::<(u8, i32)>(), ctx.parallelize(vec![], 3)] {
        let none = Vec::<(u8, i32)>::new();
        assert_eq!(rdd.reduce_by_key(|a, b| a + b).collect().unwrap(), none);
        assert_eq!(
            rdd.reduce_by_key_with_partitions(|a, b| a + b, 4)
                .num_partitions(),
            4
        );
        assert_eq!(
            rdd.reduce_by_key_with_partitions(|a, b| a + b, 4)
                .collect()
                .unwrap(),
            none
        );
        assert_eq!(rdd.fold_by_key(0, |a, b| a + b).collect().unwrap(), none);
        assert_eq!(
            rdd.aggregate_by_key(0, |a, b| a + b, |a, b| a + b)
                .collect()
                .unwrap(),
            none
        );
        assert_eq!(
            rdd.combine_by_key(|v| v, |a, b| a + b, |a, b| a + b, Some(2))
                .collect()
                .unwrap(),
            none
        );
        assert_eq!(rdd.group_by_key().count().unwrap(), 0);
        assert_eq!(rdd.group_by_key_with_partitions(2).count().unwrap(), 0);
        assert_eq!(
            rdd.partition_by(Arc::new(HashPartitioner::new(2)))
                .collect()
                .unwrap(),
            none
        );
        assert_eq!(rdd.distinct().collect().unwrap(), none);
        let r = rdd.repartition(3);
        assert_eq!(r.num_partitions(), 3);
        assert_eq!(r.collect().unwrap(), none);
    }
}

/// A buggy partitioner: key 7 goes to partition 5 of 2.
struct OutOfRange;

impl Partitioner<u32> for OutOfRange {
    fn num_partitions(&self) -> usize {
        2
    }
    fn partition(&self, key: &u32) -> usize {
        if *key == 7 { 5 } else { (*key % 2) as usize }
    }
}

fn assert_out_of_range(result: Result<Vec<(u32, u32)>, JobError>) {
    match result {
        Err(JobError::PartitionOutOfRange {
            partitioner,
            index,
            partitions,
        }) => {
            assert!(partitioner.ends_with("OutOfRange"), "{partitioner}");
            assert_eq!((index, partitions), (5, 2));
        }
        other => panic!("expected PartitionOutOfRange, got {other:?}"),
    }
}

#[test]
fn an_out_of_range_partition_fails_a_combining_shuffle() {
    let ctx = ctx();
    let rdd = ctx.parallelize((0..10u32).map(|i| (i, 1)).collect(), 3);
    let reduced = rdd.reduce_by_key_with_partitioner(|a, b| a + b, Arc::new(OutOfRange));
    assert_out_of_range(reduced.collect());
}

#[test]
fn an_out_of_range_partition_fails_a_plain_shuffle() {
    let ctx = ctx();
    let rdd = ctx.parallelize((0..10u32).map(|i| (i, i)).collect(), 3);
    assert_out_of_range(rdd.partition_by(Arc::new(OutOfRange)).collect());
}
