//! State operations: `update_state_by_key` (and `update_state_by_key_with`
//! with [`UpdateStateOptions`](crate::UpdateStateOptions)) and
//! `map_with_state` (with [`StateSpec`](crate::StateSpec) and
//! `state_snapshots`). State lives in an RDD per batch whose lineage is cut
//! after every batch.
//!
//! Each state stream is stateful for the engine: the state RDD of every
//! batch is cached, and once its batch completed it is local-checkpointed
//! (computed partitions kept in memory, lineage dropped), so the lineage of
//! the state never grows however long the stream runs. The state RDD of
//! batch `t` is the previous state (the RDD of `t - slide`, or nothing at
//! the first batch) cogrouped with the batch's values. The state stays
//! placed by one hash partitioner from batch to batch, so the cogroup reads
//! it in place and only the batch's records are shuffled (Spark's
//! `StateDStream` and `MapWithStateRDD` do the same). Each state stream
//! also takes part in the context's checkpoints (`state_checkpoint.rs`),
//! hence the [`StateData`] bound on keys and states.

use std::hash::Hash;
use std::ops::Deref;
use std::sync::{Arc, Once, OnceLock, Weak};

use ember_rdd::{BoxIter, Data, HashPartitioner, Partitioner, Rdd};

use crate::dstream::{StreamCompute, StreamCore, StreamInfo};
use crate::state_checkpoint::register_state;
use crate::testing::IntoStream;
use crate::{DStream, Duration, StateData, StreamingContext, StreamingError, Time};

/// A link from a state stream's compute back to its own stream, so it can
/// read its previous state RDD. Set right after the stream is created; weak
/// so stream and compute do not keep each other alive.
type SelfLink<T> = Arc<OnceLock<Weak<StreamCore<T>>>>;

/// The stream's own RDD for `time`, through the link.
fn own_rdd<T: Data>(link: &SelfLink<T>, time: Time) -> Result<Option<Rdd<T>>, StreamingError> {
    match link.get().and_then(Weak::upgrade) {
        Some(core) => DStream { core }.get_or_compute(time),
        None => Ok(None),
    }
}

/// Logs, once per stream, that state without a checkpoint directory is
/// lost on restart.
pub(crate) fn warn_without_checkpoint<T: Data>(
    stream: &DStream<T>,
    warned: &Once,
    operation: &str,
) {
    warned.call_once(|| {
        if let Ok(inner) = stream.context_inner()
            && (StreamingContext { inner }).checkpoint_dir().is_none()
        {
            tracing::warn!(
                operation,
                "no checkpoint directory is set: the state of this stream is kept in memory \
                 (lineage cut every batch) and will not survive a restart"
            );
        }
    });
}

/// Every form of `update_state_by_key`'s function, as the partition form:
/// one partition of `(key, new values, previous state)` of a batch time in,
/// that partition's new `(key, state)` pairs out.
type UpdatePartitionFn<K, V, S> =
    dyn Fn(Time, BoxIter<(K, Vec<V>, Option<S>)>) -> BoxIter<(K, S)> + Send + Sync;

/// Spark's `StateDStream`: the whole state, every batch.
struct UpdateStateByKey<K, V, S> {
    parent: DStream<(K, V)>,
    update: Arc<UpdatePartitionFn<K, V, S>>,
    /// The state before the first batch (replaced by a restored checkpoint).
    initial: Option<Rdd<(K, S)>>,
    /// Places the state, the same object every batch so the next cogroup
    /// reads the previous state in place.
    partitioner: Arc<dyn Partitioner<K>>,
    own: SelfLink<(K, S)>,
    warned: Once,
}

impl<K, V, S> StreamCompute<(K, S)> for UpdateStateByKey<K, V, S>
where
    K: Data + Hash + Eq,
    V: Data,
    S: Data,
{
    fn name(&self) -> &'static str {
        "update_state_by_key"
    }
    fn slide(&self) -> Duration {
        self.parent.slide_duration()
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        vec![self.parent.info()]
    }
    fn is_stateful(&self) -> bool {
        true
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<(K, S)>>, StreamingError> {
        warn_without_checkpoint(&self.parent, &self.warned, "update_state_by_key");
        let ctx = self.parent.rdd_context();
        let previous = match own_rdd(&self.own, time - self.slide())? {
            Some(rdd) => rdd,
            None => self.initial.clone().unwrap_or_else(|| ctx.empty()),
        };
        let batch = self
            .parent
            .get_or_compute(time)?
            .unwrap_or_else(|| ctx.empty());
        let update = Arc::clone(&self.update);
        let state =
            previous
                .cogroup_with_partitioner(&batch, Arc::clone(&self.partitioner))
                .map_partitions_preserving_partitioning(move |records| {
                    update(
                        time,
                        Box::new(records.map(|(key, (states, values))| {
                            (key, values, states.into_iter().next())
                        })),
                    )
                });
        Ok(Some(state))
    }
}

