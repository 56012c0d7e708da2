//! Reliable RDD checkpointing (Spark's `sc.setCheckpointDir(dir)` and
//! `rdd.checkpoint()`): [`RddCheckpointer`] writes an RDD's partitions into a
//! [`CheckpointStore`] and truncates the RDD's lineage so that its partitions
//! are read back from there; [`RddCheckpointExt`] puts `checkpoint` on
//! [`Rdd`] itself.
//!
//! A checkpoint named `rdd-<run id>-<rdd id>` consists of one object per
//! partition, `<name>-part-00000`, `<name>-part-00001`, …, each a
//! checksummed object of this crate's [format](mod@crate::format) holding
//! the partition's elements (postcard), and a manifest `<name>-manifest`
//! holding the partition count. The manifest is written last, once every
//! partition is durable, so a checkpoint interrupted half-way is never used.
//! All objects of a checkpoint carry a fingerprint derived from its name, so
//! an object of another checkpoint put in its place is rejected as
//! [`CheckpointError::FingerprintMismatch`].

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ember_rdd::{BoxIter, Data, Dependency, JobError, Rdd, RddCompute, RddContext, TaskContext};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{CheckpointError, Result};
use crate::format::{decode_value, encode_value};
use crate::store::CheckpointStore;

/// The kind a checkpointed RDD shows in `to_debug_string`.
const KIND: &str = "ReliableCheckpointRDD";

/// Writes RDDs as reliable checkpoints into one [`CheckpointStore`] and
/// restores them: the counterpart of Spark's checkpoint directory.
///
/// Each checkpointer takes a fresh run id when it is created (as Spark
/// creates a fresh subdirectory per `SparkContext`), so several contexts, or
/// successive runs of a program, can share one store without their RDD ids
/// colliding. Checkpoint files are kept until [`delete`](Self::delete)d.
///
/// ```
/// use ember_checkpoint::{LocalCheckpointStore, RddCheckpointExt, RddCheckpointer};
/// use ember_rdd::RddContext;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let checkpointer = RddCheckpointer::new(LocalCheckpointStore::open(dir.path())?);
///
/// let ctx = RddContext::local(2)?;
/// let squares = ctx.parallelize((1..=4).collect(), 2).map(|x: u64| x * x);
/// squares.checkpoint(&checkpointer)?;
/// assert!(squares.is_checkpointed());
/// assert!(squares.dependencies().is_empty());
/// assert_eq!(squares.collect()?, vec![1, 4, 9, 16]);
///
/// // In another context (after a restart), by the checkpoint's name:
/// let name = squares.checkpoint_name().expect("checkpointed");
/// let other = RddContext::local(1)?;
/// let restored = checkpointer.restore::<u64>(&other, &name)?;
/// assert_eq!(restored.collect()?, vec![1, 4, 9, 16]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RddCheckpointer {
    /// Where the checkpoints are written.
    store: Arc<dyn CheckpointStore>,
    /// Distinguishes this checkpointer's checkpoint names from other runs'.
    run_id: String,
}

impl std::fmt::Debug for RddCheckpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RddCheckpointer")
            .field("location", &self.store.location(""))
            .field("run_id", &self.run_id)
            .finish()
    }
}

impl RddCheckpointer {
    /// A checkpointer writing into `store`, with a fresh run id.
    pub fn new(store: impl CheckpointStore + 'static) -> Self {
        RddCheckpointer {
            store: Arc::new(store),
            run_id: new_run_id(),
        }
    }

    /// The store the checkpoints are written to.
    pub fn store(&self) -> &dyn CheckpointStore {
        self.store.as_ref()
    }

    /// This checkpointer's run id: 16 hexadecimal digits, part of every
    /// checkpoint name it gives.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The name this checkpointer gives the checkpoint of the RDD with id
    /// `rdd_id`: `rdd-<run id>-<rdd id>`.
    pub fn name_for(&self, rdd_id: usize) -> String {
        format!("rdd-{}-{rdd_id}", self.run_id)
    }

    /// The object holding partition `partition` of the checkpoint `name`:
    /// `<name>-part-<partition, 5 digits>`.
    pub fn part_name(name: &str, partition: usize) -> String {
        format!("{name}-part-{partition:05}")
    }

    /// The manifest object of the checkpoint `name`: `<name>-manifest`.
    pub fn manifest_name(name: &str) -> String {
        format!("{name}-manifest")
    }

