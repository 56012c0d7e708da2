//! Receivers: the [`Receiver`] trait (Spark's `Receiver`), the
//! [`ReceiverContext`] it stores records through, the supervisor that runs
//! each receiver on its own thread and restarts it with backoff, the block
//! generator, rate control (a token-bucket limiter and Spark's PID
//! estimator for backpressure) and socket sources. `ReceiverStreams` adds
//! `receiver_stream`, `socket_text_stream` and `socket_stream` to
//! `StreamingContext`.
//!
//! Settings read at start (Spark's names and defaults):
//! `spark.streaming.receiverRestartDelay` (2s; the pause before a receiver
//! that asked for a restart, or failed, is started again),
//! `spark.streaming.blockInterval` (200ms), `spark.streaming.receiver.maxRate`
//! (records per second per receiver, 0 = unlimited),
//! `spark.streaming.backpressure.enabled` (false),
//! `spark.streaming.backpressure.initialRate` (unset = unlimited until the
//! first estimate), `spark.streaming.backpressure.pid.proportional`
//! (1.0), `.integral` (0.2), `.derived` (0.0), `.minRate` (100), and
//! `spark.streaming.receiver.writeAheadLog.enable` (false; read when the
//! stream is defined: blocks go through a [`WalBlockStore`], which needs a
//! checkpoint directory).
//!
//! ember's own settings, read at start:
//! `ember.receiver.maxBufferedRecords` (4000000) and
//! `ember.receiver.maxBufferedBytes` (268435456, 256 MiB): the most records
//! and bytes of one receiver held between `store*` accepting them and the
//! drop of the batch RDD that took their block (in the receiver, the block
//! store, generated batches waiting for or being processed, and completed
//! batches the streams still remember: the last batch, and a window's);
//! `store*` waits while that is full, so a socket source stops reading and
//! TCP flow control pushes back to the sender, and a pipeline slower than
//! its input holds a bounded backlog (a single hand-over larger than the
//! caps is admitted alone, into an empty buffer). Sizes come from
//! [`Receiver::record_size`]: line length plus the `String` itself for
//! socket text, `size_of::<T>()` by default.
//! `ember.receiver.maxLineBytes` (67108864, 64 MiB): the longest line
//! `socket_text_stream` accepts; a peer sending more without a newline gets
//! an error reported to the listeners, the line is counted
//! ([`ReceiverMetrics::oversized_lines`]) and skipped, and the receiver
//! reconnects. `ember.receiver.stopTimeout` (10s): how long stopping waits
//! for a receiver's `on_start` and `on_stop` to return before it logs and
//! detaches their thread.

mod batch_blocks;
mod block_generator;
mod buffer;
mod rate;
mod socket;
mod stream;
mod supervisor;
mod wal_store;

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::Duration;

use crate::error::SourceError;

pub use block_generator::{Block, BlockStore, MemoryBlockStore};
pub use buffer::BufferedAmount;
pub use rate::{PID_DEFAULTS, PidRateEstimator, RateLimiter};
pub use stream::{ReceiverHandle, ReceiverStreams};
pub use wal_store::WalBlockStore;

use block_generator::Handoff;
use buffer::ReceiverBuffer;
use supervisor::{Control, Request};

/// Spark's receiver write-ahead log switch.
pub(crate) const WAL_KEY: &str = "spark.streaming.receiver.writeAheadLog.enable";
/// The most records a receiver holds (see the module documentation).
pub(crate) const MAX_BUFFERED_RECORDS_KEY: &str = "ember.receiver.maxBufferedRecords";
/// The most bytes a receiver holds (see the module documentation).
pub(crate) const MAX_BUFFERED_BYTES_KEY: &str = "ember.receiver.maxBufferedBytes";
/// The longest line `socket_text_stream` accepts.
pub(crate) const MAX_LINE_BYTES_KEY: &str = "ember.receiver.maxLineBytes";
/// How long a stop waits for a receiver's threads.
pub(crate) const STOP_TIMEOUT_KEY: &str = "ember.receiver.stopTimeout";

/// The most records handed to the block generator in one chunk.
pub const MAX_CHUNK: usize = 1024;

/// How long records stored one at a time may wait in the receiver's own
/// buffer before they are handed over (checked at each `store`).
const FLUSH_AFTER: StdDuration = StdDuration::from_millis(10);

