//! RDDs over data already in memory: a distributed local collection, a set
//! of ready-made partitions (also what a checkpoint restores), and the empty
//! RDD.

use std::sync::Arc;

use crate::{BoxIter, Data, Dependency, JobError, LentLines, RddCompute, TaskContext};

/// Yields clones of a shared slice `range` of `data`.
fn shared_iter<T: Data>(data: Arc<Vec<T>>, range: std::ops::Range<usize>) -> BoxIter<T> {
    Box::new(range.map(move |i| data[i].clone()))
}

/// `parallelize`: one vector cut into contiguous, near-equal slices.
pub(crate) struct ParallelCollection<T> {
    data: Arc<Vec<T>>,
    num_partitions: usize,
}

impl<T> ParallelCollection<T> {
    pub(crate) fn new(data: Vec<T>, num_partitions: usize) -> Self {
        ParallelCollection {
            data: Arc::new(data),
            num_partitions,
        }
    }

    /// Spark's slicing: partition i holds `[i*len/n, (i+1)*len/n)`.
    fn bounds(&self, partition: usize) -> std::ops::Range<usize> {
        let len = self.data.len();
        let n = self.num_partitions;
        (partition * len / n)..((partition + 1) * len / n)
    }
}

impl<T: Data> RddCompute<T> for ParallelCollection<T> {
    fn kind(&self) -> &'static str {
        "ParallelCollectionRDD"
    }
    fn num_partitions(&self) -> usize {
        self.num_partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<T>, JobError> {
        Ok(shared_iter(Arc::clone(&self.data), self.bounds(partition)))
    }
    fn lend_lines(&self, partition: usize, _: &TaskContext) -> Option<Result<LentLines, JobError>> {
        LentLines::from_shared(&self.data, self.bounds(partition)).map(Ok)
    }
}

/// Ready-made partitions, one vector each.
pub(crate) struct PartitionedCollection<T> {
    kind: &'static str,
    partitions: Vec<Arc<Vec<T>>>,
}

impl<T> PartitionedCollection<T> {
    pub(crate) fn new(kind: &'static str, partitions: Vec<Arc<Vec<T>>>) -> Self {
        PartitionedCollection { kind, partitions }
    }
}

impl<T: Data> RddCompute<T> for PartitionedCollection<T> {
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
        let data = self
            .partitions
            .get(partition)
            .map_or_else(|| Arc::new(Vec::new()), Arc::clone);
        let len = data.len();
        Ok(shared_iter(data, 0..len))
    }
    fn lend_lines(&self, partition: usize, _: &TaskContext) -> Option<Result<LentLines, JobError>> {
        let slices = self.partitions.get(partition).map(|d| (d, 0..d.len()));
        LentLines::from_slices(slices).map(Ok)
    }
}

/// No partitions at all.
pub(crate) struct EmptyCompute;

impl<T: Data> RddCompute<T> for EmptyCompute {
    fn kind(&self) -> &'static str {
        "EmptyRDD"
    }
    fn num_partitions(&self) -> usize {
        0
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, _: usize, _: &TaskContext) -> Result<BoxIter<T>, JobError> {
        Ok(Box::new(std::iter::empty()))
    }
}
