//! Inputs from outside the engine: the [`InputSource`] trait that other
//! crates (sockets, files, custom receivers) implement, the [`InputEnv`]
//! they get, and the stream that wraps them. Sources are started with the
//! context and stopped with it; each receiver occupies one worker slot.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ember_rdd::{Data, Rdd, RddContext};

use crate::checkpoint::Checkpointable;
use crate::checkpoint_writer::Snapshot;
use crate::clock::Clock;
use crate::context::StreamEnv;
use crate::dstream::{StreamCompute, StreamInfo};
use crate::listener::{InputErrorInfo, ListenerBus};
use crate::{DStream, Duration, StreamingConf, StreamingContext, StreamingError, Time};

/// A source of batches: started with the context, asked for each batch's
/// RDD, stopped with the context.
///
/// ```
/// use ember_dstream::{InputEnv, InputSource, StreamingError, Time};
/// use ember_rdd::Rdd;
/// /// Every batch holds its own time, once.
/// struct Ticks;
/// impl InputSource<u64> for Ticks {
///     fn name(&self) -> &'static str { "ticks" }
///     fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<u64>>, StreamingError> {
///         env.report_records(time, 1);
///         Ok(Some(env.rdd_context().parallelize(vec![time.milliseconds()], 1)))
///     }
/// }
/// ```
pub trait InputSource<T>: Send + Sync + 'static {
    /// The source's name, for logs and listener events.
    fn name(&self) -> &'static str;
    /// How many worker slots it occupies while running (a receiver: 1).
    fn receivers(&self) -> usize {
        0
    }
    /// Starts background work (receivers) when the context starts.
    fn start(&self, _env: &InputEnv) -> Result<(), StreamingError> {
        Ok(())
    }
    /// Stops background work; returns when it has stopped. After `stop`
    /// the source accepts no new data, but what it already accepted is
    /// still delivered by later batches (a graceful stop generates batches
    /// until [`has_unallocated_data`](Self::has_unallocated_data) is false).
    fn stop(&self) {}
    /// Whether the source holds data that no generated batch has taken yet
    /// (a receiver's stored blocks and the records on their way to them).
    /// A graceful stop keeps generating batches until every input answers
    /// `false`, so every record a receiver accepted is processed.
    fn has_unallocated_data(&self) -> bool {
        false
    }
    /// The records and bytes it holds now that no completed batch released
    /// yet (a receiver's bounded buffer), shown by the Streaming UI and
    /// `/metrics` after each batch; `None` (the default) when it keeps no
    /// buffer.
    fn buffered(&self) -> Option<(u64, u64)> {
        None
    }
    /// Batch `time` completed (Spark's `clearMetadata`): what the source
    /// keeps only for batches up to `time` less its remember duration can
    /// go. With `spark.streaming.concurrentJobs` > 1, batches may complete
    /// out of order; `time` is then the newest time at and below which
    /// every batch completed.
    fn clear_metadata(&self, _time: Time, _env: &InputEnv) {}
    /// A checkpoint became durable; `oldest_kept` is the time of the oldest
    /// checkpoint the directory still keeps, the earliest a recovery can
    /// start from. Data needed only by batches at or before `oldest_kept`
    /// less the remember duration is never needed again (a write-ahead log
    /// deletes it). Never called for a checkpoint whose write failed.
    fn checkpoint_durable(&self, _oldest_kept: Time, _env: &InputEnv) {}
    /// The data of the batch ending at `time`, i.e. of `(time - batch, time]`.
    /// Report the record count with [`InputEnv::report_records`]. After a
    /// recovery it is also asked for batches at or before the restored
    /// checkpoint (windows reaching back up to
    /// [`InputEnv::remember_duration`]): a replayable source serves what
    /// those batches held then, without reporting their records again.
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<T>>, StreamingError>;
    /// Its position as of the completed batch `time`, saved in the
    /// context's checkpoint (e.g. the files a file stream took in its
    /// remember window), or `None` when it has nothing to save. Only
    /// batches up to `time` count: later batches may already have been
    /// generated and are re-run on recovery.
    fn checkpoint_state(
        &self,
        _time: Time,
        _env: &InputEnv,
    ) -> Result<Option<Vec<u8>>, StreamingError> {
        Ok(None)
    }
    /// Restores a position saved by [`checkpoint_state`](Self::checkpoint_state)
    /// at `time`; called on a recovered context before [`start`](Self::start).
    fn restore_state(
        &self,
        _time: Time,
        _bytes: &[u8],
        _env: &InputEnv,
    ) -> Result<(), StreamingError> {
        Ok(())
    }
}