impl<K: Data + Hash + Eq, V: Data> DStream<(K, V)> {
    /// The running state of every key: each batch, `update(new_values,
    /// previous_state)` is called for every key that has a state (with an
    /// empty slice when the key got no new values) and for every new key
    /// (with `None`); returning `None` removes the key. The stream carries
    /// the whole state every batch, in the context's default parallelism
    /// partitions.
    ///
    /// With a checkpoint directory (set by
    /// [`StreamingContext::checkpoint`] or
    /// [`get_or_create`](StreamingContext::get_or_create)), the whole state
    /// goes into every checkpoint (interval: [`DStream::checkpoint`]) and a
    /// recovered context continues from it; hence keys and states are
    /// [`StateData`] (serde-serializable). Without one the state is kept in
    /// memory only (its lineage is cut after every batch) and a warning
    /// says it will not survive a restart.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let input = vec![vec![('a', 1), ('b', 1), ('a', 1)], vec![('a', 1)], vec![]];
    /// let out = run_operation(input, |s| {
    ///     s.update_state_by_key(|new: &[i32], total: Option<i32>| {
    ///         Some(total.unwrap_or(0) + new.iter().sum::<i32>())
    ///     })
    /// }, 3)?;
    /// let sorted: Vec<Vec<(char, i32)>> = out.into_iter().map(|mut b| { b.sort(); b }).collect();
    /// assert_eq!(sorted, vec![
    ///     vec![('a', 2), ('b', 1)],
    ///     vec![('a', 3), ('b', 1)],
    ///     vec![('a', 3), ('b', 1)],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn update_state_by_key<S: StateData>(
        &self,
        update: impl Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        self.update_state_by_key_with(update, UpdateStateOptions::default())
    }

    /// [`update_state_by_key`](Self::update_state_by_key) with
    /// [`UpdateStateOptions`]: the number of partitions the state is kept
    /// in or the partitioner placing it, and an initial state (Spark's
    /// `updateStateByKey(updateFunc, numPartitions)` and
    /// `updateStateByKey(updateFunc, partitioner, initialRDD)`). At the first batch the initial state is the
    /// previous state: `update` is called for every key of it (with an
    /// empty slice when the batch has no values for the key) and for
    /// every new key of the batch (with `None`). After a recovery from a
    /// checkpoint, the restored state takes the initial state's place.
    ///
    /// ```
    /// use ember_dstream::{UpdateStateOptions, testing::run_operation};
    /// let input = vec![vec![('a', 1), ('b', 1)], vec![]];
    /// let out = run_operation(input, |s| {
    ///     let initial = s.rdd_context().parallelize(vec![('a', 10), ('z', 5)], 2);
    ///     let options = UpdateStateOptions { num_partitions: Some(3), initial_state: Some(initial), ..Default::default() };
    ///     s.update_state_by_key_with(|new: &[i32], total: Option<i32>| {
    ///         Some(total.unwrap_or(0) + new.iter().sum::<i32>())
    ///     }, options)
    /// }, 2)?;
    /// let sorted: Vec<Vec<(char, i32)>> = out.into_iter().map(|mut b| { b.sort(); b }).collect();
    /// assert_eq!(sorted, vec![
    ///     vec![('a', 11), ('b', 1), ('z', 5)],
    ///     vec![('a', 11), ('b', 1), ('z', 5)],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn update_state_by_key_with<S: StateData>(
        &self,
        update: impl Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
        options: UpdateStateOptions<K, S>,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        self.update_state_by_key_with_time(
            move |_, _, values, state| update(values, state),
            options,
        )
    }

    /// Spark's time-aware `updateStateByKey`: as
    /// [`update_state_by_key_with`](Self::update_state_by_key_with), but the
    /// function also gets the batch's time and the key,
    /// `update(time, key, new_values, previous_state)`.
    ///
    /// ```
    /// use ember_dstream::{Time, UpdateStateOptions, testing::run_operation};
    /// let input = vec![vec![("a".to_string(), 1)], vec![], vec![("b".to_string(), 1)]];
    /// // Each key's state: the time it last got a value.
    /// let out = run_operation(input, |s| {
    ///     s.update_state_by_key_with_time(|time: Time, _key: &String, new: &[i32], last: Option<u64>| {
    ///         if new.is_empty() { last } else { Some(time.milliseconds()) }
    ///     }, UpdateStateOptions::default())
    /// }, 3)?;
    /// let sorted: Vec<Vec<(String, u64)>> = out.into_iter().map(|mut b| { b.sort(); b }).collect();
    /// assert_eq!(sorted, vec![
    ///     vec![("a".to_string(), 1000)],
    ///     vec![("a".to_string(), 1000)],
    ///     vec![("a".to_string(), 1000), ("b".to_string(), 3000)],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn update_state_by_key_with_time<S: StateData>(
        &self,
        update: impl Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static,
        options: UpdateStateOptions<K, S>,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        let update = Arc::new(update);
        self.stateful_by_partition(
            move |time, records| -> BoxIter<(K, S)> {
                let update = Arc::clone(&update);
                Box::new(records.filter_map(move |(key, values, state)| {
                    update(time, &key, &values, state).map(|s| (key, s))
                }))
            },
            options,
        )
    }

    /// Spark's partition-iterator `updateStateByKey`: `update` gets one
    /// partition of the state's keys at a time, as an iterator of `(key,
    /// new_values, previous_state)` (every key with a state or with new
    /// values, as for [`update_state_by_key`](Self::update_state_by_key)),
    /// and returns that partition's new `(key, state)` pairs; a key it
    /// leaves out is removed. It must return only keys it was given (the
    /// state stays where the partitioner put it), each once.
    ///
    /// ```
    /// use ember_dstream::{UpdateStateOptions, testing::run_operation};
    /// let input = vec![vec![("a".to_string(), 1), ("b".to_string(), 2), ("a".to_string(), 3)]];
    /// let out = run_operation(input, |s| {
    ///     s.update_state_by_key_partitions(|records| {
    ///         records.map(|(key, new, total): (String, Vec<i32>, Option<i32>)| {
    ///             (key, total.unwrap_or(0) + new.iter().sum::<i32>())
    ///         })
    ///     }, UpdateStateOptions::default())
    /// }, 1)?;
    /// let mut state = out[0].clone();
    /// state.sort();
    /// assert_eq!(state, vec![("a".to_string(), 4), ("b".to_string(), 2)]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn update_state_by_key_partitions<S: StateData, I>(
        &self,
        update: impl Fn(BoxIter<(K, Vec<V>, Option<S>)>) -> I + Send + Sync + 'static,
        options: UpdateStateOptions<K, S>,
    ) -> DStream<(K, S)>
    where
        K: StateData,
        I: IntoIterator<Item = (K, S)> + 'static,
        I::IntoIter: 'static,
    {
        self.stateful_by_partition(
            move |_, records| -> BoxIter<(K, S)> { Box::new(update(records).into_iter()) },
            options,
        )
    }

    /// The state stream behind every form of `update_state_by_key`.
    fn stateful_by_partition<S: StateData>(
        &self,
        update: impl Fn(Time, BoxIter<(K, Vec<V>, Option<S>)>) -> BoxIter<(K, S)>
        + Send
        + Sync
        + 'static,
        options: UpdateStateOptions<K, S>,
    ) -> DStream<(K, S)>
    where
        K: StateData,
    {
        let own: SelfLink<(K, S)> = Arc::default();
        let partitioner = options.partitioner.unwrap_or_else(|| {
            let partitions = options
                .num_partitions
                .unwrap_or_else(|| self.rdd_context().default_parallelism())
                .max(1);
            Arc::new(HashPartitioner::new(partitions))
        });
        let partitions = partitioner.num_partitions().max(1);
        let stream = self.derive(UpdateStateByKey {
            parent: self.clone(),
            update: Arc::new(update),
            initial: options.initial_state,
            partitioner,
            own: Arc::clone(&own),
            warned: Once::new(),
        });
        let _ = own.set(Arc::downgrade(&stream.core));
        register_state(&stream, partitions, Some, std::convert::identity);
        stream
    }

    /// Per-record state: `spec`'s function is called once per record of
    /// every batch with the record's key, value and the key's [`State`],
    /// and returns a mapped value. The result is the stream of mapped
    /// values; [`MapWithStateDStream::state_snapshots`] gives the whole
    /// state every batch. With a [`StateSpec::timeout`], a key that got no
    /// record for longer than the timeout is passed once more to the
    /// function, with `None` as value and [`State::is_timing_out`] true, and
    /// then removed (its mapped value is part of that batch's output, as in
    /// Spark).
    ///
    /// With a checkpoint directory, every key's state and the time it last
    /// got a record (for the timeout) go into every checkpoint, as for
    /// [`update_state_by_key`](Self::update_state_by_key); keys and states
    /// are [`StateData`], values and mapped values need not be.
    ///
    /// ```
    /// use ember_dstream::{StateSpec, testing::run_operation};
    /// let input = vec![vec![('a', 1), ('a', 2)], vec![('b', 5), ('a', 10)]];
    /// let spec = StateSpec::function(|_key: &char, value: Option<i32>, state: &mut ember_dstream::State<i32>| {
    ///     let sum = state.get().copied().unwrap_or(0) + value.unwrap_or(0);
    ///     state.update(sum);
    ///     sum
    /// });
    /// let out = run_operation(input, |s| s.map_with_state(spec), 2)?;
    /// let sorted: Vec<Vec<i32>> = out.into_iter().map(|mut b| { b.sort(); b }).collect();
    /// assert_eq!(sorted, vec![vec![1, 3], vec![5, 13]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn map_with_state<S: StateData, U: Data>(
        &self,
        spec: StateSpec<K, V, S, U>,
    ) -> MapWithStateDStream<K, S, U>
    where
        K: StateData,
    {
        let own: SelfLink<(K, Slot<S, U>)> = Arc::default();
        let partitions = spec
            .num_partitions
            .unwrap_or_else(|| self.rdd_context().default_parallelism())
            .max(1);
        let internal = self.derive(MapWithStateCompute {
            parent: self.clone(),
            function: spec.function,
            timeout: spec.timeout,
            initial: spec.initial_state,
            partitions,
            own: Arc::clone(&own),
            warned: Once::new(),
        });
        let _ = own.set(Arc::downgrade(&internal.core));
        register_state(&internal, partitions, Slot::saved, Slot::restored);
        let mapped = internal.transform_named("map_with_state", |rdd, _| {
            rdd.flat_map(|(_, slot)| match slot {
                Slot::Mapped(u) => Some(u),
                Slot::State(..) => None,
            })
        });
        MapWithStateDStream { internal, mapped }
    }
}

