//! From receivers to streams: the input source that starts a receiver's
//! supervisor and block generator and builds each batch from its blocks,
//! the [`ReceiverHandle`] to watch it, the backpressure rate controller,
//! and the [`ReceiverStreams`] extension trait on `StreamingContext`.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use ember_dstream::{
    BatchInfo, DStream, Duration, InputEnv, InputSource, StreamingContext, StreamingError,
    StreamingListener, Time,
};
use ember_rdd::{Data, Rdd};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::batch_blocks::batch_rdd;
use super::block_generator::{BlockGenerator, Handoff};
use super::buffer::ReceiverBuffer;
use super::socket::{SocketReceiver, SocketTextReceiver};
use super::supervisor::{Control, Request, Supervisor};
use super::{
    BlockStore, BufferedAmount, Counters, MAX_BUFFERED_BYTES_KEY, MAX_BUFFERED_RECORDS_KEY,
    MAX_LINE_BYTES_KEY, MemoryBlockStore, PidRateEstimator, RateLimiter, Receiver, ReceiverMetrics,
    STOP_TIMEOUT_KEY, Shared, WAL_KEY, WalBlockStore,
};
use crate::error::SourceError;

/// Watches a running receiver: its counters, the records it holds, its
/// rate limit.
#[derive(Clone)]
pub struct ReceiverHandle {
    counters: Arc<Counters>,
    buffer: Arc<OnceLock<Arc<ReceiverBuffer>>>,
    limiter: Arc<OnceLock<Arc<RateLimiter>>>,
}

impl std::fmt::Debug for ReceiverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverHandle")
            .field("metrics", &self.metrics())
            .field("buffered_records", &self.buffered_records())
            .field("rate", &self.rate())
            .finish()
    }
}

impl ReceiverHandle {
    /// Records stored, invalid UTF-8 and oversized lines and restarts so
    /// far.
    pub fn metrics(&self) -> ReceiverMetrics {
        self.counters.snapshot()
    }

    /// Records accepted by `store*` and still alive: in the receiver's
    /// contexts, the block being cut or stored blocks, or in the RDD of a
    /// generated batch (queued, running, or completed but still remembered
    /// by the streams) that has not been dropped yet.
    pub fn buffered_records(&self) -> u64 {
        self.buffered().records
    }

    /// Records accepted by `store*` that no generated batch has taken yet
    /// (what a graceful stop waits for: see
    /// [`InputSource::has_unallocated_data`]).
    pub fn unallocated_records(&self) -> u64 {
        self.buffer.get().map_or(0, |b| b.unallocated())
    }

    /// The receiver's bounded buffer: records and bytes accepted by
    /// `store*` and still alive (see [`buffered_records`](Self::buffered_records)),
    /// and the most held at once (all zero before the context started).
    pub fn buffered(&self) -> BufferedAmount {
        self.buffer.get().map(|b| b.amount()).unwrap_or_default()
    }

    /// The current rate limit in records per second: `Some(0)` when
    /// unlimited, `None` before the context started.
    pub fn rate(&self) -> Option<u64> {
        self.limiter.get().map(|l| l.rate())
    }
}

type RecordsPerBatch = Arc<Mutex<BTreeMap<Time, u64>>>;

struct Running<T> {
    shared: Arc<Shared<T>>,
    supervisor: Supervisor,
    generator: BlockGenerator,
    stop_timeout: std::time::Duration,
}

struct ReceiverSource<T> {
    name: &'static str,
    receiver: Mutex<Option<Box<dyn Receiver<T>>>>,
    /// The receiver's [`Receiver::record_size`].
    size: fn(&T) -> u64,
    store: Arc<dyn BlockStore<T>>,
    handle: ReceiverHandle,
    running: Mutex<Option<Running<T>>>,
    batch_records: RecordsPerBatch,
    /// The checkpoint a recovered context continues from.
    recovered: Mutex<Option<Time>>,
}

impl<T: Data> ReceiverSource<T> {
    fn new(
        name: &'static str,
        receiver: Box<dyn Receiver<T>>,
        store: Arc<dyn BlockStore<T>>,
    ) -> Self {
        ReceiverSource {
            name,
            size: receiver.record_size(),
            receiver: Mutex::new(Some(receiver)),
            handle: ReceiverHandle {
                counters: Arc::default(),
                buffer: Arc::default(),
                limiter: Arc::default(),
            },
            store,
            running: Mutex::new(None),
            batch_records: Arc::default(),
            recovered: Mutex::new(None),
        }
    }

