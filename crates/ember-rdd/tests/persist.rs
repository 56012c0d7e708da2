//! Persistence: `cache`/`persist` keep computed partitions in the block
//! manager, a lost block is recomputed from lineage (that partition only),
//! `unpersist` and dropping the last handle free the blocks, and
//! `local_checkpoint`/`replace_lineage` truncate the lineage.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ember_rdd::{
    BlockId, BoxIter, Dependency, JobError, Rdd, RddCompute, RddContext, StorageLevel, TaskContext,
};

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// How many times each partition has been computed.
#[derive(Clone)]
struct Counters(Arc<Vec<AtomicUsize>>);

impl Counters {
    fn new(partitions: usize) -> Self {
        Counters(Arc::new(
            (0..partitions).map(|_| AtomicUsize::new(0)).collect(),
        ))
    }

    fn hit(&self, partition: usize) {
        self.0[partition].fetch_add(1, Ordering::SeqCst);
    }

    fn get(&self) -> Vec<usize> {
        self.0.iter().map(|c| c.load(Ordering::SeqCst)).collect()
    }
}

/// 0..100 doubled, in 4 partitions, counting how often each is computed.
fn counted(ctx: &RddContext) -> (Rdd<u32>, Counters) {
    let counters = Counters::new(4);
    let c = counters.clone();
    let rdd = ctx
        .parallelize((0..100).collect::<Vec<u32>>(), 4)
        .map_partitions_with_index(move |index, it| {
            c.hit(index);
            it.map(|x| x * 2)
        });
    (rdd, counters)
}

fn expected() -> Vec<u32> {
    (0..100).map(|x| x * 2).collect()
}

fn blocks_of(ctx: &RddContext, rdd: usize) -> Vec<usize> {
    ctx.block_manager()
        .block_ids()
        .into_iter()
        .filter(|id| id.rdd == rdd)
        .map(|id| id.partition)
        .collect()
}

#[test]
fn without_cache_every_action_recomputes() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    assert_eq!(rdd.storage_level(), StorageLevel::None);
    rdd.count().unwrap();
    rdd.count().unwrap();
    assert_eq!(counters.get(), vec![2, 2, 2, 2]);
    assert!(blocks_of(&ctx, rdd.id()).is_empty());
}

#[test]
fn a_cached_rdd_computes_each_partition_once() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    rdd.cache();
    assert_eq!(rdd.storage_level(), StorageLevel::MemoryOnly);
    assert!(blocks_of(&ctx, rdd.id()).is_empty(), "cache is lazy");
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(rdd.count().unwrap(), 100);
    assert_eq!(rdd.reduce(|a, b| a + b).unwrap(), Some(9900));
    assert_eq!(rdd.map(|x| x + 1).take(2).unwrap(), vec![1, 3]);
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(counters.get(), vec![1, 1, 1, 1]);
    assert_eq!(blocks_of(&ctx, rdd.id()), vec![0, 1, 2, 3]);
}

#[test]
fn a_removed_block_is_recomputed_alone() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    rdd.cache();
    rdd.count().unwrap();
    let block = BlockId {
        rdd: rdd.id(),
        partition: 2,
    };
    assert!(ctx.block_manager().contains(block));
    assert!(ctx.block_manager().remove(block));
    assert!(!ctx.block_manager().contains(block));
    assert!(!ctx.block_manager().remove(block), "already gone");
    assert_eq!(blocks_of(&ctx, rdd.id()), vec![0, 1, 3]);
    assert_eq!(rdd.collect().unwrap(), expected(), "results unchanged");
    assert_eq!(counters.get(), vec![1, 1, 2, 1], "only partition 2 again");
    assert!(ctx.block_manager().contains(block), "cached again");
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(counters.get(), vec![1, 1, 2, 1]);
}

#[test]
fn losing_every_block_recomputes_everything_once() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    rdd.cache();
    rdd.count().unwrap();
    for partition in 0..4 {
        assert!(ctx.block_manager().remove(BlockId {
            rdd: rdd.id(),
            partition
        }));
    }
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(rdd.count().unwrap(), 100);
    assert_eq!(counters.get(), vec![2, 2, 2, 2]);
}

#[test]
fn unpersist_drops_all_blocks_and_stops_caching() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    rdd.cache().count().unwrap();
    assert_eq!(blocks_of(&ctx, rdd.id()).len(), 4);
    rdd.unpersist();
    assert_eq!(rdd.storage_level(), StorageLevel::None);
    assert!(blocks_of(&ctx, rdd.id()).is_empty());
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(counters.get(), vec![3, 3, 3, 3]);
    assert!(blocks_of(&ctx, rdd.id()).is_empty());
}

