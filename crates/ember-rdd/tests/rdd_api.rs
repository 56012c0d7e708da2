//! Exact tests of the RDD operations added for issue 15: Spark's own
//! examples (pyspark's doctests, same inputs and partition counts, same
//! expected outputs) and its edge cases: empty RDDs (with no partitions or
//! only empty ones), one partition, more partitions than elements, key
//! functions with ties, and the typed errors.

use std::sync::Arc;

use ember_rdd::{HashPartitioner, JobError, RddContext, StatCounter};

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

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn top_and_take_ordered_follow_spark_examples() {
    let ctx = ctx();
    assert_eq!(
        ctx.parallelize(vec![10, 4, 2, 12, 3], 1).top(1).unwrap(),
        vec![12]
    );
    assert_eq!(
        ctx.parallelize(vec![2, 3, 4, 5, 6], 2).top(2).unwrap(),
        vec![6, 5]
    );
    let by_string = ctx
        .parallelize(vec![10, 4, 2, 12, 3], 2)
        .top_by_key(3, |x| x.to_string());
    assert_eq!(by_string.unwrap(), vec![4, 3, 2]);
    let rdd = ctx.parallelize(vec![10, 1, 2, 9, 3, 4, 5, 6, 7], 2);
    assert_eq!(rdd.take_ordered(6).unwrap(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(
        rdd.take_ordered_by_key(6, |x| -x).unwrap(),
        vec![10, 9, 7, 6, 5, 4]
    );
}

#[test]
fn ordered_actions_on_empty_and_sparse_rdds() {
    let ctx = ctx();
    let none = ctx.empty::<i32>();
    let empty_parts = ctx.from_partitions::<i32>(vec![vec![], vec![], vec![]]);
    for rdd in [&none, &empty_parts] {
        assert_eq!(rdd.top(3).unwrap(), Vec::<i32>::new());
        assert_eq!(rdd.take_ordered(3).unwrap(), Vec::<i32>::new());
        assert_eq!(rdd.max().unwrap(), None);
        assert_eq!(rdd.min_by_key(|x| -x).unwrap(), None);
        assert!(rdd.is_empty().unwrap());
    }
    let sparse = ctx.parallelize(vec![3, 1], 8);
    assert_eq!(sparse.top(5).unwrap(), vec![3, 1]);
    assert_eq!(sparse.take_ordered(0).unwrap(), Vec::<i32>::new());
    assert!(!sparse.is_empty().unwrap());
    assert!(
        ctx.parallelize(vec![1, 2], 4)
            .filter(|x| *x > 5)
            .is_empty()
            .unwrap()
    );
}

#[test]
fn max_and_min_follow_spark_examples() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![1, 5, 43, 10], 2);
    assert_eq!(rdd.max().unwrap(), Some(43));
    assert_eq!(rdd.max_by_key(|x| x.to_string()).unwrap(), Some(5));
    assert_eq!(rdd.min().unwrap(), Some(1));
    assert_eq!(rdd.min_by_key(|x| x.to_string()).unwrap(), Some(1));
}

#[test]
fn numeric_actions_follow_spark_examples() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![1, 2, 3], 2);
    assert_eq!(rdd.sum().unwrap(), 6);
    assert_eq!(ctx.parallelize(vec![1.0, 2.0, 3.0], 2).sum().unwrap(), 6.0);
    assert_eq!(rdd.mean().unwrap(), Some(2.0));
    assert_eq!(rdd.variance().unwrap(), Some(2.0 / 3.0));
    assert_eq!(rdd.stdev().unwrap(), Some(0.816496580927726));
    assert_eq!(rdd.sample_variance().unwrap(), Some(1.0));
    assert_eq!(rdd.sample_stdev().unwrap(), Some(1.0));
    assert_eq!(ctx.empty::<u64>().sum().unwrap(), 0);
    assert_eq!(ctx.empty::<u64>().stats().unwrap(), StatCounter::new());
    let overflow = ctx.parallelize(vec![i64::MAX, 1], 2).sum();
    assert!(matches!(
        overflow,
        Err(JobError::NumericOverflow { operation: "sum" })
    ));
    // One counter per partition, merged: a partition much larger than
    // another takes Spark's guarded branch of the merge.
    let skewed = ctx.from_partitions(vec![vec![1.0; 30], vec![4.0], vec![]]);
    let stats = skewed.stats().unwrap();
    assert_eq!((stats.count(), stats.max(), stats.min()), (31, 4.0, 1.0));
    assert_eq!(stats.sum(), 34.0);
    assert_eq!(
        stats.to_string(),
        format!(
            "(count: 31, mean: {}, stdev: {}, max: 4, min: 1)",
            stats.mean(),
            stats.stdev()
        )
    );
}

