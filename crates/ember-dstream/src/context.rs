//! [`StreamingContext`]: builds the DStream graph, starts the job generator
//! and scheduler, and stops them; plus what every stream of a context
//! shares ([`StreamEnv`]).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ember_checkpoint::{CheckpointError, CheckpointStore, DirLock};
use ember_rdd::{Exchange, RddConf, RddContext};

use crate::checkpoint::{
    CHECKPOINT_LAYOUT, Checkpointer, Compatibility, Mismatch, StreamingCheckpoint,
    checkpoint_error, describe_difference, in_dir, open_series, pipeline_fingerprint,
};
use crate::checkpoint_writer::{CheckpointObserver, WriterHooks};
use crate::clock::{Clock, SystemClock};
use crate::cluster_checkpoint::{self, ClusterParts, Expected};
use crate::graph::{Graph, stop_input};
use crate::listener::StreamingListener;
use crate::listener_bus::{FailureHook, ListenerBus};
use crate::scheduler::{ClusterStop, HardStop, Runtime, Termination};
use crate::{Duration, StreamingConf, StreamingError, Time};

/// What every stream of one context shares (and that holds no stream, so
/// streams can keep it without a reference cycle).
pub(crate) struct StreamEnv {
    pub(crate) rdd: RddContext,
    pub(crate) batch: Duration,
    next_stream_id: AtomicUsize,
    /// Records each input stream delivered, per batch time and stream id.
    input_records: Mutex<BTreeMap<Time, BTreeMap<usize, u64>>>,
    /// Errors the input streams reported, per batch time: stream id, message.
    input_errors: Mutex<BTreeMap<Time, Vec<(usize, String)>>>,
}

impl StreamEnv {
    pub(crate) fn new_stream_id(&self) -> usize {
        self.next_stream_id.fetch_add(1, Ordering::Relaxed)
    }

    /// An input stream reports how many records it delivered for a batch.
    pub(crate) fn report_input(&self, time: Time, stream_id: usize, records: u64) {
        *self
            .input_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(time)
            .or_default()
            .entry(stream_id)
            .or_insert(0) += records;
    }

    /// An input stream reports an error met while building a batch.
    pub(crate) fn report_input_error(&self, time: Time, stream_id: usize, message: String) {
        self.input_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(time)
            .or_default()
            .push((stream_id, message));
    }

    /// Takes the errors reported for a batch.
    pub(crate) fn take_input_errors(&self, time: Time) -> Vec<(usize, String)> {
        self.input_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&time)
            .unwrap_or_default()
    }

    /// Takes the record counts reported for a batch, per stream id.
    pub(crate) fn take_input(&self, time: Time) -> BTreeMap<usize, u64> {
        self.input_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&time)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LifeCycle {
    Initialized,
    Active,
    Stopped,
}

/// The context's state, as Spark's `StreamingContextState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextState {
    /// Created; streams and outputs may be added.
    Initialized,
    /// Started and running batches.
    Active,
    /// Stopped; it cannot be restarted.
    Stopped,
}

pub(crate) struct ContextInner {
    pub(crate) conf: StreamingConf,
    pub(crate) env: Arc<StreamEnv>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) graph: Arc<Graph>,
    pub(crate) listeners: ListenerBus,
    pub(crate) termination: Arc<Termination>,
    /// `spark.streaming.gracefulStopTimeout`, the bound of every wait in a stop.
    stop_timeout: Duration,
    life: Mutex<LifeCycle>,
    runtime: Mutex<Option<Runtime>>,
    /// The runtime a stop took, on its way to being stopped.
    stopping: Mutex<Option<Runtime>>,
    pub(crate) checkpoint_dir: Arc<Mutex<Option<PathBuf>>>,
    /// The store checkpoints go to, when not the checkpoint directory's
    /// own [`LocalCheckpointStore`](ember_checkpoint::LocalCheckpointStore).
    checkpoint_store: Mutex<Option<Arc<dyn CheckpointStore>>>,
    /// The checkpoint directory's lock, held while the context runs.
    dir_lock: Mutex<Option<DirLock>>,
    /// The checkpoint a context made by `get_or_create` continues from.
    recovered: Mutex<Option<StreamingCheckpoint>>,
    /// Makes the stop in progress prompt (a second shutdown signal).
    hard_stop: Mutex<Option<HardStop>>,
    /// The signal that stopped the context, if one did.
    stopped_by_signal: Mutex<Option<&'static str>>,
    /// The Streaming UI, when `spark.ui.enabled`.
    #[cfg(feature = "ui")]
    ui: Mutex<Option<crate::ui::ContextUi>>,
    /// Cluster mode from `ember.cluster.*`: the connection, shut down when
    /// the context stops.
    #[cfg(feature = "cluster")]
    cluster: Option<Arc<ember_cluster::Cluster>>,
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        let runtime = self
            .runtime
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            self.graph.stop_inputs();
            runtime.stop(false, self.stop_timeout.to_std());
        }
    }
}