#[test]
fn dropping_the_last_handle_frees_the_blocks() {
    let ctx = ctx();
    let (rdd, _) = counted(&ctx);
    let id = rdd.id();
    rdd.cache().count().unwrap();
    let other = ctx.parallelize(vec![1, 2], 2);
    other.cache().count().unwrap();
    let child = rdd.map(|x| x + 1);
    let clone = rdd.clone();
    drop(rdd);
    assert_eq!(blocks_of(&ctx, id).len(), 4, "a clone still holds it");
    drop(clone);
    assert_eq!(blocks_of(&ctx, id).len(), 4, "its child still holds it");
    assert_eq!(child.count().unwrap(), 100);
    drop(child);
    assert!(blocks_of(&ctx, id).is_empty());
    assert_eq!(
        blocks_of(&ctx, other.id()),
        vec![0, 1],
        "other RDDs keep theirs"
    );
}

#[test]
fn take_caches_only_the_partitions_it_scanned() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    rdd.cache();
    assert_eq!(rdd.take(3).unwrap(), vec![0, 2, 4]);
    assert_eq!(blocks_of(&ctx, rdd.id()), vec![0]);
    assert_eq!(rdd.count().unwrap(), 100);
    assert_eq!(counters.get(), vec![1, 1, 1, 1]);
}

#[test]
fn a_cached_parent_of_several_shuffles_is_computed_once() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    let pairs = rdd.map(|x| (x % 3, x));
    rdd.cache();
    let sums = pairs.reduce_by_key(|a, b| a + b);
    let groups = pairs.group_by_key();
    let sorted = pairs.sort_by_key(false);
    let mut s = sums.collect().unwrap();
    s.sort();
    let expect_sum = |r: u32| expected().into_iter().filter(|x| x % 3 == r).sum::<u32>();
    assert_eq!(
        s,
        vec![(0, expect_sum(0)), (1, expect_sum(1)), (2, expect_sum(2))]
    );
    assert_eq!(groups.count().unwrap(), 3);
    assert_eq!(sorted.first().unwrap().map(|(k, _)| k), Some(2));
    assert_eq!(counters.get(), vec![1, 1, 1, 1]);
}

#[test]
fn caching_the_output_of_a_shuffle() {
    let ctx = ctx();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let sums = ctx
        .parallelize((0..60u32).map(|i| (i % 6, 1u32)).collect(), 3)
        .reduce_by_key(|a, b| a + b)
        .map(move |kv| {
            c.fetch_add(1, Ordering::SeqCst);
            kv
        });
    sums.cache();
    let mut first = sums.collect().unwrap();
    first.sort();
    assert_eq!(first, (0..6).map(|k| (k, 10)).collect::<Vec<_>>());
    assert_eq!(sums.count().unwrap(), 6);
    assert_eq!(calls.load(Ordering::SeqCst), 6, "each record mapped once");
    assert_eq!(blocks_of(&ctx, sums.id()), vec![0, 1, 2]);
}

#[test]
fn persist_shows_in_the_lineage() {
    let ctx = ctx();
    let rdd = ctx.parallelize(vec![1], 1).map(|x| x + 1);
    rdd.persist(StorageLevel::MemoryOnly);
    assert!(
        rdd.to_debug_string()
            .ends_with("at map [Memory Deserialized 1x Replicated]\n |  ParallelCollectionRDD[0] at parallelize []"),
        "{}",
        rdd.to_debug_string()
    );
    rdd.unpersist();
    assert!(
        rdd.to_debug_string()
            .starts_with("(1) MapPartitionsRDD[1] at map []")
    );
}

#[test]
fn local_checkpoint_truncates_lineage_and_keeps_results() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    let child = rdd.map(|x| x + 1);
    rdd.local_checkpoint().unwrap();
    assert_eq!(counters.get(), vec![1, 1, 1, 1]);
    assert!(rdd.dependencies().is_empty());
    assert_eq!(rdd.num_partitions(), 4);
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(child.count().unwrap(), 100);
    assert_eq!(
        rdd.collect_partitions()
            .unwrap()
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        vec![25; 4]
    );
    assert_eq!(counters.get(), vec![1, 1, 1, 1], "never recomputed");
    assert_eq!(
        rdd.to_debug_string(),
        format!(
            "(4) LocalCheckpointRDD[{}] at map_partitions_with_index []",
            rdd.id()
        )
    );
}

#[test]
fn local_checkpoint_of_a_cached_rdd_takes_over_its_blocks() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    rdd.cache().count().unwrap();
    rdd.local_checkpoint().unwrap();
    assert_eq!(counters.get(), vec![1, 1, 1, 1], "no recomputation");
    assert!(rdd.dependencies().is_empty());
    assert!(
        blocks_of(&ctx, rdd.id()).is_empty(),
        "the data lives in the RDD now"
    );
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(rdd.count().unwrap(), 100);
    assert_eq!(counters.get(), vec![1, 1, 1, 1]);
}