#[test]
fn set_operations_follow_spark_examples() {
    let ctx = ctx();
    let a = ctx.parallelize(vec![1, 10, 2, 3, 4, 5], 2);
    let b = ctx.parallelize(vec![1, 6, 2, 3, 7, 8], 3);
    assert_eq!(sorted(a.intersection(&b).collect().unwrap()), vec![1, 2, 3]);
    let x = ctx.parallelize(vec![(s("a"), 1), (s("b"), 4), (s("b"), 5), (s("a"), 3)], 2);
    let y = ctx.parallelize(vec![(s("a"), 3), (s("c"), 0)], 1);
    assert_eq!(
        sorted(x.subtract(&y).collect().unwrap()),
        vec![(s("a"), 1), (s("b"), 4), (s("b"), 5)]
    );
    let x = ctx.parallelize(vec![(s("a"), 1), (s("b"), 4), (s("b"), 5), (s("a"), 2)], 2);
    assert_eq!(
        sorted(x.subtract_by_key(&y).collect().unwrap()),
        vec![(s("b"), 4), (s("b"), 5)]
    );
    let pairs = ctx
        .parallelize(vec![1, 2], 2)
        .cartesian(&ctx.parallelize(vec![1, 2], 2));
    assert_eq!(pairs.num_partitions(), 4);
    assert_eq!(
        sorted(pairs.collect().unwrap()),
        vec![(1, 1), (1, 2), (2, 1), (2, 2)]
    );
    let groups = ctx
        .parallelize(vec![1, 1, 2, 3, 5, 8], 2)
        .group_by(|x| x % 2);
    assert_eq!(
        sorted(groups.collect().unwrap()),
        vec![(0, vec![2, 8]), (1, vec![1, 1, 3, 5])]
    );
    // With an empty side.
    let none = ctx.empty::<i32>();
    assert_eq!(a.intersection(&none).collect().unwrap(), Vec::<i32>::new());
    assert_eq!(
        sorted(a.subtract(&none).collect().unwrap()),
        vec![1, 2, 3, 4, 5, 10]
    );
    assert_eq!(a.cartesian(&none).num_partitions(), 0);
    assert_eq!(
        a.cartesian(&none).collect().unwrap(),
        Vec::<(i32, i32)>::new()
    );
}

#[test]
fn group_with_follows_spark_example() {
    let ctx = ctx();
    let w = ctx.parallelize(vec![(s("a"), 5), (s("b"), 6)], 2);
    let x = ctx.parallelize(vec![(s("a"), 1), (s("b"), 4)], 2);
    let y = ctx.parallelize(vec![(s("a"), 2)], 1);
    let z = ctx.parallelize(vec![(s("b"), 42)], 1);
    let groups = w.group_with(&[x, y, z]);
    assert_eq!(
        sorted(groups.collect().unwrap()),
        vec![
            (s("a"), vec![vec![5], vec![1], vec![2], vec![]]),
            (s("b"), vec![vec![6], vec![4], vec![], vec![42]]),
        ]
    );
    assert_eq!(
        sorted(w.group_with(&[]).collect().unwrap()),
        vec![(s("a"), vec![vec![5]]), (s("b"), vec![vec![6]])]
    );
}

#[test]
fn group_with_reads_a_parent_placed_by_its_partitioner_in_place() {
    let ctx = ctx();
    let by_2: Arc<dyn ember_rdd::Partitioner<u32>> = Arc::new(HashPartitioner::new(2));
    let state = ctx
        .parallelize(vec![(1, 'a'), (2, 'b')], 2)
        .partition_by(Arc::clone(&by_2));
    let batch = ctx.parallelize(vec![(1, 'x'), (3, 'y')], 3);
    let groups = state.group_with_partitioner(&[batch], by_2);
    assert_eq!(
        groups.to_debug_string(),
        "\
(2) CoGroupedRDD[3] at group_with []
 |  ShuffledRDD[1] at partition_by []
 +-(2) ParallelCollectionRDD[0] at parallelize []
 +-(3) ParallelCollectionRDD[2] at parallelize []"
    );
    assert!(groups.partitioner().is_some());
}