/// What [`update_state_by_key_with`](DStream::update_state_by_key_with)
/// (and the time-aware and partition forms) do besides the function: how
/// the state is partitioned and the state before the first batch.
/// `UpdateStateOptions::default()` is plain
/// [`update_state_by_key`](DStream::update_state_by_key).
///
/// ```
/// use ember_dstream::UpdateStateOptions;
/// let options: UpdateStateOptions<String, u64> = UpdateStateOptions {
///     num_partitions: Some(4),
///     ..UpdateStateOptions::default()
/// };
/// assert!(options.initial_state.is_none());
/// ```
pub struct UpdateStateOptions<K, S> {
    /// How many partitions the state is kept in (default: the context's
    /// default parallelism), hash-partitioned; ignored when
    /// [`partitioner`](Self::partitioner) is set.
    pub num_partitions: Option<usize>,
    /// The partitioner that places the state's keys (Spark's
    /// `updateStateByKey(updateFunc, partitioner)`); default: a
    /// [`HashPartitioner`] of [`num_partitions`](Self::num_partitions).
    pub partitioner: Option<Arc<dyn Partitioner<K>>>,
    /// The state before the first batch (one pair per key; a duplicated
    /// key keeps one of its states).
    pub initial_state: Option<Rdd<(K, S)>>,
}

