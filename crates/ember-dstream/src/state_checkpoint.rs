//! What state streams put into the context's checkpoints: the
//! [`StateData`] bound of their keys, values and states, one participant
//! per state stream (registered when the stream is defined, so every state
//! stream is checkpointed once a checkpoint directory is set), and
//! [`DStream::checkpoint`], the per-stream checkpoint interval.
//!
//! A participant saves, at a checkpoint time `c`, the stream's RDD at its
//! last time `c' <= c` (a stream sliding slower than the checkpoints has no
//! RDD at `c` itself) and, for an incremental window, also every reduced
//! batch in `(c' - window, c]`: those the windows after `c'` still add or
//! subtract. Recovery puts them back at their times, so the batches re-run
//! after the checkpoint compute exactly what they computed before.

use std::sync::{Arc, Weak};

use ember_rdd::{Data, Rdd};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpointable, default_interval};
use crate::checkpoint_entry::{Entry, Parts, RddPart, value_part};
use crate::checkpoint_writer::Snapshot;
use crate::dstream::{StreamCore, StreamInfo};
use crate::{DStream, Duration, StreamResult, StreamingContext, StreamingError, Time};

/// What state operations keep and checkpoint: keys, states and (for
/// [`reduce_by_key_and_window_inv`](DStream::reduce_by_key_and_window_inv))
/// values must be [`Data`] that serde can write and read back, because
/// with a checkpoint directory every state stream goes into the
/// checkpoints. Implemented for every such type; derive
/// `serde::Serialize` and `serde::Deserialize` for your own.
///
/// Borrowed types such as `&'static str` cannot be read back: use `String`.
///
/// ```
/// fn assert_state_data<T: ember_dstream::StateData>() {}
/// assert_state_data::<(String, u64)>();
/// assert_state_data::<Vec<(u32, f64)>>();
/// ```
pub trait StateData: Data + Serialize + DeserializeOwned {}

impl<T: Data + Serialize + DeserializeOwned> StateData for T {}

/// A [`StreamingError::Checkpoint`] about stream `id` (the checkpointer
/// fills in the directory).
fn entry_error(id: usize, doing: &str, error: impl std::fmt::Display) -> StreamingError {
    StreamingError::Checkpoint {
        dir: std::path::PathBuf::new(),
        message: format!("{doing} the state of stream {id}: {error}"),
    }
}

/// postcard's tags of `None` and `Some`, the first byte of an `Option`.
const OPTION_NONE: u8 = 0;
const OPTION_SOME: u8 = 1;

fn decode<P: DeserializeOwned>(id: usize, bytes: &[u8]) -> Result<P, StreamingError> {
    ember_checkpoint::format::from_payload(bytes).map_err(|e| entry_error(id, "deserializing", e))
}

/// One saved RDD: the batch time it belongs to and its elements (written
/// by [`RddPart`], read back as this).
#[derive(Deserialize)]
struct SavedRdd<P> {
    time_ms: u64,
    elements: Vec<P>,
}

/// The interval a state stream asks checkpoints for: its own, or the
/// default (the smallest multiple of its slide that is at least 10 s).
fn state_interval<T: Data>(core: &StreamCore<T>) -> Duration {
    core.checkpoint_interval()
        .unwrap_or_else(|| default_interval(StreamInfo::slide(core)))
}

/// A state stream's RDD for its last time at or before `time` (computed
/// now when no output asked for it yet, e.g. one reading it through a
/// slower window), or `None` when it has no time yet.
fn last_rdd<T: Data>(
    core: &Arc<StreamCore<T>>,
    id: usize,
    time: Time,
) -> Result<Option<(Time, Rdd<T>)>, StreamingError> {
    let Some(last) = core.last_time_until(time) else {
        return Ok(None);
    };
    let stream = DStream {
        core: Arc::clone(core),
    };
    match stream.get_or_compute(last)? {
        Some(rdd) => Ok(Some((last, rdd))),
        None => Err(entry_error(
            id,
            "saving",
            format!("it has no RDD for {last}"),
        )),
    }
}

/// In cluster mode, `rdd` with its lineage cut where it lives: jobs run
/// only on the executor thread (this one), not on the checkpoint writer,
/// and each process saves only the partitions it owns. A state RDD after
/// its batch already is so; a reduced batch a window has not read yet is
/// computed now. In local mode, `rdd` itself.
fn in_place<T: Data>(rdd: Rdd<T>) -> Result<Rdd<T>, StreamingError> {
    if rdd.context().exchange().is_none() || rdd.dependencies().is_empty() {
        return Ok(rdd);
    }
    rdd.local_checkpoint()?;
    Ok(rdd)
}

