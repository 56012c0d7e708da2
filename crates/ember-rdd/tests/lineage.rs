//! Lineage and stages: `to_debug_string` in Spark's exact format, the
//! dependency kinds each operation creates, and (through `metrics`) how a
//! job is cut into stages, that map-side combining shrinks a shuffle, and
//! that a later job reuses shuffle outputs.
//!
//! Each test uses its own context: RDD ids and counters are per context.

use ember_rdd::{Dependency, RddContext};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

#[test]
fn word_count_debug_string() {
    let ctx = ctx();
    let counts = ctx
        .parallelize(vec!["a b".to_owned(), "b c".to_owned()], 2)
        .flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u32))
        .reduce_by_key(|a, b| a + b);
    assert_eq!(
        counts.to_debug_string(),
        "\
(2) ShuffledRDD[3] at reduce_by_key []
 +-(2) MapPartitionsRDD[2] at map []
    |  MapPartitionsRDD[1] at flat_map []
    |  ParallelCollectionRDD[0] at parallelize []"
    );
    // A narrow step after the shuffle, cached: `|` continues the stage.
    let top = counts.map(|(w, n)| format!("{w}: {n}"));
    top.cache();
    assert_eq!(
        top.to_debug_string(),
        "\
(2) MapPartitionsRDD[4] at map [Memory Deserialized 1x Replicated]
 |  ShuffledRDD[3] at reduce_by_key []
 +-(2) MapPartitionsRDD[2] at map []
    |  MapPartitionsRDD[1] at flat_map []
    |  ParallelCollectionRDD[0] at parallelize []"
    );
    assert_eq!(
        format!("{top:?}"),
        "MapPartitionsRDD[4] at map [Memory Deserialized 1x Replicated]"
    );
}

#[test]
fn wide_partition_counts_shift_the_bars() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize(vec![(1, 1)], 12)
        .map_values(|v| v + 1)
        .reduce_by_key_with_partitions(|a, b| a + b, 100)
        .group_by_key_with_partitions(3);
    assert_eq!(
        rdd.to_debug_string(),
        "\
(3) ShuffledRDD[3] at group_by_key []
 +-(100) ShuffledRDD[2] at reduce_by_key []
     +-(12) MapPartitionsRDD[1] at map_values []
        |   ParallelCollectionRDD[0] at parallelize []"
    );
    // Spark's offsets: "(100)" puts the bar 2 columns in, with 3 blanks
    // after it; "(12)" 1 column in, with 3 blanks.
}

#[test]
fn join_debug_string_has_two_shuffle_parents() {
    let ctx = ctx();
    let left = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
    let right = ctx.parallelize(vec![(1, "x".to_owned())], 3);
    let joined = left.join(&right);
    assert_eq!(
        joined.to_debug_string(),
        "\
(3) MapPartitionsRDD[3] at flat_map_values []
 |  CoGroupedRDD[2] at cogroup []
 +-(2) ParallelCollectionRDD[0] at parallelize []
 +-(3) ParallelCollectionRDD[1] at parallelize []"
    );
}

#[test]
fn join_of_deeper_lineages_debug_string() {
    let ctx = ctx();
    let left = ctx.parallelize(vec![(1, 'a')], 2).map(|(k, v)| (k * 2, v)); // 0, 1
    let right = ctx
        .parallelize(vec![(2, 5u32)], 3) // 2
        .reduce_by_key(|a, b| a + b); // 3
    let joined = left.left_outer_join(&right); // 4 cogroup, 5 flat_map_values
    // The join takes over the reduce_by_key's partitioner, so that side is
    // read in place (`|`, same stage) and only the left side is shuffled.
    assert_eq!(
        joined.to_debug_string(),
        "\
(3) MapPartitionsRDD[5] at flat_map_values []
 |  CoGroupedRDD[4] at cogroup []
 +-(2) MapPartitionsRDD[1] at map []
 |  |  ParallelCollectionRDD[0] at parallelize []
 |  ShuffledRDD[3] at reduce_by_key []
 +-(3) ParallelCollectionRDD[2] at parallelize []"
    );
    assert_eq!(joined.collect().unwrap(), vec![(2, ('a', Some(5)))]);
}

