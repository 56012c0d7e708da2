//! [`DStream`]: a discretized stream, one RDD per batch time, and the node
//! machinery behind it: how a stream computes the RDD for a time, remembers
//! what it generated and forgets what no one needs any more.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use ember_rdd::{Data, Rdd, RddContext, StorageLevel};

use crate::context::{ContextInner, StreamEnv};
use crate::{Duration, StreamingError, Time};

/// How one kind of stream computes its RDD for a batch time.
pub(crate) trait StreamCompute<T>: Send + Sync + 'static {
    /// Operation name, for logs and the pipeline's fingerprint.
    fn name(&self) -> &'static str;
    /// How often the stream produces an RDD.
    fn slide(&self) -> Duration;
    /// The streams it reads.
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>>;
    /// The RDD for `time` (a valid time of this stream), or `None` when the
    /// stream has nothing for that time.
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>, StreamingError>;
    /// How much longer than this stream its parents must remember their
    /// RDDs (a window's length).
    fn parent_remember_extra(&self) -> Duration {
        Duration::ZERO
    }
    /// Whether each generated RDD carries state that must have its lineage
    /// cut after its batch completes.
    fn is_stateful(&self) -> bool {
        false
    }
    /// What else defines the operation beyond its name and slide (a
    /// window's length), for the pipeline's fingerprint.
    fn details(&self) -> Option<String> {
        None
    }
    /// Told how long the stream's RDDs are remembered (the graph sets it
    /// when the context starts; it only grows). Inputs pass it on to their
    /// source.
    fn remembered(&self, _d: Duration) {}
}

/// The untyped view of a stream that the graph walks.
pub(crate) trait StreamInfo: Send + Sync {
    fn id(&self) -> usize;
    /// The operation's name (for the pipeline's fingerprint).
    fn name(&self) -> &'static str;
    /// See [`StreamCompute::details`].
    fn details(&self) -> Option<String>;
    fn slide(&self) -> Duration;
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>>;
    /// Sets the zero time (the time before the first batch).
    fn initialize(&self, zero_time: Time);
    /// Keeps generated RDDs for at least `d`, here and upstream.
    fn remember(&self, d: Duration);
    /// Drops generated RDDs older than the remember duration.
    fn clear_metadata(&self, time: Time);
    /// Cuts the lineage of the RDD generated for `time` if it is a state
    /// RDD (every batch) or `time` is one of the stream's checkpoint times.
    fn truncate_state(&self, time: Time) -> Result<(), StreamingError>;
    /// How many generated RDDs it holds now.
    fn retained(&self) -> usize;
    /// Generates the RDD for `time` if it is a valid time (input streams
    /// are generated every batch, whether or not an output reads them).
    fn generate(&self, time: Time) -> Result<(), StreamingError>;
}

struct Generated<T> {
    zero_time: Option<Time>,
    remember: Duration,
    /// Set by [`DStream::checkpoint`].
    checkpoint_interval: Option<Duration>,
    /// Set by [`DStream::persist`] (and by windows on their parent).
    storage: StorageLevel,
    rdds: BTreeMap<Time, Rdd<T>>,
}

impl<T> Generated<T> {
    /// Whether `time` is one of the stream's checkpoint times (a multiple
    /// of its checkpoint interval after the zero time).
    fn is_checkpoint_time(&self, time: Time) -> bool {
        match (self.zero_time, self.checkpoint_interval) {
            (Some(zero), Some(interval)) => time > zero && (time - zero).is_multiple_of(interval),
            _ => false,
        }
    }
}

pub(crate) struct StreamCore<T> {
    id: usize,
    pub(crate) env: Arc<StreamEnv>,
    context: Weak<ContextInner>,
    compute: Box<dyn StreamCompute<T>>,
    generated: Mutex<Generated<T>>,
}

/// A stream, or why it could not be defined.
pub type StreamResult<T> = Result<DStream<T>, StreamingError>;

/// A discretized stream: a sequence of RDDs, one per batch (or per slide
/// for windowed streams). Operations return new streams and run nothing
/// until the context starts; output operations (`print`, `foreach_rdd`, …)
/// register what runs each batch. Cloning the handle is cheap.
pub struct DStream<T> {
    pub(crate) core: Arc<StreamCore<T>>,
}

impl<T> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            core: Arc::clone(&self.core),
        }
    }
}

impl<T: Data> std::fmt::Debug for DStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DStream")
            .field("id", &self.core.id)
            .field("operation", &self.core.compute.name())
            .field("slide", &self.core.compute.slide())
            .finish()
    }
}

