//! `cogroup[_with_partitions]` and the four joins built on it. Output order
//! is unspecified (a shuffle), so results are sorted; within a key a join
//! yields every pairing of the two sides' values (a per-key cross product).

mod common;

use common::{normalize_cogroups, sorted};
use ember_rdd::{Rdd, RddContext};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// An owned string: RDD elements must be owned (serializable).
fn s(text: &str) -> String {
    text.to_owned()
}

fn left(ctx: &RddContext) -> Rdd<(u32, char)> {
    ctx.parallelize(vec![(1, 'a'), (2, 'b'), (1, 'c'), (4, 'd')], 2)
}

fn right(ctx: &RddContext) -> Rdd<(u32, String)> {
    ctx.parallelize(
        vec![
            (1, s("x")),
            (3, s("y")),
            (1, s("z")),
            (2, s("w")),
            (5, s("v")),
        ],
        3,
    )
}

#[test]
fn cogroup_groups_both_sides_per_key() {
    let ctx = ctx();
    let groups = left(&ctx).cogroup(&right(&ctx));
    assert_eq!(groups.num_partitions(), 3, "the larger parent's count");
    assert_eq!(
        normalize_cogroups(groups.collect().unwrap()),
        vec![
            (1, (vec!['a', 'c'], vec![s("x"), s("z")])),
            (2, (vec!['b'], vec![s("w")])),
            (3, (vec![], vec![s("y")])),
            (4, (vec!['d'], vec![])),
            (5, (vec![], vec![s("v")])),
        ]
    );
}

#[test]
fn cogroup_with_partitions_sets_the_count() {
    let ctx = ctx();
    for n in [1, 2, 7] {
        let groups = left(&ctx).cogroup_with_partitions(&right(&ctx), n);
        assert_eq!(groups.num_partitions(), n);
        assert_eq!(groups.count().unwrap(), 5);
        assert_eq!(
            groups.glom().collect().unwrap().len(),
            n,
            "one vector per partition"
        );
    }
}

#[test]
fn join_pairs_every_left_value_with_every_right_value() {
    let ctx = ctx();
    let joined = left(&ctx).join(&right(&ctx));
    assert_eq!(joined.num_partitions(), 3);
    assert_eq!(
        sorted(joined.collect().unwrap()),
        vec![
            (1, ('a', s("x"))),
            (1, ('a', s("z"))),
            (1, ('c', s("x"))),
            (1, ('c', s("z"))),
            (2, ('b', s("w"))),
        ]
    );
}

#[test]
fn left_outer_join_keeps_every_left_value() {
    let ctx = ctx();
    let joined = left(&ctx).left_outer_join(&right(&ctx));
    assert_eq!(
        sorted(joined.collect().unwrap()),
        vec![
            (1, ('a', Some(s("x")))),
            (1, ('a', Some(s("z")))),
            (1, ('c', Some(s("x")))),
            (1, ('c', Some(s("z")))),
            (2, ('b', Some(s("w")))),
            (4, ('d', None)),
        ]
    );
}

#[test]
fn right_outer_join_keeps_every_right_value() {
    let ctx = ctx();
    let joined = left(&ctx).right_outer_join(&right(&ctx));
    assert_eq!(
        sorted(joined.collect().unwrap()),
        vec![
            (1, (Some('a'), s("x"))),
            (1, (Some('a'), s("z"))),
            (1, (Some('c'), s("x"))),
            (1, (Some('c'), s("z"))),
            (2, (Some('b'), s("w"))),
            (3, (None, s("y"))),
            (5, (None, s("v"))),
        ]
    );
}

#[test]
fn full_outer_join_keeps_every_key_of_either_side() {
    let ctx = ctx();
    let joined = left(&ctx).full_outer_join(&right(&ctx));
    assert_eq!(
        sorted(joined.collect().unwrap()),
        vec![
            (1, (Some('a'), Some(s("x")))),
            (1, (Some('a'), Some(s("z")))),
            (1, (Some('c'), Some(s("x")))),
            (1, (Some('c'), Some(s("z")))),
            (2, (Some('b'), Some(s("w")))),
            (3, (None, Some(s("y")))),
            (4, (Some('d'), None)),
            (5, (None, Some(s("v")))),
        ]
    );
}

#[test]
fn joins_against_an_empty_side() {
    let ctx = ctx();
    for empty in [ctx.empty::<(u32, String)>(), ctx.parallelize(vec![], 4)] {
        let l = left(&ctx);
        assert_eq!(l.join(&empty).count().unwrap(), 0);
        assert_eq!(
            sorted(l.left_outer_join(&empty).collect().unwrap()),
            vec![
                (1, ('a', None)),
                (1, ('c', None)),
                (2, ('b', None)),
                (4, ('d', None))
            ]
        );
        assert_eq!(l.right_outer_join(&empty).count().unwrap(), 0);
        assert_eq!(
            sorted(l.full_outer_join(&empty).collect().unwrap()),
            vec![
                (1, (Some('a'), None)),
                (1, (Some('c'), None)),
                (2, (Some('b'), None)),
                (4, (Some('d'), None))
            ]
        );
        assert_eq!(
            normalize_cogroups(l.cogroup(&empty).collect().unwrap()),
            vec![
                (1, (vec!['a', 'c'], vec![])),
                (2, (vec!['b'], vec![])),
                (4, (vec!['d'], vec![]))
            ]
        );
        // Both sides empty.
        let nothing = ctx.empty::<(u32, char)>();
        assert_eq!(nothing.cogroup(&empty).count().unwrap(), 0);
        assert_eq!(nothing.full_outer_join(&empty).count().unwrap(), 0);
        assert_eq!(empty.left_outer_join(&nothing).count().unwrap(), 0);
    }
}

#[test]
fn self_join() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![(1, 'a'), (1, 'b'), (2, 'c')], 2);
    assert_eq!(
        sorted(rdd.join(&rdd).collect().unwrap()),
        vec![
            (1, ('a', 'a')),
            (1, ('a', 'b')),
            (1, ('b', 'a')),
            (1, ('b', 'b')),
            (2, ('c', 'c')),
        ]
    );
}

#[test]
fn joins_with_one_partition_and_more_partitions_than_records() {
    let ctx = ctx();
    let a = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 1);
    let b = ctx.parallelize(vec![(2, 20), (3, 30)], 9);
    let joined = a.full_outer_join(&b);
    assert_eq!(joined.num_partitions(), 9);
    assert_eq!(
        sorted(joined.collect().unwrap()),
        vec![
            (1, (Some('a'), None)),
            (2, (Some('b'), Some(20))),
            (3, (None, Some(30)))
        ]
    );
    assert_eq!(a.join(&b).collect().unwrap(), vec![(2, ('b', 20))]);
}

#[test]
fn join_with_key_skew_is_a_per_key_cross_product() {
    let ctx = ctx();
    let mut l: Vec<(u32, u32)> = (0..300).map(|i| (0, i)).collect();
    l.push((1, 1000));
    let r: Vec<(u32, u32)> = vec![(0, 7), (0, 8), (0, 9), (2, 5)];
    let joined = ctx.parallelize(l, 4).join(&ctx.parallelize(r, 2));
    let result = sorted(joined.collect().unwrap());
    let expected = sorted(
        (0..300)
            .flat_map(|i| [7, 8, 9].map(|w| (0, (i, w))))
            .collect(),
    );
    assert_eq!(result, expected);
    assert_eq!(result.len(), 900);
}