#[test]
fn zips_follow_spark_examples_and_errors() {
    let ctx = ctx();
    let x = ctx.parallelize((0..5).collect(), 2);
    let y = ctx.parallelize((1000..1005).collect(), 2);
    let expected: Vec<(i32, i32)> = (0..5).zip(1000..1005).collect();
    assert_eq!(x.zip(&y).unwrap().collect().unwrap(), expected);
    let letters = ctx
        .parallelize(strs(&["a", "b", "c", "d"]), 3)
        .zip_with_index()
        .unwrap();
    assert_eq!(
        letters.collect().unwrap(),
        vec![(s("a"), 0), (s("b"), 1), (s("c"), 2), (s("d"), 3)]
    );
    let ids = ctx
        .parallelize(strs(&["a", "b", "c", "d", "e"]), 3)
        .zip_with_unique_id();
    assert_eq!(
        ids.collect().unwrap(),
        vec![
            (s("a"), 0),
            (s("b"), 1),
            (s("c"), 4),
            (s("d"), 2),
            (s("e"), 5)
        ]
    );
    let error = x.zip(&ctx.parallelize(vec![1], 3)).err().unwrap();
    assert_eq!(
        error.to_string(),
        "cannot zip RDDs with unequal numbers of partitions: 2 and 3"
    );
    let uneven = x
        .zip(&ctx.from_partitions(vec![vec![0, 1], vec![2]]))
        .unwrap();
    let error = uneven.collect().unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot zip RDDs with unequal numbers of elements in partition 1: 3 and 1"
    );
    assert_eq!(
        ctx.empty::<i32>()
            .zip_with_index()
            .unwrap()
            .collect()
            .unwrap(),
        vec![]
    );
    assert_eq!(
        ctx.empty::<i32>()
            .zip(&ctx.empty::<u8>())
            .unwrap()
            .count()
            .unwrap(),
        0
    );
}

#[test]
fn zip_with_index_runs_one_job_over_all_partitions_but_the_last() {
    let ctx = ctx();
    let rdd = ctx.parallelize((0..10).collect::<Vec<i32>>(), 4);
    let before = ctx.metrics();
    let indexed = rdd.zip_with_index().unwrap();
    let after = ctx.metrics();
    assert_eq!(
        (
            after.jobs - before.jobs,
            after.task_attempts - before.task_attempts
        ),
        (1, 3)
    );
    assert_eq!(
        indexed.map(|(_, i)| i).collect().unwrap(),
        (0..10).collect::<Vec<u64>>()
    );
}

#[test]
fn tree_aggregations_follow_spark_examples() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![-5, -4, -3, -2, -1, 1, 2, 3, 4], 10);
    for depth in [1, 2, 5, 10] {
        assert_eq!(
            rdd.tree_reduce(|a, b| a + b, depth).unwrap(),
            Some(-5),
            "depth {depth}"
        );
        assert_eq!(
            rdd.tree_aggregate(0, |a, b| a + b, |a, b| a + b, depth)
                .unwrap(),
            -5
        );
    }
    assert!(matches!(
        rdd.tree_reduce(|a, b| a + b, 0),
        Err(JobError::InvalidDepth { depth: 0 })
    ));
    assert_eq!(
        rdd.tree_aggregate(0, |a, b| a + b, |a, b| a + b, 0)
            .unwrap_err()
            .to_string(),
        "invalid tree depth 0: it must be at least 1"
    );
    assert_eq!(
        ctx.empty::<i32>().tree_reduce(|a, b| a + b, 2).unwrap(),
        None
    );
    assert_eq!(
        ctx.empty::<i32>()
            .tree_aggregate(7, |a, b| a + b, |a, b| a + b, 2)
            .unwrap(),
        7
    );
}

