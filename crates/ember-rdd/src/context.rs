//! [`RddContext`]: the entry point that owns the executor, the block manager
//! and the id counters, and creates RDDs from local data.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::exchange::Exchange;
use crate::executor::{Executor, LocalExecutor};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::placed::{PlacedCollection, deal_over_own_partitions};
use crate::source::{EmptyCompute, ParallelCollection, PartitionedCollection};
use crate::storage::BlockManager;
use crate::union::UnionCompute;
use crate::{Data, JobError, Rdd, RddConf};

pub(crate) struct ContextInner {
    pub(crate) executor: Box<dyn Executor>,
    pub(crate) block_manager: BlockManager,
    pub(crate) metrics: Metrics,
    pub(crate) task_attempts: u32,
    /// `spark.default.parallelism`, when set.
    default_parallelism: Option<usize>,
    /// The other processes, in cluster mode.
    pub(crate) exchange: Option<Arc<dyn Exchange>>,
    /// Cluster mode: the one thread allowed to run jobs, once bound.
    job_thread: std::sync::Mutex<Option<std::thread::ThreadId>>,
    next_rdd_id: AtomicUsize,
    next_shuffle_id: AtomicUsize,
    next_stage_id: AtomicUsize,
    next_job_id: AtomicU64,
}

/// The entry point of the RDD core: owns the worker pool and creates RDDs.
///
/// Cloning is cheap; clones share the pool, the cache and the counters.
///
/// ```
/// use ember_rdd::RddContext;
/// let ctx = RddContext::local(2)?;
/// let squares = ctx.parallelize((1..=4).collect(), 2).map(|x: i32| x * x);
/// assert_eq!(squares.collect()?, vec![1, 4, 9, 16]);
/// # Ok::<(), ember_rdd::JobError>(())
/// ```
#[derive(Clone)]
pub struct RddContext {
    pub(crate) inner: Arc<ContextInner>,
}

impl std::fmt::Debug for RddContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RddContext")
            .field("parallelism", &self.default_parallelism())
            .finish()
    }
}

impl RddContext {
    /// A local context on a rayon pool of `threads` workers (`0` means all
    /// cores, like `local[*]`).
    pub fn local(threads: usize) -> Result<Self, JobError> {
        let master = if threads == 0 {
            "local[*]".to_owned()
        } else {
            format!("local[{threads}]")
        };
        Self::new(RddConf::new().master(master))
    }

    /// A context configured by `conf`.
    pub fn new(conf: RddConf) -> Result<Self, JobError> {
        let executor = LocalExecutor::new(conf.threads()?)?;
        Ok(Self::build(
            Box::new(executor),
            conf.task_attempts(),
            None,
            conf.default_parallelism_setting(),
        ))
    }

    /// One process of a cluster, configured by `conf` (its master gives
    /// this process's worker threads): see [`with_exchange`](Self::with_exchange).
    pub fn new_in_cluster(conf: RddConf, exchange: Arc<dyn Exchange>) -> Result<Self, JobError> {
        let executor = LocalExecutor::new(conf.threads()?)?;
        Ok(Self::build(
            Box::new(executor),
            conf.task_attempts(),
            Some(exchange),
            conf.default_parallelism_setting(),
        ))
    }

    /// A context whose tasks run on `executor` (another backend than the
    /// local rayon pool), with `task_attempts` attempts per task.
    pub fn with_executor(executor: Box<dyn Executor>, task_attempts: u32) -> Self {
        Self::build(executor, task_attempts, None, None)
    }

    /// A context that is one process of a cluster: its executor computes
    /// the partitions this process owns, and `exchange` carries shuffles
    /// and action results between the processes. Every process must build
    /// the same RDDs and run the same actions in the same order (SPMD), as
    /// a program started the same way on every process does.
    pub fn with_exchange(
        executor: Box<dyn Executor>,
        task_attempts: u32,
        exchange: Arc<dyn Exchange>,
    ) -> Self {
        Self::build(executor, task_attempts, Some(exchange), None)
    }