    /// Writes `rdd` as a reliable checkpoint and truncates its lineage: from
    /// then on its partitions are read from the checkpoint's objects (when
    /// they are not cached), its `to_debug_string` shows a
    /// `ReliableCheckpointRDD` without parents, and its old parents are
    /// released.
    ///
    /// Runs one job: each task computes one partition (from the cache where
    /// the RDD is persisted) and writes it atomically as
    /// [`part_name`](Self::part_name); the manifest is written after all
    /// partitions are durable. An RDD that is already checkpointed is left
    /// as it is. A failure to write is returned as [`JobError::Storage`]
    /// carrying the [`CheckpointError`], and leaves the lineage untouched.
    pub fn checkpoint<T>(&self, rdd: &Rdd<T>) -> Result<(), JobError>
    where
        T: Data + Serialize + DeserializeOwned,
    {
        if rdd.checkpoint_name().is_some() {
            return Ok(());
        }
        let id = rdd.id();
        let name = self.name_for(id);
        let fingerprint = fingerprint_of(&name);
        rdd.try_run_partitions(|task, iter| {
            let elements: Vec<T> = iter.collect();
            let object_name = Self::part_name(&name, task.partition);
            encode_value(fingerprint, &elements)
                .and_then(|object| self.store.write(&object_name, &object))
                .map_err(|e| JobError::storage(id, Some(task.partition), e))
        })?;
        let num_partitions = rdd.num_partitions();
        let manifest = Manifest { num_partitions };
        encode_value(fingerprint, &manifest)
            .and_then(|object| self.store.write(&Self::manifest_name(&name), &object))
            .map_err(|e| JobError::storage(id, None, e))?;
        tracing::debug!(rdd = id, checkpoint = %name, num_partitions, "RDD checkpointed");
        rdd.replace_lineage(CheckpointReader::new(
            Arc::clone(&self.store),
            name,
            num_partitions,
            id,
        ));
        Ok(())
    }

    /// An RDD of `ctx` reading the complete checkpoint `name` (written by
    /// any checkpointer over the same storage, e.g. before a restart): the
    /// counterpart of Spark's `sc.checkpointFile`.
    ///
    /// Fails with [`CheckpointError::NotFound`] when the checkpoint has no
    /// manifest (it does not exist, or was interrupted before it was
    /// complete) and with [`CheckpointError::Damaged`] when the manifest is
    /// damaged. The partitions are read, and checked, when a job computes
    /// them; a partition that does not hold `T`s fails that job with
    /// [`JobError::Storage`].
    pub fn restore<T>(&self, ctx: &RddContext, name: &str) -> Result<Rdd<T>>
    where
        T: Data + DeserializeOwned,
    {
        let manifest_name = Self::manifest_name(name);
        let object = self.store.read(&manifest_name)?;
        let manifest: Manifest =
            decode_value(&object, Some(fingerprint_of(name))).map_err(|source| {
                CheckpointError::Damaged {
                    path: self.store.location(&manifest_name),
                    source: Box::new(source),
                }
            })?;
        self.check_partitions(name, &manifest)?;
        let reader = |rdd_id| {
            CheckpointReader::<T>::new(
                Arc::clone(&self.store),
                name.to_owned(),
                manifest.num_partitions,
                rdd_id,
            )
        };
        // The reader names its RDD in errors, and the id exists only once
        // the RDD does: create it, then install the reader that knows it.
        let rdd = Rdd::from_compute(ctx, "restore", reader(usize::MAX));
        rdd.replace_lineage(reader(rdd.id()));
        Ok(rdd)
    }

    /// Checks the manifest's partition count against the partition objects
    /// of `name` in the store: exactly `0..num_partitions` must be there.
    fn check_partitions(&self, name: &str, manifest: &Manifest) -> Result<()> {
        let part_prefix = format!("{name}-part-");
        let present: std::collections::BTreeSet<usize> = self
            .store
            .list()?
            .iter()
            .filter_map(|object| object.strip_prefix(&part_prefix)?.parse().ok())
            .collect();
        let declared = manifest.num_partitions;
        let missing = (0..declared.min(present.len() + 1)).find(|p| !present.contains(p));
        if present.len() == declared && missing.is_none() {
            return Ok(());
        }
        Err(CheckpointError::ManifestMismatch {
            path: self.store.location(&Self::manifest_name(name)),
            declared,
            found: present.len(),
            missing,
        })
    }

