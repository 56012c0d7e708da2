//! The block generator: a thread per receiver that gathers the chunks of
//! records the receiver hands over and cuts them into a [`Block`] every
//! block interval (`spark.streaming.blockInterval`, default 200 ms), then
//! puts each block into a [`BlockStore`]. A batch's input RDD is made of
//! the blocks stamped in its interval, one partition per block.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use crossbeam_channel::{Receiver as ChannelReceiver, RecvTimeoutError};
use ember_dstream::{Clock, Time};

use crate::error::SourceError;

/// Records cut from one receiver during one block interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block<T> {
    /// The input stream's id.
    pub stream_id: usize,
    /// The block's sequence number within its stream (from 0).
    pub sequence: u64,
    /// When it was cut, on the context's clock: it belongs to the batch
    /// whose interval `(t - batch, t]` holds this time.
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
    /// A checkpoint is being written; `durable` is the time of the previous
    /// one, already durable: blocks stamped at or before it are never
    /// needed again (a logged store deletes their segments).
    fn checkpointed(&self, _durable: Time) {}
}

/// The in-memory block store (no write-ahead log).
#[derive(Debug)]
pub struct MemoryBlockStore<T> {
    blocks: Mutex<VecDeque<Block<T>>>,
    records: AtomicU64,
}

impl<T> Default for MemoryBlockStore<T> {
    fn default() -> Self {
        MemoryBlockStore {
            blocks: Mutex::new(VecDeque::new()),
            records: AtomicU64::new(0),
        }
    }
}

impl<T> MemoryBlockStore<T> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T: Send + 'static> BlockStore<T> for MemoryBlockStore<T> {
    fn put(&self, block: Block<T>) -> Result<(), SourceError> {
        self.records
            .fetch_add(block.records.len() as u64, Ordering::Relaxed);
        self.blocks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(block);
        Ok(())
    }

    fn take_until(&self, time: Time) -> Vec<Block<T>> {
        let mut blocks = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        let n = blocks.iter().take_while(|b| b.time <= time).count();
        let taken: Vec<Block<T>> = blocks.drain(..n).collect();
        let records: usize = taken.iter().map(|b| b.records.len()).sum();
        self.records.fetch_sub(records as u64, Ordering::Relaxed);
        taken
    }

    fn buffered_records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
}

/// What a receiver hands the block generator.
pub(crate) enum Handoff<T> {
    /// A chunk of records.
    Chunk(Vec<T>),
    /// Cut the current block and exit.
    Shutdown,
}

/// Runs the block generator loop on its own thread.
pub(crate) struct BlockGenerator {
    thread: Option<JoinHandle<()>>,
}

/// Records handed over but not yet in a stored block.
#[derive(Debug, Default)]
pub(crate) struct Pending(pub(crate) AtomicU64);

impl BlockGenerator {
    pub(crate) fn spawn<T: Send + 'static>(
        name: String,
        stream_id: usize,
        interval: StdDuration,
        chunks: ChannelReceiver<Handoff<T>>,
        store: Arc<dyn BlockStore<T>>,
        clock: Arc<dyn Clock>,
        pending: Arc<Pending>,
    ) -> Result<Self, SourceError> {
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || run(stream_id, interval, &chunks, &*store, &*clock, &pending))
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

fn run<T: 'static>(
    stream_id: usize,
    interval: StdDuration,
    chunks: &ChannelReceiver<Handoff<T>>,
    store: &dyn BlockStore<T>,
    clock: &dyn Clock,
    pending: &Pending,
) {
    let mut current: Vec<T> = Vec::new();
    let mut sequence = 0u64;
    let mut next_cut = Instant::now() + interval;
    let mut cut = |current: &mut Vec<T>| {
        if current.is_empty() {
            return;
        }
        let records = std::mem::take(current);
        let n = records.len() as u64;
        let block = Block {
            stream_id,
            sequence,
            time: clock.now(),
            records,
        };
        sequence += 1;
        if let Err(e) = store.put(block) {
            tracing::error!(stream_id, error = %e, "dropping a block the store refused");
        }
        pending.0.fetch_sub(n, Ordering::Relaxed);
    };
    loop {
        let now = Instant::now();
        if now >= next_cut {
            cut(&mut current);
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
            Ok(Handoff::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                // Take whatever was handed over before the shutdown.
                while let Ok(Handoff::Chunk(chunk)) = chunks.try_recv() {
                    current.extend(chunk);
                }
                cut(&mut current);
                tracing::debug!(stream_id, "block generator stopped");
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}