/// How [`StreamingContext::get_or_create_with`] treats a checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryOptions {
    /// When the checkpoint was written by a different pipeline (its
    /// fingerprint differs) or in an older layout, delete the old
    /// checkpoints and start afresh with a warning instead of failing.
    pub discard_mismatched_state: bool,
}

/// How to stop a context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopOptions {
    /// Process all received data before stopping (Spark's
    /// `stopGracefully`): the inputs stop accepting data, batches go on
    /// being generated at their times while an input still holds data no
    /// batch took, and every generated batch runs; bounded by
    /// `spark.streaming.gracefulStopTimeout` (default 10 batch intervals,
    /// wall time), after which it stops as a non-graceful stop and logs
    /// what was left. Otherwise queued batches are dropped and the batch
    /// in progress gets 1.5 s to finish; past that its thread is left
    /// behind and the batch abandoned: it writes no checkpoint and cleans
    /// nothing up, and recovery runs it again, as after a crash.
    pub stop_gracefully: bool,
}

/// The entry point of a streaming application: creates input streams, runs
/// the batches, and stops.
///
/// # Inputs
///
/// Defined here: [`queue_stream`](Self::queue_stream) (batches pushed from
/// the program, as in tests) and [`input_stream`](Self::input_stream) (any
/// [`InputSource`](crate::InputSource)). The other inputs are methods added
/// by extension traits of other crates (all in `ember::prelude::*` when
/// using the `ember` facade):
///
/// - `ember_sources::ReceiverStreams` (`ember_sources::prelude`):
///   `socket_text_stream(host, port)`, `socket_stream(host, port,
///   converter)`, `receiver_stream(receiver)` for a custom
///   `ember_sources::Receiver`, and their `_with_handle` forms;
/// - `ember_sources::FileStreams` (`ember_sources::prelude`):
///   `text_file_stream(dir)` and `file_stream(dir, FileStreamOptions)`
///   (directory monitoring);
/// - `ember_kafka::KafkaStreams::create_direct_stream(&ssc, strategy,
///   options)`: Kafka's direct stream (the facade's `kafka` feature,
///   `ember::kafka`).
///
/// Several streams of one slide merge with [`union`](Self::union) or
/// combine with [`transform`](Self::transform).
///
/// ```
/// use std::collections::VecDeque;
/// use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext};
///
/// let conf = StreamingConf::new().master("local[2]").app_name("doc");
/// let ssc = StreamingContext::new(conf, Duration::from_millis(50))?;
/// let batches: VecDeque<Vec<i32>> = vec![vec![1, 2, 3]].into();
/// ssc.queue_stream(batches, true).map(|x| x * 2).foreach_rdd(|rdd, _time| {
///     rdd.count()?;
///     Ok(())
/// })?;
/// ssc.start()?;
/// ssc.await_termination_or_timeout(Duration::from_millis(120))?;
/// ssc.stop(StopOptions { stop_gracefully: true })?;
/// # Ok::<(), ember_dstream::StreamingError>(())
/// ```
#[derive(Clone)]
pub struct StreamingContext {
    pub(crate) inner: Arc<ContextInner>,
}

impl std::fmt::Debug for StreamingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingContext")
            .field("app_name", &self.inner.conf.app_name_str())
            .field("batch", &self.inner.env.batch)
            .field("state", &self.state())
            .finish()
    }
}

impl StreamingContext {
    /// A context cutting streams into batches of `batch_interval`, on the
    /// system clock.
    pub fn new(conf: StreamingConf, batch_interval: Duration) -> Result<Self, StreamingError> {
        Self::with_clock(conf, batch_interval, Arc::new(SystemClock))
    }