    fn start_receiver(&self, env: &InputEnv) -> Result<(), SourceError> {
        let conf = env.conf();
        let restart_delay = conf
            .duration(
                "spark.streaming.receiverRestartDelay",
                Duration::from_secs(2),
            )?
            .to_std();
        let block_interval = conf.block_interval()?.to_std();
        let stop_timeout = conf
            .duration(STOP_TIMEOUT_KEY, Duration::from_secs(10))?
            .to_std();
        let max_records = conf.number(MAX_BUFFERED_RECORDS_KEY, 4_000_000)?;
        let max_bytes = conf.number(MAX_BUFFERED_BYTES_KEY, 256 << 20)?;
        let max_line_bytes = conf.number(MAX_LINE_BYTES_KEY, 64 << 20)?;
        for (key, value) in [
            (MAX_BUFFERED_RECORDS_KEY, max_records),
            (MAX_BUFFERED_BYTES_KEY, max_bytes),
            (MAX_LINE_BYTES_KEY, max_line_bytes),
        ] {
            if value == 0 {
                return Err(SourceError::InvalidConf {
                    key: key.to_owned(),
                    value: "0".to_owned(),
                    reason: "must be at least 1".to_owned(),
                });
            }
        }
        let buffer = Arc::clone(
            self.handle
                .buffer
                .get_or_init(|| Arc::new(ReceiverBuffer::new(max_records, max_bytes))),
        );
        // Blocks a recovered write-ahead log put back count as held.
        buffer.restore(
            self.store.buffered_records(),
            self.store.buffered_size(self.size),
        );
        let max_rate = conf.number("spark.streaming.receiver.maxRate", 0)?;
        let backpressure = conf.flag("spark.streaming.backpressure.enabled", false)?;
        let limiter = if backpressure {
            let initial = conf.number("spark.streaming.backpressure.initialRate", max_rate)?;
            let initial = if max_rate > 0 && initial > 0 {
                initial.min(max_rate)
            } else {
                initial
            };
            Arc::new(RateLimiter::with_ceiling(initial, max_rate))
        } else {
            Arc::new(RateLimiter::new(max_rate))
        };
        let limiter = Arc::clone(self.handle.limiter.get_or_init(|| limiter));
        if backpressure {
            let estimator = PidRateEstimator::from_conf(conf, env.batch_duration().milliseconds())?;
            env.listeners().add(Arc::new(RateController {
                stream_id: env.stream_id(),
                estimator: Mutex::new(estimator),
                limiter: Arc::clone(&limiter),
                batch_records: Arc::clone(&self.batch_records),
                base: Instant::now(),
            }));
        }
        let Some(receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Err(SourceError::Streaming(StreamingError::AlreadyStarted));
        };
        let (sender, chunks) = crossbeam_channel::bounded::<Handoff<T>>(64);
        let stream_id = env.stream_id();
        let shared = Arc::new(Shared {
            stream_id,
            chunks: sender,
            limiter,
            control: Control::default(),
            counters: Arc::clone(&self.handle.counters),
            buffer: Arc::clone(&buffer),
            size: self.size,
            max_line_bytes,
            listeners: env.listeners().clone(),
            name: receiver.name(),
        });
        let mut generator = BlockGenerator::spawn(
            format!("ember-receiver-{stream_id}-blocks"),
            stream_id,
            block_interval,
            chunks,
            Arc::clone(&self.store),
            Arc::clone(env.clock()),
            (Arc::clone(&buffer), self.size),
        )?;
        let supervisor = match Supervisor::spawn(receiver, Arc::clone(&shared), restart_delay) {
            Ok(s) => s,
            Err(e) => {
                let _ = shared.chunks.send(Handoff::Shutdown);
                generator.join();
                return Err(e);
            }
        };
        tracing::info!(
            stream_id,
            source = self.name,
            ?block_interval,
            max_rate,
            backpressure,
            max_records,
            max_bytes,
            "receiver source started"
        );
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(Running {
            shared,
            supervisor,
            generator,
            stop_timeout,
        });
        Ok(())
    }
}

