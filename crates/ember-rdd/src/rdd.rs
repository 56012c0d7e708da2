//! [`Rdd`]: the typed handle of a resilient distributed dataset, its node in
//! the lineage graph, and the [`RddCompute`] trait that defines how one
//! partition is computed.

use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::chunks::{BoxChunks, ChunkOp, ChunkedCompute, ElementwiseCompute, IterChunks};
use crate::dependency::{Dependency, RddInfo};
use crate::lineage;
use crate::partitioning::ErasedPartitioner;
use crate::placed::PlacedCollection;
use crate::source::PartitionedCollection;
use crate::storage::BlockId;
use crate::{JobError, LentLines, RddContext, StorageLevel, TaskContext};

/// What an RDD element must be: cloneable (cached partitions hand out
/// copies, as Spark deserializes them), shareable between worker threads,
/// and serializable with serde, because in cluster mode shuffles and
/// gathering actions move elements between processes (Spark requires
/// `Serializable` for the same reason). Owned types qualify (`String`,
/// numbers, tuples, `Vec`, `Option`, `Arc<T>`); borrowed ones such as
/// `&'static str` do not; derive `Serialize` and `Deserialize` on your own.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RDD or DStream element",
    note = "elements must be `Clone + Send + Sync + 'static` and implement serde's `Serialize` and `Deserialize` (owned types: `String`, not `&str`); derive them on your own types"
)]
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// What a task may return to an action: in cluster mode the results of
/// every process's tasks travel to every process, so they are serializable
/// like [`Data`] (without needing `Clone` or `Sync`).
pub trait TaskResult: Send + Serialize + DeserializeOwned + 'static {}
impl<T: Send + Serialize + DeserializeOwned + 'static> TaskResult for T {}

/// The iterator over one partition's elements.
pub type BoxIter<T> = Box<dyn Iterator<Item = T>>;

/// How the partitions of one kind of RDD are computed. Implement it to add a
/// source or an operator; wrap it with [`Rdd::from_compute`].
///
/// ```
/// use ember_rdd::{BoxIter, Dependency, JobError, Rdd, RddCompute, RddContext, TaskContext};
/// struct Ranges(u32);
/// impl RddCompute<u32> for Ranges {
///     fn kind(&self) -> &'static str { "RangesRDD" }
///     fn num_partitions(&self) -> usize { self.0 as usize }
///     fn dependencies(&self) -> Vec<Dependency> { Vec::new() }
///     fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<u32>, JobError> {
///         Ok(Box::new(0..partition as u32))
///     }
/// }
/// let ctx = RddContext::local(2)?;
/// let rdd = Rdd::from_compute(&ctx, "ranges", Ranges(3));
/// assert_eq!(rdd.collect()?, vec![0, 0, 1]);
/// # Ok::<(), JobError>(())
/// ```
pub trait RddCompute<T>: Send + Sync + 'static {
    /// The kind of RDD in Spark's naming, shown by `to_debug_string`.
    fn kind(&self) -> &'static str;
    /// How many partitions there are.
    fn num_partitions(&self) -> usize;
    /// The parents this RDD reads.
    fn dependencies(&self) -> Vec<Dependency>;
    /// The elements of one partition. Errors are final for the task (no
    /// retry); panics are caught and the task retried.
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<T>, JobError>;
    /// One partition's lines lent where they are stored, for
    /// [`Rdd::map_partitions_str`] (an RDD of `String`s only): exactly the
    /// elements [`compute`](Self::compute) yields, in order, without a
    /// `String` per line (see [`LentLines`]). `None`, the default, when the
    /// compute has nothing stored to lend (its owned lines are collected
    /// instead); a compute of another element type never gets asked.
    fn lend_lines(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Option<Result<LentLines, JobError>> {
        let _ = (partition, task);
        None
    }
    /// The name of the reliable checkpoint this compute reads its partitions
    /// from (for a reader of checkpoint files, such as the one
    /// `ember_checkpoint::RddCheckpointer` installs); `None`, the default,
    /// for every other compute.
    fn checkpoint_name(&self) -> Option<String> {
        None
    }
    /// In a cluster of `processes` processes, the process whose data
    /// partition `partition` is (a source of each process's own records,
    /// such as a receiver's blocks); `None`, the default, places it after
    /// its lineage (see [`RddInfo::owner`]).
    fn owner(&self, partition: usize, processes: usize) -> Option<usize> {
        let _ = (partition, processes);
        None
    }
}

