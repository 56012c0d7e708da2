//! Data that lives on one process of a cluster: [`PlacedCollection`], the
//! partitions this process holds (each a list of blocks) and, for every
//! partition, the process that holds it. A receiver's blocks and a local
//! checkpoint of a cluster RDD are such data. In local mode every
//! partition is here.

use std::sync::Arc;

use crate::{BoxIter, Data, Dependency, JobError, RddCompute, TaskContext};

/// Partitions held by their owners: this process has `Some` blocks for
/// the partitions it owns and `None` for the others.
pub(crate) struct PlacedCollection<T> {
    kind: &'static str,
    partitions: Vec<Option<Vec<Arc<Vec<T>>>>>,
    owners: Vec<usize>,
    process: usize,
}

impl<T> PlacedCollection<T> {
    /// `partitions[p]` is `Some` exactly where `owners[p]` is `process`.
    pub(crate) fn new(
        kind: &'static str,
        partitions: Vec<Option<Vec<Arc<Vec<T>>>>>,
        owners: Vec<usize>,
        process: usize,
    ) -> Self {
        PlacedCollection {
            kind,
            partitions,
            owners,
            process,
        }
    }
}

impl<T: Data> RddCompute<T> for PlacedCollection<T> {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn num_partitions(&self) -> usize {
        self.partitions.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<T>, JobError> {
        match self.partitions.get(partition) {
            Some(Some(blocks)) => {
                let blocks = blocks.clone();
                Ok(Box::new(blocks.into_iter().flat_map(|block| {
                    (0..block.len()).map(move |i| block[i].clone())
                })))
            }
            Some(None) => Err(JobError::NotLocal {
                partition,
                owner: self.owners.get(partition).copied().unwrap_or_default(),
                process: self.process,
            }),
            None => Ok(Box::new(std::iter::empty())),
        }
    }
    fn owner(&self, partition: usize, _processes: usize) -> Option<usize> {
        self.owners.get(partition).copied()
    }
}
