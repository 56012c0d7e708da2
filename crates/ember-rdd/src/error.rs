//! The one error type of the RDD core: why a job (or the definition of an
//! input) failed.

use std::path::PathBuf;
use std::sync::Arc;

/// Why a job, or the definition of an RDD over outside data, failed.
///
/// Errors are cheap to clone so that a streaming engine can hand the same
/// failure to several listeners.
#[derive(Clone, thiserror::Error)]
pub enum JobError {
    /// A task panicked on every attempt (`spark.task.maxFailures`).
    #[error(
        "task for partition {partition} of stage {stage} failed {attempts} times; last failure: {message}"
    )]
    TaskFailed {
        /// The stage the task belonged to.
        stage: usize,
        /// The partition the task computed.
        partition: usize,
        /// How many attempts were made.
        attempts: u32,
        /// The panic message of the last attempt.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A text input holds bytes that are not UTF-8.
    #[error("invalid UTF-8 in {path} at byte offset {offset}")]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// Offset of the first invalid byte from the start of the file.
        offset: u64,
    },
    /// `save_as_text_file` was asked to write into a directory that exists.
    #[error("output directory {path} already exists")]
    OutputExists {
        /// The directory.
        path: PathBuf,
    },
    /// A master URL other than `local`, `local[n]` or `local[*]`.
    #[error("invalid master {master:?}: expected \"local\", \"local[n]\" (n >= 1) or \"local[*]\"")]
    InvalidMaster {
        /// The rejected master string.
        master: String,
    },
    /// Storage outside the RDD core (a reliable checkpoint, for example)
    /// could not read or write an RDD's data. `source` is that storage's own
    /// typed error: downcast it to inspect it, e.g.
    /// `source.downcast_ref::<ember_checkpoint::CheckpointError>()`.
    #[error("storage error for RDD {rdd}{}: {source}", partition_suffix(*.partition))]
    Storage {
        /// The RDD whose data was read or written.
        rdd: usize,
        /// The partition concerned; `None` for data of the RDD as a whole
        /// (such as a checkpoint's manifest).
        partition: Option<usize>,
        /// The storage layer's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A partitioner placed a key outside `0..partitions` (a custom
    /// [`Partitioner`](crate::Partitioner) with a bug); the shuffle stops
    /// instead of losing or misplacing the record.
    #[error(
        "partitioner {partitioner} placed a key in partition {index}, but it has {partitions} partitions"
    )]
    PartitionOutOfRange {
        /// The partitioner's [`name`](crate::Partitioner::name).
        partitioner: String,
        /// The partition index it returned.
        index: usize,
        /// Its number of partitions.
        partitions: usize,
    },
    /// The worker thread pool could not be started.
    #[error("cannot start the worker thread pool: {message}")]
    ThreadPool {
        /// What rayon reported.
        message: String,
    },
    /// `zip` of two RDDs with different numbers of partitions (Spark:
    /// "Can't zip RDDs with unequal numbers of partitions").
    #[error("cannot zip RDDs with unequal numbers of partitions: {left} and {right}")]
    ZipPartitions {
        /// Partitions of the RDD `zip` was called on.
        left: usize,
        /// Partitions of the other RDD.
        right: usize,
    },
    /// `zip` of two RDDs whose partition `partition` holds different
    /// numbers of elements (Spark: "Can only zip RDDs with same number of
    /// elements in each partition").
    #[error(
        "cannot zip RDDs with unequal numbers of elements in partition {partition}: {left} and {right}"
    )]
    ZipElements {
        /// The partition whose sizes differ.
        partition: usize,
        /// Its elements in the RDD `zip` was called on.
        left: usize,
        /// Its elements in the other RDD.
        right: usize,
    },
    /// `sample` or `take_sample` with a fraction that is negative, not a
    /// number, or (without replacement) above 1.
    #[error(
        "invalid sampling fraction {fraction}: it must be >= 0{}",
        if *.with_replacement { "" } else { " and <= 1 without replacement" }
    )]
    InvalidFraction {
        /// The rejected fraction.
        fraction: f64,
        /// Whether sampling was with replacement.
        with_replacement: bool,
    },
    /// `tree_reduce` or `tree_aggregate` with a depth below 1.
    #[error("invalid tree depth {depth}: it must be at least 1")]
    InvalidDepth {
        /// The rejected depth.
        depth: usize,
    },
    /// A user function that an action runs on the caller's thread (to
    /// merge the partitions' results) panicked.
    #[error("the function of {operation} panicked while merging partition results: {message}")]
    CallbackPanicked {
        /// The action (`max_by_key`, `tree_aggregate`, …).
        operation: &'static str,
        /// The panic message.
        message: String,
    },
    /// An integer `sum` that does not fit its type.
    #[error("{operation} overflowed its integer type")]
    NumericOverflow {
        /// The operation (`sum`).
        operation: &'static str,
    },
    /// Cluster mode: the exchange between the processes failed (a process
    /// is gone); the whole cluster stops.
    #[error("cluster exchange failed: {0}")]
    Exchange(#[from] crate::ExchangeError),
    /// Cluster mode: the job failed on another process; every process
    /// fails it with that process's error.
    #[error("the job failed on process {process}: {message}")]
    RemoteFailed {
        /// The process where it failed.
        process: usize,
        /// Its error, as that process displayed it.
        message: String,
    },
    /// Cluster mode: a task needs a partition (of a shuffle's output, or
    /// of data a process holds, such as a receiver's blocks) that lives on
    /// another process. Operations that read other partitions
    /// than their own without a shuffle (`coalesce`, `cartesian`, a `zip`
    /// of differently placed RDDs) cannot run across processes: use
    /// `repartition`, or run them in local mode.
    #[error(
        "partition {partition} lives on process {owner}, not on process {process}: \
         reading partitions of other processes without a shuffle is not supported in cluster mode (use repartition)"
    )]
    NotLocal {
        /// The reduce partition read.
        partition: usize,
        /// The process that has it.
        owner: usize,
        /// The process that asked for it.
        process: usize,
    },
    /// Cluster mode: a job started on another thread than the one bound
    /// to run jobs (see
    /// [`RddContext::bind_jobs_to_current_thread`](crate::RddContext::bind_jobs_to_current_thread)),
    /// e.g. an action inside a `transform` closure, which runs when the
    /// batch is generated: run actions in `foreach_rdd` instead.
    #[error(
        "cluster mode runs jobs on the job executor thread only, and thread `{thread}` started one \
         (an action inside `transform`? run actions in `foreach_rdd`)"
    )]
    JobOffThread {
        /// The name of the thread that started the job.
        thread: String,
    },
    /// Cluster mode: records could not be encoded for, or decoded from,
    /// another process.
    #[error("could not {action} records exchanged between processes: {message}")]
    Codec {
        /// `encode` or `decode`.
        action: &'static str,
        /// The serializer's error.
        message: String,
    },
}

impl JobError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        JobError::Io {
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// Wraps a storage layer's error about partition `partition` (or, with
    /// `None`, the whole) of the RDD `rdd`; see [`JobError::Storage`].
    pub fn storage(
        rdd: usize,
        partition: Option<usize>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        JobError::Storage {
            rdd,
            partition,
            source: Arc::new(source),
        }
    }
}

/// `" partition 3"`, or nothing for the RDD as a whole.
fn partition_suffix(partition: Option<usize>) -> String {
    partition.map_or_else(String::new, |p| format!(" partition {p}"))
}

/// The same text as `Display`: the message with its context, so that a
/// `main` returning this error (which prints it with `Debug`) shows what
/// went wrong and what to do, not the variant's raw fields.
impl std::fmt::Debug for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
