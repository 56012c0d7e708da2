//! A receiver batch's RDD: the blocks a batch took, one partition each,
//! owned by the RDD. Each block carries its share of the receiver's bounded
//! buffer and gives it back when its records are dropped (the RDD, every
//! job and iterator reading it, gone), not when the batch completes: the
//! streams remember a completed batch's RDD a while longer (its remember
//! duration, windows), and records still alive must keep counting, or the
//! receiver refills the buffer while the old records are still in memory.

use std::sync::Arc;

use ember_dstream::InputEnv;
use ember_rdd::{BoxIter, Data, Dependency, JobError, Rdd, RddCompute, TaskContext};

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

impl<T> Drop for HeldBlock<T> {
    fn drop(&mut self) {
        if let Some((buffer, bytes)) = self.held.take() {
            buffer.release_allocated(self.records.len() as u64, bytes);
        }
    }
}

/// The blocks of one batch, one partition per block.
struct BatchBlocks<T> {
    blocks: Vec<Arc<HeldBlock<T>>>,
}

impl<T: Data> RddCompute<T> for BatchBlocks<T> {
    fn kind(&self) -> &'static str {
        "BlockRDD"
    }
    fn num_partitions(&self) -> usize {
        self.blocks.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<T>, JobError> {
        let Some(block) = self.blocks.get(partition).map(Arc::clone) else {
            return Ok(Box::new(std::iter::empty()));
        };
        let len = block.records.len();
        Ok(Box::new((0..len).map(move |i| block.records[i].clone())))
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
    if held_blocks.is_empty() {
        held_blocks.push(Arc::new(HeldBlock {
            records: Vec::new(),
            held: None,
        }));
    }
    Rdd::from_compute(
        env.rdd_context(),
        "receiver_stream",
        BatchBlocks {
            blocks: held_blocks,
        },
    )
}