pub(crate) struct RddNode<T> {
    id: usize,
    ctx: RddContext,
    operation: &'static str,
    compute: RwLock<Arc<dyn RddCompute<T>>>,
    /// The same compute read a chunk at a time, when it can be (an
    /// element-wise operator's; see `chunks.rs`); cleared with the lineage.
    chunked: RwLock<Option<Arc<dyn ChunkedCompute<T>>>>,
    storage: RwLock<StorageLevel>,
    /// What places the records when `T` is a pair (see `partitioning.rs`).
    pub(crate) partitioner: Option<ErasedPartitioner>,
}

impl<T> Drop for RddNode<T> {
    fn drop(&mut self) {
        self.ctx.block_manager().remove_rdd(self.id);
    }
}

impl<T> RddNode<T> {
    pub(crate) fn current_compute(&self) -> Arc<dyn RddCompute<T>> {
        Arc::clone(&self.compute.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn current_chunked(&self) -> Option<Arc<dyn ChunkedCompute<T>>> {
        self.chunked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl<T: Data> RddInfo for RddNode<T> {
    fn id(&self) -> usize {
        self.id
    }
    fn kind(&self) -> &'static str {
        self.current_compute().kind()
    }
    fn operation(&self) -> &'static str {
        self.operation
    }
    fn num_partitions(&self) -> usize {
        self.current_compute().num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.current_compute().dependencies()
    }
    fn storage_level(&self) -> StorageLevel {
        *self.storage.read().unwrap_or_else(PoisonError::into_inner)
    }
    /// Where the compute says, else where the parent partition a narrow
    /// dependency reads lives (so a union of shuffled RDDs computes each
    /// partition where its data is), else round-robin.
    fn owner(&self, partition: usize, processes: usize) -> usize {
        let compute = self.current_compute();
        if let Some(owner) = compute.owner(partition, processes) {
            return owner % processes.max(1);
        }
        for dep in compute.dependencies() {
            match dep {
                Dependency::OneToOne(parent) => return parent.owner(partition, processes),
                Dependency::Range {
                    parent,
                    in_start,
                    out_start,
                    length,
                } if (out_start..out_start + length).contains(&partition) => {
                    return parent.owner(partition - out_start + in_start, processes);
                }
                _ => {}
            }
        }
        crate::partition_owner(partition, processes)
    }
}

/// A resilient distributed dataset: a partitioned, immutable collection
/// that remembers how it was derived (its lineage) and computes lazily.
///
/// Transformations (`map`, `reduce_by_key`, …) return new RDDs and run
/// nothing; actions (`collect`, `count`, …) run a job on the context's
/// executor. Cloning the handle is cheap and shares the RDD.
pub struct Rdd<T> {
    pub(crate) node: Arc<RddNode<T>>,
}

impl<T> Clone for Rdd<T> {
    fn clone(&self) -> Self {
        Rdd {
            node: Arc::clone(&self.node),
        }
    }
}

impl<T: Data> std::fmt::Debug for Rdd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&lineage::describe(self.node.as_ref()))
    }
}

impl<T: Data> Rdd<T> {
    /// Wraps a custom computation as an RDD of `ctx`; `operation` names the
    /// call that created it in the lineage.
    pub fn from_compute(
        ctx: &RddContext,
        operation: &'static str,
        compute: impl RddCompute<T>,
    ) -> Self {
        Self::with_partitioner(ctx, operation, compute, None)
    }

    /// A new RDD whose records `partitioner` places (when `Some`).
    pub(crate) fn with_partitioner(
        ctx: &RddContext,
        operation: &'static str,
        compute: impl RddCompute<T>,
        partitioner: Option<ErasedPartitioner>,
    ) -> Self {
        Self::with_computes(ctx, operation, Arc::new(compute), None, partitioner)
    }