#[test]
fn union_of_shuffles_debug_string() {
    let ctx = ctx();
    let a = ctx
        .parallelize(vec![("a".to_owned(), 1)], 2)
        .reduce_by_key(|x, y| x + y); // 0, 1
    let b = ctx
        .parallelize(vec![("b".to_owned(), 2)], 2)
        .reduce_by_key(|x, y| x + y); // 2, 3
    let both = a.union(&b); // 4
    assert_eq!(
        both.to_debug_string(),
        "\
(4) UnionRDD[4] at union []
 |  ShuffledRDD[1] at reduce_by_key []
 +-(2) ParallelCollectionRDD[0] at parallelize []
 |  ShuffledRDD[3] at reduce_by_key []
 +-(2) ParallelCollectionRDD[2] at parallelize []"
    );
}

#[test]
fn narrow_only_lineages_debug_string() {
    let ctx = ctx();
    let rdd = ctx
        .union(&[ctx.parallelize(vec![1], 1), ctx.empty()]) // 0, 1, 2
        .coalesce(1) // 3
        .glom(); // 4
    assert_eq!(
        rdd.to_debug_string(),
        "\
(1) MapPartitionsRDD[4] at glom []
 |  CoalescedRDD[3] at coalesce []
 |  UnionRDD[2] at union []
 |  ParallelCollectionRDD[0] at parallelize []
 |  EmptyRDD[1] at empty []"
    );
    assert_eq!(
        ctx.parallelize(vec![1], 1).to_debug_string(),
        "(1) ParallelCollectionRDD[5] at parallelize []"
    );
}

#[test]
fn dependency_kinds() {
    let ctx = ctx();
    let base = ctx.parallelize(vec![(1, 2)], 2);
    let mapped = base.map_values(|v| v);
    assert!(matches!(&mapped.dependencies()[..], [Dependency::OneToOne(p)] if p.id() == base.id()));
    let merged = mapped.coalesce(1);
    assert!(matches!(
        &merged.dependencies()[..],
        [Dependency::ManyToOne(_)]
    ));
    let shuffled = base.reduce_by_key(|a, b| a + b);
    let deps = shuffled.dependencies();
    assert!(deps[0].is_shuffle() && deps.len() == 1);
    assert_eq!(deps[0].parent().id(), base.id());
    let grouped = base.cogroup(&mapped);
    let deps = grouped.dependencies();
    assert_eq!(deps.len(), 2, "one shuffle per cogrouped parent");
    assert!(deps.iter().all(Dependency::is_shuffle));
    assert_eq!(
        deps.iter().map(|d| d.parent().id()).collect::<Vec<_>>(),
        vec![base.id(), mapped.id()]
    );
    let info = grouped.info();
    assert_eq!(
        (info.kind(), info.operation(), info.num_partitions()),
        ("CoGroupedRDD", "cogroup", 2)
    );
}

/// 10,000 words over 10 distinct keys.
fn ten_thousand_words() -> Vec<String> {
    (0..10_000).map(|i| format!("w{}", i % 10)).collect()
}

#[test]
fn a_word_count_runs_two_stages_and_combines_map_side() {
    let ctx = ctx();
    let counts = ctx
        .parallelize(ten_thousand_words(), 2)
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    let before = ctx.metrics();
    assert_eq!(before.jobs, 0, "transformations are lazy");
    let mut result = counts.collect().unwrap();
    result.sort();
    assert_eq!(
        result,
        (0..10).map(|i| (format!("w{i}"), 1000)).collect::<Vec<_>>()
    );
    let m = ctx.metrics();
    assert_eq!(m.jobs, 1);
    assert_eq!(m.stages, 2, "shuffle map stage + result stage");
    assert_eq!(m.task_attempts, 2 + 2);
    assert_eq!(m.task_failures, 0);
    assert!(m.shuffle_records_written <= 20, "{m:?}");
    assert_eq!(m.shuffle_records_written, 20, "10 keys per map partition");

    // A second action reuses the shuffle's map outputs: one stage, no writes.
    assert_eq!(counts.count().unwrap(), 10);
    let again = ctx.metrics();
    assert_eq!(again.jobs, 2);
    assert_eq!(again.stages, 3);
    assert_eq!(again.shuffle_records_written, 20);
    // So does a new RDD derived from the shuffled one.
    assert_eq!(counts.values().reduce(|a, b| a + b).unwrap(), Some(10_000));
    assert_eq!(ctx.metrics().stages, 4);
    assert_eq!(ctx.metrics().shuffle_records_written, 20);
}