    /// A context on another clock (tests use a [`ManualClock`](crate::ManualClock)).
    ///
    /// Creating a context installs ember's log subscriber (stderr, INFO
    /// for ember's targets) unless the application set a global `tracing`
    /// subscriber; see the README's "Logs" for `EMBER_LOG`, `RUST_LOG` and
    /// the `spark.ember.log.*` keys.
    pub fn with_clock(
        conf: StreamingConf,
        batch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StreamingError> {
        Self::build(conf, batch_interval, clock, None)
    }

    /// One process of a cluster (cluster mode, see the README's "Cluster
    /// mode"): every process runs the same program, builds the same
    /// streams and computes its share of every batch; `exchange` carries
    /// shuffles and results between the processes. Process 0 plays Spark's
    /// driver: it prints, and it alone runs listeners and the UI.
    /// `foreach_rdd` closures run on every process, each seeing the
    /// cluster-wide batch (its actions return the same results
    /// everywhere): guard side effects meant to happen once with
    /// [`RddContext::is_driver`](ember_rdd::RddContext::is_driver).
    /// Jobs run one batch at a time (`spark.streaming.concurrentJobs` is
    /// taken as 1), and a stop on any process stops every process after
    /// the batch all of them completed.
    pub fn with_exchange(
        conf: StreamingConf,
        batch_interval: Duration,
        exchange: Arc<dyn Exchange>,
    ) -> Result<Self, StreamingError> {
        Self::build(conf, batch_interval, Arc::new(SystemClock), Some(exchange))
    }

    fn build(
        conf: StreamingConf,
        batch_interval: Duration,
        clock: Arc<dyn Clock>,
        exchange: Option<Arc<dyn Exchange>>,
    ) -> Result<Self, StreamingError> {
        if batch_interval.is_zero() {
            return Err(StreamingError::ZeroDuration {
                what: "the batch interval",
            });
        }
        crate::logging::install_default(&conf)?;
        #[cfg(feature = "cluster")]
        let (exchange, cluster, conf) = match exchange {
            Some(exchange) => (Some(exchange), None, conf),
            None => match crate::cluster::connect(&conf)? {
                Some((cluster, threads)) => (
                    Some(Arc::clone(&cluster) as Arc<dyn Exchange>),
                    Some(cluster),
                    conf.master(format!("local[{threads}]")),
                ),
                None => (None, None, conf),
            },
        };
        conf.concurrent_jobs()?;
        conf.max_queued_batches()?;
        let stop_timeout = conf.graceful_stop_timeout(batch_interval)?;
        let listeners = ListenerBus::with_capacity(conf.listener_bus_capacity()?);
        let graph = Arc::new(Graph::default());
        #[cfg(feature = "ui")]
        let ui = match exchange.as_ref().is_none_or(|e| e.process() == 0) {
            true => crate::ui::ContextUi::new(&conf, batch_interval, &graph)?,
            false => None,
        };
        #[cfg(feature = "ui")]
        if let Some(ui) = &ui {
            listeners.add(Arc::clone(&ui.listener) as Arc<dyn StreamingListener>);
        }
        let mut rdd_conf = RddConf::new()
            .master(conf.master_str())
            .max_task_failures(conf.task_max_failures()?);
        if let Some(partitions) = conf.default_parallelism()? {
            rdd_conf = rdd_conf.default_parallelism(partitions);
        }
        let rdd = match exchange {
            Some(exchange) => RddContext::new_in_cluster(rdd_conf, exchange)?,
            None => RddContext::new(rdd_conf)?,
        };
        let env = Arc::new(StreamEnv {
            rdd,
            batch: batch_interval,
            next_stream_id: AtomicUsize::new(0),
            input_records: Mutex::new(BTreeMap::new()),
            input_errors: Mutex::new(BTreeMap::new()),
        });
        Ok(StreamingContext {
            inner: Arc::new(ContextInner {
                conf,
                env,
                clock,
                graph,
                listeners,
                termination: Arc::new(Termination::default()),
                stop_timeout,
                life: Mutex::new(LifeCycle::Initialized),
                runtime: Mutex::new(None),
                stopping: Mutex::new(None),
                checkpoint_dir: Arc::new(Mutex::new(None)),
                checkpoint_store: Mutex::new(None),
                dir_lock: Mutex::new(None),
                recovered: Mutex::new(None),
                hard_stop: Mutex::new(None),
                stopped_by_signal: Mutex::new(None),
                #[cfg(feature = "ui")]
                ui: Mutex::new(ui),
                #[cfg(feature = "cluster")]
                cluster,
            }),
        })
    }

    /// Spark's `StreamingContext.getOrCreate`: builds the pipeline with
    /// `create` (closures cannot be saved, so the pipeline always comes from
    /// code), sets `dir` as its checkpoint directory, and if `dir` holds a
    /// valid checkpoint, restores it: on [`start`](Self::start) the batches
    /// continue after the checkpoint's batch (the batches between it and
    /// now run at once as catch-up batches), state streams start from
    /// their saved state (every state stream is checkpointed; see
    /// [`DStream::checkpoint`](crate::DStream::checkpoint) for the
    /// interval) and inputs from their saved position.
    ///
    /// The configuration and everything else from `create` wins, except:
    /// a different batch interval is an error, and a different pipeline
    /// (operations, their order, slides and window lengths: the
    /// fingerprint) or a checkpoint of an older layout is an error
    /// naming the first difference (see [`get_or_create_with`](Self::get_or_create_with)
    /// to discard the old state instead). A damaged newest checkpoint is
    /// skipped with a warning for an older valid one; when none is valid,
    /// the error names each file and what is wrong with it.
    ///
    /// The directory is locked (as by [`start`](Self::start)) before it is
    /// read, and the returned context holds the lock until it stops or is
    /// dropped: a directory another context holds, in this or another
    /// process, fails with [`StreamingError::CheckpointDirLocked`] naming
    /// the holder. On an error the lock is released.
    pub fn get_or_create(
        dir: impl AsRef<Path>,
        create: impl FnOnce() -> Result<StreamingContext, StreamingError>,
    ) -> Result<Self, StreamingError> {
        Self::get_or_create_with(dir, RecoveryOptions::default(), create)
    }

    /// [`get_or_create`](Self::get_or_create) with [`RecoveryOptions`].
    pub fn get_or_create_with(
        dir: impl AsRef<Path>,
        options: RecoveryOptions,
        create: impl FnOnce() -> Result<StreamingContext, StreamingError>,
    ) -> Result<Self, StreamingError> {
        let dir = dir.as_ref();
        let ssc = create()?;
        if let Some(own) = ssc.checkpoint_dir()
            && own != dir
        {
            tracing::warn!(create_fn_dir = %own.display(), dir = %dir.display(),
                "the create function set another checkpoint directory; using the one given to get_or_create");
        }
        ssc.checkpoint(dir);
        // Locked before anything in it is read (or stale files removed),
        // and held into `start`: another process can neither write while
        // this one reads nor start on what this one recovers. Every error
        // below drops `ssc`, which releases it. (In cluster mode: this
        // process's own part of the directory.)
        let own = cluster_checkpoint::own_dir(dir, &ssc.inner.env.rdd);
        *ssc.inner
            .dir_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(lock_dir(&own)?);
        let batch = ssc.batch_duration();
        let (fingerprint, pipeline) = pipeline_fingerprint(&ssc.inner.graph);
        // Why a checkpoint cannot continue in this pipeline, and whether
        // that may be discarded (a different batch interval may not).
        let check = |time_ms: u64, checkpoint: &StreamingCheckpoint| {
            let (difference, discardable) = if checkpoint.batch_ms != batch.milliseconds() {
                (
                    format!(
                        "batch interval was {} ms in checkpoint-{time_ms}, is {} ms now",
                        checkpoint.batch_ms,
                        batch.milliseconds()
                    ),
                    false,
                )
            } else if checkpoint.layout != CHECKPOINT_LAYOUT {
                (
                    format!(
                        "checkpoint-{time_ms} has layout {}, this version reads layout {CHECKPOINT_LAYOUT}",
                        checkpoint.layout
                    ),
                    true,
                )
            } else if checkpoint.fingerprint != fingerprint {
                (
                    format!(
                        "pipeline changed since checkpoint-{time_ms}: {}",
                        describe_difference(&checkpoint.pipeline, &pipeline)
                    ),
                    true,
                )
            } else {
                return None;
            };
            Some(Mismatch {
                difference,
                discardable,
            })
        };
        let recovered = if ssc.inner.env.rdd.exchange().is_some() {
            let expected = Expected {
                fingerprint,
                check: &check,
            };
            cluster_checkpoint::recover(
                dir,
                &ssc.inner.env.rdd,
                &expected,
                options.discard_mismatched_state,
            )?
        } else {
            Self::recover_local(dir, options, &check)?
        };
        let Some((time_ms, checkpoint)) = recovered else {
            return Ok(ssc);
        };
        tracing::info!(dir = %dir.display(), time_ms, pending = ?checkpoint.pending_ms,
            "recovering from checkpoint");
        *ssc.inner
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(checkpoint);
        Ok(ssc)
    }

    /// Local mode's recovery: the newest valid checkpoint in `dir`, unless
    /// `check` finds it made by another pipeline (an error, or with
    /// `discard_mismatched_state` every checkpoint is deleted); `None` to
    /// start afresh.
    fn recover_local(
        dir: &Path,
        options: RecoveryOptions,
        check: Compatibility<'_>,
    ) -> Result<Option<(u64, StreamingCheckpoint)>, StreamingError> {
        if cluster_checkpoint::holds_cluster_checkpoint(dir) {
            return Err(StreamingError::CheckpointMismatch {
                dir: dir.to_path_buf(),
                difference: "the directory holds a cluster checkpoint (commits/ and process-*/); run the program as a cluster of the same number of processes".to_owned(),
            });
        }
        let series = open_series(dir)?;
        if let Err(e) = series.store().remove_stale_temp_files() {
            tracing::warn!(dir = %dir.display(), error = %e, "could not remove stale temporary files");
        }
        let Some((time_ms, checkpoint)) = series
            .latest_valid_value::<StreamingCheckpoint>(None)
            .map_err(|e| checkpoint_error(dir, &e))?
        else {
            tracing::info!(dir = %dir.display(), "no checkpoint found: starting a new context");
            return Ok(None);
        };
        let Some(Mismatch {
            difference,
            discardable,
        }) = check(time_ms, &checkpoint)
        else {
            return Ok(Some((time_ms, checkpoint)));
        };
        if !options.discard_mismatched_state || !discardable {
            return Err(StreamingError::CheckpointMismatch {
                dir: dir.to_path_buf(),
                difference,
            });
        }
        tracing::warn!(dir = %dir.display(), %difference, "discarding the old checkpoints and their state");
        for time in series.times().map_err(|e| checkpoint_error(dir, &e))? {
            let name = ember_checkpoint::CheckpointSeries::<
                ember_checkpoint::LocalCheckpointStore,
            >::name_for(time);
            ember_checkpoint::CheckpointStore::delete(series.store(), &name)
                .map_err(|e| checkpoint_error(dir, &e))?;
        }
        Ok(None)
    }

    /// Whether this context continues from a checkpoint (made by
    /// [`get_or_create`](Self::get_or_create) from a valid checkpoint), and
    /// that checkpoint's batch time.
    pub fn recovered_from(&self) -> Option<Time> {
        self.inner
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|c| Time::from_millis(c.time_ms))
    }