impl<T> StreamCore<T> {
    fn generated(&self) -> MutexGuard<'_, Generated<T>> {
        self.generated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Data> StreamInfo for StreamCore<T> {
    fn id(&self) -> usize {
        self.id
    }
    fn name(&self) -> &'static str {
        self.compute.name()
    }
    fn details(&self) -> Option<String> {
        self.compute.details()
    }
    fn slide(&self) -> Duration {
        self.compute.slide()
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        self.compute.parents()
    }
    fn initialize(&self, zero_time: Time) {
        let mut generated = self.generated();
        generated.zero_time = Some(zero_time);
        generated.remember = generated.remember.max(self.slide());
    }
    fn remember(&self, d: Duration) {
        let own = {
            let mut generated = self.generated();
            generated.remember = generated.remember.max(d);
            generated.remember
        };
        self.compute.remembered(own);
        let extra = self.compute.parent_remember_extra();
        for parent in self.parents() {
            parent.remember(own + extra);
        }
    }
    fn clear_metadata(&self, time: Time) {
        let mut generated = self.generated();
        let horizon = time - generated.remember;
        // `split_off` returns the times after the horizon: those are kept.
        let kept = generated
            .rdds
            .split_off(&(horizon + Duration::from_millis(1)));
        let old = std::mem::replace(&mut generated.rdds, kept);
        drop(generated);
        drop(old);
    }
    fn truncate_state(&self, time: Time) -> Result<(), StreamingError> {
        let rdd = {
            let generated = self.generated();
            if !self.compute.is_stateful() && !generated.is_checkpoint_time(time) {
                return Ok(());
            }
            generated.rdds.get(&time).cloned()
        };
        if let Some(rdd) = rdd {
            rdd.local_checkpoint()?;
        }
        Ok(())
    }
    fn retained(&self) -> usize {
        self.generated().rdds.len()
    }
    fn generate(&self, time: Time) -> Result<(), StreamingError> {
        self.get_or_compute(time).map(|_| ())
    }
}

impl<T: Data> StreamCore<T> {
    /// Puts an RDD for `time` as if it had been generated (recovery puts
    /// the restored state at the checkpoint's time).
    pub(crate) fn insert_generated(&self, time: Time, rdd: Rdd<T>) {
        self.generated().rdds.insert(time, rdd);
    }

    /// The stream's last valid time at or before `time` (a multiple of its
    /// slide after the zero time), or `None` when there is none yet.
    pub(crate) fn last_time_until(&self, time: Time) -> Option<Time> {
        let zero = self.generated().zero_time?;
        let slide = self.compute.slide();
        let last = zero + slide * ((time - zero) / slide);
        (last > zero).then_some(last)
    }

    /// The checkpoint interval set by [`DStream::checkpoint`], if any.
    pub(crate) fn checkpoint_interval(&self) -> Option<Duration> {
        self.generated().checkpoint_interval
    }

    /// Sets the checkpoint interval (checked by [`DStream::checkpoint`]).
    pub(crate) fn set_checkpoint_interval(&self, interval: Duration) {
        self.generated().checkpoint_interval = Some(interval);
    }

    fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>, StreamingError> {
        let zero_time = {
            let generated = self.generated();
            if let Some(rdd) = generated.rdds.get(&time) {
                return Ok(Some(rdd.clone()));
            }
            match generated.zero_time {
                Some(zero) => zero,
                None => return Ok(None),
            }
        };
        let valid = time > zero_time && (time - zero_time).is_multiple_of(self.compute.slide());
        if !valid {
            return Ok(None);
        }
        let Some(rdd) = self.compute.compute(time)? else {
            return Ok(None);
        };
        let mut generated = self.generated();
        // A checkpoint time's RDD is cached, so cutting its lineage after
        // the batch takes the computed partitions instead of computing
        // them again (Spark persists checkpointed streams too).
        if self.compute.is_stateful() || generated.is_checkpoint_time(time) {
            rdd.cache();
        } else if generated.storage != StorageLevel::None {
            rdd.persist(generated.storage);
        }
        Ok(Some(generated.rdds.entry(time).or_insert(rdd).clone()))
    }
}

impl<T: Data> DStream<T> {
    pub(crate) fn new(
        env: Arc<StreamEnv>,
        context: Weak<ContextInner>,
        compute: impl StreamCompute<T>,
    ) -> Self {
        Self::with_id(env.new_stream_id(), env, context, compute)
    }

    pub(crate) fn with_id(
        id: usize,
        env: Arc<StreamEnv>,
        context: Weak<ContextInner>,
        compute: impl StreamCompute<T>,
    ) -> Self {
        DStream {
            core: Arc::new(StreamCore {
                id,
                env,
                context,
                compute: Box::new(compute),
                generated: Mutex::new(Generated {
                    zero_time: None,
                    remember: Duration::ZERO,
                    checkpoint_interval: None,
                    storage: StorageLevel::None,
                    rdds: BTreeMap::new(),
                }),
            }),
        }
    }