#[test]
fn group_by_key_writes_every_record() {
    let ctx = ctx();
    let groups = ctx
        .parallelize(ten_thousand_words(), 2)
        .map(|w| (w, 1u8))
        .group_by_key();
    assert_eq!(groups.count().unwrap(), 10);
    let m = ctx.metrics();
    assert_eq!(m.stages, 2);
    assert_eq!(m.shuffle_records_written, 10_000, "no map-side combine");
}

#[test]
fn distinct_and_count_by_value_combine_map_side() {
    let ctx = ctx();
    let words = ctx.parallelize(ten_thousand_words(), 4);
    assert_eq!(words.distinct().count().unwrap(), 10);
    assert_eq!(ctx.metrics().shuffle_records_written, 40);
    let counts = words.count_by_value().unwrap();
    assert_eq!(counts.len(), 10);
    assert!(counts.values().all(|n| *n == 1000));
    assert_eq!(ctx.metrics().shuffle_records_written, 80);
}

#[test]
fn chained_shuffles_run_one_stage_each_plus_the_result() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize((0..100u32).map(|i| (i % 10, i)).collect(), 3)
        .reduce_by_key(|a, b| a + b)
        .map(|(k, v)| (k % 2, v))
        .reduce_by_key(|a, b| a + b);
    let mut out = rdd.collect().unwrap();
    out.sort();
    let even: u32 = (0..100).filter(|i| i % 2 == 0).sum();
    assert_eq!(out, vec![(0, even), (1, 4950 - even)]);
    let m = ctx.metrics();
    assert_eq!((m.jobs, m.stages), (1, 3));
    assert_eq!(rdd.count().unwrap(), 2);
    assert_eq!(ctx.metrics().stages, 4, "both shuffles are reused");
}

#[test]
fn a_join_runs_a_map_stage_per_parent() {
    let ctx = ctx();
    let left = ctx.parallelize((0..50u32).map(|i| (i % 5, i)).collect(), 2);
    let right = ctx.parallelize((0..5u32).map(|i| (i, i * 100)).collect(), 3);
    let joined = left.join(&right);
    assert_eq!(joined.count().unwrap(), 50);
    let m = ctx.metrics();
    assert_eq!((m.jobs, m.stages), (1, 3));
    assert_eq!(m.task_attempts, 2 + 3 + 3);
    assert_eq!(m.shuffle_records_written, 55);
    assert_eq!(joined.count().unwrap(), 50);
    assert_eq!(ctx.metrics().stages, 4);
}

#[test]
fn a_sort_samples_its_input_in_a_job_of_its_own() {
    let ctx = ctx();
    let sorted = ctx
        .parallelize((0..100u32).rev().map(|i| (i, ())).collect(), 4)
        .sort_by_key(true);
    assert_eq!(
        sorted.keys().collect().unwrap(),
        (0..100).collect::<Vec<_>>()
    );
    let m = ctx.metrics();
    assert_eq!(m.jobs, 2, "the sampling job and the sort");
    assert_eq!(m.stages, 3, "sample, map stage, result stage");
    assert_eq!(m.shuffle_records_written, 100);
    assert_eq!(sorted.count().unwrap(), 100);
    assert_eq!(ctx.metrics().jobs, 3, "bounds are sampled once");
    assert_eq!(ctx.metrics().stages, 4);
}