    fn build(
        executor: Box<dyn Executor>,
        task_attempts: u32,
        exchange: Option<Arc<dyn Exchange>>,
        default_parallelism: Option<usize>,
    ) -> Self {
        RddContext {
            inner: Arc::new(ContextInner {
                executor,
                block_manager: BlockManager::default(),
                metrics: Metrics::default(),
                task_attempts: task_attempts.max(1),
                default_parallelism: default_parallelism.map(|n| n.max(1)),
                exchange,
                job_thread: std::sync::Mutex::new(None),
                next_rdd_id: AtomicUsize::new(0),
                next_shuffle_id: AtomicUsize::new(0),
                next_stage_id: AtomicUsize::new(0),
                next_job_id: AtomicU64::new(0),
            }),
        }
    }

    /// The default partition count: `spark.default.parallelism` when the
    /// conf sets it (see [`RddConf::default_parallelism`]), else the number
    /// of worker threads (of every process, in a cluster).
    pub fn default_parallelism(&self) -> usize {
        self.inner
            .default_parallelism
            .unwrap_or_else(|| self.threads() * self.processes())
    }

    /// The default partition count of each process of a cluster (the whole
    /// count in local mode), at least 1: the partitions of an input its
    /// processes read on their own (receiver blocks, files) per process.
    pub fn default_parallelism_per_process(&self) -> usize {
        (self.default_parallelism() / self.processes().max(1)).max(1)
    }

    /// This process's worker threads: how many tasks run at once.
    pub fn threads(&self) -> usize {
        self.inner.executor.parallelism()
    }

    /// The cluster exchange, when this context is one process of a cluster.
    pub fn exchange(&self) -> Option<&Arc<dyn Exchange>> {
        self.inner.exchange.as_ref()
    }

    /// This process's index in its cluster (0 for a local context).
    pub fn process(&self) -> usize {
        self.inner.exchange.as_ref().map_or(0, |e| e.process())
    }

    /// How many processes compute this context's RDDs (1 for a local
    /// context).
    pub fn processes(&self) -> usize {
        self.inner.exchange.as_ref().map_or(1, |e| e.processes())
    }

    /// Whether this process plays Spark's driver: a local context, or
    /// process 0 of a cluster. Side effects that must happen once per
    /// batch (printing, writing a summary) belong here.
    pub fn is_driver(&self) -> bool {
        self.process() == 0
    }

