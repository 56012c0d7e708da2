//! [`StreamingError`]: the one error type of the DStream engine.

use ember_rdd::JobError;

use crate::{Duration, Time};

/// Why defining, starting or running a streaming pipeline failed.
#[derive(Clone, thiserror::Error)]
pub enum StreamingError {
    /// A window is not a multiple of the parent stream's slide.
    #[error(
        "window duration {window} must be a multiple of the parent's slide duration {parent_slide}"
    )]
    WindowNotMultiple {
        /// The window asked for.
        window: Duration,
        /// The parent stream's slide.
        parent_slide: Duration,
    },
    /// A slide is not a multiple of the parent stream's slide.
    #[error(
        "slide duration {slide} must be a multiple of the parent's slide duration {parent_slide}"
    )]
    SlideNotMultiple {
        /// The slide asked for.
        slide: Duration,
        /// The parent stream's slide.
        parent_slide: Duration,
    },
    /// Two streams combined in one operation slide at different rates.
    #[error(
        "cannot combine streams with different slide durations ({left} and {right}): window one of them so both slide alike"
    )]
    SlideMismatch {
        /// The first stream's slide.
        left: Duration,
        /// The second stream's slide.
        right: Duration,
    },
    /// `StreamingContext::union` of no streams at all.
    #[error("union needs at least one stream: pass one or more streams")]
    EmptyUnion,
    /// `StreamingContext::transform` (or another operation over a list of
    /// streams) given no stream at all.
    #[error("{operation} needs at least one stream: pass one or more streams")]
    NoStreams {
        /// The operation.
        operation: &'static str,
    },
    /// More receivers than worker slots to run them and the batches
    /// (Spark only warns, then processes nothing).
    #[error(
        "{receivers} receiver(s) need {receivers} worker slot(s) plus one to process batches, but the master {master:?} has {workers}: use local[n] with n > {receivers}"
    )]
    NotEnoughWorkers {
        /// Receivers in the pipeline.
        receivers: usize,
        /// Worker threads of the master.
        workers: usize,
        /// The master string.
        master: String,
    },
    /// A zero duration where a positive one is needed.
    #[error("{what} must be positive")]
    ZeroDuration {
        /// What the duration was for.
        what: &'static str,
    },
    /// A configuration value that cannot be used.
    #[error("invalid setting {key} = {value:?}: {reason}; fix or remove the setting")]
    InvalidConf {
        /// The setting's key.
        key: String,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `start` without any output operation.
    #[error(
        "no output operations registered, so nothing to execute: add one (foreach_rdd, print, save_as_text_files, ...) before start"
    )]
    NoOutputOperations,
    /// `start` called twice, or an operation added after `start`.
    #[error(
        "the streaming context has already been started: define every stream and output before start"
    )]
    AlreadyStarted,
    /// The context was stopped; it cannot be started or extended again.
    #[error(
        "the streaming context has already been stopped: a stopped context cannot be restarted, create a new one"
    )]
    AlreadyStopped,
    /// The streaming context this stream belongs to was dropped.
    #[error(
        "the streaming context of this stream no longer exists: keep the StreamingContext alive while its streams are used"
    )]
    ContextDropped,
    /// An operation that needs a started context (the stream's zero time),
    /// such as [`DStream::slice`](crate::DStream::slice), ran before it.
    #[error(
        "cannot {operation} a stream before its context has started: call it from a transform or output operation, or after start"
    )]
    NotInitialized {
        /// The operation attempted.
        operation: &'static str,
    },
    /// A parent of an operation that needs every parent's batch (`union`,
    /// `transform`, `transform_with`, joins, cogroup) generated no RDD for
    /// the batch's time (Spark: "Couldn't generate RDD from parent"); the
    /// batch fails.
    #[error(
        "couldn't generate RDD from parent stream {parent} ({parent_operation}) at time {time} for {operation}: the parent produced no batch for that time (an input source returned None); make it return an empty RDD instead"
    )]
    MissingParentRdd {
        /// The operation that needed the batch.
        operation: &'static str,
        /// The parent stream's id.
        parent: usize,
        /// The parent's operation name.
        parent_operation: &'static str,
        /// The batch's time.
        time: Time,
    },
    /// An RDD job failed.
    #[error(transparent)]
    Job(#[from] JobError),
    /// An output operation returned an error or panicked.
    #[error(
        "output operation {output} ({name}) failed for batch {time}: {message} (later batches still run; stop the context if this failure is fatal)"
    )]
    OutputFailed {
        /// The batch's time.
        time: Time,
        /// The output operation's id (declaration order).
        output: usize,
        /// The output operation's name (`print`, `foreach_rdd`, …).
        name: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A wait gave up.
    #[error("timed out after {after:?} waiting for {what}: wait longer or check why it is slow")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        after: std::time::Duration,
    },
    /// Writing or reading a streaming checkpoint failed (the message names
    /// the files concerned).
    #[error(
        "checkpoint in {dir}: {message} (check the directory is writable and has space, or use another one)"
    )]
    Checkpoint {
        /// The checkpoint directory.
        dir: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Recovery found checkpoints in `dir` but none of them valid (the
    /// message names each one, what is wrong with it, and what to do).
    #[error("{message}")]
    NoValidCheckpoint {
        /// The checkpoint directory.
        dir: std::path::PathBuf,
        /// The store's account of every checkpoint tried.
        message: String,
    },
    /// Another context, in this or another process, holds the lock on the
    /// checkpoint directory (`<dir>/.lock`): two contexts on one directory
    /// would overwrite each other's checkpoints and logs.
    #[error(
        "checkpoint directory {dir} is in use by {holder}; stop that context or use another directory"
    )]
    CheckpointDirLocked {
        /// The checkpoint directory.
        dir: std::path::PathBuf,
        /// The holder, as its lock file names it (process id and host).
        holder: String,
    },
    /// The checkpoint in `dir` was written by a different pipeline or with
    /// a different batch interval than the one rebuilt by the create
    /// function.
    #[error(
        "the checkpoint in {dir} does not match the pipeline: {difference}; restore the old pipeline, use a new directory, or set RecoveryOptions::discard_mismatched_state"
    )]
    CheckpointMismatch {
        /// The checkpoint directory.
        dir: std::path::PathBuf,
        /// What differs (old vs new).
        difference: String,
    },
    /// A checkpoint interval that is not a positive multiple of the
    /// stream's slide.
    #[error(
        "checkpoint interval {interval} must be a positive multiple of the stream's slide duration {slide}"
    )]
    CheckpointIntervalNotMultiple {
        /// The interval asked for.
        interval: Duration,
        /// The stream's slide.
        slide: Duration,
    },
    /// A background thread could not be started.
    #[error(
        "cannot start thread {name}: {message} (the system is out of threads or memory: lower the load or raise its limits)"
    )]
    Thread {
        /// The thread's name.
        name: &'static str,
        /// What the OS said.
        message: String,
    },
    /// An input stream failed or panicked while generating a batch; the
    /// context was stopped.
    #[error(
        "input stream {name} failed for batch {time}: {message}; the context was stopped: fix the source and start a new context (with a checkpoint, it resumes after the last checkpointed batch)"
    )]
    InputFailed {
        /// The input stream's name.
        name: &'static str,
        /// The batch being generated.
        time: Time,
        /// What went wrong (the error or the panic message).
        message: String,
    },
    /// An input stream's own error: a Kafka broker that cannot be reached
    /// when the stream starts, an offset that fell out of retention.
    #[error("input stream {name}{}: {source}", stream_id.map(|id| format!(" (id {id})")).unwrap_or_default())]
    Input {
        /// The input stream's id, when known.
        stream_id: Option<usize>,
        /// The input stream's name.
        name: &'static str,
        /// The source's error.
        #[source]
        source: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A user callback outside an output operation (an input source hook,
    /// a listener, a state's serialization for a checkpoint) panicked; the
    /// context was stopped.
    #[error(
        "{callback} panicked: {message}; the context was stopped: fix the panic and start a new context (with a checkpoint, it resumes after the last checkpointed batch)"
    )]
    CallbackPanicked {
        /// The callback that panicked.
        callback: String,
        /// The panic message.
        message: String,
    },
    /// Joining the cluster the `ember.cluster.*` keys describe failed.
    #[cfg(feature = "cluster")]
    #[error("cluster mode: {0}")]
    Cluster(#[source] std::sync::Arc<ember_cluster::ClusterError>),
    /// A duration or time computation overflowed the range of
    /// milliseconds in a `u64`.
    #[error("{what} overflows (at most {} ms): use a smaller value", u64::MAX)]
    DurationOverflow {
        /// The computation that overflowed.
        what: String,
    },
}

/// The same text as `Display`: the message with its context, so that a
/// `main` returning this error (which prints it with `Debug`) shows what
/// went wrong and what to do, not the variant's raw fields.
impl std::fmt::Debug for StreamingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
