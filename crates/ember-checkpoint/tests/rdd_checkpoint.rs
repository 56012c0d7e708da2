//! Reliable RDD checkpoints: exact contents after the checkpoint, the
//! truncated lineage, the objects in the store (manifest written last), no
//! recomputation of the old lineage (evicted blocks come from the files),
//! typed errors for damaged, missing or foreign files, restore in another
//! context, shuffled RDDs, and a property test against a plain `Vec` model.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use common::RecordingStore;
use ember_checkpoint::{
    CheckpointError, CheckpointStore, LocalCheckpointStore, RddCheckpointExt, RddCheckpointer,
    decode_value,
};
use ember_rdd::{BlockId, JobError, Rdd, RddContext, StorageLevel};
use proptest::prelude::*;

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

fn checkpointer() -> (tempfile::TempDir, RddCheckpointer) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalCheckpointStore::open(dir.path()).unwrap();
    (dir, RddCheckpointer::new(store))
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
            c.0[index].fetch_add(1, Ordering::SeqCst);
            it.map(|x| x * 2)
        });
    (rdd, counters)
}

fn expected_partitions() -> Vec<Vec<u32>> {
    (0..4)
        .map(|p| (p * 25..(p + 1) * 25).map(|x| x * 2).collect())
        .collect()
}

/// The path of partition `p`'s object of `rdd`'s checkpoint.
fn part_path(checkpointer: &RddCheckpointer, rdd: &Rdd<u32>, p: usize) -> PathBuf {
    let name = rdd.checkpoint_name().unwrap();
    checkpointer
        .store()
        .location(&RddCheckpointer::part_name(&name, p))
}

/// The checkpoint error inside a job's storage error about `partition`
/// of `rdd`.
fn storage_error(err: &JobError, rdd: usize, partition: Option<usize>) -> &CheckpointError {
    match err {
        JobError::Storage {
            rdd: r,
            partition: p,
            source,
        } if *r == rdd && *p == partition => source
            .downcast_ref::<CheckpointError>()
            .unwrap_or_else(|| panic!("not a checkpoint error: {source}")),
        other => panic!("expected a storage error for RDD {rdd} {partition:?}, got {other}"),
    }
}

#[test]
fn checkpoint_keeps_exact_partitions_and_truncates_lineage() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let (rdd, counters) = counted(&ctx);
    let before = rdd.collect_partitions().unwrap();
    assert_eq!(before, expected_partitions());
    assert!(!rdd.is_checkpointed());
    assert_eq!(rdd.checkpoint_name(), None);

    rdd.checkpoint(&checkpointer).unwrap();
    assert_eq!(
        counters.get(),
        vec![2; 4],
        "one job computed each partition"
    );
    assert!(rdd.is_checkpointed());
    assert_eq!(
        rdd.checkpoint_name(),
        Some(format!("rdd-{}-{}", checkpointer.run_id(), rdd.id()))
    );
    assert!(rdd.dependencies().is_empty());
    assert_eq!(rdd.num_partitions(), 4);
    assert_eq!(
        rdd.to_debug_string(),
        format!(
            "(4) ReliableCheckpointRDD[{}] at map_partitions_with_index []",
            rdd.id()
        )
    );
    let child = rdd.map(|x| x + 1);
    assert_eq!(
        child.to_debug_string(),
        format!(
            "(4) MapPartitionsRDD[{}] at map []\n |  ReliableCheckpointRDD[{}] at map_partitions_with_index []",
            child.id(),
            rdd.id()
        )
    );

    assert_eq!(rdd.collect_partitions().unwrap(), before);
    assert_eq!(child.count().unwrap(), 100);
    assert_eq!(child.take(2).unwrap(), vec![1, 3]);
    rdd.unpersist();
    assert_eq!(rdd.collect_partitions().unwrap(), before);
    assert_eq!(
        counters.get(),
        vec![2; 4],
        "the old lineage never runs again"
    );
}

