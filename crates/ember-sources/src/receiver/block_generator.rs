//! The block generator: a thread per receiver that gathers the chunks of
//! records the receiver hands over and cuts them into a [`Block`] every
//! block interval (`spark.streaming.blockInterval`, default 200 ms), then
//! puts each block into a [`BlockStore`]; a block the receiver stores
//! whole (`store_block`) is put at once and the receiver told when it is
//! stored. A batch's input RDD is made of the blocks stamped in its
//! interval, one partition per block.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use crossbeam_channel::{Receiver as ChannelReceiver, RecvTimeoutError};
use ember_dstream::{Clock, Time};

use super::buffer::ReceiverBuffer;
use crate::error::SourceError;

/// Records cut from one receiver during one block interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block<T> {
    /// The input stream's id.
    pub stream_id: usize,
    /// The block's sequence number within its stream (from 0).
    pub sequence: u64,
    /// When it was cut, on the context's clock: it belongs to the batch
    /// whose interval `(t - batch, t]` holds this time. A block stored
    /// after that batch took its blocks is stamped 1 ms after the batch's
    /// time instead (see [`MemoryBlockStore`]), so its time always names
    /// the batch that takes it.
    pub time: Time,
    /// Its records, in arrival order.
    pub records: Vec<T>,
}

/// Where cut blocks wait until a batch takes them. This is the seam for
/// the receiver write-ahead log: a WAL-backed store logs a block in `put`
/// before returning (the acknowledgement), and replays unprocessed blocks
/// when it is opened again.
pub trait BlockStore<T>: Send + Sync + 'static {
    /// Stores a block; returning `Ok` acknowledges it.
    fn put(&self, block: Block<T>) -> Result<(), SourceError>;
    /// Removes and returns every block stamped at or before `time`, in
    /// order (a batch's blocks, since earlier batches took theirs).
    fn take_until(&self, time: Time) -> Vec<Block<T>>;
    /// Records held in stored blocks not yet taken.
    fn buffered_records(&self) -> u64;
    /// The bytes of the records held in stored blocks not yet taken, each
    /// record counted as `size` says; asked once, when the stream starts,
    /// to count the blocks a log replayed in the receiver's bounded buffer.
    /// The default, 0, suits a store that replays nothing.
    fn buffered_size(&self, _size: fn(&T) -> u64) -> u64 {
        0
    }
    /// Called when the stream starts, before the receiver: `log_dir` is
    /// `<checkpoint dir>/receivedData/<stream id>` when a checkpoint
    /// directory is set, and `recovered` the checkpoint time a recovered
    /// context continues from. A write-ahead-logged store opens its log
    /// there and replays the logged blocks after `recovered` (all of them
    /// without a checkpoint).
    fn open(
        &self,
        _log_dir: Option<&std::path::Path>,
        _recovered: Option<Time>,
    ) -> Result<(), SourceError> {
        Ok(())
    }
    /// A checkpoint became durable: blocks stamped at or before
    /// `needed_after` are never needed again (a logged store deletes their
    /// segments). The stream passes the time of the oldest checkpoint the
    /// directory keeps (the earliest a recovery can start from) less its
    /// remember duration, so that the batches windows reach back to from
    /// there stay logged.
    fn checkpointed(&self, _needed_after: Time) {}
    /// The blocks stamped in `(after, until]` of a batch processed before
    /// the checkpoint a recovered context continues from: a window
    /// reaching back before the checkpoint asks for that batch again. A
    /// logged store reads them from its log (kept for the stream's
    /// remember duration); the default has none.
    fn logged_between(&self, _after: Time, _until: Time) -> Vec<Block<T>> {
        Vec::new()
    }
}

/// The in-memory block store (no write-ahead log).
///
/// A block is stamped when it is cut, but put a moment later; if a batch
/// took its blocks in between (the batch's time had come), the block goes
/// to the next batch, and its time is moved to 1 ms after the batch that
/// took the others, so that a block's time always tells which batch took
/// it (recovery replays logged blocks by that time).
#[derive(Debug)]
pub struct MemoryBlockStore<T> {
    queue: Mutex<Queue<T>>,
    records: AtomicU64,
}