impl<K, S> Default for UpdateStateOptions<K, S> {
    fn default() -> Self {
        UpdateStateOptions {
            num_partitions: None,
            partitioner: None,
            initial_state: None,
        }
    }
}

impl<K, S> Clone for UpdateStateOptions<K, S> {
    fn clone(&self) -> Self {
        UpdateStateOptions {
            num_partitions: self.num_partitions,
            partitioner: self.partitioner.clone(),
            initial_state: self.initial_state.clone(),
        }
    }
}

impl<K, S> std::fmt::Debug for UpdateStateOptions<K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateStateOptions")
            .field("num_partitions", &self.num_partitions)
            .field(
                "partitioner",
                &self.partitioner.as_ref().map(|p| p.name().to_owned()),
            )
            .field("initial_state", &self.initial_state.is_some())
            .finish()
    }
}

/// A key's state as the [`map_with_state`](DStream::map_with_state)
/// function sees it: read it, update it or remove it.
///
/// ```
/// let mut state = ember_dstream::State::new(Some(1));
/// assert!(state.exists());
/// state.update(5);
/// assert_eq!(state.get(), Some(&5));
/// state.remove();
/// assert!(!state.exists());
/// assert!(!state.is_timing_out());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State<S> {
    value: Option<S>,
    timing_out: bool,
}