    /// Puts the recovered checkpoint's entries back; returns its zero time
    /// and batch time. The checkpoint is kept until `start` succeeds, so a
    /// retried `start` restores it again.
    fn restore(&self) -> Result<Option<(Time, Time)>, StreamingError> {
        let recovered = self
            .inner
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(checkpoint) = recovered.as_ref() else {
            return Ok(None);
        };
        let time = Time::from_millis(checkpoint.time_ms);
        let dir = self.checkpoint_dir().unwrap_or_default();
        for participant in self.inner.graph.checkpointables() {
            let key = participant.key();
            match checkpoint.entries.iter().find(|(k, _)| *k == key) {
                Some((_, bytes)) => participant
                    .restore(time, bytes)
                    .map_err(|e| in_dir(&dir, e))?,
                None if participant.interval().is_some() => {
                    tracing::warn!(%key, %time, "the checkpoint holds no state for this stream; it starts empty");
                }
                None => {}
            }
        }
        Ok(Some((Time::from_millis(checkpoint.zero_ms), time)))
    }

    fn life(&self) -> MutexGuard<'_, LifeCycle> {
        self.inner
            .life
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration it was made with.
    pub fn conf(&self) -> &StreamingConf {
        &self.inner.conf
    }

    /// The batch interval.
    pub fn batch_duration(&self) -> Duration {
        self.inner.env.batch
    }