/// Puts saved elements back as the RDD a stream generated at their time
/// (in cluster mode: this process's part, held here; the next shuffle
/// sends every key to the process owning its partition).
fn restore_rdd<T: Data>(core: &StreamCore<T>, partitions: usize, time: Time, elements: Vec<T>) {
    let ctx = &core.env.rdd;
    let rdd = match ctx.exchange() {
        Some(_) => {
            let slices = ctx.default_parallelism_per_process();
            ctx.from_process_partitions(vec![elements], slices)
        }
        None => ctx.parallelize(elements, partitions),
    };
    rdd.cache();
    core.insert_generated(time, rdd);
}

/// A state stream (`update_state_by_key`, `map_with_state`): its whole
/// state, saved as `P` (`save` keeps the state part of an element, `load`
/// turns it back).
struct StateParticipant<T, P> {
    stream: Weak<StreamCore<T>>,
    id: usize,
    partitions: usize,
    save: fn(T) -> Option<P>,
    load: fn(P) -> T,
}

impl<T: Data, P: StateData> Checkpointable for StateParticipant<T, P> {
    fn stream_id(&self) -> usize {
        self.id
    }
    fn snapshot(&self, time: Time) -> Result<Option<Snapshot>, StreamingError> {
        let Some(core) = self.stream.upgrade() else {
            return Ok(None);
        };
        // The RDD (its lineage cut after its batch) is all that is kept
        // here; the writer thread streams it into the file as an
        // `Option<SavedRdd<P>>`, element by element.
        let parts = match last_rdd(&core, self.id, time)? {
            Some((last, rdd)) => vec![
                value_part(&OPTION_SOME)?,
                Box::new(RddPart::new(last.milliseconds(), in_place(rdd)?, self.save))
                    as Box<dyn Entry>,
            ],
            None => vec![value_part(&OPTION_NONE)?],
        };
        Ok(Some(Box::new(Parts(parts))))
    }
    fn restore(&self, time: Time, bytes: &[u8]) -> Result<(), StreamingError> {
        let Some(core) = self.stream.upgrade() else {
            return Ok(());
        };
        let Some(saved) = decode::<Option<SavedRdd<P>>>(self.id, bytes)? else {
            return Ok(());
        };
        let at = Time::from_millis(saved.time_ms);
        tracing::info!(stream = self.id, checkpoint = %time, state_time = %at,
            entries = saved.elements.len(), "state restored from checkpoint");
        let elements = saved.elements.into_iter().map(self.load).collect();
        restore_rdd(&core, self.partitions, at, elements);
        Ok(())
    }
    fn interval(&self) -> Option<Duration> {
        self.stream.upgrade().map(|core| state_interval(&core))
    }
}

/// Makes `stream` (a state stream just defined) a participant of the
/// context's checkpoints.
pub(crate) fn register_state<T: Data, P: StateData>(
    stream: &DStream<T>,
    partitions: usize,
    save: fn(T) -> Option<P>,
    load: fn(P) -> T,
) {
    register(
        stream,
        Arc::new(StateParticipant {
            stream: Arc::downgrade(&stream.core),
            id: stream.id(),
            partitions,
            save,
            load,
        }),
    );
}

fn register<T: Data>(stream: &DStream<T>, participant: Arc<dyn Checkpointable>) {
    match stream.context_inner() {
        Ok(inner) => inner.graph.add_checkpointable(participant),
        Err(e) => {
            tracing::warn!(stream = stream.id(), error = %e, "state stream not registered for checkpoints")
        }
    }
}

/// The saved part of an incremental window: its last window and the
/// reduced batches the next windows still read.
#[derive(Deserialize)]
struct SavedWindow<K, V> {
    window: Option<SavedRdd<(K, V)>>,
    reduced: Vec<SavedRdd<(K, V)>>,
}

/// `reduce_by_key_and_window_inv`: the window stream and the per-batch
/// reductions it subtracts when they leave the window.
struct WindowParticipant<K, V> {
    windowed: Weak<StreamCore<(K, V)>>,
    reduced: Weak<StreamCore<(K, V)>>,
    id: usize,
    window: Duration,
    partitions: usize,
}