    /// A new stream of the same context, computed by `compute`.
    pub(crate) fn derive<U: Data>(&self, compute: impl StreamCompute<U>) -> DStream<U> {
        DStream::new(
            Arc::clone(&self.core.env),
            self.core.context.clone(),
            compute,
        )
    }

    pub(crate) fn info(&self) -> Arc<dyn StreamInfo> {
        self.core.clone()
    }

    pub(crate) fn context_inner(&self) -> Result<Arc<ContextInner>, StreamingError> {
        self.core
            .context
            .upgrade()
            .ok_or(StreamingError::ContextDropped)
    }

    /// Keeps the partitions of every RDD this stream generates from now on
    /// at `level` (Spark's `DStream.persist`), so that outputs and windows
    /// reading the same batch compute it once. Windows persist their parent
    /// this way by themselves, as Spark's do; the RDDs are freed when the
    /// stream forgets them.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// use ember_rdd::StorageLevel;
    /// let out = run_operation(vec![vec![1, 2]], |s| {
    ///     let doubled = s.map(|x| x * 2).persist(StorageLevel::MemoryOnly);
    ///     doubled.union(&doubled)
    /// }, 1)?;
    /// assert_eq!(out, vec![vec![2, 4, 2, 4]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn persist(&self, level: StorageLevel) -> DStream<T> {
        self.core.generated().storage = level;
        self.clone()
    }

    /// `persist(StorageLevel::MemoryOnly)`.
    pub fn cache(&self) -> DStream<T> {
        self.persist(StorageLevel::MemoryOnly)
    }

    /// How this stream keeps the RDDs it generates.
    pub fn storage_level(&self) -> StorageLevel {
        self.core.generated().storage
    }

    /// The stream's id, unique within its context.
    pub fn id(&self) -> usize {
        self.core.id
    }

    /// How often the stream produces an RDD: the batch interval, or a
    /// window's slide.
    pub fn slide_duration(&self) -> Duration {
        self.core.compute.slide()
    }

    /// The RDD context batches are computed on.
    pub fn rdd_context(&self) -> &RddContext {
        &self.core.env.rdd
    }

    /// How many generated RDDs the stream holds right now (bounded by its
    /// remember duration, however long the stream runs).
    pub fn retained_rdds(&self) -> usize {
        self.core.retained()
    }

    /// The RDD for `time`: generated once, then remembered until cleared.
    /// `None` before the context started, at times that are not a multiple
    /// of the slide, and when the stream has nothing for that time.
    pub fn get_or_compute(&self, time: Time) -> Result<Option<Rdd<T>>, StreamingError> {
        self.core.get_or_compute(time)
    }

    /// The RDD for `time` of a parent that must have one: `None` is
    /// [`StreamingError::MissingParentRdd`] for `operation`.
    pub(crate) fn required_rdd(
        &self,
        operation: &'static str,
        time: Time,
    ) -> Result<Rdd<T>, StreamingError> {
        self.get_or_compute(time)?
            .ok_or(StreamingError::MissingParentRdd {
                operation,
                parent: self.id(),
                parent_operation: self.core.compute.name(),
                time,
            })
    }

    /// The RDDs of the stream's times in `[from, to]`, oldest first, as
    /// Spark's `slice`: both ends are included after rounding each down to
    /// the stream's slide (so a `from` on a slide boundary is included,
    /// and `from` after `to` gives nothing); times at or before the zero
    /// time are skipped. Slicing a stream before its context started is an
    /// error ([`StreamingError::NotInitialized`]).
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use ember_dstream::{Duration, StreamingConf, StreamingContext, StreamingError, Time};
    /// let ssc = StreamingContext::new(StreamingConf::new().master("local[2]"), Duration::from_secs(1))?;
    /// let stream = ssc.queue_stream(VecDeque::from([vec![1]]), true);
    /// let early = stream.slice(Time::from_millis(0), Time::from_millis(1000));
    /// assert!(matches!(early, Err(StreamingError::NotInitialized { .. })));
    /// # Ok::<(), StreamingError>(())
    /// ```
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Rdd<T>>, StreamingError> {
        let Some(zero) = self.core.generated().zero_time else {
            return Err(StreamingError::NotInitialized { operation: "slice" });
        };
        let slide = self.slide_duration();
        if slide.is_zero() || to <= zero {
            return Ok(Vec::new());
        }
        let floor = |t: Time| zero + slide * ((t - zero) / slide);
        // The first valid time at or after `from` rounded down: the zero
        // time itself is not one.
        let mut time = floor(from.max(zero));
        if time == zero {
            time = time + slide;
        }
        let to = floor(to);
        let mut rdds = Vec::new();
        while time <= to {
            if let Some(rdd) = self.get_or_compute(time)? {
                rdds.push(rdd);
            }
            time = time + slide;
        }
        Ok(rdds)
    }
}