    /// The RDD context batches run on.
    pub fn rdd_context(&self) -> &RddContext {
        &self.inner.env.rdd
    }

    /// Where it is in its life cycle.
    pub fn state(&self) -> ContextState {
        match *self.life() {
            LifeCycle::Initialized => ContextState::Initialized,
            LifeCycle::Active => ContextState::Active,
            LifeCycle::Stopped => ContextState::Stopped,
        }
    }

    /// Sets the directory checkpoints go to.
    pub fn checkpoint(&self, dir: impl AsRef<Path>) {
        *self
            .inner
            .checkpoint_dir
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(dir.as_ref().to_path_buf());
    }

    /// Sets the checkpoint directory (see [`checkpoint`](Self::checkpoint))
    /// and the store the streaming checkpoints are written to, instead of
    /// a [`LocalCheckpointStore`](ember_checkpoint::LocalCheckpointStore)
    /// in `dir`. `store` must keep its objects where `dir`'s local store
    /// finds them, since recovery ([`get_or_create`](Self::get_or_create))
    /// reads `dir`: this is meant for wrappers such as
    /// [`FaultyStore`](ember_checkpoint::testing::FaultyStore), which
    /// fault-injection tests use to fail checkpoint writes on command.
    /// Inputs keep their logs in `dir` itself. In cluster mode the store
    /// holds this process's parts of the checkpoints, so it must keep its
    /// objects where a local store in `<dir>/process-<p>` finds them.
    pub fn checkpoint_with_store(&self, dir: impl AsRef<Path>, store: Arc<dyn CheckpointStore>) {
        self.checkpoint(dir);
        *self
            .inner
            .checkpoint_store
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(store);
    }

