//! Reading a partition a chunk at a time. A chain of element-wise
//! operators (`map`, `filter`, `flat_map`, `map_values`, …) hands its
//! records on in vectors of up to [`CHUNK`] records: one dynamic call per
//! chunk and operator, where a chain of boxed iterators makes one per
//! record and operator (each operator is a separate, type-erased RDD, so
//! nothing inlines across them). The shuffle's map side reads its input
//! through a [`ChunkIter`], whose `next` takes the next record of the
//! current chunk without a dynamic call. The records' order, partitions
//! and every result are the same as record by record; only the number of
//! dynamic calls changes (on the plain DStream API word count, 1M words,
//! 2 threads: from about four per word to about one per chunk and
//! operator).

use std::sync::Arc;

use crate::{BoxIter, Data, Dependency, JobError, Rdd, RddCompute, TaskContext};

/// The most records an operator adds to a chunk in one call (a `flat_map`
/// may add more: all of one input record's outputs).
pub(crate) const CHUNK: usize = 256;

/// A partition's records, a chunk at a time.
pub(crate) trait ChunkSource<T> {
    /// The next records (at least one), or `None` when there are no more.
    /// Each chunk is a vector of its own, allocated by whoever fills it at
    /// the size it needs: a vector allocated ahead at a guessed size would
    /// be reallocated, its whole capacity copied, whenever a chunk outgrew
    /// the guess (a `map` after a `flat_map` did so for nearly every chunk).
    fn next_chunk(&mut self) -> Option<Vec<T>>;
}

/// A boxed [`ChunkSource`].
pub(crate) type BoxChunks<T> = Box<dyn ChunkSource<T>>;

/// An RDD whose partitions can be read a chunk at a time.
pub(crate) trait ChunkedCompute<T>: Send + Sync {
    /// The records of `partition`, a chunk at a time.
    fn chunks(&self, partition: usize, task: &TaskContext) -> Result<BoxChunks<T>, JobError>;
}

/// Any partition iterator, a chunk at a time.
pub(crate) struct IterChunks<T>(pub(crate) BoxIter<T>);

impl<T> ChunkSource<T> for IterChunks<T> {
    fn next_chunk(&mut self) -> Option<Vec<T>> {
        let first = self.0.next()?;
        let mut chunk = Vec::with_capacity(CHUNK);
        chunk.push(first);
        chunk.extend(self.0.by_ref().take(CHUNK - 1));
        Some(chunk)
    }
}

/// A chunk source read record by record: `next` takes the next record of
/// the current chunk, and calls the source only for the next chunk.
pub(crate) struct ChunkIter<T> {
    source: BoxChunks<T>,
    chunk: std::vec::IntoIter<T>,
    done: bool,
}

impl<T> ChunkIter<T> {
    /// The records of `source`.
    pub(crate) fn new(source: BoxChunks<T>) -> Self {
        ChunkIter {
            source,
            chunk: Vec::new().into_iter(),
            done: false,
        }
    }

    /// The records left of the current chunk, or (when none are) the next
    /// chunk's; `None` when there are no more.
    pub(crate) fn next_run(&mut self) -> Option<std::vec::IntoIter<T>> {
        if self.chunk.len() > 0 || (!self.done && self.refill()) {
            Some(std::mem::take(&mut self.chunk))
        } else {
            None
        }
    }

    /// Reads the next chunk; false when there is none.
    fn refill(&mut self) -> bool {
        match self.source.next_chunk() {
            Some(chunk) => {
                self.chunk = chunk.into_iter();
                true
            }
            None => {
                self.done = true;
                false
            }
        }
    }
}

impl<T> Iterator for ChunkIter<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(record) = self.chunk.next() {
                return Some(record);
            }
            if self.done || !self.refill() {
                return None;
            }
        }
    }
}

/// One element-wise operator, applied to a chunk.
pub(crate) trait ChunkOp<S, T>: Send + Sync {
    /// Takes records from `input` and returns their results in order: of
    /// all of them, or (for an operator that may output many records per
    /// input record) of as many as reach [`CHUNK`] results. The result may
    /// be empty (a filter that keeps nothing).
    fn apply(&self, input: &mut std::vec::IntoIter<S>) -> Vec<T>;
}

/// `map`: one result per record.
pub(crate) struct MapOp<F>(pub(crate) F);

impl<S, T, F: Fn(S) -> T + Send + Sync> ChunkOp<S, T> for MapOp<F> {
    fn apply(&self, input: &mut std::vec::IntoIter<S>) -> Vec<T> {
        // Collected from the chunk's own iterator: results no larger than
        // the records are written over them in place.
        std::mem::take(input).map(&self.0).collect()
    }
}

/// `filter`: the records `f` keeps.
pub(crate) struct FilterOp<F>(pub(crate) F);

impl<T, F: Fn(&T) -> bool + Send + Sync> ChunkOp<T, T> for FilterOp<F> {
    fn apply(&self, input: &mut std::vec::IntoIter<T>) -> Vec<T> {
        // Filtered where the chunk lies: collecting an iterator not yet
        // read from gives back its vector, and `retain` moves no record
        // before the first one dropped.
        let mut records: Vec<T> = std::mem::take(input).collect();
        records.retain(|record| (self.0)(record));
        records
    }
}

/// `flat_map`: every result of every record.
pub(crate) struct FlatMapOp<F>(pub(crate) F);