/// A source of records, as Spark's `Receiver`.
///
/// `on_start` is called on a thread of its own (`ember-receiver-<id>-start`).
/// It may run its receive loop right there, checking
/// [`ReceiverContext::is_stopped`] regularly and returning once it is true
/// (or after calling [`restart`](ReceiverContext::restart) on an error), or
/// start its own threads (with a clone of the context each) and return;
/// those threads must end in `on_stop`. Either way the receiver runs until
/// the context stops, it calls [`ReceiverContext::stop`], or it asks for a
/// restart (then `on_start` is called again after the restart delay, once
/// the previous `on_start` returned). A panic in `on_start` counts as a
/// restart request.
///
/// `on_stop` is called on the supervisor thread as soon as a stop, restart
/// or shutdown is requested, *while `on_start` may still be running* (as
/// Spark calls `onStop` from another thread): it must make a blocked
/// `on_start` return, e.g. by shutting down the socket it reads. That is why
/// both take `&self` and a receiver is `Sync` (keep state that changes in a
/// `Mutex` or atomics). A context stop waits `ember.receiver.stopTimeout`
/// (10 s) for both to return, then logs and leaves the thread behind.
///
/// ```
/// use ember_sources::receiver::{Receiver, ReceiverContext};
/// /// Counts up, a thousand records a block, until stopped.
/// struct Counter;
/// impl Receiver<u64> for Counter {
///     fn on_start(&self, ctx: &ReceiverContext<u64>) {
///         let mut n = 0;
///         while !ctx.is_stopped() {
///             if let Err(e) = ctx.store_block((n..n + 1000).collect()) {
///                 // A real source would be asked for these records again.
///                 ctx.restart("storing failed", Some(&e), None);
///                 return;
///             }
///             n += 1000;
///             std::thread::sleep(std::time::Duration::from_millis(10));
///         }
///     }
/// }
/// ```
pub trait Receiver<T>: Send + Sync + 'static {
    /// The receiver's name, for listener events and logs.
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
    /// Starts receiving (see the trait's documentation).
    fn on_start(&self, ctx: &ReceiverContext<T>);
    /// Stops receiving: ends whatever `on_start` started, and makes a
    /// blocked `on_start` return (it may run concurrently with it).
    fn on_stop(&self) {}
    /// How many bytes a record counts for in the receiver's bounded buffer
    /// (`ember.receiver.maxBufferedBytes`): `size_of::<T>()` unless the
    /// receiver knows better (socket text: the line's length plus the
    /// `String`). Called once, when the stream is defined.
    fn record_size(&self) -> fn(&T) -> u64 {
        |_| std::mem::size_of::<T>() as u64
    }
}

/// A receiver's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverMetrics {
    /// Records stored: accepted by `store*` (refused ones are not counted).
    pub records: u64,
    /// Lines that were not valid UTF-8 (decoded with replacement
    /// characters and stored, never dropped).
    pub invalid_utf8_lines: u64,
    /// Lines longer than `ember.receiver.maxLineBytes`, skipped (the
    /// receiver reconnects after each).
    pub oversized_lines: u64,
    /// Times the receiver was restarted.
    pub restarts: u64,
}

/// The shared counters behind [`ReceiverMetrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    records: AtomicU64,
    invalid_utf8_lines: AtomicU64,
    oversized_lines: AtomicU64,
    restarts: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ReceiverMetrics {
        ReceiverMetrics {
            records: self.records.load(Ordering::Relaxed),
            invalid_utf8_lines: self.invalid_utf8_lines.load(Ordering::Relaxed),
            oversized_lines: self.oversized_lines.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
        }
    }
}

/// What every context of one receiver shares.
pub(crate) struct Shared<T> {
    pub(crate) stream_id: usize,
    pub(crate) chunks: crossbeam_channel::Sender<Handoff<T>>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) control: Control,
    pub(crate) counters: Arc<Counters>,
    pub(crate) buffer: Arc<ReceiverBuffer>,
    pub(crate) size: fn(&T) -> u64,
    pub(crate) max_line_bytes: u64,
    pub(crate) listeners: ember_dstream::ListenerBus,
    pub(crate) name: String,
}

impl<T> Shared<T> {
    /// Records a request for the supervisor and wakes stores waiting for
    /// room in the buffer (they are refused now).
    pub(crate) fn request(&self, request: Request) {
        self.control.request(request);
        self.buffer.wake();
    }
}

/// A receiver's side of the engine: store records, ask for a restart or a
/// stop, check whether to stop.
///
/// Records stored one by one ([`store`](Self::store),
/// [`store_iter`](Self::store_iter)) are buffered in this context (no
/// channel send per record) and handed to the block generator in chunks:
/// when [`MAX_CHUNK`] records (or fewer under a rate limit) are buffered,
/// when 10 ms passed since the last hand-over, on [`flush`](Self::flush),
/// when the context is dropped, and when `on_start` returns; they are cut
/// into a block every block interval, and are not acknowledged. A receiver
/// that blocks for new data after storing single records should call
/// `flush` first. [`store_block`](Self::store_block) is the reliable way:
/// it returns once its block is stored (logged, with the receiver
/// write-ahead log on). Clone the context for each thread of a receiver
/// that runs its own threads; every clone has its own buffer, flushed when
/// the clone is dropped.
///
/// Every `store*` waits while the receiver's bounded buffer is full
/// (`ember.receiver.maxBufferedRecords`/`maxBufferedBytes`) and is refused
/// with [`SourceError::ReceiverStopped`] once the receiver is stopping (a
/// stop, restart or shutdown was requested): a record `store*` accepted is
/// delivered to a batch, a refused one is not and is not counted.
pub struct ReceiverContext<T> {
    shared: Arc<Shared<T>>,
    buffer: RefCell<Vec<T>>,
    last_flush: Cell<Instant>,
}