    fn with_computes(
        ctx: &RddContext,
        operation: &'static str,
        compute: Arc<dyn RddCompute<T>>,
        chunked: Option<Arc<dyn ChunkedCompute<T>>>,
        partitioner: Option<ErasedPartitioner>,
    ) -> Self {
        Rdd {
            node: Arc::new(RddNode {
                id: ctx.new_rdd_id(),
                ctx: ctx.clone(),
                operation,
                compute: RwLock::new(compute),
                chunked: RwLock::new(chunked),
                storage: RwLock::new(StorageLevel::None),
                partitioner,
            }),
        }
    }

    /// An element-wise operator `op` over this RDD (Spark's
    /// `MapPartitionsRDD`), read a chunk at a time by the operators and
    /// shuffles after it; `partitioner` places its records (the parent's,
    /// when `op` keeps every record's key).
    pub(crate) fn elementwise<U: Data>(
        &self,
        operation: &'static str,
        partitioner: Option<ErasedPartitioner>,
        op: impl ChunkOp<T, U> + 'static,
    ) -> Rdd<U> {
        let compute = Arc::new(ElementwiseCompute {
            parent: self.clone(),
            op: Arc::new(op),
        });
        Rdd::with_computes(
            &self.node.ctx,
            operation,
            Arc::clone(&compute) as Arc<dyn RddCompute<U>>,
            Some(compute as Arc<dyn ChunkedCompute<U>>),
            partitioner,
        )
    }

    /// A new RDD of the same context.
    pub(crate) fn derive<U: Data>(
        &self,
        operation: &'static str,
        compute: impl RddCompute<U>,
    ) -> Rdd<U> {
        Rdd::from_compute(&self.node.ctx, operation, compute)
    }

    /// The RDD's id, unique within its context.
    pub fn id(&self) -> usize {
        self.node.id
    }

    /// The context that created it.
    pub fn context(&self) -> &RddContext {
        &self.node.ctx
    }

    /// How many partitions it has.
    pub fn num_partitions(&self) -> usize {
        self.node.num_partitions()
    }

    /// Its parents in the lineage graph.
    pub fn dependencies(&self) -> Vec<Dependency> {
        self.node.dependencies()
    }

    /// The untyped lineage view of this RDD.
    pub fn info(&self) -> Arc<dyn RddInfo> {
        self.node.clone()
    }

    /// The lineage tree in Spark's indented style: one line per RDD, `+-`
    /// where a shuffle starts a new stage.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let counts = ctx.parallelize(vec!["a b".to_owned(), "b".to_owned()], 2)
    ///     .flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
    ///     .map(|w| (w, 1))
    ///     .reduce_by_key(|a, b| a + b);
    /// assert_eq!(counts.to_debug_string(), "\
    /// (2) ShuffledRDD[3] at reduce_by_key []
    ///  +-(2) MapPartitionsRDD[2] at map []
    ///     |  MapPartitionsRDD[1] at flat_map []
    ///     |  ParallelCollectionRDD[0] at parallelize []");
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn to_debug_string(&self) -> String {
        lineage::debug_string(self.node.as_ref())
    }

    /// Keeps computed partitions at `level` from the next job on.
    pub fn persist(&self, level: StorageLevel) -> &Self {
        *self
            .node
            .storage
            .write()
            .unwrap_or_else(PoisonError::into_inner) = level;
        self
    }

    /// `persist(StorageLevel::MemoryOnly)`.
    pub fn cache(&self) -> &Self {
        self.persist(StorageLevel::MemoryOnly)
    }

    /// Stops keeping partitions and drops those already kept.
    pub fn unpersist(&self) -> &Self {
        self.persist(StorageLevel::None);
        self.node.ctx.block_manager().remove_rdd(self.node.id);
        self
    }

    /// How partitions are kept.
    pub fn storage_level(&self) -> StorageLevel {
        self.node.storage_level()
    }

