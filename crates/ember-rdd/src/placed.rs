//! Data that lives on one process of a cluster: [`PlacedCollection`], the
//! partitions this process holds (each a list of blocks) and, for every
//! partition, the process that holds it. A receiver's blocks and a local
//! checkpoint of a cluster RDD are such data. In local mode every
//! partition is here.

use std::sync::Arc;

use crate::{BoxIter, Data, Dependency, JobError, LentLines, RddCompute, TaskContext};

/// Cluster mode's layout of data each process holds for itself (a
/// receiver's blocks, the files it took): `processes * slices` partitions,
/// process `q` owning `q * slices .. (q + 1) * slices`, so every process
/// sees the same count whatever each holds. Deals this process's `items`
/// round-robin over its own partitions; returns every partition's items
/// (empty for the other processes' partitions) and every partition's
/// owner. `slices` must be the same on every process.
///
/// ```
/// let (parts, owners) = ember_rdd::deal_over_own_partitions(vec!['a', 'b', 'c'], 2, 1, 2);
/// assert_eq!(parts, vec![vec![], vec![], vec!['a', 'c'], vec!['b']]);
/// assert_eq!(owners, vec![0, 0, 1, 1]);
/// ```
pub fn deal_over_own_partitions<T>(
    items: Vec<T>,
    processes: usize,
    process: usize,
    slices: usize,
) -> (Vec<Vec<T>>, Vec<usize>) {
    let slices = slices.max(1);
    let mut mine: Vec<Vec<T>> = (0..slices).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        mine[i % slices].push(item);
    }
    let mut mine = mine.into_iter();
    let total = processes.max(1) * slices;
    let partitions = (0..total)
        .map(|p| match p / slices == process {
            true => mine.next().unwrap_or_default(),
            false => Vec::new(),
        })
        .collect();
    (partitions, (0..total).map(|p| p / slices).collect())
}

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
    fn lend_lines(&self, partition: usize, _: &TaskContext) -> Option<Result<LentLines, JobError>> {
        match self.partitions.get(partition) {
            Some(Some(blocks)) => {
                LentLines::from_slices(blocks.iter().map(|b| (b, 0..b.len()))).map(Ok)
            }
            // `compute` says why (not local) or yields nothing.
            _ => None,
        }
    }
    fn owner(&self, partition: usize, _processes: usize) -> Option<usize> {
        self.owners.get(partition).copied()
    }
}
