//! Listening to a running context: the [`StreamingListener`] trait and the
//! [`BatchInfo`], [`OutputOperationInfo`], [`ReceiverInfo`] and
//! [`InputErrorInfo`] it receives
//! (the bus that delivers them is in `listener_bus.rs`).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::Time;
// Kept reachable under its old path for the modules that import it here.
pub(crate) use crate::listener_bus::ListenerBus;

/// One output operation's run within a batch.
#[derive(Debug, Clone)]
pub struct OutputOperationInfo {
    /// The batch's time.
    pub batch_time: Time,
    /// The operation's id (declaration order, from 0).
    pub id: usize,
    /// The operation's name (`print`, `foreach_rdd`, …).
    pub name: &'static str,
    /// When it started.
    pub start: Option<Instant>,
    /// When it ended.
    pub end: Option<Instant>,
    /// Why it failed, if it did.
    pub failure_reason: Option<String>,
}

impl OutputOperationInfo {
    /// How long it ran.
    pub fn duration(&self) -> Option<std::time::Duration> {
        Some(self.end?.saturating_duration_since(self.start?))
    }
}

/// One batch: its time, its input size and its delays.
#[derive(Debug, Clone)]
pub struct BatchInfo {
    /// The batch's time.
    pub batch_time: Time,
    /// Records the input streams delivered for this batch.
    pub num_records: u64,
    /// The records each input stream delivered, by stream id (Spark's
    /// `streamIdToInputInfo`); streams that reported nothing are absent.
    pub stream_records: BTreeMap<usize, u64>,
    /// Errors the input streams reported while building this batch: the
    /// stream id and the message (see [`InputEnv::report_error`](crate::InputEnv::report_error)).
    pub input_errors: Vec<(usize, String)>,
    /// When its jobs were submitted to the scheduler.
    pub submission: Instant,
    /// When its first job started.
    pub processing_start: Option<Instant>,
    /// When its last job ended.
    pub processing_end: Option<Instant>,
    /// Its output operations, in declaration order.
    pub output_operations: Vec<OutputOperationInfo>,
}

impl BatchInfo {
    /// Time spent queued: processing start minus submission.
    pub fn scheduling_delay(&self) -> Option<std::time::Duration> {
        Some(
            self.processing_start?
                .saturating_duration_since(self.submission),
        )
    }

    /// Time spent running: processing end minus processing start.
    pub fn processing_delay(&self) -> Option<std::time::Duration> {
        Some(
            self.processing_end?
                .saturating_duration_since(self.processing_start?),
        )
    }

    /// Scheduling plus processing delay.
    pub fn total_delay(&self) -> Option<std::time::Duration> {
        Some(
            self.processing_end?
                .saturating_duration_since(self.submission),
        )
    }

    /// The failure of the first failed output operation, if any.
    pub fn failure_reason(&self) -> Option<&str> {
        self.output_operations
            .iter()
            .find_map(|op| op.failure_reason.as_deref())
    }
}

/// A receiver's state as reported to listeners.
#[derive(Debug, Clone)]
pub struct ReceiverInfo {
    /// The input stream's id.
    pub stream_id: usize,
    /// The receiver's name.
    pub name: String,
    /// Whether it is running.
    pub active: bool,
    /// The last error message, if any.
    pub last_error: Option<String>,
}

/// An error an input stream met (Spark has no such event; it is
/// `StreamingListenerReceiverError` for inputs without a receiver, such as
/// the Kafka direct stream or the file stream). The stream may go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrorInfo {
    /// The input stream's id.
    pub stream_id: usize,
    /// The input stream's name.
    pub name: String,
    /// The batch being generated, or `None` outside any batch (at start).
    pub batch_time: Option<Time>,
    /// What went wrong.
    pub message: String,
}

/// Receives a context's events. Every method has an empty default, so an
/// implementation overrides only what it needs. Events are delivered in
/// order on one `ember-listener-bus` thread, asynchronously (as Spark's
/// `LiveListenerBus`): a slow listener delays only later events, never
/// batches; when more than `spark.scheduler.listenerbus.eventqueue.capacity`
/// events wait, new ones are dropped and counted
/// ([`ListenerBus::dropped_events`](crate::ListenerBus::dropped_events)).
/// A panicking callback stops the context with
/// [`StreamingError::CallbackPanicked`](crate::StreamingError::CallbackPanicked).
/// A callback may call [`StreamingContext::stop`](crate::StreamingContext::stop):
/// the stop then completes in the background.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use ember_dstream::{BatchInfo, StreamingListener};
/// #[derive(Default)]
/// struct Records(AtomicU64);
/// impl StreamingListener for Records {
///     fn on_batch_completed(&self, batch: &BatchInfo) {
///         self.0.fetch_add(batch.num_records, Ordering::Relaxed);
///     }
/// }
/// ```
pub trait StreamingListener: Send + Sync {
    /// The context started; `time` is the first batch's time.
    fn on_streaming_started(&self, _time: Time) {}
    /// A batch's jobs were generated and queued.
    fn on_batch_submitted(&self, _batch: &BatchInfo) {}
    /// A batch's first job started.
    fn on_batch_started(&self, _batch: &BatchInfo) {}
    /// A batch's jobs all ended (some may have failed: see `failure_reason`).
    fn on_batch_completed(&self, _batch: &BatchInfo) {}
    /// An output operation started.
    fn on_output_operation_started(&self, _op: &OutputOperationInfo) {}
    /// An output operation ended.
    fn on_output_operation_completed(&self, _op: &OutputOperationInfo) {}
    /// A receiver started.
    fn on_receiver_started(&self, _receiver: &ReceiverInfo) {}
    /// A receiver reported an error.
    fn on_receiver_error(&self, _receiver: &ReceiverInfo) {}
    /// A receiver stopped.
    fn on_receiver_stopped(&self, _receiver: &ReceiverInfo) {}
    /// An input stream met an error (see [`InputErrorInfo`]).
    fn on_input_error(&self, _error: &InputErrorInfo) {}
}