#[test]
fn a_local_checkpoint_is_not_a_reliable_one() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let (rdd, counters) = counted(&ctx);
    rdd.local_checkpoint().unwrap();
    assert!(!rdd.is_checkpointed());
    assert_eq!(rdd.checkpoint_name(), None);
    rdd.checkpoint(&checkpointer).unwrap();
    assert!(rdd.is_checkpointed());
    assert_eq!(rdd.collect_partitions().unwrap(), expected_partitions());
    assert_eq!(counters.get(), vec![1; 4], "written from the local copy");
}

#[test]
fn the_store_holds_one_checksummed_object_per_partition_and_a_manifest() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let (rdd, _) = counted(&ctx);
    rdd.checkpoint(&checkpointer).unwrap();
    let name = rdd.checkpoint_name().unwrap();
    let store = checkpointer.store();
    assert_eq!(
        store.list().unwrap(),
        vec![
            format!("{name}-manifest"),
            format!("{name}-part-00000"),
            format!("{name}-part-00001"),
            format!("{name}-part-00002"),
            format!("{name}-part-00003"),
        ]
    );
    for (p, expected) in expected_partitions().into_iter().enumerate() {
        let object = store.read(&RddCheckpointer::part_name(&name, p)).unwrap();
        let elements: Vec<u32> = decode_value(&object, None).unwrap();
        assert_eq!(elements, expected, "partition {p}");
    }
}

#[test]
fn the_old_lineage_is_released_and_the_files_suffice() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let base = ctx.parallelize((1..=10).collect::<Vec<u64>>(), 3);
    let parent: Weak<dyn ember_rdd::RddInfo> = Arc::downgrade(&base.info());
    let squares = base.map(|x| x * x);
    drop(base);
    assert!(parent.upgrade().is_some(), "held by the lineage");

    squares.checkpoint(&checkpointer).unwrap();
    assert!(parent.upgrade().is_none(), "the parent is gone");
    let expected: Vec<u64> = (1..=10).map(|x| x * x).collect();
    assert_eq!(squares.collect().unwrap(), expected);
    assert_eq!(squares.filter(|x| x % 2 == 0).count().unwrap(), 5);
}

#[test]
fn a_cached_rdd_is_written_from_its_blocks_and_evicted_blocks_come_from_the_files() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let (rdd, counters) = counted(&ctx);
    rdd.cache();
    assert_eq!(rdd.count().unwrap(), 100);
    rdd.checkpoint(&checkpointer).unwrap();
    assert_eq!(counters.get(), vec![1; 4], "written from the cached blocks");
    assert_eq!(rdd.storage_level(), StorageLevel::MemoryOnly);
    assert_eq!(
        rdd.to_debug_string(),
        format!(
            "(4) ReliableCheckpointRDD[{}] at map_partitions_with_index [Memory Deserialized 1x Replicated]",
            rdd.id()
        )
    );

    let block = |partition| BlockId {
        rdd: rdd.id(),
        partition,
    };
    assert!(ctx.block_manager().remove(block(2)));
    assert_eq!(rdd.collect_partitions().unwrap(), expected_partitions());
    assert_eq!(counters.get(), vec![1; 4], "partition 2 came from its file");
    assert!(
        ctx.block_manager().contains(block(2)),
        "and is cached again"
    );

    // Proof that an evicted block is read from the file: damage the file
    // and evict the block; a block still cached is served untouched.
    fs::write(part_path(&checkpointer, &rdd, 1), b"garbage").unwrap();
    assert_eq!(rdd.collect().unwrap().len(), 100, "block 1 still cached");
    assert!(ctx.block_manager().remove(block(1)));
    let err = rdd.collect().unwrap_err();
    assert!(matches!(
        storage_error(&err, rdd.id(), Some(1)),
        CheckpointError::Damaged { .. }
    ));
    assert_eq!(counters.get(), vec![1; 4]);
}