impl<S> State<S> {
    /// A state holding `value` (or none), not timing out.
    pub fn new(value: Option<S>) -> Self {
        State {
            value,
            timing_out: false,
        }
    }

    /// Whether the key has a state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The key's state, if any.
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the key's state. On a timing-out state this does nothing: the
    /// key is removed after this call whatever the function does (Spark
    /// throws instead).
    pub fn update(&mut self, value: S) {
        if !self.timing_out {
            self.value = Some(value);
        }
    }

    /// Removes the key's state (harmless on a timing-out state, which is
    /// removed anyway).
    pub fn remove(&mut self) {
        self.value = None;
    }

    /// Whether the function is called because the key timed out (then the
    /// call's value is `None` and the key is removed afterwards).
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }
}

/// Every form of `map_with_state`'s function, as the time-aware one
/// (`None`: no mapped value for the call).
type MapFn<K, V, S, U> = dyn Fn(Time, &K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync;

/// What [`map_with_state`](DStream::map_with_state) does: the function
/// and, optionally, a timeout, an initial state and a partition count.
///
/// ```
/// use ember_dstream::{Duration, State, StateSpec};
/// let spec = StateSpec::function(|_k: &String, v: Option<u64>, s: &mut State<u64>| {
///     let n = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
///     s.update(n);
///     n
/// })
/// .timeout(Duration::from_secs(30))
/// .num_partitions(4);
/// # let _ = spec;
/// ```
pub struct StateSpec<K, V, S, U> {
    function: Arc<MapFn<K, V, S, U>>,
    timeout: Option<Duration>,
    initial_state: Option<Rdd<(K, S)>>,
    num_partitions: Option<usize>,
}

impl<K, V, S, U> Clone for StateSpec<K, V, S, U> {
    fn clone(&self) -> Self {
        StateSpec {
            function: Arc::clone(&self.function),
            timeout: self.timeout,
            initial_state: self.initial_state.clone(),
            num_partitions: self.num_partitions,
        }
    }
}

impl<K, V, S, U> std::fmt::Debug for StateSpec<K, V, S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSpec")
            .field("timeout", &self.timeout)
            .field("initial_state", &self.initial_state.is_some())
            .field("num_partitions", &self.num_partitions)
            .finish()
    }
}

impl<K, V, S, U> StateSpec<K, V, S, U> {
    /// A spec calling `function(key, value, state)` once per record.
    pub fn function(
        function: impl Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync + 'static,
    ) -> Self {
        Self::function_with_time(move |_, key, value, state| Some(function(key, value, state)))
    }

