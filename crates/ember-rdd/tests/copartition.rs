//! Partitioner-aware operations: which operations set, keep and drop an
//! RDD's partitioner; cogroups and joins that read an already partitioned
//! parent in place (the lineage shows no stage boundary for it, and the
//! shuffle counters prove it is not shuffled again); per-key aggregations
//! that skip the shuffle on an RDD placed by the partitioner they ask for;
//! and property tests of all of it against a sequential model, for
//! co-partitioned, differently partitioned and unpartitioned parents.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    cogroup_model, config, group_model, normalize_cogroups, normalize_groups, other_pairs, pairs,
    partitions, sorted,
};
use ember_rdd::{Data, Dependency, HashPartitioner, Partitioner, Rdd, RddContext};
use proptest::prelude::*;

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// An owned string: RDD elements must be owned (serializable).
fn s(text: &str) -> String {
    text.to_owned()
}

fn hash<K: std::hash::Hash>(n: usize) -> Arc<dyn Partitioner<K>> {
    Arc::new(HashPartitioner::new(n))
}

/// Whether `rdd` is placed by a hash partitioner over `n` partitions.
fn hashed_into<K: Data + std::hash::Hash, V: Data>(rdd: &Rdd<(K, V)>, n: usize) -> bool {
    rdd.partitioner()
        .is_some_and(|p| p.equivalent(&HashPartitioner::new(n)))
}

/// Every record of every partition is where `partitioner` puts its key.
fn placed_by<K: Data, V: Data>(rdd: &Rdd<(K, V)>, partitioner: &dyn Partitioner<K>) -> bool {
    rdd.glom()
        .collect()
        .unwrap()
        .iter()
        .enumerate()
        .all(|(index, part)| part.iter().all(|(k, _)| partitioner.partition(k) == index))
}

#[test]
fn shuffles_set_the_partitioner_and_key_preserving_operations_keep_it() {
    let ctx = ctx();
    let pairs = ctx.parallelize(vec![(1u32, 10i64), (2, 20), (1, 30), (3, 40)], 3);
    assert!(
        pairs.partitioner().is_none(),
        "parallelize knows no placement"
    );

    let sums = pairs.reduce_by_key(|a, b| a + b);
    assert!(hashed_into(&sums, 3));
    assert!(hashed_into(
        &pairs.reduce_by_key_with_partitions(|a, b| a + b, 5),
        5
    ));
    assert!(hashed_into(&pairs.group_by_key_with_partitions(4), 4));
    assert!(hashed_into(&pairs.partition_by(hash(2)), 2));
    assert!(hashed_into(&pairs.cogroup_with_partitions(&pairs, 6), 6));
    assert!(hashed_into(&pairs.join(&pairs), 3));
    assert!(hashed_into(&pairs.full_outer_join(&pairs), 3));
    assert!(
        sums.sort_by_key(true).partitioner().is_some(),
        "a range partitioner"
    );

    // Operations that keep every key in its partition keep the partitioner.
    assert!(hashed_into(&sums.filter(|(k, _)| *k > 1), 3));
    assert!(hashed_into(&sums.map_values(|v| v * 2), 3));
    assert!(hashed_into(&sums.flat_map_values(|v| vec![v; 2]), 3));
    assert!(hashed_into(
        &sums.map_partitions_preserving_partitioning(|it| it.map(|(k, v)| (k, v.to_string()))),
        3
    ));
    let cached = sums.map_values(|v| v + 1);
    cached.cache();
    assert!(hashed_into(&cached, 3));
    cached.local_checkpoint().unwrap();
    assert!(
        hashed_into(&cached, 3),
        "the same partitions after a checkpoint"
    );

    // Operations that may move keys drop it.
    assert!(sums.map(|pair| pair).partitioner().is_none());
    assert!(sums.flat_map(|pair| vec![pair]).partitioner().is_none());
    assert!(sums.map_partitions(|it| it).partitioner().is_none());
    assert!(sums.union(&sums).partitioner().is_none());
    assert!(sums.coalesce(1).partitioner().is_none());
    assert!(sums.repartition(3).partitioner().is_none());
    assert!(sums.key_by(|(k, _)| *k).partitioner().is_none());
    assert!(sums.values().map(|v| (v, ())).partitioner().is_none());
}