#[test]
fn a_damaged_partition_file_fails_the_job_with_the_stores_typed_error() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let (rdd, _) = counted(&ctx);
    rdd.checkpoint(&checkpointer).unwrap();
    let path = part_path(&checkpointer, &rdd, 2);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&path, &bytes).unwrap();

    let err = rdd.collect().unwrap_err();
    let CheckpointError::Damaged {
        path: damaged,
        source,
    } = storage_error(&err, rdd.id(), Some(2))
    else {
        panic!("expected a damaged checkpoint: {err}");
    };
    assert_eq!(damaged, &path);
    assert!(
        matches!(**source, CheckpointError::ChecksumMismatch { .. }),
        "{source}"
    );
    let message = err.to_string();
    let prefix = format!(
        "storage error for RDD {} partition 2: damaged checkpoint {}: checkpoint checksum mismatch: stored CRC32C",
        rdd.id(),
        path.display()
    );
    assert!(message.starts_with(&prefix), "{message}");

    // The intact partitions still read.
    assert_eq!(rdd.take(3).unwrap(), vec![0, 2, 4]);

    // A truncated file.
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = rdd.count().unwrap_err();
    assert!(matches!(
        storage_error(&err, rdd.id(), Some(2)),
        CheckpointError::Damaged { source, .. }
            if matches!(**source, CheckpointError::Truncated { .. })
    ));

    // A missing file.
    fs::remove_file(&path).unwrap();
    let err = rdd.count().unwrap_err();
    assert!(matches!(
        storage_error(&err, rdd.id(), Some(2)),
        CheckpointError::NotFound { path: missing } if *missing == path
    ));
}

#[test]
fn an_object_of_another_checkpoint_in_its_place_is_rejected() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let (a, _) = counted(&ctx);
    let (b, _) = counted(&ctx);
    a.checkpoint(&checkpointer).unwrap();
    b.checkpoint(&checkpointer).unwrap();
    fs::copy(
        part_path(&checkpointer, &b, 0),
        part_path(&checkpointer, &a, 0),
    )
    .unwrap();
    let err = a.collect().unwrap_err();
    assert!(matches!(
        storage_error(&err, a.id(), Some(0)),
        CheckpointError::Damaged { source, .. }
            if matches!(**source, CheckpointError::FingerprintMismatch { .. })
    ));
    assert_eq!(b.collect_partitions().unwrap(), expected_partitions());
}

#[test]
fn a_failed_write_leaves_the_lineage_and_no_manifest() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RecordingStore::new(
        LocalCheckpointStore::open(dir.path()).unwrap(),
    ));
    let checkpointer = RddCheckpointer::new(Arc::clone(&store));
    let (rdd, counters) = counted(&ctx);

    store.fail_writes.store(true, Ordering::SeqCst);
    let err = rdd.checkpoint(&checkpointer).unwrap_err();
    let JobError::Storage {
        rdd: id,
        partition: Some(_),
        source,
    } = &err
    else {
        panic!("expected a storage error: {err}");
    };
    assert_eq!(*id, rdd.id());
    assert!(matches!(
        source.downcast_ref::<CheckpointError>(),
        Some(CheckpointError::Io { .. })
    ));
    assert!(!rdd.is_checkpointed());
    assert!(!rdd.dependencies().is_empty());
    assert!(store.list().unwrap().is_empty());
    assert!(
        !store.take_log().iter().any(|e| e.contains("manifest")),
        "the manifest is not written after a failed partition"
    );

    store.fail_writes.store(false, Ordering::SeqCst);
    rdd.checkpoint(&checkpointer).unwrap();
    let log = store.take_log();
    let name = rdd.checkpoint_name().unwrap();
    let manifest = format!("write-start {name}-manifest");
    assert_eq!(log[log.len() - 2], manifest, "{log:?}");
    assert_eq!(log.len(), 2 * 4 + 2, "{log:?}");
    assert!(
        log[..8]
            .iter()
            .filter(|e| e.starts_with("write-durable"))
            .count()
            == 4,
        "every partition is durable before the manifest: {log:?}"
    );
    assert_eq!(rdd.collect_partitions().unwrap(), expected_partitions());
    assert_eq!(counters.get(), vec![2; 4]);

    // Checkpointing again is a no-op.
    rdd.checkpoint(&checkpointer).unwrap();
    assert!(store.take_log().is_empty());
    assert_eq!(rdd.checkpoint_name(), Some(name));
}

