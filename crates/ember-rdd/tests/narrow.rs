//! Narrow transformations: `map`, `flat_map`, `filter`, `map_partitions`,
//! `map_partitions_with_index`, `glom`, `union`, `coalesce`, `key_by`,
//! `map_values`, `flat_map_values`, `keys`, `values`. Their output order is
//! specified (partition by partition, in input order), so every result is
//! compared exactly.

use ember_rdd::{Dependency, Rdd, RddContext};

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
fn ten(ctx: &RddContext) -> Rdd<i32> {
    ctx.parallelize((1..=10).collect(), 3)
}

#[test]
fn map_keeps_partitions_and_order() {
    let ctx = ctx();
    let rdd = ten(&ctx).map(|x| x * 10);
    assert_eq!(rdd.num_partitions(), 3);
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec![10, 20, 30], vec![40, 50, 60], vec![70, 80, 90, 100]]
    );
    let strings = ctx.parallelize(strs(&["a", "bb"]), 1).map(|s| s.len());
    assert_eq!(strings.collect().unwrap(), vec![1, 2]);
}

#[test]
fn flat_map_expands_and_drops_in_order() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize(vec![0usize, 1, 2, 3], 2)
        .flat_map(|n| vec![n; n]);
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec![1], vec![2, 2, 3, 3, 3]]
    );
    let words = ctx
        .parallelize(strs(&["to be", "", "or not"]), 2)
        .flat_map(|l: String| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
    assert_eq!(words.collect().unwrap(), vec!["to", "be", "or", "not"]);
}

#[test]
fn filter_keeps_matching_elements_in_place() {
    let ctx = ctx();
    let rdd = ten(&ctx).filter(|x| x % 3 == 0);
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec![3], vec![6], vec![9]]
    );
    assert_eq!(ten(&ctx).filter(|_| false).count().unwrap(), 0);
    assert_eq!(ten(&ctx).filter(|_| false).num_partitions(), 3);
}

#[test]
fn map_partitions_sees_each_partition_once() {
    let ctx = ctx();
    let sums = ten(&ctx).map_partitions(|it| std::iter::once(it.sum::<i32>()));
    assert_eq!(sums.collect().unwrap(), vec![6, 15, 34]);
    let firsts = ten(&ctx).map_partitions(|mut it| it.next());
    assert_eq!(firsts.collect().unwrap(), vec![1, 4, 7]);
}

#[test]
fn map_partitions_with_index_passes_the_index() {
    let ctx = ctx();
    let tagged = ten(&ctx).map_partitions_with_index(|i, it| it.map(move |x| (i, x)));
    assert_eq!(
        tagged.collect().unwrap(),
        vec![
            (0, 1),
            (0, 2),
            (0, 3),
            (1, 4),
            (1, 5),
            (1, 6),
            (2, 7),
            (2, 8),
            (2, 9),
            (2, 10)
        ]
    );
    // More partitions than elements: empty partitions still get their index.
    let sizes = ctx
        .parallelize(vec!['x', 'y'], 4)
        .map_partitions_with_index(|i, it| std::iter::once((i, it.count())));
    assert_eq!(
        sizes.collect().unwrap(),
        vec![(0, 0), (1, 1), (2, 0), (3, 1)]
    );
}

#[test]
fn glom_gives_one_vector_per_partition() {
    let ctx = ctx();
    assert_eq!(
        ten(&ctx).glom().collect().unwrap(),
        vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9, 10]]
    );
    assert_eq!(ten(&ctx).glom().count().unwrap(), 3);
    assert_eq!(
        ctx.parallelize(vec![1], 1).glom().collect().unwrap(),
        vec![vec![1]]
    );
}

#[test]
fn union_appends_partitions_in_order() {
    let ctx = ctx();
    let a = ctx.parallelize(vec![1, 2, 3], 2);
    let b = ctx.parallelize(vec![4, 5], 1);
    let both = a.union(&b);
    assert_eq!(both.num_partitions(), 3);
    assert_eq!(
        both.glom().collect().unwrap(),
        vec![vec![1], vec![2, 3], vec![4, 5]]
    );
    assert_eq!(b.union(&a).collect().unwrap(), vec![4, 5, 1, 2, 3]);
    assert_eq!(a.union(&a).collect().unwrap(), vec![1, 2, 3, 1, 2, 3]);
    let with_empty = a.union(&ctx.empty());
    assert_eq!(with_empty.num_partitions(), 2);
    assert_eq!(with_empty.collect().unwrap(), vec![1, 2, 3]);
    match &both.dependencies()[..] {
        [
            Dependency::Range {
                in_start: 0,
                out_start: 0,
                length: 2,
                ..
            },
            Dependency::Range {
                in_start: 0,
                out_start: 2,
                length: 1,
                ..
            },
        ] => {}
        _ => panic!("a union has one range dependency per parent"),
    }
}