impl<T> Clone for ReceiverContext<T> {
    fn clone(&self) -> Self {
        ReceiverContext::new(Arc::clone(&self.shared))
    }
}

impl<T> Drop for ReceiverContext<T> {
    fn drop(&mut self) {
        self.flush();
    }
}

impl<T> std::fmt::Debug for ReceiverContext<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverContext")
            .field("stream_id", &self.shared.stream_id)
            .field("name", &self.shared.name)
            .field("buffered", &self.buffer.borrow().len())
            .finish()
    }
}

impl<T> ReceiverContext<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>) -> Self {
        ReceiverContext {
            shared,
            buffer: RefCell::new(Vec::new()),
            last_flush: Cell::new(Instant::now()),
        }
    }

    /// The id of the input stream this receiver feeds.
    pub fn stream_id(&self) -> usize {
        self.shared.stream_id
    }

    /// How many records to gather before handing them over at the current
    /// rate limit ([`MAX_CHUNK`] when unlimited).
    pub fn chunk_size(&self) -> usize {
        self.shared.limiter.chunk_size(MAX_CHUNK)
    }

    /// `ember.receiver.maxLineBytes`.
    pub(crate) fn max_line_bytes(&self) -> u64 {
        self.shared.max_line_bytes
    }

    /// Stores one record: waits while the receiver's buffer is full (and
    /// as long as the rate limit requires).
    ///
    /// # Errors
    /// [`SourceError::ReceiverStopped`] when the receiver is stopping: the
    /// record was not stored.
    #[must_use = "a refused record was not stored"]
    pub fn store(&self, record: T) -> Result<(), SourceError> {
        let bytes = (self.shared.size)(&record);
        self.admit(1, bytes)?;
        let full = {
            let mut buffer = self.buffer.borrow_mut();
            buffer.push(record);
            buffer.len() >= self.chunk_size() || self.last_flush.get().elapsed() >= FLUSH_AFTER
        };
        if full {
            self.flush();
        }
        Ok(())
    }

    /// Stores every record of `records`, in order, stopping at the first
    /// refusal.
    ///
    /// # Errors
    /// [`SourceError::ReceiverStopped`] when the receiver is stopping: the
    /// records before the refused one were stored, that one and the rest
    /// were not.
    #[must_use = "refused records were not stored"]
    pub fn store_iter(&self, records: impl IntoIterator<Item = T>) -> Result<(), SourceError> {
        for record in records {
            self.store(record)?;
        }
        Ok(())
    }

    /// Stores `records` as a block of their own and returns once the block
    /// store holds it, as Spark's `store(ArrayBuffer)`: with the receiver
    /// write-ahead log on (`spark.streaming.receiver.writeAheadLog.enable`)
    /// that is once the block is logged and synced, so a reliable receiver
    /// acknowledges its source after `Ok` (the block survives a crash) and
    /// has the source send the records again after an `Err`. Records
    /// stored before are cut into a block first, so the order is kept.
    /// Waits while the receiver's buffer is full and as long as the rate
    /// limit requires.
    ///
    /// # Errors
    /// [`SourceError::ReceiverStopped`] when the receiver is stopping;
    /// [`SourceError::BlockStore`] when the store refused the block (the
    /// log could not be written) or the block generator is gone.
    pub fn store_block(&self, records: Vec<T>) -> Result<(), SourceError> {
        self.flush();
        if records.is_empty() {
            return Ok(());
        }
        let bytes = self.size_of(&records);
        self.admit(records.len() as u64, bytes)?;
        self.rate_limit(records.len());
        let n = records.len() as u64;
        let (stored, answer) = crossbeam_channel::bounded(1);
        let handoff = Handoff::Block { records, stored };
        if self.shared.chunks.send(handoff).is_err() {
            self.shared.buffer.release(n, bytes);
            return Err(self.generator_gone());
        }
        // The generator releases the records from the buffer if the store
        // refuses them.
        answer.recv().unwrap_or_else(|_| Err(self.generator_gone()))
    }

    /// Hands the buffered records to the block generator now.
    pub fn flush(&self) {
        self.last_flush.set(Instant::now());
        let chunk = std::mem::take(&mut *self.buffer.borrow_mut());
        self.hand_over(chunk);
    }

    /// Stores `chunk` after the buffered records, for the block being cut,
    /// without waiting for it to be stored (the socket receivers' way: a
    /// socket cannot be acknowledged). Waits while the buffer is full.
    ///
    /// # Errors
    /// [`SourceError::ReceiverStopped`] when the receiver is stopping.
    pub(crate) fn store_chunk(&self, chunk: Vec<T>) -> Result<(), SourceError> {
        if !self.buffer.borrow().is_empty() {
            self.flush();
        }
        if chunk.is_empty() {
            return Ok(());
        }
        let bytes = self.size_of(&chunk);
        self.admit(chunk.len() as u64, bytes)?;
        self.hand_over(chunk);
        Ok(())
    }

    fn size_of(&self, records: &[T]) -> u64 {
        records.iter().map(self.shared.size).sum()
    }

    /// Admits `n` records of `bytes` bytes into the receiver's buffer,
    /// waiting (after handing over this context's own records, which a
    /// batch could not take otherwise) while it is full, and counts them
    /// as stored.
    fn admit(&self, n: u64, bytes: u64) -> Result<(), SourceError> {
        let stopping = self.shared.control.stopping();
        let refused = |_| SourceError::ReceiverStopped {
            stream_id: self.shared.stream_id,
        };
        if !self
            .shared
            .buffer
            .try_admit(n, bytes, stopping)
            .map_err(refused)?
        {
            self.flush();
            self.shared
                .buffer
                .admit(n, bytes, stopping)
                .map_err(refused)?;
        }
        self.shared.counters.records.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }

    /// Waits for the rate limit to allow `n` more records.
    fn rate_limit(&self, n: usize) {
        // Records already accepted are kept even if a stop interrupts the wait.
        let _stopped = self
            .shared
            .limiter
            .acquire(n, self.shared.control.stopping());
    }

    /// Hands accepted records to the block generator (after the rate limit
    /// allows them).
    fn hand_over(&self, chunk: Vec<T>) {
        if chunk.is_empty() {
            return;
        }
        self.rate_limit(chunk.len());
        let n = chunk.len() as u64;
        let bytes = self.size_of(&chunk);
        if self.shared.chunks.send(Handoff::Chunk(chunk)).is_err() {
            self.shared.buffer.release(n, bytes);
            tracing::warn!(
                stream_id = self.shared.stream_id,
                records = n,
                "block generator gone (the receiver outlived its stop), records dropped"
            );
        }
    }

    fn generator_gone(&self) -> SourceError {
        SourceError::BlockStore {
            stream_id: self.shared.stream_id,
            message: "the block generator is gone".to_owned(),
        }
    }

    /// Asks the supervisor to restart the receiver: `on_stop` is called,
    /// then `on_start` again after `delay` (default:
    /// `spark.streaming.receiverRestartDelay`, 2 s). Returns at once; the
    /// listeners get `on_receiver_error` with `message` and `error`.
    pub fn restart(
        &self,
        message: impl Into<String>,
        error: Option<&dyn std::error::Error>,
        delay: Option<Duration>,
    ) {
        let message = message.into();
        let error = error.map(ToString::to_string);
        tracing::warn!(stream_id = self.shared.stream_id, %message, ?error, "receiver restart requested");
        self.shared.request(Request::Restart {
            message,
            error,
            delay,
        });
    }

    /// Stops the receiver for good (the context keeps running). Returns at
    /// once.
    pub fn stop(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(stream_id = self.shared.stream_id, %message, "receiver stop requested");
        self.shared.request(Request::Stop { message });
    }

    /// Reports an error to the listeners without restarting.
    pub fn report_error(&self, message: impl Into<String>, error: Option<&dyn std::error::Error>) {
        let last_error = match error {
            Some(e) => format!("{}: {e}", message.into()),
            None => message.into(),
        };
        tracing::warn!(stream_id = self.shared.stream_id, error = %last_error, "receiver reported an error");
        supervisor::post_error(&self.shared, last_error, true);
    }

    /// Whether the receiver should stop receiving: the context is
    /// stopping, or a stop or restart was requested.
    pub fn is_stopped(&self) -> bool {
        self.shared.control.stopping().load(Ordering::Relaxed)
    }

    /// Counts a line that was not valid UTF-8 (text receivers).
    pub fn record_invalid_utf8_line(&self) {
        self.shared
            .counters
            .invalid_utf8_lines
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a line longer than `ember.receiver.maxLineBytes` (skipped).
    pub(crate) fn record_oversized_line(&self) {
        self.shared
            .counters
            .oversized_lines
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The receiver's counters so far.
    pub fn metrics(&self) -> ReceiverMetrics {
        self.shared.counters.snapshot()
    }
}