    /// Spark's time-aware `StateSpec.function`: `function(time, key,
    /// value, state)` is called once per record with the batch's time (and
    /// once for a timing-out key), and returns the mapped value or `None`
    /// for no output of that call.
    ///
    /// ```
    /// use ember_dstream::{State, StateSpec, Time, testing::run_operation};
    /// // Emits (key, batch time) the first time a key is seen, nothing after.
    /// let spec = StateSpec::function_with_time(|time: Time, key: &String, _v: Option<u8>, seen: &mut State<bool>| {
    ///     if seen.exists() {
    ///         return None;
    ///     }
    ///     seen.update(true);
    ///     Some((key.clone(), time.milliseconds()))
    /// });
    /// let input = vec![vec![("a".to_string(), 1)], vec![("a".to_string(), 1), ("b".to_string(), 1)]];
    /// let out = run_operation(input, |s| s.map_with_state(spec), 2)?;
    /// assert_eq!(out, vec![vec![("a".to_string(), 1000)], vec![("b".to_string(), 2000)]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn function_with_time(
        function: impl Fn(Time, &K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync + 'static,
    ) -> Self {
        StateSpec {
            function: Arc::new(function),
            timeout: None,
            initial_state: None,
            num_partitions: None,
        }
    }

    /// Removes a key that got no record for longer than `idle` (batch
    /// time), after one last call with `None` and a timing-out state.
    pub fn timeout(mut self, idle: Duration) -> Self {
        self.timeout = Some(idle);
        self
    }

    /// The state before the first batch (one pair per key; a duplicated
    /// key keeps one of its states).
    pub fn initial_state(mut self, rdd: Rdd<(K, S)>) -> Self {
        self.initial_state = Some(rdd);
        self
    }

    /// How many partitions the state is kept in (default: the context's
    /// default parallelism).
    pub fn num_partitions(mut self, n: usize) -> Self {
        self.num_partitions = Some(n);
        self
    }
}

/// What `map_with_state`'s internal RDD holds for a key: its state (with
/// the batch time it last got a record) or a mapped value of the batch.
/// The RDD is keyed, `(K, Slot)`, so it keeps the state's partitioner.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Slot<S, U> {
    State(S, Time),
    Mapped(U),
}

impl<S, U> Slot<S, U> {
    /// What a checkpoint keeps of a keyed slot: a key's state with the time
    /// (ms) it last got a record; mapped values are not kept.
    fn saved<K>((key, slot): (K, Self)) -> Option<(K, S, u64)> {
        match slot {
            Slot::State(state, last) => Some((key, state, last.milliseconds())),
            Slot::Mapped(_) => None,
        }
    }

    /// A saved state back as a keyed slot.
    fn restored<K>((key, state, last): (K, S, u64)) -> (K, Self) {
        (key, Slot::State(state, Time::from_millis(last)))
    }
}

/// Spark's `InternalMapWithStateDStream`.
struct MapWithStateCompute<K, V, S, U> {
    parent: DStream<(K, V)>,
    function: Arc<MapFn<K, V, S, U>>,
    timeout: Option<Duration>,
    initial: Option<Rdd<(K, S)>>,
    partitions: usize,
    own: SelfLink<(K, Slot<S, U>)>,
    warned: Once,
}

impl<K, V, S, U> StreamCompute<(K, Slot<S, U>)> for MapWithStateCompute<K, V, S, U>
where
    K: Data + Hash + Eq,
    V: Data,
    S: Data,
    U: Data,
{
    fn name(&self) -> &'static str {
        "map_with_state"
    }
    fn slide(&self) -> Duration {
        self.parent.slide_duration()
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        vec![self.parent.info()]
    }
    fn is_stateful(&self) -> bool {
        true
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<(K, Slot<S, U>)>>, StreamingError> {
        warn_without_checkpoint(&self.parent, &self.warned, "map_with_state");
        let ctx = self.parent.rdd_context();
        let previous: Rdd<(K, (S, Time))> = match own_rdd(&self.own, time - self.slide())? {
            Some(rdd) => rdd.flat_map_values(|slot| match slot {
                Slot::State(s, last) => Some((s, last)),
                Slot::Mapped(_) => None,
            }),
            None => match &self.initial {
                Some(initial) => initial.map_values(move |s| (s, time)),
                None => ctx.empty(),
            },
        };
        let batch = self
            .parent
            .get_or_compute(time)?
            .unwrap_or_else(|| ctx.empty());
        let function = Arc::clone(&self.function);
        let timeout = self.timeout;
        let rdd = previous
            .cogroup_with_partitioner(&batch, Arc::new(HashPartitioner::new(self.partitions)))
            .map_partitions_preserving_partitioning(move |records| {
                let function = Arc::clone(&function);
                records.flat_map(move |(key, (states, values))| {
                    update_key(&*function, timeout, time, key, states, values)
                })
            });
        Ok(Some(rdd))
    }
}