#[test]
fn coalesce_merges_contiguous_groups_without_reordering() {
    let ctx = ctx();
    let rdd = ctx.parallelize((1..=10).collect::<Vec<i32>>(), 5);
    let two = rdd.coalesce(2);
    assert_eq!(two.num_partitions(), 2);
    // Parent partitions [1,2] [3,4] [5,6] [7,8] [9,10] grouped 0..2, 2..5.
    assert_eq!(
        two.glom().collect().unwrap(),
        vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8, 9, 10]]
    );
    assert_eq!(
        rdd.coalesce(1).glom().collect().unwrap(),
        vec![(1..=10).collect::<Vec<_>>()]
    );
    assert!(matches!(
        &two.dependencies()[..],
        [Dependency::ManyToOne(_)]
    ));
}

#[test]
fn coalesce_never_grows_and_keeps_at_least_one_partition() {
    let ctx = ctx();
    let rdd = ctx.parallelize((1..=4).collect::<Vec<i32>>(), 2);
    assert_eq!(rdd.coalesce(10).num_partitions(), 2);
    assert_eq!(rdd.coalesce(10).collect().unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(rdd.coalesce(0).num_partitions(), 1);
    assert_eq!(rdd.coalesce(0).collect().unwrap(), vec![1, 2, 3, 4]);
    let empty = ctx.empty::<i32>().coalesce(3);
    assert_eq!(empty.collect().unwrap(), Vec::<i32>::new());
    assert!(empty.num_partitions() <= 1);
}

#[test]
fn key_by_pairs_each_element_with_its_key() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize(strs(&["apple", "fig", "kiwi"]), 2)
        .key_by(|w| w.len());
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec![(5, s("apple"))], vec![(3, s("fig")), (4, s("kiwi"))]]
    );
}

#[test]
fn map_values_flat_map_values_keys_values() {
    let ctx = ctx();
    let pairs = ctx.parallelize(vec![(s("a"), 1), (s("b"), 2), (s("a"), 3)], 2);
    assert_eq!(
        pairs.map_values(|v| v * 100).collect().unwrap(),
        vec![(s("a"), 100), (s("b"), 200), (s("a"), 300)]
    );
    assert_eq!(
        pairs.flat_map_values(|v| 0..v).collect().unwrap(),
        vec![
            (s("a"), 0),
            (s("b"), 0),
            (s("b"), 1),
            (s("a"), 0),
            (s("a"), 1),
            (s("a"), 2)
        ]
    );
    // A value that expands to nothing drops its key.
    assert_eq!(
        pairs
            .flat_map_values(|v| if v == 2 { vec![] } else { vec![v] })
            .collect()
            .unwrap(),
        vec![(s("a"), 1), (s("a"), 3)]
    );
    assert_eq!(pairs.keys().collect().unwrap(), vec!["a", "b", "a"]);
    assert_eq!(pairs.values().collect().unwrap(), vec![1, 2, 3]);
    assert_eq!(pairs.keys().num_partitions(), 2);
}

#[test]
fn narrow_chains_pipeline_and_keep_order() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize((0..20).collect::<Vec<u32>>(), 4)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .flat_map(|x| [x, x * 100])
        .key_by(|x| x % 3)
        .map_values(|v| v + 1)
        .values();
    let expected: Vec<u32> = (0..20u32)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .flat_map(|x| [x, x * 100])
        .map(|v| v + 1)
        .collect();
    assert_eq!(rdd.collect().unwrap(), expected);
    assert_eq!(rdd.num_partitions(), 4);
    // Every narrow step depends one-to-one on its parent.
    assert!(matches!(&rdd.dependencies()[..], [Dependency::OneToOne(_)]));
}

#[test]
fn every_narrow_op_on_empty_inputs() {
    let ctx = ctx();
    for (rdd, partitions) in [
        (ctx.empty::<i32>(), 0),
        (ctx.parallelize(Vec::<i32>::new(), 3), 3),
    ] {
        let none = Vec::<i32>::new();
        assert_eq!(rdd.map(|x| x + 1).collect().unwrap(), none);
        assert_eq!(rdd.flat_map(|x| vec![x, x]).collect().unwrap(), none);
        assert_eq!(rdd.filter(|_| true).collect().unwrap(), none);
        assert_eq!(
            rdd.map_partitions(|it| std::iter::once(it.count()))
                .collect()
                .unwrap(),
            vec![0; partitions]
        );
        assert_eq!(
            rdd.map_partitions_with_index(|i, _| std::iter::once(i))
                .collect()
                .unwrap(),
            (0..partitions).collect::<Vec<_>>()
        );
        assert_eq!(
            rdd.glom().collect().unwrap(),
            vec![Vec::<i32>::new(); partitions]
        );
        assert_eq!(rdd.union(&rdd).collect().unwrap(), none);
        assert_eq!(rdd.union(&rdd).num_partitions(), 2 * partitions);
        let pairs = rdd.key_by(|x| *x);
        assert_eq!(pairs.collect().unwrap(), Vec::<(i32, i32)>::new());
        assert_eq!(pairs.map_values(|v| v * 2).count().unwrap(), 0);
        assert_eq!(pairs.flat_map_values(|v| vec![v]).count().unwrap(), 0);
        assert_eq!(pairs.keys().collect().unwrap(), none);
        assert_eq!(pairs.values().collect().unwrap(), none);
        assert_eq!(rdd.coalesce(1).collect().unwrap(), none);
    }
}