    /// Cluster mode: from now on only the calling thread may run jobs (a
    /// streaming context binds its job executor thread). Every process
    /// must run the same jobs in the same order; jobs started from two
    /// threads could interleave differently on different processes, so a
    /// job from another thread fails with [`JobError::JobOffThread`].
    pub fn bind_jobs_to_current_thread(&self) {
        *self
            .inner
            .job_thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::thread::current().id());
    }

    /// A round in which every process of the cluster contributes `local`
    /// and gets every process's value, by process index (in local mode:
    /// `[local]`). An error on any process fails the round on every
    /// process with [`JobError::RemoteFailed`] naming it, so processes
    /// that must agree (on a checkpoint to recover, say) fail together.
    /// Every process must take part in the same rounds in the same order.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(1)?;
    /// assert_eq!(ctx.all_gather(Ok(7u64))?, vec![7]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn all_gather<P: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        local: Result<P, JobError>,
    ) -> Result<Vec<P>, JobError> {
        match &self.inner.exchange {
            Some(exchange) => {
                crate::cluster_round::all_gather(exchange.as_ref(), &self.inner.metrics, local)
            }
            None => Ok(vec![local?]),
        }
    }

    /// In cluster mode, an error unless the calling thread may run jobs.
    pub(crate) fn check_job_thread(&self) -> Result<(), JobError> {
        if self.inner.exchange.is_none() {
            return Ok(());
        }
        let bound = *self
            .inner
            .job_thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match bound {
            Some(thread) if thread != std::thread::current().id() => Err(JobError::JobOffThread {
                thread: std::thread::current()
                    .name()
                    .unwrap_or("unnamed")
                    .to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// Whether this process computes partition `partition` of `rdd`.
    pub(crate) fn owns(&self, rdd: &dyn crate::RddInfo, partition: usize) -> bool {
        let processes = self.processes();
        processes == 1 || rdd.owner(partition, processes) == self.process()
    }

    /// The cache of persisted partitions.
    pub fn block_manager(&self) -> &BlockManager {
        &self.inner.block_manager
    }

    /// Counters of what the context has run so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// Distributes `data` over `num_partitions` partitions (at least 1) of
    /// near-equal size, keeping order: partition i holds a contiguous slice.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize(vec![1, 2, 3, 4, 5], 2);
    /// assert_eq!(rdd.glom().collect()?, vec![vec![1, 2], vec![3, 4, 5]]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn parallelize<T: Data>(&self, data: Vec<T>, num_partitions: usize) -> Rdd<T> {
        Rdd::from_compute(
            self,
            "parallelize",
            ParallelCollection::new(data, num_partitions.max(1)),
        )
    }

    /// An RDD whose partitions are exactly the given vectors (one partition
    /// each), e.g. the blocks a receiver stored during one batch.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.from_partitions(vec![vec!["a".to_owned()], vec![], vec!["b".to_owned(), "c".to_owned()]]);
    /// assert_eq!(rdd.num_partitions(), 3);
    /// assert_eq!(rdd.collect()?, vec!["a", "b", "c"]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn from_partitions<T: Data>(&self, partitions: Vec<Vec<T>>) -> Rdd<T> {
        let partitions = partitions.into_iter().map(Arc::new).collect();
        Rdd::from_compute(
            self,
            "from_partitions",
            PartitionedCollection::new("ParallelCollectionRDD", partitions),
        )
    }

    /// An RDD of data each process holds for itself, such as the blocks its
    /// receivers stored: in local mode exactly
    /// [`from_partitions`](Self::from_partitions); in a cluster of `n`
    /// processes, `n * slices` partitions where process `q` owns
    /// `q * slices .. (q + 1) * slices` and deals its `partitions` over
    /// them round-robin (so every process sees the same partition count,
    /// whatever each holds). `slices` must be the same on every process.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.from_process_partitions(vec![vec![1], vec![2, 3]], 4);
    /// assert_eq!(rdd.glom().collect()?, vec![vec![1], vec![2, 3]]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn from_process_partitions<T: Data>(
        &self,
        partitions: Vec<Vec<T>>,
        slices: usize,
    ) -> Rdd<T> {
        let processes = self.processes();
        if processes == 1 {
            return self.from_partitions(partitions);
        }
        let me = self.process();
        let blocks = partitions
            .into_iter()
            .filter(|block| !block.is_empty())
            .map(Arc::new)
            .collect();
        let (dealt, owners) = deal_over_own_partitions(blocks, processes, me, slices);
        let placed = dealt
            .into_iter()
            .zip(&owners)
            .map(|(blocks, &owner)| (owner == me).then_some(blocks))
            .collect();
        Rdd::from_compute(
            self,
            "from_process_partitions",
            PlacedCollection::new("ParallelCollectionRDD", placed, owners, me),
        )
    }

    /// An RDD with no partitions and no elements.
    pub fn empty<T: Data>(&self) -> Rdd<T> {
        Rdd::from_compute(self, "empty", EmptyCompute)
    }

    /// The union of several RDDs: their partitions side by side, in order.
    pub fn union<T: Data>(&self, rdds: &[Rdd<T>]) -> Rdd<T> {
        Rdd::from_compute(self, "union", UnionCompute::new(rdds.to_vec()))
    }

    pub(crate) fn new_rdd_id(&self) -> usize {
        self.inner.next_rdd_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn new_shuffle_id(&self) -> usize {
        self.inner.next_shuffle_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn new_stage_id(&self) -> usize {
        self.inner.next_stage_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn new_job_id(&self) -> u64 {
        self.inner.next_job_id.fetch_add(1, Ordering::Relaxed)
    }
}