#[test]
fn restore_reads_a_complete_checkpoint_in_another_context() {
    let dir = tempfile::tempdir().unwrap();
    let name = {
        let ctx = ctx();
        let checkpointer = RddCheckpointer::new(LocalCheckpointStore::open(dir.path()).unwrap());
        let (rdd, _) = counted(&ctx);
        rdd.checkpoint(&checkpointer).unwrap();
        rdd.checkpoint_name().unwrap()
    };

    // A new context and checkpointer, as after a restart.
    let ctx = ctx();
    let checkpointer = RddCheckpointer::new(LocalCheckpointStore::open(dir.path()).unwrap());
    let restored = checkpointer.restore::<u32>(&ctx, &name).unwrap();
    assert_eq!(
        restored.collect_partitions().unwrap(),
        expected_partitions()
    );
    assert_eq!(restored.checkpoint_name(), Some(name.clone()));
    assert_eq!(
        restored.to_debug_string(),
        format!("(4) ReliableCheckpointRDD[{}] at restore []", restored.id())
    );

    // Damage in a restored RDD names the restored RDD.
    let part = checkpointer
        .store()
        .location(&RddCheckpointer::part_name(&name, 3));
    fs::write(&part, b"EMBERCKP").unwrap();
    let err = restored.count().unwrap_err();
    assert!(matches!(
        storage_error(&err, restored.id(), Some(3)),
        CheckpointError::Damaged { .. }
    ));

    // A checkpoint interrupted before its manifest is never restored.
    let store = checkpointer.store();
    store
        .delete(&RddCheckpointer::manifest_name(&name))
        .unwrap();
    let err = checkpointer.restore::<u32>(&ctx, &name).unwrap_err();
    assert!(matches!(err, CheckpointError::NotFound { .. }), "{err}");

    // A damaged manifest.
    let manifest = store.location(&RddCheckpointer::manifest_name(&name));
    fs::write(&manifest, b"EMBERCKP\x01\x00").unwrap();
    let err = checkpointer.restore::<u32>(&ctx, &name).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Damaged { path, source }
            if *path == manifest && matches!(**source, CheckpointError::Truncated { .. })),
        "{err}"
    );
}

#[test]
fn restoring_with_the_wrong_element_type_fails_the_job() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let words = ctx.parallelize(vec!["hello".to_owned()], 1);
    words.checkpoint(&checkpointer).unwrap();
    let name = words.checkpoint_name().unwrap();
    let numbers = checkpointer.restore::<u64>(&ctx, &name).unwrap();
    let err = numbers.collect().unwrap_err();
    // [1, 5, b'h', b'e', b'l', b'l', b'o'] read as a Vec<u64>: [5], then 5 bytes.
    assert!(matches!(
        storage_error(&err, numbers.id(), Some(0)),
        CheckpointError::Damaged { source, .. }
            if matches!(**source, CheckpointError::TrailingBytes { unused: 5 })
    ));
    assert_eq!(words.collect().unwrap(), vec!["hello".to_owned()]);
}

