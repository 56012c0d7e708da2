//! A receiver batch's RDD: the blocks a batch took, one partition each,
//! owned by the RDD. Each block carries its share of the receiver's bounded
//! buffer and gives it back when its records are dropped (the RDD, every
//! job and iterator reading it, gone), not when the batch completes: the
//! streams remember a completed batch's RDD a while longer (its remember
//! duration, windows), and records still alive must keep counting, or the
//! receiver refills the buffer while the old records are still in memory.
//!
//! In cluster mode the blocks stay on the process whose receiver stored
//! them: the RDD has `n * threads` partitions on every process, this
//! process's blocks dealt over its own share of them.

use std::sync::Arc;

use ember_dstream::InputEnv;
use ember_rdd::{
    BoxIter, Data, Dependency, JobError, LentLines, Rdd, RddCompute, TaskContext,
    deal_over_own_partitions,
};

use super::block_generator::Block;
use super::buffer::ReceiverBuffer;

/// The records of one taken block and what they count for in the buffer.
struct HeldBlock<T> {
    records: Vec<T>,
    /// The receiver's buffer and this block's bytes in it; `None` for
    /// blocks the buffer does not count (replayed from the log for a
    /// window reaching back before the recovered checkpoint).
    held: Option<(Arc<ReceiverBuffer>, u64)>,
}

impl<T> AsRef<[T]> for HeldBlock<T> {
    fn as_ref(&self) -> &[T] {
        &self.records
    }
}

impl<T> Drop for HeldBlock<T> {
    fn drop(&mut self) {
        if let Some((buffer, bytes)) = self.held.take() {
            buffer.release_allocated(self.records.len() as u64, bytes);
        }
    }
}

/// The blocks of one batch: one partition per block, or in cluster mode
/// this process's blocks dealt over its partitions.
struct BatchBlocks<T> {
    partitions: Vec<Vec<Arc<HeldBlock<T>>>>,
    /// Cluster mode: every partition's process, and this process.
    placement: Option<(Vec<usize>, usize)>,
}

impl<T: Data> RddCompute<T> for BatchBlocks<T> {
    fn kind(&self) -> &'static str {
        "BlockRDD"
    }
    fn num_partitions(&self) -> usize {
        self.partitions.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<T>, JobError> {
        if let Some((owners, process)) = &self.placement {
            let owner = owners.get(partition).copied().unwrap_or_default();
            if owner != *process {
                return Err(JobError::NotLocal {
                    partition,
                    owner,
                    process: *process,
                });
            }
        }
        let blocks = self.partitions.get(partition).cloned().unwrap_or_default();
        Ok(Box::new(blocks.into_iter().flat_map(|block| {
            let len = block.records.len();
            (0..len).map(move |i| block.records[i].clone())
        })))
    }
    /// A stream of lines' blocks, lent where they are held (each block
    /// keeps counting in the buffer while lent).
    fn lend_lines(&self, partition: usize, _: &TaskContext) -> Option<Result<LentLines, JobError>> {
        if let Some((owners, process)) = &self.placement
            && owners.get(partition) != Some(process)
        {
            // Not here: `compute` says so.
            return None;
        }
        let blocks = self.partitions.get(partition)?;
        let strings: Option<Vec<Arc<HeldBlock<String>>>> = blocks
            .iter()
            .map(|block| {
                let block: Arc<dyn std::any::Any + Send + Sync> = Arc::clone(block) as _;
                block.downcast::<HeldBlock<String>>().ok()
            })
            .collect();
        Some(Ok(LentLines::from_blocks(strings?)))
    }
    fn owner(&self, partition: usize, _processes: usize) -> Option<usize> {
        self.placement
            .as_ref()
            .and_then(|(owners, _)| owners.get(partition).copied())
    }
}

/// A batch's RDD over `blocks` (one empty partition without any). With
/// `buffer`, the receiver's, the blocks were taken from the store: the
/// buffer counts them as allocated from now on, each record `size` bytes,
/// until each block's records are dropped.
pub(crate) fn batch_rdd<T: Data>(
    blocks: Vec<Block<T>>,
    buffer: Option<&Arc<ReceiverBuffer>>,
    size: fn(&T) -> u64,
    env: &InputEnv,
) -> Rdd<T> {
    let mut held_blocks: Vec<Arc<HeldBlock<T>>> = blocks
        .into_iter()
        .map(|block| {
            let held = buffer.map(|buffer| {
                let bytes = block.records.iter().map(size).sum();
                buffer.allocate(block.records.len() as u64);
                (Arc::clone(buffer), bytes)
            });
            Arc::new(HeldBlock {
                records: block.records,
                held,
            })
        })
        .collect();
    let ctx = env.rdd_context();
    let processes = ctx.processes();
    let compute = if processes == 1 {
        if held_blocks.is_empty() {
            held_blocks.push(Arc::new(HeldBlock {
                records: Vec::new(),
                held: None,
            }));
        }
        BatchBlocks {
            partitions: held_blocks.into_iter().map(|block| vec![block]).collect(),
            placement: None,
        }
    } else {
        let me = ctx.process();
        let slices = ctx.default_parallelism_per_process();
        let (partitions, owners) = deal_over_own_partitions(held_blocks, processes, me, slices);
        BatchBlocks {
            partitions,
            placement: Some((owners, me)),
        }
    };
    Rdd::from_compute(ctx, "receiver_stream", compute)
}