/// The stored blocks and the newest time a batch took blocks up to.
#[derive(Debug)]
struct Queue<T> {
    blocks: VecDeque<Block<T>>,
    taken_until: Option<Time>,
}

impl<T> Default for MemoryBlockStore<T> {
    fn default() -> Self {
        MemoryBlockStore {
            queue: Mutex::new(Queue {
                blocks: VecDeque::new(),
                taken_until: None,
            }),
            records: AtomicU64::new(0),
        }
    }
}

impl<T> MemoryBlockStore<T> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `block` after restamping it (see the type's documentation)
    /// and passing it to `log`, all under the lock [`take_until`] takes: a
    /// block `log` accepted is taken by the batch its logged time names.
    /// Nothing is stored when `log` fails.
    ///
    /// [`take_until`]: BlockStore::take_until
    pub(crate) fn put_logged(
        &self,
        mut block: Block<T>,
        log: impl FnOnce(&Block<T>) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(taken) = queue.taken_until
            && block.time <= taken
        {
            block.time = Time::from_millis(taken.milliseconds() + 1);
        }
        log(&block)?;
        self.records
            .fetch_add(block.records.len() as u64, Ordering::Relaxed);
        queue.blocks.push_back(block);
        Ok(())
    }
}

impl<T: Send + 'static> BlockStore<T> for MemoryBlockStore<T> {
    fn put(&self, block: Block<T>) -> Result<(), SourceError> {
        self.put_logged(block, |_| Ok(()))
    }

    fn take_until(&self, time: Time) -> Vec<Block<T>> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.taken_until = queue.taken_until.max(Some(time));
        let n = queue.blocks.iter().take_while(|b| b.time <= time).count();
        let taken: Vec<Block<T>> = queue.blocks.drain(..n).collect();
        let records: usize = taken.iter().map(|b| b.records.len()).sum();
        self.records.fetch_sub(records as u64, Ordering::Relaxed);
        taken
    }

    fn buffered_records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    fn buffered_size(&self, size: fn(&T) -> u64) -> u64 {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue
            .blocks
            .iter()
            .flat_map(|b| b.records.iter())
            .map(size)
            .sum()
    }
}

/// What a receiver hands the block generator.
pub(crate) enum Handoff<T> {
    /// A chunk of records, for the block being cut.
    Chunk(Vec<T>),
    /// Records to store as a block of their own, right away (after the
    /// block being cut, to keep the order); the store's answer goes back
    /// through `stored`.
    Block {
        records: Vec<T>,
        stored: crossbeam_channel::Sender<Result<(), SourceError>>,
    },
    /// Cut the current block and exit.
    Shutdown,
}

/// Runs the block generator loop on its own thread.
pub(crate) struct BlockGenerator {
    thread: Option<JoinHandle<()>>,
}

impl BlockGenerator {
    pub(crate) fn spawn<T: Send + 'static>(
        name: String,
        stream_id: usize,
        interval: StdDuration,
        chunks: ChannelReceiver<Handoff<T>>,
        store: Arc<dyn BlockStore<T>>,
        clock: Arc<dyn Clock>,
        accounting: (Arc<ReceiverBuffer>, fn(&T) -> u64),
    ) -> Result<Self, SourceError> {
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let cutter = Cutter {
                    stream_id,
                    sequence: 0,
                    store: &*store,
                    clock: &*clock,
                    buffer: &accounting.0,
                    size: accounting.1,
                };
                run(cutter, interval, &chunks);
            })
            .map_err(|source| SourceError::Thread { name, source })?;
        Ok(BlockGenerator {
            thread: Some(thread),
        })
    }

    /// Waits for the loop to end (after a [`Handoff::Shutdown`]).
    pub(crate) fn join(&mut self) {
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("block generator thread panicked");
        }
    }
}