#[test]
fn tree_aggregate_adds_the_levels_spark_adds() {
    // 20 partitions, depth 2: scale = ceil(sqrt(20)) = 5, and 20 > 5 + 4, so
    // one level merges into 20 / 5 = 4 partitions (one shuffle map stage of
    // 20 tasks, a result stage of 4); depth 1 merges everything at once.
    let ctx = ctx();
    let rdd = ctx.parallelize((1..=100).collect::<Vec<i64>>(), 20);
    for (depth, stages, tasks) in [(1, 1, 20), (2, 2, 24)] {
        let before = ctx.metrics();
        let sum = rdd
            .tree_aggregate(0, |a, b| a + b, |a, b| a + b, depth)
            .unwrap();
        let after = ctx.metrics();
        assert_eq!(sum, 5050);
        assert_eq!(
            (
                after.stages - before.stages,
                after.task_attempts - before.task_attempts
            ),
            (stages, tasks),
            "depth {depth}"
        );
    }
}

#[test]
fn local_actions_follow_spark_examples() {
    let ctx = ctx();
    let counts = ctx
        .parallelize(vec![(s("a"), 1), (s("b"), 1), (s("a"), 1)], 2)
        .reduce_by_key_locally(|a, b| a + b)
        .unwrap();
    assert_eq!(
        sorted(counts.into_iter().collect()),
        vec![(s("a"), 2), (s("b"), 1)]
    );
    let pairs: Vec<(i32, i32)> = (0..1000).map(|i| (i, i)).collect();
    let rdd = ctx.parallelize(pairs, 10);
    assert_eq!(rdd.lookup(&42).unwrap(), vec![42]);
    assert_eq!(
        rdd.sort_by_key(true).lookup(&1024).unwrap(),
        Vec::<i32>::new()
    );
    let grouped = ctx
        .parallelize(vec![((s("a"), s("b")), s("c"))], 1)
        .group_by_key();
    assert_eq!(grouped.lookup(&(s("a"), s("b"))).unwrap(), vec![vec!["c"]]);
    assert_eq!(
        ctx.empty::<(u8, u8)>().lookup(&1).unwrap(),
        Vec::<u8>::new()
    );
    assert!(
        ctx.empty::<(u8, u8)>()
            .reduce_by_key_locally(|a, b| a + b)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn lookup_with_a_partitioner_reads_one_partition() {
    let ctx = ctx();
    let rdd = ctx
        .parallelize((0..100).map(|i| (i, i * 2)).collect::<Vec<(i32, i32)>>(), 4)
        .reduce_by_key_with_partitions(|a, b| a + b, 8);
    rdd.count().unwrap();
    let before = ctx.metrics();
    assert_eq!(rdd.lookup(&21).unwrap(), vec![42]);
    let after = ctx.metrics();
    assert_eq!(after.task_attempts - before.task_attempts, 1);
    let before = ctx.metrics();
    assert_eq!(rdd.map(|p| p).lookup(&21).unwrap(), vec![42]);
    assert_eq!(ctx.metrics().task_attempts - before.task_attempts, 8);
}

#[test]
fn to_local_iterator_runs_a_job_per_partition_and_stops_at_an_error() {
    let ctx = ctx();
    let rdd = ctx.parallelize((1..=6).collect::<Vec<i32>>(), 3);
    let before = ctx.metrics().jobs;
    let mut iter = rdd.to_local_iterator();
    assert_eq!(ctx.metrics().jobs, before);
    assert_eq!(iter.next().unwrap().unwrap(), 1);
    assert_eq!(ctx.metrics().jobs, before + 1);
    assert_eq!(
        iter.collect::<Result<Vec<_>, _>>().unwrap(),
        vec![2, 3, 4, 5, 6]
    );
    assert_eq!(ctx.metrics().jobs, before + 3);
    // Partition 1 of this zip fails: its elements before, then the error once.
    let uneven = ctx
        .from_partitions(vec![vec![1], vec![2, 3], vec![4]])
        .zip(&ctx.from_partitions(vec![vec!['a'], vec!['b'], vec!['c']]))
        .unwrap();
    let items: Vec<Result<(i32, char), JobError>> = uneven.to_local_iterator().collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), &(1, 'a'));
    assert!(matches!(
        items[1],
        Err(JobError::ZipElements {
            partition: 1,
            left: 2,
            right: 1
        })
    ));
    assert_eq!(ctx.empty::<i32>().to_local_iterator().count(), 0);
}