/// What an input source can use: the RDD context, the configuration, the
/// clock, the listeners and its stream's id.
#[derive(Clone)]
pub struct InputEnv {
    env: Arc<StreamEnv>,
    conf: StreamingConf,
    clock: Arc<dyn Clock>,
    listeners: ListenerBus,
    stream_id: usize,
    /// The source's name, for listener events.
    name: &'static str,
    checkpoint_dir: Arc<Mutex<Option<PathBuf>>>,
    /// The input stream's remember duration in ms (set when the context
    /// starts).
    remember_ms: Arc<AtomicU64>,
}

impl InputEnv {
    /// The RDD context to build batches on.
    pub fn rdd_context(&self) -> &RddContext {
        &self.env.rdd
    }
    /// The batch interval.
    pub fn batch_duration(&self) -> Duration {
        self.env.batch
    }
    /// The context's configuration.
    pub fn conf(&self) -> &StreamingConf {
        &self.conf
    }
    /// The context's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
    /// The listeners, for receiver events.
    pub fn listeners(&self) -> &ListenerBus {
        &self.listeners
    }
    /// Where this input's logs go, if the context has a checkpoint
    /// directory (a write-ahead log goes under it): the directory itself,
    /// or in cluster mode this process's own part of it,
    /// `<dir>/process-<p>`.
    pub fn checkpoint_dir(&self) -> Option<PathBuf> {
        self.checkpoint_dir
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_deref()
            .map(|dir| crate::cluster_checkpoint::own_dir(dir, &self.env.rdd))
    }
    /// How long the graph needs this input's batches after their time: the
    /// input stream's remember duration (the longest window reading it,
    /// plus slides, or what [`StreamingContext::remember`] asks), at least
    /// one batch. Known from [`InputSource::start`] on. A source that is
    /// recovered keeps (and checkpoints) what it delivered for this long,
    /// so that the first windows after a restart, which reach back before
    /// the checkpoint, can ask for those batches again.
    pub fn remember_duration(&self) -> Duration {
        Duration::from_millis(self.remember_ms.load(Ordering::SeqCst)).max(self.env.batch)
    }
    /// The id of the stream this source feeds.
    pub fn stream_id(&self) -> usize {
        self.stream_id
    }
    /// Reports how many records the batch at `time` holds (listeners see
    /// the total in `BatchInfo::num_records`).
    pub fn report_records(&self, time: Time, records: u64) {
        self.env.report_input(time, self.stream_id, records);
    }
    /// Reports an error met while building the batch at `time` (a file
    /// that cannot be read, a broker that does not answer): listeners get
    /// it at once as [`on_input_error`](crate::StreamingListener::on_input_error)
    /// and with the batch in `BatchInfo::input_errors`, and the
    /// [`StatsReportListener`](crate::StatsReportListener) prints it with
    /// the batch's statistics.
    pub fn report_error(&self, time: Time, message: impl Into<String>) {
        let message = message.into();
        self.post_error(Some(time), message.clone());
        self.env.report_input_error(time, self.stream_id, message);
    }
    /// Posts an error met outside any batch (while starting, say) to the
    /// listeners as [`on_input_error`](crate::StreamingListener::on_input_error).
    pub fn report_start_error(&self, message: impl Into<String>) {
        self.post_error(None, message.into());
    }
    fn post_error(&self, batch_time: Option<Time>, message: String) {
        let info = InputErrorInfo {
            stream_id: self.stream_id,
            name: self.name.to_owned(),
            batch_time,
            message,
        };
        self.listeners.post(|l| l.on_input_error(&info));
    }
    /// The error `source` of this input stream, as the engine's error.
    pub fn error(&self, source: impl std::error::Error + Send + Sync + 'static) -> StreamingError {
        StreamingError::Input {
            stream_id: Some(self.stream_id),
            name: self.name,
            source: Arc::new(source),
        }
    }
}