/// Turns records into numbered, stamped blocks and puts them in the store.
struct Cutter<'a, T> {
    stream_id: usize,
    sequence: u64,
    store: &'a dyn BlockStore<T>,
    clock: &'a dyn Clock,
    /// The receiver's buffer: records the store refused leave it.
    buffer: &'a ReceiverBuffer,
    size: fn(&T) -> u64,
}

impl<T: 'static> Cutter<'_, T> {
    /// Puts `records` (if any) as the next block; the store's answer.
    fn put(&mut self, records: Vec<T>) -> Result<(), SourceError> {
        if records.is_empty() {
            return Ok(());
        }
        let n = records.len() as u64;
        let bytes: u64 = records.iter().map(self.size).sum();
        let block = Block {
            stream_id: self.stream_id,
            sequence: self.sequence,
            time: self.clock.now(),
            records,
        };
        self.sequence += 1;
        let stored = self.store.put(block);
        if stored.is_err() {
            self.buffer.release(n, bytes);
        }
        stored
    }

    /// Puts the records gathered so far as a block.
    fn cut(&mut self, current: &mut Vec<T>) {
        if let Err(e) = self.put(std::mem::take(current)) {
            tracing::error!(stream_id = self.stream_id, error = %e, "dropping a block the store refused");
        }
    }

    /// Puts a block the receiver stores whole, after the gathered records,
    /// and tells the waiting receiver how it went.
    fn put_whole(
        &mut self,
        current: &mut Vec<T>,
        records: Vec<T>,
        stored: &crossbeam_channel::Sender<Result<(), SourceError>>,
    ) {
        self.cut(current);
        // Fails only if the waiting receiver thread is gone: no one to tell.
        let _ = stored.send(self.put(records));
    }
}

fn run<T: 'static>(
    mut cutter: Cutter<'_, T>,
    interval: StdDuration,
    chunks: &ChannelReceiver<Handoff<T>>,
) {
    let stream_id = cutter.stream_id;
    let mut current: Vec<T> = Vec::new();
    let mut next_cut = Instant::now() + interval;
    loop {
        let now = Instant::now();
        if now >= next_cut {
            cutter.cut(&mut current);
            next_cut += interval;
            if next_cut <= now {
                next_cut = now + interval;
            }
            continue;
        }
        match chunks.recv_timeout(next_cut - now) {
            Ok(Handoff::Chunk(chunk)) => {
                if current.is_empty() {
                    current = chunk;
                } else {
                    current.extend(chunk);
                }
            }
            Ok(Handoff::Block { records, stored }) => {
                cutter.put_whole(&mut current, records, &stored);
            }
            Ok(Handoff::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                // Take whatever was handed over before the shutdown.
                loop {
                    match chunks.try_recv() {
                        Ok(Handoff::Chunk(chunk)) => current.extend(chunk),
                        Ok(Handoff::Block { records, stored }) => {
                            cutter.put_whole(&mut current, records, &stored);
                        }
                        Ok(Handoff::Shutdown) | Err(_) => break,
                    }
                }
                cutter.cut(&mut current);
                tracing::debug!(stream_id, "block generator stopped");
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(sequence: u64, time_ms: u64) -> Block<u64> {
        Block {
            stream_id: 0,
            sequence,
            time: Time::from_millis(time_ms),
            records: vec![sequence],
        }
    }

    #[test]
    fn a_block_put_after_its_batch_took_the_others_goes_to_the_next_batch() {
        let store = MemoryBlockStore::new();
        store.put(block(0, 40)).unwrap();
        assert_eq!(store.take_until(Time::from_millis(100)), vec![block(0, 40)]);
        store.put(block(1, 100)).unwrap(); // late: batch 100 is gone
        store.put(block(2, 130)).unwrap();
        assert_eq!(store.buffered_records(), 2);
        let next = store.take_until(Time::from_millis(200));
        assert_eq!(next, vec![block(1, 101), block(2, 130)]);
        assert_eq!(store.buffered_records(), 0);
    }
}
