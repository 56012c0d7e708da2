//! Creating contexts and RDDs from local data: `RddContext::local`/`new`,
//! `parallelize` (Spark's slicing), `from_partitions`, `empty` and
//! `RddContext::union`.

use ember_rdd::{JobError, RddConf, RddContext};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// Owned copies of `words`: RDD elements must be owned (serializable).
fn strs(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn local_contexts_have_the_requested_parallelism() {
    assert_eq!(RddContext::local(1).unwrap().default_parallelism(), 1);
    assert_eq!(RddContext::local(3).unwrap().default_parallelism(), 3);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(RddContext::local(0).unwrap().default_parallelism(), cores);
    let conf = RddConf::new().master("local");
    assert_eq!(RddContext::new(conf).unwrap().default_parallelism(), 1);
}

#[test]
fn an_unknown_master_is_rejected() {
    let err = RddContext::new(RddConf::new().master("spark://host:7077")).unwrap_err();
    match err {
        JobError::InvalidMaster { master } => assert_eq!(master, "spark://host:7077"),
        other => panic!("expected InvalidMaster, got {other:?}"),
    }
}

#[test]
fn parallelize_slices_contiguously_like_spark() {
    let ctx = ctx();
    let rdd = ctx.parallelize((1..=5).collect::<Vec<i32>>(), 2);
    assert_eq!(rdd.num_partitions(), 2);
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec![1, 2], vec![3, 4, 5]]
    );
    let rdd = ctx.parallelize((1..=10).collect::<Vec<i32>>(), 3);
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9, 10]]
    );
    assert_eq!(rdd.collect().unwrap(), (1..=10).collect::<Vec<_>>());
}

#[test]
fn parallelize_with_more_partitions_than_elements() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec!['a', 'b'], 5);
    assert_eq!(rdd.num_partitions(), 5);
    // Spark's positions: [i*len/n, (i+1)*len/n) for len 2, n 5.
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec![], vec![], vec!['a'], vec![], vec!['b']]
    );
    assert_eq!(rdd.collect().unwrap(), vec!['a', 'b']);
    assert_eq!(rdd.count().unwrap(), 2);
}

#[test]
fn parallelize_with_one_partition_and_with_zero() {
    let ctx = ctx();
    let one = ctx.parallelize(vec![3, 1, 2], 1);
    assert_eq!(one.glom().collect().unwrap(), vec![vec![3, 1, 2]]);
    let zero = ctx.parallelize(vec![3, 1, 2], 0);
    assert_eq!(zero.num_partitions(), 1, "at least one partition");
    assert_eq!(zero.collect().unwrap(), vec![3, 1, 2]);
}

#[test]
fn parallelize_of_nothing_has_empty_partitions() {
    let ctx = ctx();
    let rdd = ctx.parallelize(Vec::<u32>::new(), 3);
    assert_eq!(rdd.num_partitions(), 3);
    assert_eq!(rdd.glom().collect().unwrap(), vec![Vec::<u32>::new(); 3]);
    assert_eq!(rdd.collect().unwrap(), Vec::<u32>::new());
    assert_eq!(rdd.count().unwrap(), 0);
}

#[test]
fn from_partitions_keeps_the_given_partitions() {
    let ctx = ctx();
    let rdd = ctx.from_partitions(vec![strs(&["a"]), vec![], strs(&["b", "c"]), vec![]]);
    assert_eq!(rdd.num_partitions(), 4);
    assert_eq!(
        rdd.glom().collect().unwrap(),
        vec![vec!["a"], vec![], vec!["b", "c"], vec![]]
    );
    assert_eq!(rdd.collect().unwrap(), vec!["a", "b", "c"]);
    let none = ctx.from_partitions(Vec::<Vec<i32>>::new());
    assert_eq!(none.num_partitions(), 0);
    assert_eq!(none.collect().unwrap(), Vec::<i32>::new());
}

#[test]
fn empty_has_no_partitions_and_no_elements() {
    let ctx = ctx();
    let rdd = ctx.empty::<String>();
    assert_eq!(rdd.num_partitions(), 0);
    assert!(rdd.dependencies().is_empty());
    assert_eq!(rdd.collect().unwrap(), Vec::<String>::new());
    assert_eq!(rdd.collect_partitions().unwrap(), Vec::<Vec<String>>::new());
    assert_eq!(rdd.glom().collect().unwrap(), Vec::<Vec<String>>::new());
    assert_eq!(rdd.count().unwrap(), 0);
}

#[test]
fn context_union_puts_partitions_side_by_side_in_order() {
    let ctx = ctx();
    let a = ctx.parallelize(vec![1, 2, 3], 2);
    let b = ctx.empty();
    let c = ctx.parallelize(vec![4], 1);
    let d = ctx.parallelize(vec![5, 6], 3);
    let all = ctx.union(&[a, b, c, d]);
    assert_eq!(all.num_partitions(), 2 + 1 + 3);
    assert_eq!(
        all.glom().collect().unwrap(),
        vec![vec![1], vec![2, 3], vec![4], vec![], vec![5], vec![6]]
    );
    assert_eq!(all.collect().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    let nothing = ctx.union::<i32>(&[]);
    assert_eq!(nothing.num_partitions(), 0);
    assert_eq!(nothing.collect().unwrap(), Vec::<i32>::new());
}

#[test]
fn rdd_ids_are_unique_and_handles_share_the_context() {
    let ctx = ctx();
    let a = ctx.parallelize(vec![1], 1);
    let b = a.map(|x| x + 1);
    let c = ctx.empty::<i32>();
    assert!(a.id() < b.id() && b.id() < c.id());
    assert_eq!(a.clone().id(), a.id(), "a clone is the same RDD");
    assert_eq!(b.context().default_parallelism(), 2);
    assert_eq!(
        b.context().parallelize(vec![7], 1).collect().unwrap(),
        vec![7]
    );
}
