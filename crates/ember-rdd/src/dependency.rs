//! Lineage: the untyped view of an RDD ([`RddInfo`]) and the edges between
//! RDDs ([`Dependency`]), narrow or shuffle.

use std::sync::Arc;

use crate::{JobError, StorageLevel, TaskContext};

/// The untyped view of an RDD that lineage walks and the scheduler use.
pub trait RddInfo: Send + Sync {
    /// The RDD's id, unique within its context.
    fn id(&self) -> usize;
    /// The kind of RDD, in Spark's naming (`MapPartitionsRDD`, `ShuffledRDD`, …).
    fn kind(&self) -> &'static str;
    /// The operation that created it (`map`, `reduce_by_key`, …).
    fn operation(&self) -> &'static str;
    /// How many partitions it has.
    fn num_partitions(&self) -> usize;
    /// Its parents (empty once the lineage has been truncated).
    fn dependencies(&self) -> Vec<Dependency>;
    /// How its partitions are kept.
    fn storage_level(&self) -> StorageLevel;
    /// The process of a cluster of `processes` that computes `partition`.
    /// By default the partitions are dealt round-robin
    /// ([`partition_owner`](crate::partition_owner)).
    fn owner(&self, partition: usize, processes: usize) -> usize {
        crate::partition_owner(partition, processes)
    }
}

/// An edge of the lineage graph.
#[derive(Clone)]
pub enum Dependency {
    /// Partition i of the child reads partition i of the parent.
    OneToOne(Arc<dyn RddInfo>),
    /// Partitions `out_start..out_start + length` of the child read partitions
    /// `in_start..in_start + length` of the parent (a union).
    Range {
        /// The parent.
        parent: Arc<dyn RddInfo>,
        /// First parent partition.
        in_start: usize,
        /// First child partition.
        out_start: usize,
        /// Number of partitions.
        length: usize,
    },
    /// Each child partition reads a fixed group of parent partitions
    /// without a shuffle: a contiguous group (a coalesce), or one partition
    /// of each side (a cartesian product).
    ManyToOne(Arc<dyn RddInfo>),
    /// Every child partition reads from every parent partition through a
    /// shuffle: a stage boundary.
    Shuffle(Arc<dyn ShuffleDependency>),
}

impl Dependency {
    /// The parent RDD.
    pub fn parent(&self) -> Arc<dyn RddInfo> {
        match self {
            Dependency::OneToOne(p) | Dependency::ManyToOne(p) => Arc::clone(p),
            Dependency::Range { parent, .. } => Arc::clone(parent),
            Dependency::Shuffle(s) => s.parent(),
        }
    }

    /// Whether this edge is a shuffle (a stage boundary).
    pub fn is_shuffle(&self) -> bool {
        matches!(self, Dependency::Shuffle(_))
    }
}

/// The map side of a shuffle, as the scheduler sees it: a stage of map tasks
/// whose outputs the child's partitions read.
pub trait ShuffleDependency: Send + Sync {
    /// The shuffle's id, unique within its context.
    fn shuffle_id(&self) -> usize;
    /// The RDD whose partitions the map tasks read.
    fn parent(&self) -> Arc<dyn RddInfo>;
    /// Whether every map task's output is present.
    fn is_available(&self) -> bool;
    /// The map tasks (parent partitions) whose output is missing: after a
    /// failed map stage, only these run again. By default all of them.
    fn missing_partitions(&self) -> Vec<usize> {
        (0..self.parent().num_partitions()).collect()
    }
    /// Runs before the map stage (a range partitioner samples its keys here).
    fn prepare(&self) -> Result<(), JobError>;
    /// Computes one parent partition and stores its bucketed output.
    fn run_map_task(&self, task: &TaskContext) -> Result<(), JobError>;
    /// Cluster mode: after this process ran its map tasks (`local` is how
    /// that went), sends every bucket to the process that owns its reduce
    /// partition and keeps what the others send for this process's
    /// partitions. Every process calls it once per map stage.
    fn exchange_outputs(
        &self,
        exchange: &dyn crate::Exchange,
        local: Result<(), JobError>,
    ) -> Result<(), JobError>;
}