    /// Deletes the checkpoint `name`: its manifest first (so that it is
    /// never restored incomplete), then its partitions. RDDs still reading
    /// from it fail with [`CheckpointError::NotFound`] on their next read of
    /// a partition that is not cached. Deleting a missing checkpoint
    /// succeeds.
    pub fn delete(&self, name: &str) -> Result<()> {
        self.store.delete(&Self::manifest_name(name))?;
        let part_prefix = format!("{name}-part-");
        for object in self.store.list()? {
            if object.starts_with(&part_prefix) {
                self.store.delete(&object)?;
            }
        }
        Ok(())
    }
}

/// Reliable checkpointing as a method of [`Rdd`]:
/// `rdd.checkpoint(&checkpointer)`.
pub trait RddCheckpointExt {
    /// Writes the RDD as a reliable checkpoint through `checkpointer` and
    /// truncates its lineage; see [`RddCheckpointer::checkpoint`].
    fn checkpoint(&self, checkpointer: &RddCheckpointer) -> Result<(), JobError>;

    /// Whether the RDD's partitions come from a reliable checkpoint (a
    /// [`local_checkpoint`](Rdd::local_checkpoint) does not count: it is
    /// not reliable).
    fn is_checkpointed(&self) -> bool;
}

impl<T: Data + Serialize + DeserializeOwned> RddCheckpointExt for Rdd<T> {
    fn checkpoint(&self, checkpointer: &RddCheckpointer) -> Result<(), JobError> {
        checkpointer.checkpoint(self)
    }

    fn is_checkpointed(&self) -> bool {
        self.checkpoint_name().is_some()
    }
}

/// The manifest of a checkpoint, written once all its partitions are.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    /// How many partition objects the checkpoint has.
    num_partitions: usize,
}

/// The compute of a checkpointed RDD: reads partition `p` from the object
/// `<name>-part-<p>`.
struct CheckpointReader<T> {
    store: Arc<dyn CheckpointStore>,
    name: String,
    fingerprint: u64,
    num_partitions: usize,
    /// The RDD it computes, named in errors.
    rdd_id: usize,
    _elements: PhantomData<fn() -> T>,
}

impl<T> CheckpointReader<T> {
    fn new(
        store: Arc<dyn CheckpointStore>,
        name: String,
        num_partitions: usize,
        rdd_id: usize,
    ) -> Self {
        CheckpointReader {
            store,
            fingerprint: fingerprint_of(&name),
            name,
            num_partitions,
            rdd_id,
            _elements: PhantomData,
        }
    }
}

impl<T: Data + DeserializeOwned> RddCompute<T> for CheckpointReader<T> {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn num_partitions(&self) -> usize {
        self.num_partitions
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<T>, JobError> {
        let object_name = RddCheckpointer::part_name(&self.name, partition);
        let fail = |e| JobError::storage(self.rdd_id, Some(partition), e);
        let object = self.store.read(&object_name).map_err(fail)?;
        let elements: Vec<T> = decode_value(&object, Some(self.fingerprint)).map_err(|source| {
            fail(CheckpointError::Damaged {
                path: self.store.location(&object_name),
                source: Box::new(source),
            })
        })?;
        Ok(Box::new(elements.into_iter()))
    }

    fn checkpoint_name(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

/// The fingerprint of every object of the checkpoint `name`: FNV-1a of the
/// name, so that it can be recomputed from the name alone.
fn fingerprint_of(name: &str) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(name.as_bytes());
    hasher.finish()
}

/// A run id unlikely to repeat: the clock, the process id and std's
/// per-instance random hasher keys, hashed to 16 hexadecimal digits.
fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::hash::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_fingerprints() {
        assert_eq!(
            RddCheckpointer::part_name("rdd-x-3", 12),
            "rdd-x-3-part-00012"
        );
        assert_eq!(
            RddCheckpointer::manifest_name("rdd-x-3"),
            "rdd-x-3-manifest"
        );
        // FNV-1a 64 test vectors.
        assert_eq!(fingerprint_of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fingerprint_of("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(fingerprint_of("rdd-x-1"), fingerprint_of("rdd-x-10"));
    }

    #[test]
    fn run_ids_are_distinct_hex() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