    /// The elements of one partition: from the cache when the RDD is
    /// persisted and the block is present, otherwise computed from lineage
    /// (and cached when persisted; tasks reading a block that another task
    /// is computing wait for it rather than compute it again). Operators
    /// call this on their parents.
    pub fn iterator(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<T>, JobError> {
        if self.storage_level() == StorageLevel::None {
            return self.node.current_compute().compute(partition, task);
        }
        let data = self.cached_partition(partition, task)?;
        Ok(Box::new((0..data.len()).map(move |i| data[i].clone())))
    }

    /// A persisted RDD's block of `partition`: from the cache, or computed
    /// from lineage and cached (a task asking for a block that another task
    /// is computing waits for it rather than compute it again).
    pub(crate) fn cached_partition(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<Arc<Vec<T>>, JobError> {
        let compute = self.node.current_compute();
        let block = BlockId {
            rdd: self.node.id,
            partition,
        };
        self.node.ctx.block_manager().get_or_compute(block, || {
            Ok::<_, JobError>(compute.compute(partition, task)?.collect::<Vec<T>>())
        })
    }

    /// The elements of one partition, a chunk at a time: as
    /// [`iterator`](Self::iterator) gives them (from the cache, a
    /// checkpoint or the lineage), read without a dynamic call per element
    /// through chains of element-wise operators.
    pub(crate) fn chunks(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<BoxChunks<T>, JobError> {
        if self.storage_level() == StorageLevel::None
            && let Some(chunked) = self.node.current_chunked()
        {
            return chunked.chunks(partition, task);
        }
        Ok(Box::new(IterChunks(self.iterator(partition, task)?)))
    }

    /// Truncates the lineage: from now on the partitions come from
    /// `compute`, which must yield the same elements in the same partitions
    /// (the RDD keeps its partitioner), for example a reader of checkpoint
    /// files written from this RDD. The old parents are
    /// released. This is the hook reliable checkpointing plugs into.
    pub fn replace_lineage(&self, compute: impl RddCompute<T>) {
        *self
            .node
            .chunked
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
        *self
            .node
            .compute
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(compute);
    }

    /// The name of the reliable checkpoint its partitions are read from, once
    /// it has been checkpointed (Spark's `getCheckpointFile`); `None` before,
    /// and for a [`local_checkpoint`](Self::local_checkpoint), which is kept
    /// in memory only.
    pub fn checkpoint_name(&self) -> Option<String> {
        self.node.current_compute().checkpoint_name()
    }

    /// Computes every partition now, keeps the results in memory inside the
    /// RDD and truncates its lineage (Spark's `localCheckpoint`): fast, but
    /// not reliable across a process restart. Partitions already cached are
    /// taken over without copying, and the cache entries are then dropped
    /// (the data lives in the RDD itself from now on).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize(vec![1, 2, 3], 2).map(|x| x + 1);
    /// rdd.local_checkpoint()?;
    /// assert!(rdd.dependencies().is_empty());
    /// assert_eq!(rdd.collect()?, vec![2, 3, 4]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn local_checkpoint(&self) -> Result<(), JobError> {
        if self.context().exchange().is_some() {
            return self.local_checkpoint_in_place();
        }
        let manager = self.node.ctx.block_manager();
        let cached: Option<Vec<Arc<Vec<T>>>> = (0..self.num_partitions())
            .map(|partition| {
                manager.get::<T>(BlockId {
                    rdd: self.node.id,
                    partition,
                })
            })
            .collect();
        let partitions = match cached {
            Some(partitions) => partitions,
            None => self
                .collect_partitions()?
                .into_iter()
                .map(Arc::new)
                .collect(),
        };
        self.replace_lineage(PartitionedCollection::new("LocalCheckpointRDD", partitions));
        self.unpersist();
        Ok(())
    }

    /// Cluster mode's local checkpoint: each process keeps the partitions
    /// it owns, where they are (nothing crosses processes).
    fn local_checkpoint_in_place(&self) -> Result<(), JobError> {
        let ctx = self.context();
        let (processes, process) = (ctx.processes(), ctx.process());
        let info = self.info();
        let owners: Vec<usize> = (0..self.num_partitions())
            .map(|p| info.owner(p, processes))
            .collect();
        let all: Vec<usize> = (0..self.num_partitions()).collect();
        let computed =
            crate::scheduler::run_job_in_place(self, &all, |_, iter| Ok(iter.collect::<Vec<T>>()))?;
        let mut partitions: Vec<Option<Vec<Arc<Vec<T>>>>> = vec![None; owners.len()];
        for (partition, data) in computed {
            partitions[partition] = Some(vec![Arc::new(data)]);
        }
        self.replace_lineage(PlacedCollection::new(
            "LocalCheckpointRDD",
            partitions,
            owners,
            process,
        ));
        self.unpersist();
        Ok(())
    }
}