impl<T: Data> InputSource<T> for ReceiverSource<T> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn receivers(&self) -> usize {
        1
    }

    fn start(&self, env: &InputEnv) -> Result<(), StreamingError> {
        let recovered = *self
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let log_dir = env
            .checkpoint_dir()
            .map(|dir| dir.join("receivedData").join(env.stream_id().to_string()));
        self.store
            .open(log_dir.as_deref(), recovered)
            .map_err(StreamingError::from)?;
        let ctx = env.rdd_context();
        let runs_on = env.stream_id() % ctx.processes();
        if runs_on != ctx.process() {
            // Cluster mode: receiver i runs on process i % n; here its
            // batches are empty.
            tracing::info!(
                stream = env.stream_id(),
                runs_on,
                "the receiver runs on another process"
            );
            return Ok(());
        }
        self.start_receiver(env).map_err(StreamingError::from)
    }

    fn checkpoint_state(
        &self,
        _time: Time,
        _env: &InputEnv,
    ) -> Result<Option<Vec<u8>>, StreamingError> {
        // An (empty) entry, so that recovery calls `restore_state`.
        Ok(Some(Vec::new()))
    }

    fn checkpoint_durable(&self, oldest_kept: Time, env: &InputEnv) {
        // A recovery starts from `oldest_kept` at the earliest, and its
        // windows reach back this far.
        self.store
            .checkpointed(oldest_kept - env.remember_duration());
    }

    fn has_unallocated_data(&self) -> bool {
        self.handle.unallocated_records() > 0
    }

    fn buffered(&self) -> Option<(u64, u64)> {
        let amount = self.handle.buffered();
        Some((amount.records, amount.bytes))
    }

    fn restore_state(
        &self,
        time: Time,
        _bytes: &[u8],
        _env: &InputEnv,
    ) -> Result<(), StreamingError> {
        *self
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(time);
        Ok(())
    }

    fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut running) = running {
            running.shared.request(Request::Shutdown);
            running
                .supervisor
                .join(running.shared.stream_id, running.stop_timeout);
            // Whatever a left-behind receiver stores from now on is refused.
            running.shared.buffer.close();
            if running.shared.chunks.send(Handoff::Shutdown).is_err() {
                tracing::warn!("block generator ended early");
            }
            running.generator.join();
        }
    }

    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<T>>, StreamingError> {
        let recovered = *self
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if recovered.is_some_and(|recovered| time <= recovered) {
            // A batch from before the checkpoint that a window reaches back
            // to: its logged blocks again (its records were counted then).
            let blocks = self.store.logged_between(time - env.batch_duration(), time);
            return Ok(Some(batch_rdd(blocks, None, self.size, env)));
        }
        let blocks = self.store.take_until(time);
        let records: usize = blocks.iter().map(|b| b.records.len()).sum();
        env.report_records(time, records as u64);
        if self.handle.limiter.get().is_some() {
            self.batch_records
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(time, records as u64);
        }
        // Held in the receiver's buffer until the blocks' records are
        // dropped with the last copy of this RDD.
        Ok(Some(batch_rdd(
            blocks,
            self.handle.buffer.get(),
            self.size,
            env,
        )))
    }
}

/// Feeds completed batches to the PID estimator and applies its rate.
struct RateController {
    stream_id: usize,
    estimator: Mutex<PidRateEstimator>,
    limiter: Arc<RateLimiter>,
    batch_records: RecordsPerBatch,
    base: Instant,
}

impl StreamingListener for RateController {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let records = {
            let mut map = self
                .batch_records
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let records = map.remove(&batch.batch_time).unwrap_or(0);
            // Forget batches that will never complete.
            *map = map.split_off(&batch.batch_time);
            records
        };
        let (Some(end), Some(processing), Some(scheduling)) = (
            batch.processing_end,
            batch.processing_delay(),
            batch.scheduling_delay(),
        ) else {
            return;
        };
        let time = end.saturating_duration_since(self.base).as_millis() as i64;
        let rate = self
            .estimator
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .compute(
                time,
                records,
                processing.as_millis() as u64,
                scheduling.as_millis() as u64,
            );
        if let Some(rate) = rate {
            self.limiter.set_rate(rate as u64);
            tracing::debug!(
                stream_id = self.stream_id,
                rate,
                "backpressure: new receiver rate"
            );
        }
    }
}

/// Adds the receiver-based inputs to `StreamingContext`.
///
/// ```no_run
/// use ember_dstream::{Duration, StreamingConf, StreamingContext};
/// use ember_sources::prelude::*;
/// let conf = StreamingConf::new().master("local[2]").app_name("NetworkWordCount");
/// let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
/// let lines = ssc.socket_text_stream("localhost", 9999);
/// lines.print();
/// ssc.start()?;
/// ssc.await_termination()?;
/// # Ok::<(), ember_dstream::StreamingError>(())
/// ```
pub trait ReceiverStreams {
    /// A stream of what `receiver` stores, cut into blocks every block
    /// interval; each batch holds the blocks of its interval, one
    /// partition per block. The receiver takes one worker slot.
    ///
    /// With `spark.streaming.receiver.writeAheadLog.enable` set to `true`,
    /// every block is written to a [`WalBlockStore`] under the checkpoint
    /// directory before it is acknowledged
    /// ([`store_block`](crate::receiver::ReceiverContext::store_block)
    /// returns), and the blocks of the batches a recovered context re-runs
    /// are replayed from it; that is why the records must be serializable.
    /// Without a checkpoint directory the context then fails to start.
    fn receiver_stream<T>(&self, receiver: impl Receiver<T>) -> DStream<T>
    where
        T: Data + Serialize + DeserializeOwned,
    {
        self.receiver_stream_with_handle(receiver).0
    }