#[test]
fn sort_by_key_with_follows_spark_example() {
    let ctx = ctx();
    let words = vec![
        (s("Mary"), 1),
        (s("had"), 2),
        (s("a"), 3),
        (s("little"), 4),
        (s("lamb"), 5),
        (s("whose"), 6),
        (s("fleece"), 7),
        (s("was"), 8),
        (s("white"), 9),
    ];
    let sorted_rdd = ctx
        .parallelize(words, 2)
        .sort_by_key_with(true, 3, |k| k.to_lowercase());
    assert_eq!(sorted_rdd.num_partitions(), 3);
    assert_eq!(
        sorted_rdd.collect().unwrap(),
        vec![
            (s("a"), 3),
            (s("fleece"), 7),
            (s("had"), 2),
            (s("lamb"), 5),
            (s("little"), 4),
            (s("Mary"), 1),
            (s("was"), 8),
            (s("white"), 9),
            (s("whose"), 6)
        ]
    );
    assert_eq!(
        ctx.empty::<(i32, i32)>()
            .sort_by_key_with_partitions(false, 4)
            .collect()
            .unwrap(),
        vec![]
    );
}

#[test]
fn partition_count_forms_place_records_by_a_hash_partitioner() {
    let ctx = ctx();
    let pairs = ctx.parallelize(vec![(s("a"), 1), (s("b"), 2), (s("a"), 3), (s("c"), 4)], 2);
    let folded = pairs.fold_by_key_with_partitions(0, |a, b| a + b, 5);
    assert!(
        folded
            .partitioner()
            .unwrap()
            .equivalent(&HashPartitioner::new(5))
    );
    assert_eq!(
        sorted(folded.collect().unwrap()),
        vec![(s("a"), 4), (s("b"), 2), (s("c"), 4)]
    );
    let aggregated = pairs.aggregate_by_key_with_partitions(
        Vec::new(),
        |mut l, v| {
            l.push(v);
            l
        },
        |mut a, b| {
            a.extend(b);
            a
        },
        1,
    );
    assert_eq!(aggregated.num_partitions(), 1);
    assert_eq!(
        sorted(aggregated.collect().unwrap()),
        vec![(s("a"), vec![1, 3]), (s("b"), vec![2]), (s("c"), vec![4])]
    );
    let distinct = ctx
        .parallelize(vec![1, 1, 2], 3)
        .distinct_with_partitions(1);
    assert_eq!(distinct.glom().collect().unwrap().len(), 1);
    assert_eq!(sorted(distinct.collect().unwrap()), vec![1, 2]);
}

#[test]
fn take_sample_follows_spark_examples() {
    let ctx = ctx();
    let rdd = ctx.parallelize((0..10).collect::<Vec<i32>>(), 2);
    assert_eq!(rdd.take_sample(true, 20, 1).unwrap().len(), 20);
    assert_eq!(rdd.take_sample(false, 5, 2).unwrap().len(), 5);
    assert_eq!(
        sorted(rdd.take_sample(false, 15, 3).unwrap()),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(rdd.take_sample(false, 0, 3).unwrap(), Vec::<i32>::new());
    assert_eq!(
        ctx.empty::<i32>().take_sample(true, 5, 3).unwrap(),
        Vec::<i32>::new()
    );
    // With replacement from one element: that element, num times.
    assert_eq!(
        ctx.parallelize(vec![7], 4)
            .take_sample(true, 30, 9)
            .unwrap(),
        vec![7; 30]
    );
}

#[test]
fn sample_rejects_invalid_fractions() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![1, 2, 3], 2);
    for (with_replacement, fraction) in
        [(false, -0.1), (true, -0.1), (false, 1.5), (false, f64::NAN)]
    {
        match rdd.sample(with_replacement, fraction, 1) {
            Err(JobError::InvalidFraction {
                fraction: f,
                with_replacement: w,
            }) => {
                assert_eq!(w, with_replacement);
                assert_eq!(f.to_bits(), fraction.to_bits());
            }
            other => panic!("({with_replacement}, {fraction}): {other:?}"),
        }
    }
    assert_eq!(
        rdd.sample(false, 1.5, 1).err().unwrap().to_string(),
        "invalid sampling fraction 1.5: it must be >= 0 and <= 1 without replacement"
    );
    // With replacement a fraction above 1 is the expected number of copies.
    assert!(rdd.sample(true, 3.0, 1).is_ok());
}