/// One key's records of one batch (or its timeout) applied to its state.
fn update_key<K: Clone, V, S, U>(
    function: &MapFn<K, V, S, U>,
    timeout: Option<Duration>,
    time: Time,
    key: K,
    states: Vec<(S, Time)>,
    values: Vec<V>,
) -> Vec<(K, Slot<S, U>)> {
    let previous = states.into_iter().next();
    if values.is_empty() {
        let Some((value, last)) = previous else {
            return Vec::new();
        };
        return match timeout {
            Some(idle) if time - last > idle => {
                let mut state = State {
                    value: Some(value),
                    timing_out: true,
                };
                function(time, &key, None, &mut state)
                    .map(|mapped| (key, Slot::Mapped(mapped)))
                    .into_iter()
                    .collect()
            }
            _ => vec![(key, Slot::State(value, last))],
        };
    }
    let mut state = State::new(previous.map(|(value, _)| value));
    let mut out = Vec::with_capacity(values.len() + 1);
    for value in values {
        if let Some(mapped) = function(time, &key, Some(value), &mut state) {
            out.push((key.clone(), Slot::Mapped(mapped)));
        }
    }
    if let Some(value) = state.value {
        out.push((key, Slot::State(value, time)));
    }
    out
}

/// The result of [`map_with_state`](DStream::map_with_state): the stream
/// of mapped values (it derefs to that [`DStream`], so `print`,
/// `foreach_rdd`, `map`… apply to it directly) plus
/// [`state_snapshots`](Self::state_snapshots).
pub struct MapWithStateDStream<K, S, U> {
    internal: DStream<(K, Slot<S, U>)>,
    mapped: DStream<U>,
}

impl<K, S, U> Clone for MapWithStateDStream<K, S, U> {
    fn clone(&self) -> Self {
        MapWithStateDStream {
            internal: self.internal.clone(),
            mapped: self.mapped.clone(),
        }
    }
}

impl<K: Data, S: Data, U: Data> std::fmt::Debug for MapWithStateDStream<K, S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapWithStateDStream")
            .field("mapped", &self.mapped)
            .finish()
    }
}

impl<K: Data, S: Data, U: Data> MapWithStateDStream<K, S, U> {
    /// Sets the state's checkpoint interval: [`DStream::checkpoint`] on the
    /// state stream behind the mapped values (calling it through the deref
    /// would set the mapped stream's instead).
    pub fn checkpoint(&self, interval: Duration) -> Result<Self, StreamingError> {
        self.internal.checkpoint(interval)?;
        Ok(self.clone())
    }

    /// The stream of mapped values (what the result derefs to).
    pub fn stream(&self) -> DStream<U> {
        self.mapped.clone()
    }

    /// The whole state, every batch: one `(key, state)` pair per key.
    ///
    /// ```
    /// use ember_dstream::{State, StateSpec, testing::run_operation};
    /// let spec = StateSpec::function(|_k: &char, v: Option<u32>, s: &mut State<u32>| {
    ///     s.update(s.get().copied().unwrap_or(0) + v.unwrap_or(0));
    /// });
    /// let out = run_operation(vec![vec![('x', 1)], vec![('y', 2)], vec![]], |s| {
    ///     s.map_with_state(spec).state_snapshots()
    /// }, 3)?;
    /// let sorted: Vec<Vec<(char, u32)>> = out.into_iter().map(|mut b| { b.sort(); b }).collect();
    /// assert_eq!(sorted, vec![
    ///     vec![('x', 1)],
    ///     vec![('x', 1), ('y', 2)],
    ///     vec![('x', 1), ('y', 2)],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn state_snapshots(&self) -> DStream<(K, S)> {
        self.internal.transform_named("state_snapshots", |rdd, _| {
            rdd.flat_map(|(k, slot)| match slot {
                Slot::State(s, _) => Some((k, s)),
                Slot::Mapped(_) => None,
            })
        })
    }
}

impl<K, S, U> Deref for MapWithStateDStream<K, S, U> {
    type Target = DStream<U>;
    fn deref(&self) -> &DStream<U> {
        &self.mapped
    }
}

impl<K, S, U> IntoStream<U> for MapWithStateDStream<K, S, U> {
    fn into_stream(self) -> Result<DStream<U>, StreamingError> {
        Ok(self.mapped)
    }
}
