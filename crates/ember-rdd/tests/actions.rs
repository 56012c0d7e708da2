//! Actions: `collect`, `collect_partitions`, `run_partitions`, `count`,
//! `reduce`, `fold`, `aggregate`, `take`, `first`, `foreach`,
//! `foreach_partition`, `count_by_value`, `count_by_key`, `collect_as_map`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ember_rdd::{Rdd, RddContext};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// An owned string: RDD elements must be owned (serializable).
fn s(text: &str) -> String {
    text.to_owned()
}

/// Owned copies of `words`.
fn strs(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| s(w)).collect()
}

/// 1..=10 in three partitions: [1,2,3] [4,5,6] [7,8,9,10].
fn ten(ctx: &RddContext) -> Rdd<i64> {
    ctx.parallelize((1..=10).collect(), 3)
}

/// Both kinds of empty RDD: no partitions, and three empty partitions.
fn empties(ctx: &RddContext) -> [Rdd<i64>; 2] {
    [ctx.empty(), ctx.parallelize(vec![], 3)]
}

#[test]
fn collect_and_collect_partitions_keep_partition_order() {
    let ctx = ctx();
    assert_eq!(ten(&ctx).collect().unwrap(), (1..=10).collect::<Vec<_>>());
    assert_eq!(
        ten(&ctx).collect_partitions().unwrap(),
        vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9, 10]]
    );
    let [none, blank] = empties(&ctx);
    assert_eq!(none.collect_partitions().unwrap(), Vec::<Vec<i64>>::new());
    assert_eq!(
        blank.collect_partitions().unwrap(),
        vec![Vec::<i64>::new(); 3]
    );
}

#[test]
fn run_partitions_returns_one_result_per_partition_in_order() {
    let ctx = ctx();
    let sums = ten(&ctx).run_partitions(|it| it.sum::<i64>()).unwrap();
    assert_eq!(sums, vec![6, 15, 34]);
    let lens = ctx
        .parallelize(vec!['a', 'b'], 4)
        .run_partitions(|it| it.count())
        .unwrap();
    assert_eq!(lens, vec![0, 1, 0, 1]);
    let [none, blank] = empties(&ctx);
    assert_eq!(none.run_partitions(|it| it.count()).unwrap(), vec![]);
    assert_eq!(
        blank.run_partitions(|it| it.count()).unwrap(),
        vec![0, 0, 0]
    );
}

#[test]
fn count() {
    let ctx = ctx();
    assert_eq!(ten(&ctx).count().unwrap(), 10);
    assert_eq!(ctx.parallelize(vec![(); 1000], 7).count().unwrap(), 1000);
    assert_eq!(ctx.parallelize(vec![1], 1).count().unwrap(), 1);
    for rdd in empties(&ctx) {
        assert_eq!(rdd.count().unwrap(), 0);
    }
}

#[test]
fn reduce() {
    let ctx = ctx();
    assert_eq!(ten(&ctx).reduce(|a, b| a + b).unwrap(), Some(55));
    assert_eq!(ten(&ctx).reduce(i64::max).unwrap(), Some(10));
    assert_eq!(
        ctx.parallelize(vec![42], 1).reduce(|a, b| a + b).unwrap(),
        Some(42)
    );
    // Empty partitions are skipped, not reduced with anything.
    let sparse = ctx.parallelize(vec![3i64, 4], 6);
    assert_eq!(sparse.reduce(|a, b| a * b).unwrap(), Some(12));
    for rdd in empties(&ctx) {
        assert_eq!(rdd.reduce(|a, b| a + b).unwrap(), None);
    }
}

#[test]
fn fold_starts_each_partition_and_the_merge_from_zero() {
    let ctx = ctx();
    assert_eq!(ten(&ctx).fold(0, |a, b| a + b).unwrap(), 55);
    // As in Spark, a non-neutral zero is applied once per partition and once
    // more for the merge: 3 partitions + 1.
    assert_eq!(ten(&ctx).fold(100, |a, b| a + b).unwrap(), 55 + 4 * 100);
    for rdd in empties(&ctx) {
        assert_eq!(rdd.fold(0, |a, b| a + b).unwrap(), 0);
    }
    assert_eq!(ctx.empty::<i64>().fold(7, |a, b| a + b).unwrap(), 7);
}

#[test]
fn aggregate_folds_then_combines() {
    let ctx = ctx();
    let (sum, n) = ten(&ctx)
        .aggregate(
            (0i64, 0u32),
            |(s, n), x| (s + x, n + 1),
            |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
        )
        .unwrap();
    assert_eq!((sum, n), (55, 10));
    // Per-partition maxima, collected in partition order.
    let maxima = ten(&ctx)
        .aggregate(
            Vec::new(),
            |acc: Vec<i64>, x| vec![acc.first().copied().unwrap_or(x).max(x)],
            |mut a, b| {
                a.extend(b);
                a
            },
        )
        .unwrap();
    assert_eq!(maxima, vec![3, 6, 10]);
    for rdd in empties(&ctx) {
        assert_eq!(rdd.aggregate(0u32, |n, _| n + 1, |a, b| a + b).unwrap(), 0);
    }
}