    /// The checkpoint directory, if set.
    pub fn checkpoint_dir(&self) -> Option<PathBuf> {
        self.inner
            .checkpoint_dir
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Keeps every stream's generated RDDs for at least `duration` (for
    /// queries on past batches).
    pub fn remember(&self, duration: Duration) {
        self.inner.graph.set_remember(duration);
    }

    /// Registers a listener for batch, output and receiver events.
    ///
    /// In cluster mode only process 0 (the driver) runs listeners; on the
    /// other processes this does nothing.
    pub fn add_listener(&self, listener: Arc<dyn StreamingListener>) {
        if self.inner.env.rdd.is_driver() {
            self.inner.listeners.add(listener);
        }
    }

    /// In cluster mode, the latest of every process's `first_batch`, so
    /// that every process cuts the same batches; `first_batch` itself in
    /// local mode.
    fn agree_on(&self, first_batch: Time) -> Result<Time, StreamingError> {
        let Some(exchange) = self.inner.env.rdd.exchange() else {
            return Ok(first_batch);
        };
        let mine = first_batch.milliseconds().to_le_bytes().to_vec();
        let all = exchange
            .all_to_all(vec![mine; exchange.processes()])
            .map_err(|e| StreamingError::Job(e.into()))?;
        let latest = all
            .iter()
            .filter_map(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
            .map(u64::from_le_bytes)
            .max()
            .unwrap_or(first_batch.milliseconds());
        Ok(Time::from_millis(latest))
    }

    /// Listener events dropped because listeners fell behind by more than
    /// `spark.scheduler.listenerbus.eventqueue.capacity` events.
    pub fn dropped_listener_events(&self) -> u64 {
        self.inner.listeners.dropped_events()
    }

    /// Errors unless the context still accepts new operations.
    pub(crate) fn check_initialized(inner: &ContextInner) -> Result<(), StreamingError> {
        match *inner.life.lock().unwrap_or_else(PoisonError::into_inner) {
            LifeCycle::Initialized => Ok(()),
            LifeCycle::Active => Err(StreamingError::AlreadyStarted),
            LifeCycle::Stopped => Err(StreamingError::AlreadyStopped),
        }
    }

    /// Starts generating and running batches. The first batch's time is the
    /// next multiple of the batch interval after now (after a recovery: the
    /// batch after the checkpoint's). A failed start (an input that cannot
    /// start, say) can be retried: the recovered checkpoint is kept until a
    /// start succeeds.
    ///
    /// With a checkpoint directory, the context takes an exclusive lock on
    /// it (`<dir>/.lock`, naming this process and host) until it stops
    /// (a context made by [`get_or_create`](Self::get_or_create) already
    /// holds it); a second context on the same directory, in this or
    /// another process, fails with [`StreamingError::CheckpointDirLocked`]
    /// naming the holder.
    pub fn start(&self) -> Result<(), StreamingError> {
        let mut life = self.life();
        match *life {
            LifeCycle::Active => return Err(StreamingError::AlreadyStarted),
            LifeCycle::Stopped => return Err(StreamingError::AlreadyStopped),
            LifeCycle::Initialized => {}
        }
        if self.inner.graph.num_outputs() == 0 {
            return Err(StreamingError::NoOutputOperations);
        }
        let inputs = self.inner.graph.input_lifecycles();
        // In cluster mode, receiver i runs on process i % n: count this
        // process's receivers against its own worker threads.
        let rdd = &self.inner.env.rdd;
        let (processes, process) = (rdd.processes(), rdd.process());
        let receivers: usize = inputs
            .iter()
            .filter(|input| input.stream_id() % processes == process)
            .map(|input| input.receivers())
            .sum();
        let workers = rdd.threads();
        if receivers > 0 && receivers >= workers {
            return Err(StreamingError::NotEnoughWorkers {
                receivers,
                workers,
                master: self.inner.conf.master_str().to_owned(),
            });
        }
        let checkpoint_dir = self.checkpoint_dir();
        let rdd = &self.inner.env.rdd;
        let clustered = rdd.exchange().is_some();
        let custom_store = self
            .inner
            .checkpoint_store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // In cluster mode, this process's own part of the directory.
        let own_dir = checkpoint_dir
            .as_deref()
            .map(|dir| cluster_checkpoint::own_dir(dir, rdd));
        // Held until stop (or drop). Taken here unless `get_or_create`
        // already holds it (then kept on a failed start, which can be
        // retried with the checkpoint it read); a lock taken here is
        // released on every early return below.
        let already_held = self
            .inner
            .dir_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|lock| lock.dir().to_path_buf());
        let dir_lock = match &own_dir {
            Some(dir) if already_held.as_deref() != Some(dir.as_path()) => Some(lock_dir(dir)?),
            _ => None,
        };
        let recovered = self.restore()?;
        if clustered
            && recovered.is_none()
            && let Some(dir) = &checkpoint_dir
        {
            // A new start discards an old run's parts and commits.
            cluster_checkpoint::start_afresh(dir, rdd)?;
        }
        let batch = self.inner.env.batch;
        let (zero_time, first_batch) = match recovered {
            Some((zero, checkpoint_time)) => (zero, checkpoint_time + batch),
            None => {
                let first = self.agree_on(self.inner.clock.now().floor(batch) + batch)?;
                (first - batch, first)
            }
        };
        // Before the inputs start, so they know their remember duration.
        self.inner.graph.start(zero_time);
        let fail = self.failure_hook();
        let checkpointer = match (&checkpoint_dir, &own_dir) {
            (Some(dir), Some(own)) => {
                let parts = clustered.then(|| {
                    let (fingerprint, _) = pipeline_fingerprint(&self.inner.graph);
                    let committed = recovered.map(|(_, time)| time.milliseconds());
                    Arc::new(ClusterParts::new(dir, rdd, fingerprint, committed))
                });
                Some(Arc::new(Checkpointer::new(
                    own,
                    custom_store,
                    Arc::clone(&self.inner.graph),
                    batch,
                    zero_time,
                    self.inner.conf.app_name_str().to_owned(),
                    WriterHooks {
                        fail: Arc::clone(&fail),
                        observer: self.checkpoint_observer(),
                    },
                    parts,
                )?))
            }
            _ => None,
        };
        // A fresh start's own checkpoint, durable (in cluster mode:
        // committed) before any input accepts data (a crash before the
        // first interval checkpoint recovers from it; the write-ahead log
        // replays only for a recovered checkpoint).
        if recovered.is_none()
            && let Some(checkpointer) = &checkpointer
        {
            checkpointer.write_initial()?;
            checkpointer.commit_now(rdd)?;
        }
        for (started, input) in inputs.iter().enumerate() {
            let result = catch_unwind(AssertUnwindSafe(|| input.start())).unwrap_or_else(|panic| {
                Err(StreamingError::CallbackPanicked {
                    callback: format!("InputSource::start of {}", input.name()),
                    message: crate::panic_message(panic.as_ref()),
                })
            });
            if let Err(e) = result {
                tracing::error!(input = input.name(), error = %e, "starting an input failed");
                inputs[..started]
                    .iter()
                    .for_each(|input| stop_input(input.as_ref()));
                return Err(e);
            }
        }
        self.inner.listeners.set_failure_hook(Arc::clone(&fail));
        let cluster = self.inner.env.rdd.exchange().map(|_| ClusterStop {
            stop: self.agreed_stop_hook(),
        });
        let runtime = match Runtime::start(&self.inner, first_batch, checkpointer, fail, cluster) {
            Ok(runtime) => runtime,
            Err(e) => {
                inputs.iter().for_each(|input| stop_input(input.as_ref()));
                return Err(e);
            }
        };
        *self
            .inner
            .hard_stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(runtime.hard_stop());
        *self
            .inner
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(runtime);
        crate::signals::register(&self.inner);
        #[cfg(feature = "ui")]
        self.start_ui();
        // Started: the recovered state now lives in the streams.
        self.inner
            .recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(dir_lock) = dir_lock {
            *self
                .inner
                .dir_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(dir_lock);
        }
        *life = LifeCycle::Active;
        drop(life);
        tracing::info!(app = self.inner.conf.app_name_str(), %first_batch, %batch, "streaming context started");
        self.inner
            .listeners
            .post(|l| l.on_streaming_started(first_batch));
        Ok(())
    }

    /// What the checkpoint writer tells about each write (the UI).
    fn checkpoint_observer(&self) -> Option<Arc<dyn CheckpointObserver>> {
        #[cfg(feature = "ui")]
        return self.with_ui(|ui| Arc::clone(&ui.listener) as Arc<dyn CheckpointObserver>);
        #[cfg(not(feature = "ui"))]
        None
    }

    /// `f` on the context's UI, when it has one.
    #[cfg(feature = "ui")]
    fn with_ui<R>(&self, f: impl FnOnce(&mut crate::ui::ContextUi) -> R) -> Option<R> {
        self.inner
            .ui
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .map(f)
    }

    /// Starts the UI server with the lineage and the recovery source.
    #[cfg(feature = "ui")]
    fn start_ui(&self) {
        let mut ui = self.inner.ui.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(ui) = ui.as_mut() else {
            return;
        };
        let (_, pipeline) = pipeline_fingerprint(&self.inner.graph);
        let recovered = self.recovered_from().map(|time| {
            let dir = self.checkpoint_dir().unwrap_or_default();
            (time, dir.display().to_string())
        });
        ui.start(&self.inner.conf, pipeline.join("\n"), recovered);
    }

    /// The Streaming UI's URL (e.g. `http://127.0.0.1:4040`) while its
    /// server runs: from [`start`](Self::start) until the stop, when
    /// `spark.ui.enabled` (default true), the crate's `ui` feature is on
    /// and a port was free.
    pub fn ui_url(&self) -> Option<String> {
        #[cfg(feature = "ui")]
        return self.with_ui(|ui| ui.url()).flatten();
        #[cfg(not(feature = "ui"))]
        None
    }

    /// Makes a stop in progress prompt: no more batches, queued ones are
    /// dropped (the batch in progress finishes).
    pub(crate) fn stop_now(&self) {
        if let Some(hard_stop) = self
            .inner
            .hard_stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            hard_stop.trigger();
        }
    }