#[test]
fn sample_draws_from_each_partition_independently_of_the_others() {
    // Partition i draws from the generator of (seed, i): partition 1 of
    // two RDDs with equal partition 1 samples alike, whatever partition 0 holds.
    let ctx = ctx();
    let a = ctx.from_partitions(vec![(0..50).collect::<Vec<i32>>(), (100..200).collect()]);
    let b = ctx.from_partitions(vec![vec![], (100..200).collect::<Vec<i32>>()]);
    for with_replacement in [false, true] {
        let sa = a
            .sample(with_replacement, 0.4, 77)
            .unwrap()
            .collect_partitions()
            .unwrap();
        let sb = b
            .sample(with_replacement, 0.4, 77)
            .unwrap()
            .collect_partitions()
            .unwrap();
        assert_eq!(sa[1], sb[1]);
        assert_ne!(
            sa[1],
            a.sample(with_replacement, 0.4, 78)
                .unwrap()
                .collect_partitions()
                .unwrap()[1]
        );
    }
}

#[test]
fn a_function_panicking_while_merging_on_the_callers_thread_is_an_error() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let ctx = ctx();
    // Each key once per partition: merge runs only when the caller merges.
    let pairs = ctx.from_partitions(vec![vec![(s("a"), 1)], vec![(s("a"), 2)]]);
    let merged = pairs.reduce_by_key_locally(|_, _| panic!("merge failed"));
    match merged {
        Err(JobError::CallbackPanicked { operation, message }) => {
            assert_eq!(
                (operation, message.as_str()),
                ("reduce_by_key_locally", "merge failed")
            );
        }
        other => panic!("{other:?}"),
    }
    // Depth 1: `comb` runs only on the caller's thread.
    let rdd = ctx.parallelize(vec![1, 2, 3], 3);
    let total = rdd.tree_aggregate(0, |a, x| a + x, |_, _| -> i32 { panic!("comb failed") }, 1);
    assert!(matches!(
        total,
        Err(JobError::CallbackPanicked {
            operation: "tree_aggregate",
            ..
        })
    ));
    // The key function runs once per element in the tasks, then again on
    // the caller's thread: it panics from its fourth call on.
    let calls = AtomicUsize::new(0);
    let key = |x: &i32| {
        assert!(calls.fetch_add(1, Ordering::SeqCst) < 3, "key failed");
        *x
    };
    assert!(matches!(
        rdd.max_by_key(key),
        Err(JobError::CallbackPanicked {
            operation: "max_by_key",
            ..
        })
    ));
    calls.store(0, Ordering::SeqCst);
    assert!(matches!(
        rdd.min_by_key(key),
        Err(JobError::CallbackPanicked {
            operation: "min_by_key",
            ..
        })
    ));
}

#[test]
fn cartesian_is_narrow_on_both_parents() {
    let ctx = ctx();
    let pairs = ctx
        .parallelize(vec![1, 2], 2)
        .cartesian(&ctx.parallelize(vec!['a'], 3));
    assert_eq!(
        pairs.to_debug_string(),
        "\
(6) CartesianRDD[2] at cartesian []
 |  ParallelCollectionRDD[0] at parallelize []
 |  ParallelCollectionRDD[1] at parallelize []"
    );
    // Partition i * 3 + j pairs left partition i with right partition j.
    assert_eq!(
        pairs.collect_partitions().unwrap(),
        vec![
            vec![],
            vec![],
            vec![(1, 'a')],
            vec![],
            vec![],
            vec![(2, 'a')]
        ]
    );
}

#[test]
fn sample_sizes_follow_their_distributions() {
    // Seeded, so the outcome is fixed; the check is statistical: 20,000
    // elements in 4 partitions sampled at 0.3 keep a count within four
    // standard deviations of its mean, Bernoulli (variance n p (1 - p)) and
    // Poisson (variance n p) alike.
    let ctx = ctx();
    let rdd = ctx.parallelize((0..20_000).collect::<Vec<u32>>(), 4);
    let (n, p) = (20_000.0, 0.3);
    for (with_replacement, variance) in [(false, n * p * (1.0 - p)), (true, n * p)] {
        let count = rdd.sample(with_replacement, p, 5).unwrap().count().unwrap() as f64;
        let deviation: f64 = variance.sqrt();
        assert!(
            (count - n * p).abs() < 4.0 * deviation,
            "{with_replacement}: {count}"
        );
    }
}