/// The untyped handle the context uses to start and stop an input.
pub(crate) trait InputLifecycle: Send + Sync {
    fn name(&self) -> &'static str;
    fn receivers(&self) -> usize;
    fn start(&self) -> Result<(), StreamingError>;
    fn stop(&self);
    fn has_unallocated_data(&self) -> bool;
    /// Read by the UI and by the receiver placement of cluster mode.
    fn stream_id(&self) -> usize;
    /// Read by the UI (feature `ui`).
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    fn buffered(&self) -> Option<(u64, u64)>;
    fn clear_metadata(&self, time: Time);
    fn checkpoint_durable(&self, oldest_kept: Time);
}

struct Input<T> {
    source: Box<dyn InputSource<T>>,
    env: InputEnv,
}

struct InputHandle<T>(Arc<Input<T>>);

impl<T: Data> InputLifecycle for InputHandle<T> {
    fn name(&self) -> &'static str {
        self.0.source.name()
    }
    fn receivers(&self) -> usize {
        self.0.source.receivers()
    }
    fn start(&self) -> Result<(), StreamingError> {
        self.0.source.start(&self.0.env)
    }
    fn stop(&self) {
        self.0.source.stop();
    }
    fn has_unallocated_data(&self) -> bool {
        self.0.source.has_unallocated_data()
    }
    fn stream_id(&self) -> usize {
        self.0.env.stream_id
    }
    fn buffered(&self) -> Option<(u64, u64)> {
        self.0.source.buffered()
    }
    fn clear_metadata(&self, time: Time) {
        self.0.source.clear_metadata(time, &self.0.env);
    }
    fn checkpoint_durable(&self, oldest_kept: Time) {
        self.0.source.checkpoint_durable(oldest_kept, &self.0.env);
    }
}

impl<T: Data> Checkpointable for InputHandle<T> {
    fn stream_id(&self) -> usize {
        self.0.env.stream_id
    }
    fn snapshot(&self, time: Time) -> Result<Option<Snapshot>, StreamingError> {
        let bytes = self.0.source.checkpoint_state(time, &self.0.env)?;
        Ok(bytes.map(|bytes| -> Snapshot { Box::new(bytes) }))
    }
    fn restore(&self, time: Time, bytes: &[u8]) -> Result<(), StreamingError> {
        self.0.source.restore_state(time, bytes, &self.0.env)
    }
}

struct InputCompute<T>(Arc<Input<T>>);

impl<T: Data> StreamCompute<T> for InputCompute<T> {
    fn name(&self) -> &'static str {
        self.0.source.name()
    }
    fn slide(&self) -> Duration {
        self.0.env.batch_duration()
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        Vec::new()
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>, StreamingError> {
        self.0.source.compute(time, &self.0.env)
    }
    fn remembered(&self, d: Duration) {
        self.0
            .env
            .remember_ms
            .fetch_max(d.milliseconds(), Ordering::SeqCst);
    }
}

impl StreamingContext {
    /// A stream fed by `source`, generated every batch whether or not an
    /// output reads it. Sources are started by [`start`](Self::start) and
    /// stopped by [`stop`](Self::stop).
    pub fn input_stream<T: Data>(&self, source: impl InputSource<T>) -> DStream<T> {
        let stream_id = self.inner.env.new_stream_id();
        let name = source.name();
        let input = Arc::new(Input {
            source: Box::new(source),
            env: InputEnv {
                name,
                env: Arc::clone(&self.inner.env),
                conf: self.inner.conf.clone(),
                clock: Arc::clone(&self.inner.clock),
                listeners: self.inner.listeners.clone(),
                stream_id,
                checkpoint_dir: Arc::clone(&self.inner.checkpoint_dir),
                remember_ms: Arc::new(AtomicU64::new(0)),
            },
        });
        let stream = DStream::with_id(
            stream_id,
            Arc::clone(&self.inner.env),
            Arc::downgrade(&self.inner),
            InputCompute(Arc::clone(&input)),
        );
        self.inner
            .graph
            .add_input(stream.info(), Arc::new(InputHandle(Arc::clone(&input))));
        self.inner
            .graph
            .add_checkpointable(Arc::new(InputHandle(input)));
        stream
    }
}