#[test]
fn take_returns_the_first_elements_in_order() {
    let ctx = ctx();
    let rdd = ten(&ctx);
    assert_eq!(rdd.take(0).unwrap(), Vec::<i64>::new());
    assert_eq!(rdd.take(1).unwrap(), vec![1]);
    assert_eq!(rdd.take(4).unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(rdd.take(10).unwrap(), (1..=10).collect::<Vec<_>>());
    assert_eq!(rdd.take(1000).unwrap(), (1..=10).collect::<Vec<_>>());
    let sparse = ctx.parallelize(vec!['a', 'b', 'c'], 12);
    assert_eq!(sparse.take(2).unwrap(), vec!['a', 'b']);
    assert_eq!(sparse.take(5).unwrap(), vec!['a', 'b', 'c']);
    for rdd in empties(&ctx) {
        assert_eq!(rdd.take(3).unwrap(), Vec::<i64>::new());
    }
}

#[test]
fn take_scans_as_few_partitions_as_it_can() {
    let ctx = ctx();
    let computed = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&computed);
    let rdd = ctx
        .parallelize((0..100).collect::<Vec<u32>>(), 10)
        .map_partitions(move |it| {
            counter.fetch_add(1, Ordering::SeqCst);
            it
        });
    assert_eq!(rdd.take(3).unwrap(), vec![0, 1, 2]);
    assert_eq!(computed.load(Ordering::SeqCst), 1, "partition 0 only");
    computed.store(0, Ordering::SeqCst);
    // 1 partition (10 elements) is not enough; the next round scans 4 more.
    assert_eq!(rdd.take(15).unwrap(), (0..15).collect::<Vec<_>>());
    assert_eq!(computed.load(Ordering::SeqCst), 5);
}

#[test]
fn first() {
    let ctx = ctx();
    assert_eq!(ten(&ctx).first().unwrap(), Some(1));
    assert_eq!(
        ctx.parallelize(strs(&["x"]), 5).first().unwrap(),
        Some(s("x"))
    );
    for rdd in empties(&ctx) {
        assert_eq!(rdd.first().unwrap(), None);
    }
}

#[test]
fn foreach_visits_every_element_once() {
    let ctx = ctx();
    let sum = AtomicU64::new(0);
    let calls = AtomicUsize::new(0);
    ten(&ctx)
        .foreach(|x| {
            sum.fetch_add(x as u64, Ordering::SeqCst);
            calls.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    assert_eq!(sum.load(Ordering::SeqCst), 55);
    assert_eq!(calls.load(Ordering::SeqCst), 10);
    for rdd in empties(&ctx) {
        rdd.foreach(|_| panic!("no elements")).unwrap();
    }
}

#[test]
fn foreach_partition_visits_every_partition_once() {
    let ctx = ctx();
    let partitions = AtomicUsize::new(0);
    let elements = AtomicUsize::new(0);
    ten(&ctx)
        .foreach_partition(|it| {
            partitions.fetch_add(1, Ordering::SeqCst);
            elements.fetch_add(it.count(), Ordering::SeqCst);
        })
        .unwrap();
    assert_eq!(partitions.load(Ordering::SeqCst), 3);
    assert_eq!(elements.load(Ordering::SeqCst), 10);
    let [none, blank] = empties(&ctx);
    partitions.store(0, Ordering::SeqCst);
    none.foreach_partition(|_| {
        partitions.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    assert_eq!(partitions.load(Ordering::SeqCst), 0);
    blank
        .foreach_partition(|_| {
            partitions.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    assert_eq!(partitions.load(Ordering::SeqCst), 3);
}

#[test]
fn count_by_value() {
    let ctx = ctx();
    let counts = ctx
        .parallelize(strs(&["a", "b", "a", "c", "a", "b"]), 4)
        .count_by_value()
        .unwrap();
    assert_eq!(
        counts,
        HashMap::from([(s("a"), 3), (s("b"), 2), (s("c"), 1)])
    );
    let skewed: Vec<u8> = (0..1000).map(|i| if i % 50 == 0 { 1 } else { 0 }).collect();
    let counts = ctx.parallelize(skewed, 3).count_by_value().unwrap();
    assert_eq!(counts, HashMap::from([(0, 980), (1, 20)]));
    for rdd in empties(&ctx) {
        assert!(rdd.count_by_value().unwrap().is_empty());
    }
}

#[test]
fn count_by_key() {
    let ctx = ctx();
    let pairs = ctx.parallelize(vec![(1, 'x'), (2, 'y'), (1, 'z'), (1, 'x')], 2);
    assert_eq!(
        pairs.count_by_key().unwrap(),
        HashMap::from([(1, 3), (2, 1)])
    );
    assert!(ctx.empty::<(u8, u8)>().count_by_key().unwrap().is_empty());
    assert!(
        ctx.parallelize(Vec::<(u8, u8)>::new(), 2)
            .count_by_key()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn collect_as_map_keeps_the_last_value_of_each_key() {
    let ctx = ctx();
    let pairs = ctx.parallelize(
        vec![
            (s("a"), 1),
            (s("b"), 2),
            (s("a"), 3),
            (s("c"), 4),
            (s("b"), 5),
        ],
        3,
    );
    assert_eq!(
        pairs.collect_as_map().unwrap(),
        HashMap::from([(s("a"), 3), (s("b"), 5), (s("c"), 4)])
    );
    assert!(ctx.empty::<(u8, u8)>().collect_as_map().unwrap().is_empty());
}

#[test]
fn actions_on_a_shuffled_rdd() {
    let ctx = ctx();
    let counts = ctx
        .parallelize(strs(&["a", "b", "a", "c", "a"]), 2)
        .map(|w| (w, 1u32))
        .reduce_by_key(|a, b| a + b);
    assert_eq!(counts.count().unwrap(), 3);
    assert_eq!(counts.values().reduce(|a, b| a + b).unwrap(), Some(5));
    assert_eq!(counts.values().fold(0, |a, b| a + b).unwrap(), 5);
    assert_eq!(
        counts.collect_as_map().unwrap(),
        HashMap::from([(s("a"), 3), (s("b"), 1), (s("c"), 1)])
    );
    assert_eq!(counts.take(10).unwrap().len(), 3);
    assert_eq!(
        counts.values().count_by_value().unwrap(),
        HashMap::from([(3, 1), (1, 2)])
    );
}