impl<S, T, I, F> ChunkOp<S, T> for FlatMapOp<F>
where
    I: IntoIterator<Item = T>,
    F: Fn(S) -> I + Send + Sync,
{
    fn apply(&self, input: &mut std::vec::IntoIter<S>) -> Vec<T> {
        // Room for the last record's results to overshoot the chunk.
        let mut out = Vec::with_capacity(2 * CHUNK);
        while out.len() < CHUNK {
            let Some(record) = input.next() else {
                break;
            };
            out.extend((self.0)(record));
        }
        out
    }
}

/// An element-wise operator over a parent RDD (Spark's
/// `MapPartitionsRDD`), computed a chunk at a time.
pub(crate) struct ElementwiseCompute<S, T> {
    pub(crate) parent: Rdd<S>,
    pub(crate) op: Arc<dyn ChunkOp<S, T>>,
}

impl<S: Data, T: Data> ChunkedCompute<T> for ElementwiseCompute<S, T> {
    fn chunks(&self, partition: usize, task: &TaskContext) -> Result<BoxChunks<T>, JobError> {
        Ok(Box::new(OpChunks {
            parent: self.parent.chunks(partition, task)?,
            op: Arc::clone(&self.op),
            pending: Vec::new().into_iter(),
        }))
    }
}

impl<S: Data, T: Data> RddCompute<T> for ElementwiseCompute<S, T> {
    fn kind(&self) -> &'static str {
        "MapPartitionsRDD"
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::OneToOne(self.parent.info())]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<T>, JobError> {
        Ok(Box::new(ChunkIter::new(self.chunks(partition, task)?)))
    }
}

/// The chunks of an operator over its parent's chunks.
struct OpChunks<S, T> {
    parent: BoxChunks<S>,
    op: Arc<dyn ChunkOp<S, T>>,
    /// The parent's records not yet taken by the operator.
    pending: std::vec::IntoIter<S>,
}

impl<S, T> ChunkSource<T> for OpChunks<S, T> {
    fn next_chunk(&mut self) -> Option<Vec<T>> {
        loop {
            if self.pending.len() == 0 {
                self.pending = self.parent.next_chunk()?.into_iter();
            }
            let out = self.op.apply(&mut self.pending);
            // A filter may keep nothing of a chunk: read on.
            if !out.is_empty() {
                return Some(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source of the numbers below `n`, `step` at a time.
    struct Counting {
        next: u32,
        n: u32,
        step: u32,
    }

    impl ChunkSource<u32> for Counting {
        fn next_chunk(&mut self) -> Option<Vec<u32>> {
            let end = (self.next + self.step).min(self.n);
            let chunk: Vec<u32> = (self.next..end).collect();
            self.next = end;
            (!chunk.is_empty()).then_some(chunk)
        }
    }

    fn counting(n: u32, step: u32) -> BoxChunks<u32> {
        Box::new(Counting { next: 0, n, step })
    }

    fn through<T: 'static>(source: BoxChunks<u32>, op: impl ChunkOp<u32, T> + 'static) -> Vec<T> {
        let chunks = OpChunks {
            parent: source,
            op: Arc::new(op),
            pending: Vec::new().into_iter(),
        };
        ChunkIter::new(Box::new(chunks)).collect()
    }

    #[test]
    fn operators_over_chunks_equal_the_iterator_model() {
        for (n, step) in [
            (0, 1),
            (1, 1),
            (1000, 1),
            (1000, 7),
            (1000, 300),
            (5000, 256),
        ] {
            let model: Vec<u32> = (0..n).collect();
            assert_eq!(
                through(counting(n, step), MapOp(|x: u32| x * 3)),
                model.iter().map(|x| x * 3).collect::<Vec<_>>()
            );
            assert_eq!(
                through(counting(n, step), FilterOp(|x: &u32| x % 97 == 5)),
                model
                    .iter()
                    .copied()
                    .filter(|x| x % 97 == 5)
                    .collect::<Vec<_>>()
            );
            let fan = |x: u32| (0..x % 5).map(move |i| (x, i));
            assert_eq!(
                through(counting(n, step), FlatMapOp(fan)),
                model.iter().flat_map(|&x| fan(x)).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_flat_map_stops_its_chunk_near_the_chunk_size() {
        let mut chunks = OpChunks {
            parent: counting(10, 10),
            op: Arc::new(FlatMapOp(|x: u32| vec![x; 100])),
            pending: Vec::new().into_iter(),
        };
        // Three input records' outputs reach 256.
        assert_eq!(chunks.next_chunk().map(|c| c.len()), Some(300));
        let mut total = 300;
        while let Some(chunk) = chunks.next_chunk() {
            total += chunk.len();
        }
        assert_eq!(total, 1000);
    }

    #[test]
    fn runs_after_single_records_give_every_record_once() {
        for (n, step, singles) in [(0, 1, 0), (10, 3, 1), (1000, 7, 5), (1000, 300, 299)] {
            let mut iter = ChunkIter::new(counting(n, step));
            let mut read: Vec<u32> = iter.by_ref().take(singles).collect();
            while let Some(run) = iter.next_run() {
                assert!(run.len() > 0);
                read.extend(run);
            }
            assert_eq!(read, (0..n).collect::<Vec<_>>());
            assert_eq!(iter.next(), None);
        }
    }

    #[test]
    fn an_iterator_read_in_chunks_gives_every_record_once() {
        let records: Vec<u32> = (0..1000).collect();
        let iter: BoxIter<u32> = Box::new(records.clone().into_iter());
        let read: Vec<u32> = ChunkIter::new(Box::new(IterChunks(iter))).collect();
        assert_eq!(read, records);
    }
}
