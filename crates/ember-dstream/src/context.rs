//! [`StreamingContext`]: builds the DStream graph, starts the job generator
//! and scheduler, and stops them; plus what every stream of a context
//! shares ([`StreamEnv`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ember_rdd::{RddConf, RddContext};

use crate::clock::{Clock, SystemClock};
use crate::graph::Graph;
use crate::listener::{ListenerBus, StreamingListener};
use crate::scheduler::{Runtime, Termination};
use crate::{Duration, StreamingConf, StreamingError, Time};

/// What every stream of one context shares (and that holds no stream, so
/// streams can keep it without a reference cycle).
pub(crate) struct StreamEnv {
    pub(crate) rdd: RddContext,
    pub(crate) batch: Duration,
    next_stream_id: AtomicUsize,
    input_records: Mutex<BTreeMap<Time, u64>>,
}

impl StreamEnv {
    pub(crate) fn new_stream_id(&self) -> usize {
        self.next_stream_id.fetch_add(1, Ordering::Relaxed)
    }

    /// An input stream reports how many records it delivered for a batch.
    pub(crate) fn report_input(&self, time: Time, records: u64) {
        *self
            .input_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(time)
            .or_insert(0) += records;
    }

    /// Takes the record count reported for a batch.
    pub(crate) fn take_input(&self, time: Time) -> u64 {
        self.input_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&time)
            .unwrap_or(0)
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
    life: Mutex<LifeCycle>,
    runtime: Mutex<Option<Runtime>>,
    checkpoint_dir: Mutex<Option<PathBuf>>,
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        let runtime = self
            .runtime
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            for input in self.graph.input_lifecycles() {
                input.stop();
            }
            runtime.stop(false);
        }
    }
}

/// How to stop a context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopOptions {
    /// Finish every batch already generated before stopping (otherwise the
    /// batch in progress finishes and queued batches are dropped).
    pub stop_gracefully: bool,
}

/// The entry point of a streaming application: creates input streams, runs
/// the batches, and stops.
///
/// ```
/// use std::collections::VecDeque;
/// use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext};
///
/// let conf = StreamingConf::new().master("local[2]").app_name("doc");
/// let ssc = StreamingContext::new(conf, Duration::from_millis(50))?;
/// let batches: VecDeque<Vec<i32>> = vec![vec![1, 2, 3]].into();
/// ssc.queue_stream(batches, true).map(|x| x * 2).foreach_rdd(|rdd, _time| {
///     let _ = rdd.count();
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
    pub fn with_clock(
        conf: StreamingConf,
        batch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StreamingError> {
        if batch_interval.is_zero() {
            return Err(StreamingError::ZeroDuration {
                what: "the batch interval",
            });
        }
        conf.concurrent_jobs()?;
        let rdd = RddContext::new(
            RddConf::new()
                .master(conf.master_str())
                .max_task_failures(conf.task_max_failures()?),
        )?;
        let env = Arc::new(StreamEnv {
            rdd,
            batch: batch_interval,
            next_stream_id: AtomicUsize::new(0),
            input_records: Mutex::new(BTreeMap::new()),
        });
        Ok(StreamingContext {
            inner: Arc::new(ContextInner {
                conf,
                env,
                clock,
                graph: Arc::new(Graph::default()),
                listeners: ListenerBus::default(),
                termination: Arc::new(Termination::default()),
                life: Mutex::new(LifeCycle::Initialized),
                runtime: Mutex::new(None),
                checkpoint_dir: Mutex::new(None),
            }),
        })
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
    pub fn add_listener(&self, listener: Arc<dyn StreamingListener>) {
        self.inner.listeners.add(listener);
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
    /// next multiple of the batch interval after now.
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
        let receivers: usize = inputs.iter().map(|input| input.receivers()).sum();
        let workers = self.inner.env.rdd.default_parallelism();
        if receivers > 0 && receivers >= workers {
            return Err(StreamingError::NotEnoughWorkers {
                receivers,
                workers,
                master: self.inner.conf.master_str().to_owned(),
            });
        }
        for (started, input) in inputs.iter().enumerate() {
            if let Err(e) = input.start() {
                tracing::error!(input = input.name(), error = %e, "starting an input failed");
                inputs[..started].iter().for_each(|input| input.stop());
                return Err(e);
            }
        }
        let batch = self.inner.env.batch;
        let first_batch = self.inner.clock.now().floor(batch) + batch;
        self.inner.graph.start(first_batch - batch);
        let runtime = match Runtime::start(&self.inner, first_batch) {
            Ok(runtime) => runtime,
            Err(e) => {
                inputs.iter().for_each(|input| input.stop());
                return Err(e);
            }
        };
        *self
            .inner
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(runtime);
        *life = LifeCycle::Active;
        drop(life);
        tracing::info!(app = self.inner.conf.app_name_str(), %first_batch, %batch, "streaming context started");
        self.inner
            .listeners
            .post(|l| l.on_streaming_started(first_batch));
        Ok(())
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

    /// Stops generating batches and, when asked, finishes the ones already
    /// generated. Stopping twice is harmless.
    pub fn stop(&self, options: StopOptions) -> Result<(), StreamingError> {
        let runtime = {
            let mut life = self.life();
            if *life == LifeCycle::Stopped {
                return Ok(());
            }
            *life = LifeCycle::Stopped;
            self.inner
                .runtime
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        };
        // Receivers stop first, so a graceful stop processes what they stored.
        for input in self.inner.graph.input_lifecycles() {
            input.stop();
        }
        if let Some(runtime) = runtime {
            runtime.stop(options.stop_gracefully);
        }
        self.inner.termination.set_stopped();
        tracing::info!(
            app = self.inner.conf.app_name_str(),
            "streaming context stopped"
        );
        Ok(())
    }
}