    pub(crate) fn set_stopped_by_signal(&self, signal: &'static str) {
        *self
            .inner
            .stopped_by_signal
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(signal);
    }

    /// The signal (`SIGINT` or `SIGTERM`) that stopped this context, if
    /// one did: a started context stops on either (gracefully when
    /// `spark.streaming.stopGracefullyOnShutdown` is true; a second signal
    /// makes the stop prompt), and
    /// [`await_termination`](Self::await_termination) returns `Ok`.
    pub fn stopped_by_signal(&self) -> Option<&'static str> {
        *self
            .inner
            .stopped_by_signal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until the context is stopped (`Ok`) or a batch fails (the
    /// failure, as Spark's `awaitTermination` rethrows it).
    pub fn await_termination(&self) -> Result<(), StreamingError> {
        self.inner.termination.wait(None).map(|_| ())
    }

    /// Like [`await_termination`](Self::await_termination) but gives up
    /// after `timeout`: `Ok(true)` if the context stopped, `Ok(false)` on
    /// timeout.
    pub fn await_termination_or_timeout(&self, timeout: Duration) -> Result<bool, StreamingError> {
        self.inner.termination.wait(Some(timeout.to_std()))
    }

    /// Blocks until `n` batches have completed since the start (`Ok(true)`),
    /// or the context stopped or `timeout` passed first (`Ok(false)`); a
    /// failed batch is returned as the error, as by `await_termination`.
    pub fn await_batches(&self, n: u64, timeout: Duration) -> Result<bool, StreamingError> {
        self.inner.termination.wait_for_batches(n, timeout.to_std())
    }

    /// What ends the context when one of its threads fails: the error goes
    /// to `await_termination` and the context stops (in the background).
    fn failure_hook(&self) -> FailureHook {
        let weak = Arc::downgrade(&self.inner);
        Arc::new(move |error: StreamingError| {
            tracing::error!(error = %error, "the streaming context failed: stopping it");
            let Some(inner) = weak.upgrade() else {
                return;
            };
            inner.termination.report_fatal(error);
            // The failing thread (a scheduler, listener or checkpoint
            // writer thread) must not wait for the stop.
            (StreamingContext { inner }).stop_with(StopOptions::default(), true);
        })
    }

    /// Cluster mode: how a stop the processes agreed on (another process
    /// asked) stops this context, in the background.
    fn agreed_stop_hook(&self) -> Arc<dyn Fn(bool) + Send + Sync> {
        let weak = Arc::downgrade(&self.inner);
        Arc::new(move |stop_gracefully| {
            if let Some(inner) = weak.upgrade() {
                tracing::info!(stop_gracefully, "the cluster agreed to stop");
                (StreamingContext { inner }).stop_with(StopOptions { stop_gracefully }, true);
            }
        })
    }

    /// Stops on another thread (a scheduler or listener thread cannot wait
    /// for itself); falls back to a stop that does not wait.
    fn stop_in_background(self, options: StopOptions) {
        let ssc = self.clone();
        let spawned = std::thread::Builder::new()
            .name("ember-stopper".to_owned())
            .spawn(move || ssc.finish_stop(options));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a thread to stop the context: stopping without waiting");
            self.finish_stop(options);
        }
    }

