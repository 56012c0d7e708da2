//! `cogroup[_with_partitions]` and the four joins built on it. Output order
//! is unspecified (a shuffle), so results are sorted; within a key a join
//! yields every pairing of the two sides' values (a per-key cross product).

mod common;

use common::{normalize_cogroups, sorted};
use ember_rdd::{Rdd, RddContext};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

fn left(ctx: &RddContext) -> Rdd<(u32, char)> {
    ctx.parallelize(vec![(1, 'a'), (2, 'b'), (1, 'c'), (4, 'd')], 2)
}

fn right(ctx: &RddContext) -> Rdd<(u32, &'static str)> {
    ctx.parallelize(vec![(1, "x"), (3, "y"), (1, "z"), (2, "w"), (5, "v")], 3)
}

#[test]
fn cogroup_groups_both_sides_per_key() {
    let ctx = ctx();
    let groups = left(&ctx).cogroup(&right(&ctx));
    assert_eq!(groups.num_partitions(), 3, "the larger parent's count");
    assert_eq!(
        normalize_cogroups(groups.collect().unwrap()),
        vec![
            (1, (vec!['a', 'c'], vec!["x", "z"])),
            (2, (vec!['b'], vec!["w"])),
            (3, (vec![], vec!["y"])),
            (4, (vec!['d'], vec![])),
            (5, (vec![], vec!["v"])),
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
            (1, ('a', "x")),
            (1, ('a', "z")),
            (1, ('c', "x")),
            (1, ('c', "z")),
            (2, ('b', "w")),
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
            (1, ('a', Some("x"))),
            (1, ('a', Some("z"))),
            (1, ('c', Some("x"))),
            (1, ('c', Some("z"))),
            (2, ('b', Some("w"))),
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
            (1, (Some('a'), "x")),
            (1, (Some('a'), "z")),
            (1, (Some('c'), "x")),
            (1, (Some('c'), "z")),
            (2, (Some('b'), "w")),
            (3, (None, "y")),
            (5, (None, "v")),
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
            (1, (Some('a'), Some("x"))),
            (1, (Some('a'), Some("z"))),
            (1, (Some('c'), Some("x"))),
            (1, (Some('c'), Some("z"))),
            (2, (Some('b'), Some("w"))),
            (3, (None, Some("y"))),
            (4, (Some('d'), None)),
            (5, (None, Some("v"))),
        ]
    );
}

#[test]
fn joins_against_an_empty_side() {
    let ctx = ctx();
    for empty in [ctx.empty::<(u32, &str)>(), ctx.parallelize(vec![], 4)] {
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