#[test]
fn local_checkpoint_of_a_partly_cached_rdd_computes_the_rest_once() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    rdd.cache().count().unwrap();
    ctx.block_manager().remove(BlockId {
        rdd: rdd.id(),
        partition: 1,
    });
    rdd.local_checkpoint().unwrap();
    assert_eq!(counters.get(), vec![1, 2, 1, 1]);
    assert!(blocks_of(&ctx, rdd.id()).is_empty());
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(counters.get(), vec![1, 2, 1, 1]);
}

#[test]
fn local_checkpoint_of_a_shuffled_rdd() {
    let ctx = ctx();
    let sums = ctx
        .parallelize(
            vec![
                ("a".to_owned(), 1),
                ("b".to_owned(), 2),
                ("a".to_owned(), 3),
            ],
            2,
        )
        .reduce_by_key(|a, b| a + b);
    sums.local_checkpoint().unwrap();
    assert!(sums.dependencies().is_empty());
    let mut out = sums.collect().unwrap();
    out.sort();
    assert_eq!(out, vec![("a".to_owned(), 4), ("b".to_owned(), 2)]);
}

/// Serves fixed partitions, as a reader of checkpoint files would.
struct Restored(Vec<Vec<u32>>);

impl RddCompute<u32> for Restored {
    fn kind(&self) -> &'static str {
        "ReliableCheckpointRDD"
    }
    fn num_partitions(&self) -> usize {
        self.0.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<u32>, JobError> {
        Ok(Box::new(self.0[partition].clone().into_iter()))
    }
}

#[test]
fn replace_lineage_reads_from_the_new_source() {
    let ctx = ctx();
    let (rdd, counters) = counted(&ctx);
    let parts = rdd.collect_partitions().unwrap();
    assert_eq!(counters.get(), vec![1, 1, 1, 1]);
    rdd.replace_lineage(Restored(parts));
    assert!(rdd.dependencies().is_empty());
    assert_eq!(rdd.collect().unwrap(), expected());
    assert_eq!(
        rdd.filter(|x| *x < 10).collect().unwrap(),
        vec![0, 2, 4, 6, 8]
    );
    assert_eq!(counters.get(), vec![1, 1, 1, 1]);
    assert!(
        rdd.to_debug_string()
            .starts_with("(4) ReliableCheckpointRDD[")
    );
}

/// A cached partition that takes a while to compute, read by two tasks of
/// the same job at once.
fn slow_cached(ctx: &RddContext, fail_first: bool) -> (Rdd<u32>, Arc<AtomicUsize>) {
    let computed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&computed);
    let rdd = ctx
        .parallelize((0..10).collect::<Vec<u32>>(), 1)
        .map_partitions(move |it| {
            let first = c.fetch_add(1, Ordering::SeqCst) == 0;
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(!(fail_first && first), "the first computation fails");
            it.map(|x| x + 1)
        });
    rdd.cache();
    (rdd, computed)
}

#[test]
fn concurrent_readers_of_a_cached_block_wait_for_one_computation() {
    let ctx = ctx();
    let (rdd, computed) = slow_cached(&ctx, false);
    // Both partitions of the union read the cached RDD's only partition,
    // in two tasks running at the same time on the two workers.
    let twice = rdd.union(&rdd);
    let started = std::time::Instant::now();
    let all = twice.collect().unwrap();
    assert_eq!(
        all,
        [(1..=10).collect::<Vec<u32>>(), (1..=10).collect()].concat()
    );
    assert_eq!(
        computed.load(Ordering::SeqCst),
        1,
        "computed once, read twice"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(blocks_of(&ctx, rdd.id()), vec![0]);
    assert_eq!(twice.count().unwrap(), 20);
    assert_eq!(
        computed.load(Ordering::SeqCst),
        1,
        "later jobs read the cache"
    );
}

#[test]
fn a_reader_waiting_for_a_failed_computation_computes_the_block_itself() {
    let ctx = ctx();
    let (rdd, computed) = slow_cached(&ctx, true);
    let twice = rdd.union(&rdd);
    let all = twice.collect().unwrap();
    assert_eq!(
        all,
        [(1..=10).collect::<Vec<u32>>(), (1..=10).collect()].concat()
    );
    // The failed first computation, then one that succeeded and was shared
    // by the reader that was waiting and by the failed task's retry.
    assert_eq!(computed.load(Ordering::SeqCst), 2);
    assert_eq!(ctx.metrics().task_failures, 1);
}
