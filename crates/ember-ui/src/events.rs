//! The plain event structs a streaming engine feeds into a
//! [`StatusStore`](crate::StatusStore), one per Spark listener event.
//!
//! Instants are wall-clock milliseconds since the Unix epoch (`u64`), as in
//! Spark's `BatchInfo`; spans are [`std::time::Duration`]. Stream ids are
//! Spark's `Int` input stream ids.

use std::time::Duration;

/// The records one input stream contributed to a batch (Spark's
/// `StreamInputInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecords {
    /// The input stream's id.
    pub stream_id: i32,
    /// The number of records of this input in the batch.
    pub records: u64,
}

/// An output operation known when a batch is submitted (not started yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOperationDescription {
    /// The output operation's id within the batch (Spark's `outputOpId`).
    pub id: u32,
    /// Its short name, e.g. `foreach_rdd`.
    pub name: String,
    /// Its description, e.g. the call site.
    pub description: String,
}

/// `onStreamingStarted`: the context started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingStarted {
    /// When the context started.
    pub time_ms: u64,
}

/// `onBatchSubmitted`: a batch was generated and queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSubmitted {
    /// The batch time (Spark's `batchTime`, also its `batchId`).
    pub batch_time_ms: u64,
    /// When the batch's jobs were submitted.
    pub submission_time_ms: u64,
    /// The records each input contributed.
    pub inputs: Vec<InputRecords>,
    /// The batch's output operations (may be empty; started ones are added).
    pub output_operations: Vec<OutputOperationDescription>,
}

/// `onBatchStarted`: the batch's first job started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchStarted {
    /// The batch time.
    pub batch_time_ms: u64,
    /// When processing started.
    pub processing_start_time_ms: u64,
}

/// `onBatchCompleted`: every output operation of the batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchCompleted {
    /// The batch time.
    pub batch_time_ms: u64,
    /// When processing ended.
    pub processing_end_time_ms: u64,
}

/// `onOutputOperationStarted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOperationStarted {
    /// The batch time.
    pub batch_time_ms: u64,
    /// The output operation's id and names.
    pub operation: OutputOperationDescription,
    /// When it started.
    pub start_time_ms: u64,
}

/// `onOutputOperationCompleted`: the operation ended, successfully or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOperationCompleted {
    /// The batch time.
    pub batch_time_ms: u64,
    /// The output operation's id within the batch.
    pub id: u32,
    /// When it ended.
    pub end_time_ms: u64,
    /// Why it failed, if it did.
    pub failure_reason: Option<String>,
}

/// `onReceiverStarted`. A start of a stream id already started before counts
/// as a restart (Spark's supervisor reports a restart as stop + start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverStarted {
    /// The receiver's input stream id.
    pub stream_id: i32,
    /// The receiver's name.
    pub name: String,
    /// Where it runs (Spark's `executorId`), e.g. `driver`.
    pub executor_id: String,
    /// The host it runs on.
    pub executor_host: String,
    /// When it started.
    pub time_ms: u64,
}

/// `onReceiverError`: the receiver reported an error (it may go on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverError {
    /// The receiver's input stream id.
    pub stream_id: i32,
    /// The short message (Spark's `lastErrorMessage`).
    pub message: String,
    /// The full error text, e.g. its source chain (Spark's `lastError`).
    pub error: String,
    /// When it happened.
    pub time_ms: u64,
}

/// `onReceiverStopped`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverStopped {
    /// The receiver's input stream id.
    pub stream_id: i32,
    /// When it stopped.
    pub time_ms: u64,
}

/// How much an input has accepted but not yet handed to a batch (ember).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputBufferUpdated {
    /// The input stream id.
    pub stream_id: i32,
    /// Records buffered now.
    pub records: u64,
    /// Bytes buffered now.
    pub bytes: u64,
}

/// A checkpoint was written (ember).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointWritten {
    /// The batch time the checkpoint is for.
    pub checkpoint_time_ms: u64,
    /// The size written.
    pub size_bytes: u64,
    /// How long the write took.
    pub write_duration: Duration,
}

/// A checkpoint write failed (ember).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFailed {
    /// The batch time the checkpoint was for.
    pub checkpoint_time_ms: u64,
    /// Why it failed.
    pub message: String,
}

/// The context was recovered from a checkpoint (ember).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecovered {
    /// The batch time of the checkpoint recovered from.
    pub checkpoint_time_ms: u64,
    /// The checkpoint directory.
    pub dir: String,
}