#[test]
fn delete_removes_the_manifest_and_every_partition() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let (kept, _) = counted(&ctx);
    let (deleted, _) = counted(&ctx);
    kept.checkpoint(&checkpointer).unwrap();
    deleted.checkpoint(&checkpointer).unwrap();
    let name = deleted.checkpoint_name().unwrap();
    checkpointer.delete(&name).unwrap();
    checkpointer.delete(&name).unwrap();

    let kept_name = kept.checkpoint_name().unwrap();
    let names = checkpointer.store().list().unwrap();
    assert_eq!(names.len(), 5);
    assert!(names.iter().all(|n| n.starts_with(&kept_name)), "{names:?}");
    let err = deleted.count().unwrap_err();
    assert!(matches!(
        storage_error(&err, deleted.id(), Some(0)),
        CheckpointError::NotFound { .. }
    ));
    assert!(matches!(
        checkpointer.restore::<u32>(&ctx, &name),
        Err(CheckpointError::NotFound { .. })
    ));
    assert_eq!(kept.collect_partitions().unwrap(), expected_partitions());
}

#[test]
fn checkpoint_of_a_shuffled_rdd() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let mapped = Arc::new(AtomicUsize::new(0));
    let m = Arc::clone(&mapped);
    let words = ctx.parallelize(
        "a rose is a rose is a rose"
            .split(' ')
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        3,
    );
    let upstream: Weak<dyn ember_rdd::RddInfo> = Arc::downgrade(&words.info());
    let counts = words
        .map(move |w| {
            m.fetch_add(1, Ordering::SeqCst);
            (w, 1u64)
        })
        .reduce_by_key(|a, b| a + b);
    drop(words);
    assert!(counts.to_debug_string().contains("ShuffledRDD"));

    counts.checkpoint(&checkpointer).unwrap();
    assert_eq!(mapped.load(Ordering::SeqCst), 8, "the map side ran once");
    assert!(
        upstream.upgrade().is_none(),
        "the shuffle's lineage is gone"
    );
    assert_eq!(
        counts.to_debug_string(),
        format!(
            "({}) ReliableCheckpointRDD[{}] at reduce_by_key []",
            counts.num_partitions(),
            counts.id()
        )
    );
    let mut sorted = counts.collect().unwrap();
    sorted.sort();
    let expected = vec![
        ("a".to_owned(), 3),
        ("is".to_owned(), 2),
        ("rose".to_owned(), 3),
    ];
    assert_eq!(sorted, expected);
    let doubled: BTreeMap<String, u64> = counts
        .map_values(|n| n * 2)
        .collect()
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(doubled["rose"], 6);
    assert_eq!(mapped.load(Ordering::SeqCst), 8);
}

#[test]
fn an_empty_rdd_checkpoints_to_a_manifest_alone() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let empty = ctx.empty::<u32>();
    empty.checkpoint(&checkpointer).unwrap();
    let name = empty.checkpoint_name().unwrap();
    assert_eq!(
        checkpointer.store().list().unwrap(),
        vec![format!("{name}-manifest")]
    );
    assert_eq!(empty.collect().unwrap(), Vec::<u32>::new());
    let restored = checkpointer.restore::<u32>(&ctx, &name).unwrap();
    assert_eq!(restored.num_partitions(), 0);
}

#[test]
fn large_partitions_are_read_through_memory_maps() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let store = LocalCheckpointStore::open(dir.path())
        .unwrap()
        .with_mmap_threshold(1024);
    let checkpointer = RddCheckpointer::new(store);
    let data: Vec<u64> = (0..10_000).map(|x| x * 1_000_003).collect();
    let rdd = ctx.parallelize(data.clone(), 3).map(|x| x + 1);
    rdd.checkpoint(&checkpointer).unwrap();
    let name = rdd.checkpoint_name().unwrap();
    let object = checkpointer
        .store()
        .read(&RddCheckpointer::part_name(&name, 0))
        .unwrap();
    assert!(object.is_mapped());
    let expected: Vec<u64> = data.iter().map(|x| x + 1).collect();
    assert_eq!(rdd.collect().unwrap(), expected);
}