#[test]
fn cogroup_with_a_co_partitioned_parent_shuffles_only_the_other() {
    let ctx = ctx();
    let state = ctx
        .parallelize(vec![(1u32, 1u64), (2, 2), (1, 3)], 2) // 0
        .reduce_by_key(|a, b| a + b); // 1
    let batch = ctx.parallelize(vec![(1u32, 'x'), (4, 'y')], 3); // 2
    let groups = state.cogroup_with_partitions(&batch, 2); // 3
    assert_eq!(
        groups.to_debug_string(),
        "\
(2) CoGroupedRDD[3] at cogroup []
 |  ShuffledRDD[1] at reduce_by_key []
 +-(2) ParallelCollectionRDD[0] at parallelize []
 +-(3) ParallelCollectionRDD[2] at parallelize []"
    );
    let deps = groups.dependencies();
    assert!(matches!(&deps[0], Dependency::OneToOne(p) if p.id() == state.id()));
    assert!(matches!(&deps[1], Dependency::Shuffle(_)));
    assert_eq!(
        sorted(groups.collect().unwrap()),
        vec![
            (1, (vec![4], vec!['x'])),
            (2, (vec![2], vec![])),
            (4, (vec![], vec!['y'])),
        ]
    );

    // A different partition count is a different placement: both shuffle.
    let other_count = state.cogroup_with_partitions(&batch, 3);
    assert!(
        other_count
            .dependencies()
            .iter()
            .all(Dependency::is_shuffle)
    );
}

#[test]
fn join_of_two_co_partitioned_parents_is_one_stage_over_two_shuffles() {
    let ctx = ctx();
    let left = ctx
        .parallelize(vec![(s("a"), 1), (s("b"), 2)], 2) // 0
        .reduce_by_key(|x, y| x + y); // 1
    let right = ctx
        .parallelize(vec![(s("a"), 'p'), (s("a"), 'q'), (s("c"), 'r')], 2) // 2
        .partition_by(hash(2)); // 3
    let joined = left.join(&right); // 4 cogroup, 5 flat_map_values
    assert_eq!(
        joined.to_debug_string(),
        "\
(2) MapPartitionsRDD[5] at flat_map_values []
 |  CoGroupedRDD[4] at cogroup []
 |  ShuffledRDD[1] at reduce_by_key []
 +-(2) ParallelCollectionRDD[0] at parallelize []
 |  ShuffledRDD[3] at partition_by []
 +-(2) ParallelCollectionRDD[2] at parallelize []"
    );
    let before = ctx.metrics();
    assert_eq!(
        sorted(joined.collect().unwrap()),
        vec![(s("a"), (1, 'p')), (s("a"), (1, 'q'))]
    );
    let after = ctx.metrics();
    assert_eq!(
        after.stages - before.stages,
        3,
        "two map stages, one result stage"
    );
}

#[test]
fn aggregations_on_an_equally_partitioned_rdd_skip_the_shuffle() {
    let ctx = ctx();
    let placed = ctx
        .parallelize(vec![(1u32, 1u32), (2, 2), (1, 3), (3, 4), (1, 5)], 2) // 0
        .partition_by(hash(3)); // 1
    let sums = placed.reduce_by_key(|a, b| a + b); // 2
    assert_eq!(
        sums.to_debug_string(),
        "\
(3) MapPartitionsRDD[2] at reduce_by_key []
 |  ShuffledRDD[1] at partition_by []
 +-(2) ParallelCollectionRDD[0] at parallelize []"
    );
    assert_eq!(
        sorted(sums.collect().unwrap()),
        vec![(1, 9), (2, 2), (3, 4)]
    );
    assert!(hashed_into(&sums, 3));
    let groups = placed.group_by_key_with_partitions(3); // 3
    assert!(!groups.dependencies()[0].is_shuffle());
    assert_eq!(
        normalize_groups(groups.collect().unwrap()),
        vec![(1, vec![1, 3, 5]), (2, vec![2]), (3, vec![4])]
    );
    let same = placed.partition_by(hash(3));
    assert_eq!(same.id(), placed.id(), "already placed: the same RDD");
    let counted = placed.combine_by_key(|_| 1u32, |n, _| n + 1, |a, b| a + b, None);
    assert!(!counted.dependencies()[0].is_shuffle());
    assert_eq!(
        sorted(counted.collect().unwrap()),
        vec![(1, 3), (2, 1), (3, 1)]
    );

    // Another count, or a map in between (keys may have changed), shuffles.
    let rehashed = placed.reduce_by_key_with_partitions(|a, b| a + b, 2);
    assert!(rehashed.dependencies()[0].is_shuffle());
    let remapped = placed.map(|pair| pair).reduce_by_key(|a, b| a + b);
    assert_eq!(
        remapped.to_debug_string(),
        "\
(3) ShuffledRDD[7] at reduce_by_key []
 +-(3) MapPartitionsRDD[6] at map []
    |  ShuffledRDD[1] at partition_by []
    +-(2) ParallelCollectionRDD[0] at parallelize []"
    );
    assert_eq!(
        sorted(remapped.collect().unwrap()),
        vec![(1, 9), (2, 2), (3, 4)]
    );
}

