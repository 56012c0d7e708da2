//! `union` and `coalesce`: narrow RDDs that read several parent partitions
//! without a shuffle.

use crate::{BoxIter, Data, Dependency, JobError, LentLines, Rdd, RddCompute, TaskContext};

/// The partitions of several RDDs side by side.
pub(crate) struct UnionCompute<T> {
    parents: Vec<Rdd<T>>,
}

impl<T> UnionCompute<T> {
    pub(crate) fn new(parents: Vec<Rdd<T>>) -> Self {
        UnionCompute { parents }
    }
}

impl<T: Data> RddCompute<T> for UnionCompute<T> {
    fn kind(&self) -> &'static str {
        "UnionRDD"
    }
    fn num_partitions(&self) -> usize {
        self.parents.iter().map(Rdd::num_partitions).sum()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        let mut out_start = 0;
        self.parents
            .iter()
            .map(|parent| {
                let length = parent.num_partitions();
                let dep = Dependency::Range {
                    parent: parent.info(),
                    in_start: 0,
                    out_start,
                    length,
                };
                out_start += length;
                dep
            })
            .collect()
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<T>, JobError> {
        let mut index = partition;
        for parent in &self.parents {
            let n = parent.num_partitions();
            if index < n {
                return parent.iterator(index, task);
            }
            index -= n;
        }
        Ok(Box::new(std::iter::empty()))
    }
    /// The parent partition's lines, lent as that parent lends them (a
    /// union of String RDDs, such as a window's batches).
    fn lend_lines(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Option<Result<LentLines, JobError>> {
        let mut index = partition;
        for parent in &self.parents {
            let n = parent.num_partitions();
            if index < n {
                let parent: &dyn std::any::Any = parent;
                return Some(
                    parent
                        .downcast_ref::<Rdd<String>>()?
                        .lent_lines(index, task),
                );
            }
            index -= n;
        }
        None
    }
}

/// Groups of contiguous parent partitions, one group per child partition.
pub(crate) struct CoalescedCompute<T> {
    parent: Rdd<T>,
    num_partitions: usize,
}

impl<T: Data> CoalescedCompute<T> {
    pub(crate) fn new(parent: Rdd<T>, num_partitions: usize) -> Self {
        let num_partitions = num_partitions.clamp(1, parent.num_partitions().max(1));
        CoalescedCompute {
            parent,
            num_partitions,
        }
    }

    fn group(&self, partition: usize) -> std::ops::Range<usize> {
        let total = self.parent.num_partitions();
        let n = self.num_partitions;
        (partition * total / n)..((partition + 1) * total / n)
    }
}

impl<T: Data> RddCompute<T> for CoalescedCompute<T> {
    fn kind(&self) -> &'static str {
        "CoalescedRDD"
    }
    fn num_partitions(&self) -> usize {
        self.num_partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::ManyToOne(self.parent.info())]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<T>, JobError> {
        let iters = self
            .group(partition)
            .map(|p| self.parent.iterator(p, task))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Box::new(iters.into_iter().flatten()))
    }
}