    /// Stops the context: the inputs stop accepting data, then batches stop
    /// being generated; a graceful stop first processes what the inputs
    /// accepted and every generated batch (see [`StopOptions`]); then the
    /// listener events posted so far are delivered. Every wait is bounded
    /// by `spark.streaming.gracefulStopTimeout`, so a stop never hangs; the
    /// batch in progress is not interrupted, but once no more batches are
    /// to run it gets 1.5 s, then its thread is left behind and the batch
    /// abandoned (see [`StopOptions`]). Stopping twice is harmless.
    ///
    /// Called from an output operation or a listener callback (threads of
    /// this context, which cannot wait for themselves), it returns at once
    /// and the stop completes in the background;
    /// [`await_termination`](Self::await_termination) returns when it did.
    pub fn stop(&self, options: StopOptions) -> Result<(), StreamingError> {
        self.stop_with(options, false);
        Ok(())
    }

    /// Stops; in the background when `background` or when called from one
    /// of the context's own threads (which cannot wait for themselves).
    fn stop_with(&self, options: StopOptions, background: bool) {
        let runtime = {
            let mut life = self.life();
            if *life == LifeCycle::Stopped {
                return;
            }
            *life = LifeCycle::Stopped;
            self.inner
                .runtime
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        };
        let own_thread = background
            || runtime.as_ref().is_some_and(Runtime::owns_current_thread)
            || self.inner.listeners.is_bus_thread();
        *self
            .inner
            .stopping
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = runtime;
        if own_thread {
            self.clone().stop_in_background(options);
        } else {
            self.finish_stop(options);
        }
    }

    fn finish_stop(&self, options: StopOptions) {
        let runtime = self
            .inner
            .stopping
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Inputs stop first, so a graceful stop processes what they accepted.
        self.inner.graph.stop_inputs();
        let timeout = self.inner.stop_timeout.to_std();
        if let Some(runtime) = runtime {
            runtime.stop(options.stop_gracefully, timeout);
        }
        self.inner.listeners.stop(timeout);
        #[cfg(feature = "ui")]
        self.with_ui(crate::ui::ContextUi::stop);
        // Every process stops after the same batch: wait for the others.
        #[cfg(feature = "cluster")]
        if let Some(cluster) = &self.inner.cluster
            && let Err(e) = cluster.shutdown()
        {
            tracing::warn!(error = %e, "leaving the cluster");
        }
        // The last checkpoint is written and the writer closed (a batch
        // the stop left behind can write none): another context may take
        // the directory now.
        drop(
            self.inner
                .dir_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        crate::signals::deregister(&self.inner);
        self.inner
            .hard_stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.inner.termination.set_stopped();
        tracing::info!(
            app = self.inner.conf.app_name_str(),
            "streaming context stopped"
        );
    }
}

/// Takes the exclusive lock on the checkpoint directory `dir`.
fn lock_dir(dir: &Path) -> Result<DirLock, StreamingError> {
    DirLock::acquire(dir).map_err(|e| match e {
        CheckpointError::Locked { dir, holder } => {
            StreamingError::CheckpointDirLocked { dir, holder }
        }
        other => checkpoint_error(dir, &other),
    })
}