impl<K: StateData, V: StateData> Checkpointable for WindowParticipant<K, V> {
    fn stream_id(&self) -> usize {
        self.id
    }
    fn snapshot(&self, time: Time) -> Result<Option<Snapshot>, StreamingError> {
        let (Some(core), Some(reduced_core)) = (self.windowed.upgrade(), self.reduced.upgrade())
        else {
            return Ok(None);
        };
        let last = last_rdd(&core, self.id, time)?;
        // The windows after `last` read the reduced batches of
        // (last - window, ...]; before the first window, all of them.
        let from = match &last {
            Some((last, _)) => *last - self.window,
            None => Time::from_millis(0),
        };
        // Batches after the last window are not reduced yet: computing
        // them reads the input batches, which are still in memory. Only
        // the RDDs are taken here; the writer thread collects them.
        let mut reduced = Vec::new();
        let slide = StreamInfo::slide(&*reduced_core);
        let reduced_stream = DStream {
            core: Arc::clone(&reduced_core),
        };
        let mut at = reduced_core.last_time_until(time);
        while let Some(t) = at.filter(|t| *t > from) {
            if let Some(rdd) = reduced_stream.get_or_compute(t)? {
                reduced.push((t, rdd));
            }
            at = reduced_core.last_time_until(t - slide);
        }
        reduced.reverse();
        // Streamed by the writer thread as a `SavedWindow<K, V>`.
        let mut parts = match last {
            Some((last, rdd)) => vec![
                value_part(&OPTION_SOME)?,
                Box::new(RddPart::new(last.milliseconds(), in_place(rdd)?, Some)) as Box<dyn Entry>,
            ],
            None => vec![value_part(&OPTION_NONE)?],
        };
        parts.push(value_part(&reduced.len())?);
        for (t, rdd) in reduced {
            parts.push(Box::new(RddPart::new(
                t.milliseconds(),
                in_place(rdd)?,
                Some,
            )));
        }
        Ok(Some(Box::new(Parts(parts))))
    }
    fn restore(&self, time: Time, bytes: &[u8]) -> Result<(), StreamingError> {
        let (Some(core), Some(reduced_core)) = (self.windowed.upgrade(), self.reduced.upgrade())
        else {
            return Ok(());
        };
        let saved: SavedWindow<K, V> = decode(self.id, bytes)?;
        tracing::info!(stream = self.id, checkpoint = %time,
            window_time = ?saved.window.as_ref().map(|w| w.time_ms),
            reduced_batches = saved.reduced.len(), "window restored from checkpoint");
        if let Some(window) = saved.window {
            restore_rdd(
                &core,
                self.partitions,
                Time::from_millis(window.time_ms),
                window.elements,
            );
        }
        for batch in saved.reduced {
            restore_rdd(
                &reduced_core,
                self.partitions,
                Time::from_millis(batch.time_ms),
                batch.elements,
            );
        }
        Ok(())
    }
    fn interval(&self) -> Option<Duration> {
        self.windowed.upgrade().map(|core| state_interval(&core))
    }
}

/// Makes an incremental window (`windowed`, reading the per-batch
/// reductions `reduced`) a participant of the context's checkpoints.
pub(crate) fn register_window<K: StateData, V: StateData>(
    windowed: &DStream<(K, V)>,
    reduced: &DStream<(K, V)>,
    window: Duration,
    partitions: usize,
) {
    register(
        windowed,
        Arc::new(WindowParticipant {
            windowed: Arc::downgrade(&windowed.core),
            reduced: Arc::downgrade(&reduced.core),
            id: windowed.id(),
            window,
            partitions,
        }),
    );
}

impl<T: Data> DStream<T> {
    /// Sets the stream's checkpoint interval (Spark's `DStream.checkpoint`);
    /// it must be a positive multiple of the stream's slide, otherwise the
    /// error names both durations. Call it before the context starts.
    ///
    /// - On a state stream (`update_state_by_key`, `map_with_state`,
    ///   `reduce_by_key_and_window_inv` and the windowed counts built on
    ///   it): how often its state goes into the context's checkpoints
    ///   (default: the smallest multiple of its slide that is at least
    ///   10 s). The context writes one checkpoint at every multiple of the
    ///   smallest interval among its state streams; each checkpoint holds
    ///   every state stream, so a shorter interval means fewer batches to
    ///   re-run after a crash and more time spent writing.
    /// - On any other stream: its RDD at each multiple of the interval is
    ///   cached and, once its batch completed, has its lineage cut (its
    ///   partitions are kept in memory, not written to the checkpoint
    ///   directory). Later batches reading it — through a window, say —
    ///   then never recompute its ancestors.
    ///
    /// ```
    /// use ember_dstream::{Duration, StreamingError, testing::run_operation};
    /// let out = run_operation(vec![vec![("a".to_string(), 1u64)], vec![]], |s| {
    ///     s.update_state_by_key(|new: &[u64], old: Option<u64>| {
    ///         Some(old.unwrap_or(0) + new.iter().sum::<u64>())
    ///     })
    ///     .checkpoint(Duration::from_secs(2))
    /// }, 2)?;
    /// assert_eq!(out[1], vec![("a".to_string(), 1)]);
    /// let err = run_operation(vec![vec![1]], |s| s.checkpoint(Duration::from_millis(1500)), 1)
    ///     .unwrap_err();
    /// assert!(matches!(err, StreamingError::CheckpointIntervalNotMultiple { .. }));
    /// # Ok::<(), StreamingError>(())
    /// ```
    pub fn checkpoint(&self, interval: Duration) -> StreamResult<T> {
        let slide = self.slide_duration();
        if interval.is_zero() || !interval.is_multiple_of(slide) {
            return Err(StreamingError::CheckpointIntervalNotMultiple { interval, slide });
        }
        let inner = self.context_inner()?;
        StreamingContext::check_initialized(&inner)?;
        self.core.set_checkpoint_interval(interval);
        Ok(self.clone())
    }
}