    /// [`receiver_stream`](Self::receiver_stream), plus a handle on the
    /// receiver's metrics and buffers.
    fn receiver_stream_with_handle<T>(
        &self,
        receiver: impl Receiver<T>,
    ) -> (DStream<T>, ReceiverHandle)
    where
        T: Data + Serialize + DeserializeOwned,
    {
        if self.write_ahead_log_enabled() {
            self.receiver_stream_with_store(receiver, Arc::new(WalBlockStore::new()))
        } else {
            self.receiver_stream_with_store(receiver, Arc::new(MemoryBlockStore::new()))
        }
    }

    /// [`receiver_stream_with_handle`](Self::receiver_stream_with_handle)
    /// with the given block store, whatever the write-ahead log setting
    /// ([`MemoryBlockStore`] for records that cannot be serialized).
    fn receiver_stream_with_store<T: Data>(
        &self,
        receiver: impl Receiver<T>,
        store: Arc<dyn BlockStore<T>>,
    ) -> (DStream<T>, ReceiverHandle);

    /// The lines of text (UTF-8, split on `\n` or `\r\n`) a TCP server at
    /// `host:port` sends. The receiver reconnects after the connection is
    /// refused, reset or closed (after `spark.streaming.receiverRestartDelay`).
    /// Invalid UTF-8 is decoded with replacement characters and counted.
    /// The write-ahead log applies as for
    /// [`receiver_stream`](Self::receiver_stream); a socket cannot be
    /// acknowledged, so it keeps the blocks already cut, not the lines in
    /// flight.
    fn socket_text_stream(&self, host: impl Into<String>, port: u16) -> DStream<String> {
        self.socket_text_stream_with_handle(host, port).0
    }

    /// [`socket_text_stream`](Self::socket_text_stream), plus a handle on
    /// the receiver's metrics (records, invalid UTF-8 lines, restarts).
    fn socket_text_stream_with_handle(
        &self,
        host: impl Into<String>,
        port: u16,
    ) -> (DStream<String>, ReceiverHandle) {
        self.receiver_stream_with_handle(SocketTextReceiver::new(host, port))
    }

    /// Whether `spark.streaming.receiver.writeAheadLog.enable` is set
    /// (an unreadable value counts as off, with a warning).
    fn write_ahead_log_enabled(&self) -> bool;

    /// The records `converter` reads from a TCP connection to `host:port`
    /// (it gets a buffered reader and returns an iterator; when the
    /// iterator ends the receiver reconnects, as for text). The
    /// write-ahead log applies as for [`socket_text_stream`](Self::socket_text_stream).
    fn socket_stream<T, I, F>(&self, host: impl Into<String>, port: u16, converter: F) -> DStream<T>
    where
        T: Data + Serialize + DeserializeOwned,
        I: Iterator<Item = T> + 'static,
        F: Fn(Box<dyn BufRead>) -> I + Send + Sync + 'static,
    {
        self.receiver_stream(SocketReceiver::new(host, port, converter))
    }
}

impl ReceiverStreams for StreamingContext {
    fn write_ahead_log_enabled(&self) -> bool {
        match self.conf().flag(WAL_KEY, false) {
            Ok(enabled) => enabled,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an invalid write-ahead log setting");
                false
            }
        }
    }

    fn receiver_stream_with_store<T: Data>(
        &self,
        receiver: impl Receiver<T>,
        store: Arc<dyn BlockStore<T>>,
    ) -> (DStream<T>, ReceiverHandle) {
        let name = receiver_kind(&receiver.name());
        let source = ReceiverSource::new(name, Box::new(receiver), store);
        let handle = source.handle.clone();
        (self.input_stream(source), handle)
    }
}

/// The input's name for the engine's logs (a `'static` name).
fn receiver_kind(name: &str) -> &'static str {
    if name.starts_with("socket_text_stream") {
        "socket_text_stream"
    } else if name.starts_with("socket_stream") {
        "socket_stream"
    } else {
        "receiver_stream"
    }
}