#[test]
fn contexts_sharing_a_store_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let open = || RddCheckpointer::new(LocalCheckpointStore::open(dir.path()).unwrap());
    let (first, second) = (open(), open());
    assert_ne!(first.run_id(), second.run_id());
    let (ctx1, ctx2) = (ctx(), ctx());
    let a = ctx1.parallelize(vec![1u8, 2], 1);
    let b = ctx2.parallelize(vec![3u8], 1);
    assert_eq!(a.id(), b.id());
    a.checkpoint(&first).unwrap();
    b.checkpoint(&second).unwrap();
    assert_ne!(a.checkpoint_name(), b.checkpoint_name());
    assert_eq!(a.collect().unwrap(), vec![1, 2]);
    assert_eq!(b.collect().unwrap(), vec![3]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn checkpoint_then_collect_equals_the_model(
        data in prop::collection::vec(("[a-z]{0,6}", any::<i64>()), 0..200),
        partitions in 1usize..8,
    ) {
        let ctx = ctx();
        let (_dir, checkpointer) = checkpointer();
        let rdd = ctx.parallelize(data.clone(), partitions).map(|(k, v)| (k, v / 2));
        let model: Vec<(String, i64)> = data.iter().map(|(k, v)| (k.clone(), v / 2)).collect();
        let before = rdd.collect_partitions().unwrap();

        rdd.checkpoint(&checkpointer).unwrap();
        prop_assert!(rdd.dependencies().is_empty());
        prop_assert_eq!(rdd.num_partitions(), partitions);
        prop_assert_eq!(rdd.collect_partitions().unwrap(), before);
        prop_assert_eq!(rdd.collect().unwrap(), model.clone());

        let restored = checkpointer
            .restore::<(String, i64)>(&ctx, &rdd.checkpoint_name().unwrap())
            .unwrap();
        prop_assert_eq!(restored.collect().unwrap(), model);
    }
}

/// FNV-1a of a checkpoint's name: the fingerprint of its objects.
fn name_fingerprint(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(name.as_bytes());
    hasher.finish()
}

#[test]
fn a_manifest_whose_partition_count_does_not_match_the_store_is_rejected() {
    let ctx = ctx();
    let (_dir, checkpointer) = checkpointer();
    let rdd = ctx.parallelize((0..40u32).collect(), 4);
    rdd.checkpoint(&checkpointer).unwrap();
    let name = rdd.checkpoint_name().unwrap();
    let store = checkpointer.store();
    let manifest_name = RddCheckpointer::manifest_name(&name);
    let manifest_path = store.location(&manifest_name);
    // An intact (checksummed) manifest declaring `n` partitions.
    let declare = |n: usize| {
        let object = ember_checkpoint::encode_value(name_fingerprint(&name), &n).unwrap();
        store.write(&manifest_name, &object).unwrap();
    };
    let restore_err = || checkpointer.restore::<u32>(&ctx, &name).unwrap_err();

    declare(1_000_000_000);
    let err = restore_err();
    assert!(
        matches!(&err, CheckpointError::ManifestMismatch { path, declared: 1_000_000_000, found: 4, missing: Some(4) }
            if *path == manifest_path),
        "{err}"
    );
    assert!(
        err.to_string().contains("declares 1000000000 partitions"),
        "{err}"
    );

    declare(2);
    let err = restore_err();
    assert!(
        matches!(
            err,
            CheckpointError::ManifestMismatch {
                declared: 2,
                found: 4,
                missing: None,
                ..
            }
        ),
        "{err}"
    );

    declare(4);
    let restored = checkpointer.restore::<u32>(&ctx, &name).unwrap();
    assert_eq!(restored.collect().unwrap(), (0..40).collect::<Vec<_>>());

    store.delete(&RddCheckpointer::part_name(&name, 1)).unwrap();
    let err = restore_err();
    assert!(
        matches!(
            err,
            CheckpointError::ManifestMismatch {
                declared: 4,
                found: 3,
                missing: Some(1),
                ..
            }
        ),
        "{err}"
    );
}