/// The running state of a stream, cogrouped with each batch as
/// `update_state_by_key` does: the state's records are never written to a
/// shuffle again, only each batch's, and the state side's records are read
/// once per batch.
#[test]
fn a_co_partitioned_state_is_not_reshuffled_batch_after_batch() {
    let ctx = ctx();
    let by_4 = hash::<u32>(4);
    let state_reads = Arc::new(AtomicUsize::new(0));
    let initial: Vec<(u32, u64)> = (0..1000).map(|k| (k, 1)).collect();
    let mut state = ctx.parallelize(initial, 3).partition_by(Arc::clone(&by_4));
    let mut model: BTreeMap<u32, u64> = (0..1000).map(|k| (k, 1)).collect();
    state.count().unwrap();
    for round in 0..5u32 {
        let batch: Vec<(u32, u64)> = (0..100)
            .map(|i| ((i * 37 + round * 11) % 1200, 1))
            .collect();
        for (k, n) in &batch {
            *model.entry(*k).or_default() += n;
        }
        let reads = Arc::clone(&state_reads);
        let counted_state = state.map_values(move |s| {
            reads.fetch_add(1, Ordering::Relaxed);
            s
        });
        let next = counted_state
            .cogroup_with_partitioner(&ctx.parallelize(batch, 2), Arc::clone(&by_4))
            .map_values(|(states, values)| states.iter().sum::<u64>() + values.iter().sum::<u64>());
        next.cache();
        let keys_before = state.count().unwrap() as usize;
        let before = ctx.metrics();
        state_reads.store(0, Ordering::Relaxed);
        let keys = next.count().unwrap();
        let after = ctx.metrics();
        assert_eq!(
            after.shuffle_records_written - before.shuffle_records_written,
            100,
            "round {round}: only the batch is shuffled"
        );
        assert_eq!(
            after.stages - before.stages,
            2,
            "the batch's map stage and the result"
        );
        assert_eq!(
            state_reads.load(Ordering::Relaxed),
            keys_before,
            "each state record once"
        );
        assert_eq!(keys as usize, model.len());
        assert!(hashed_into(&next, 4));
        state = next;
    }
    assert_eq!(
        sorted(state.collect().unwrap()),
        model.into_iter().collect::<Vec<_>>()
    );
    assert!(placed_by(&state, by_4.as_ref()));
}

#[test]
fn the_same_state_without_its_partitioner_is_shuffled_every_time() {
    let ctx = ctx();
    let state = ctx
        .parallelize((0..1000u32).map(|k| (k, 1u64)).collect(), 3)
        .partition_by(hash(4));
    state.count().unwrap();
    let batch = ctx.parallelize(vec![(7u32, 1u64)], 2);
    let before = ctx.metrics();
    let moved = state.map(|pair| pair); // the partitioner is lost
    moved.cogroup_with_partitions(&batch, 4).count().unwrap();
    let after = ctx.metrics();
    assert_eq!(
        after.shuffle_records_written - before.shuffle_records_written,
        1001
    );
}

/// How each side of a property case is prepared before the cogroup.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// Straight from `parallelize`: no partitioner.
    Unplaced,
    /// `partition_by` a hash partitioner over the case's cogroup count.
    SameAsCogroup,
    /// `partition_by` a hash partitioner over another count (`n % 8 + 1`,
    /// never `n` for the counts 1 to 8).
    OtherCount,
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        Just(Placement::Unplaced),
        Just(Placement::SameAsCogroup),
        Just(Placement::OtherCount),
    ]
}

fn place<V: Data>(
    ctx: &RddContext,
    data: &[(u8, V)],
    input_partitions: usize,
    placement: Placement,
    cogroup_partitions: usize,
) -> Rdd<(u8, V)> {
    let rdd = ctx.parallelize(data.to_vec(), input_partitions);
    match placement {
        Placement::Unplaced => rdd,
        Placement::SameAsCogroup => rdd.partition_by(hash(cogroup_partitions)),
        Placement::OtherCount => rdd.partition_by(hash(cogroup_partitions % 8 + 1)),
    }
}

