//! [`StreamingError`]: the one error type of the DStream engine.

use ember_rdd::JobError;

use crate::{Duration, Time};

/// Why defining, starting or running a streaming pipeline failed.
#[derive(Debug, Clone, thiserror::Error)]
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
    #[error("cannot combine streams with different slide durations ({left} and {right})")]
    SlideMismatch {
        /// The first stream's slide.
        left: Duration,
        /// The second stream's slide.
        right: Duration,
    },
    /// `StreamingContext::union` of no streams at all.
    #[error("union needs at least one stream")]
    EmptyUnion,
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
    #[error("invalid setting {key} = {value:?}: {reason}")]
    InvalidConf {
        /// The setting's key.
        key: String,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `start` without any output operation.
    #[error("no output operations registered, so nothing to execute")]
    NoOutputOperations,
    /// `start` called twice, or an operation added after `start`.
    #[error("the streaming context has already been started")]
    AlreadyStarted,
    /// The context was stopped; it cannot be started or extended again.
    #[error("the streaming context has already been stopped")]
    AlreadyStopped,
    /// The streaming context this stream belongs to was dropped.
    #[error("the streaming context of this stream no longer exists")]
    ContextDropped,
    /// An RDD job failed.
    #[error(transparent)]
    Job(#[from] JobError),
    /// An output operation returned an error or panicked.
    #[error("output operation {output} ({name}) failed for batch {time}: {message}")]
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
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        after: std::time::Duration,
    },
    /// Writing or reading a streaming checkpoint failed (the message names
    /// the files concerned).
    #[error("checkpoint in {dir}: {message}")]
    Checkpoint {
        /// The checkpoint directory.
        dir: std::path::PathBuf,
        /// What went wrong.
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
    #[error("the checkpoint in {dir} does not match the pipeline: {difference}")]
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
    #[error("cannot start thread {name}: {message}")]
    Thread {
        /// The thread's name.
        name: &'static str,
        /// What the OS said.
        message: String,
    },
}