#[test]
fn cogroup_and_joins_match_the_model_whatever_the_placement() {
    let ctx = ctx();
    proptest!(config(), |(
        left in pairs(), right in other_pairs(),
        nl in partitions(), nr in partitions(), n in partitions(),
        pl in placement(), pr in placement(),
    )| {
        let a = place(&ctx, &left, nl, pl, n);
        let b = place(&ctx, &right, nr, pr, n);
        let p = hash::<u8>(n);
        let groups = a.cogroup_with_partitioner(&b, Arc::clone(&p));
        prop_assert_eq!(groups.num_partitions(), n);
        let narrow = groups.dependencies().iter().filter(|d| !d.is_shuffle()).count();
        let expected_narrow = [pl, pr].iter().filter(|x| matches!(x, Placement::SameAsCogroup)).count();
        prop_assert_eq!(narrow, expected_narrow);
        prop_assert!(placed_by(&groups, p.as_ref()));
        let model = cogroup_model(&left, &right);
        prop_assert_eq!(normalize_cogroups(groups.collect().unwrap()), model.clone());

        // The joins on the default partitioner, against the same model.
        let inner: Vec<(u8, (i32, char))> = model.iter()
            .flat_map(|(k, (vs, ws))| vs.iter().flat_map(move |v| ws.iter().map(move |w| (*k, (*v, *w)))))
            .collect();
        prop_assert_eq!(sorted(a.join(&b).collect().unwrap()), sorted(inner));
        let left_outer: Vec<(u8, (i32, Option<char>))> = model.iter()
            .flat_map(|(k, (vs, ws))| vs.iter().flat_map(move |v| {
                let ws: Vec<Option<char>> = if ws.is_empty() { vec![None] } else { ws.iter().copied().map(Some).collect() };
                ws.into_iter().map(move |w| (*k, (*v, w)))
            }))
            .collect();
        prop_assert_eq!(sorted(a.left_outer_join(&b).collect().unwrap()), sorted(left_outer));
        let right_outer: Vec<(u8, (Option<i32>, char))> = model.iter()
            .flat_map(|(k, (vs, ws))| ws.iter().flat_map(move |w| {
                let vs: Vec<Option<i32>> = if vs.is_empty() { vec![None] } else { vs.iter().copied().map(Some).collect() };
                vs.into_iter().map(move |v| (*k, (v, *w)))
            }))
            .collect();
        prop_assert_eq!(sorted(a.right_outer_join(&b).collect().unwrap()), sorted(right_outer));
        let full = a.full_outer_join(&b).collect().unwrap();
        let full_keys: BTreeSet<u8> = full.iter().map(|(k, _)| *k).collect();
        let model_keys: BTreeSet<u8> = model.iter().map(|(k, _)| *k).collect();
        prop_assert_eq!(full_keys, model_keys);
        let full_model: usize = model.iter().map(|(_, (vs, ws))| vs.len().max(1) * ws.len().max(1)).sum();
        prop_assert_eq!(full.len(), full_model);
    });
}

#[test]
fn per_key_aggregations_match_the_model_whatever_the_placement() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n_in in partitions(), n in partitions(), pl in placement())| {
        let rdd = place(&ctx, &data, n_in, pl, n);
        let mut model: BTreeMap<u8, i64> = BTreeMap::new();
        for (k, v) in &data {
            *model.entry(*k).or_default() += i64::from(*v);
        }
        let model: Vec<(u8, i64)> = model.into_iter().collect();
        let wide = rdd.map_values(i64::from);
        let sums = wide.reduce_by_key_with_partitions(|a, b| a + b, n);
        let skipped = matches!(pl, Placement::SameAsCogroup);
        prop_assert_eq!(!sums.dependencies()[0].is_shuffle(), skipped);
        prop_assert_eq!(sorted(sums.collect().unwrap()), model.clone());
        prop_assert!(placed_by(&sums, &HashPartitioner::new(n)));
        let defaulted = wide.reduce_by_key(|a, b| a + b);
        prop_assert_eq!(sorted(defaulted.collect().unwrap()), model.clone());
        prop_assert_eq!(
            normalize_groups(rdd.group_by_key_with_partitions(n).collect().unwrap()),
            group_model(&data).into_iter().map(|(k, vs)| (k, sorted(vs))).collect::<Vec<_>>()
        );
        let folded = wide.fold_by_key(0, |a, b| a + b);
        prop_assert_eq!(sorted(folded.collect().unwrap()), model);
    });
}
