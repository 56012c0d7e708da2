//! Streaming checkpoints: what a checkpoint holds, the pipeline fingerprint
//! that guards recovery, the [`Checkpointable`] participants, and the
//! [`Checkpointer`] that writes one after each batch at the checkpoint
//! interval. What state streams save is in `state_checkpoint.rs`.
//!
//! One checkpoint is one object `checkpoint-<batch time ms>` of a
//! [`CheckpointSeries`] in the checkpoint directory, written atomically
//! (temp file, fsync, rename) with a CRC. It holds, together: the batch
//! interval, the zero time, the last completed batch time, the batches
//! generated but not completed then, the pipeline's fingerprint and
//! description, and one entry per participant — the state of each state
//! stream (every state stream takes part once a checkpoint directory is
//! set) and each input's position (e.g. a file stream's selected files). Because everything is in one
//! object, a restart continues exactly where the last durable checkpoint
//! left off: batches after it are generated again (catch-up batches) from
//! replayable inputs, none is applied twice to the restored state and none
//! is skipped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ember_checkpoint::{CheckpointError, CheckpointSeries, LocalCheckpointStore};
use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::{Duration, StreamingError, Time};

/// The version of [`StreamingCheckpoint`]'s layout (2: state entries carry
/// their RDD's time; incremental windows save their reduced batches).
pub(crate) const CHECKPOINT_LAYOUT: u32 = 2;

/// The default checkpoint interval's lower bound (Spark: 10 s).
const MIN_DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// The smallest multiple of `slide` that is at least 10 s.
pub(crate) fn default_interval(slide: Duration) -> Duration {
    let slide_ms = slide.milliseconds().max(1);
    slide
        * MIN_DEFAULT_INTERVAL
            .milliseconds()
            .div_ceil(slide_ms)
            .max(1)
}

/// Something whose state goes into every checkpoint: a state stream or an
/// input source.
pub(crate) trait Checkpointable: Send + Sync {
    /// The id of the stream it belongs to.
    fn stream_id(&self) -> usize;
    /// The entry's key in the checkpoint (`stream-<id>`).
    fn key(&self) -> String {
        format!("stream-{}", self.stream_id())
    }
    /// Its state as of the completed batch `time`, or `None` when it has
    /// nothing to save.
    fn snapshot(&self, time: Time) -> Result<Option<Vec<u8>>, StreamingError>;
    /// Puts back the state saved at `time` (before the context starts).
    fn restore(&self, time: Time, bytes: &[u8]) -> Result<(), StreamingError>;
    /// The checkpoint interval it asks for, if any (state streams do).
    fn interval(&self) -> Option<Duration> {
        None
    }
}

/// The content of one streaming checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StreamingCheckpoint {
    /// [`CHECKPOINT_LAYOUT`] when written.
    pub(crate) layout: u32,
    /// The application's name (informational).
    pub(crate) app_name: String,
    /// The batch interval in ms.
    pub(crate) batch_ms: u64,
    /// The zero time (the time before the first batch) in ms.
    pub(crate) zero_ms: u64,
    /// The last completed batch's time in ms (the checkpoint's time).
    pub(crate) time_ms: u64,
    /// Batches generated but not completed when it was written.
    pub(crate) pending_ms: Vec<u64>,
    /// The pipeline's fingerprint.
    pub(crate) fingerprint: u64,
    /// The pipeline's description, one line per stream and output.
    pub(crate) pipeline: Vec<String>,
    /// One entry per participant: key and postcard bytes.
    pub(crate) entries: Vec<(String, Vec<u8>)>,
}

/// FNV-1a, stable across builds and platforms (unlike std's hasher).
fn fnv1a(lines: &[String]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for line in lines {
        for byte in line.bytes().chain(std::iter::once(b'\n')) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The pipeline's description (streams by id with operation, slide and
/// parents; then outputs in declaration order) and its fingerprint.
pub(crate) fn pipeline_fingerprint(graph: &Graph) -> (u64, Vec<String>) {
    let mut streams = graph.streams();
    streams.sort_by_key(|s| s.id());
    let mut lines: Vec<String> = streams
        .iter()
        .map(|s| {
            let parents: Vec<String> = s.parents().iter().map(|p| p.id().to_string()).collect();
            let details = s.details().map(|d| format!(" {d}")).unwrap_or_default();
            format!(
                "stream {}: {}{details} slide {} parents [{}]",
                s.id(),
                s.name(),
                s.slide(),
                parents.join(",")
            )
        })
        .collect();
    lines.extend(graph.output_descriptions());
    (fnv1a(&lines), lines)
}

/// What differs between two pipeline descriptions, for the error message.
pub(crate) fn describe_difference(old: &[String], new: &[String]) -> String {
    for (i, (o, n)) in old.iter().zip(new).enumerate() {
        if o != n {
            return format!("line {i}: checkpoint has `{o}`, the rebuilt pipeline has `{n}`");
        }
    }
    match old.len().cmp(&new.len()) {
        std::cmp::Ordering::Greater => format!(
            "the checkpoint has more streams/outputs: `{}` is missing from the rebuilt pipeline",
            old[new.len()]
        ),
        std::cmp::Ordering::Less => format!(
            "the rebuilt pipeline has more streams/outputs: `{}` is not in the checkpoint",
            new[old.len()]
        ),
        std::cmp::Ordering::Equal => "the fingerprints differ".to_owned(),
    }
}

/// Names `dir` in a checkpoint error raised without it (by a participant).
pub(crate) fn in_dir(dir: &Path, error: StreamingError) -> StreamingError {
    match error {
        StreamingError::Checkpoint {
            dir: empty,
            message,
        } if empty.as_os_str().is_empty() => StreamingError::Checkpoint {
            dir: dir.to_path_buf(),
            message,
        },
        other => other,
    }
}

/// Maps a checkpoint-crate error to a streaming error naming the directory.
pub(crate) fn checkpoint_error(dir: &Path, error: &CheckpointError) -> StreamingError {
    StreamingError::Checkpoint {
        dir: dir.to_path_buf(),
        message: error.to_string(),
    }
}

/// Opens the checkpoint series in `dir`.
pub(crate) fn open_series(
    dir: &Path,
) -> Result<CheckpointSeries<LocalCheckpointStore>, StreamingError> {
    let store = LocalCheckpointStore::open(dir).map_err(|e| checkpoint_error(dir, &e))?;
    Ok(CheckpointSeries::new(store))
}

/// Writes a checkpoint after each batch at the checkpoint interval.
pub(crate) struct Checkpointer {
    dir: PathBuf,
    series: CheckpointSeries<LocalCheckpointStore>,
    graph: Arc<Graph>,
    batch: Duration,
    zero: Time,
    interval: Duration,
    fingerprint: u64,
    pipeline: Vec<String>,
    app_name: String,
    last_generated: AtomicU64,
}

impl Checkpointer {
    pub(crate) fn new(
        dir: &Path,
        graph: Arc<Graph>,
        batch: Duration,
        zero: Time,
        app_name: String,
    ) -> Result<Self, StreamingError> {
        let series = open_series(dir)?;
        let interval = graph
            .checkpointables()
            .iter()
            .filter_map(|c| c.interval())
            .min()
            .unwrap_or_else(|| default_interval(batch));
        let (fingerprint, pipeline) = pipeline_fingerprint(&graph);
        tracing::info!(dir = %dir.display(), %interval, fingerprint, "checkpointing enabled");
        Ok(Checkpointer {
            dir: dir.to_path_buf(),
            series,
            graph,
            batch,
            zero,
            interval,
            fingerprint,
            pipeline,
            app_name,
            last_generated: AtomicU64::new(0),
        })
    }

    /// The generator made the batch at `time`.
    pub(crate) fn generated(&self, time: Time) {
        self.last_generated
            .fetch_max(time.milliseconds(), Ordering::SeqCst);
    }

    /// After batch `time` completed: writes a checkpoint if `time` is a
    /// checkpoint time.
    pub(crate) fn after_batch(&self, time: Time) -> Result<(), StreamingError> {
        if !(time - self.zero).is_multiple_of(self.interval) {
            return Ok(());
        }
        let mut entries = Vec::new();
        for participant in self.graph.checkpointables() {
            if let Some(bytes) = participant
                .snapshot(time)
                .map_err(|e| in_dir(&self.dir, e))?
            {
                entries.push((participant.key(), bytes));
            }
        }
        let last = self.last_generated.load(Ordering::SeqCst);
        let batch_ms = self.batch.milliseconds().max(1);
        let pending_ms = ((time.milliseconds() + batch_ms)..=last)
            .step_by(batch_ms as usize)
            .collect();
        let checkpoint = StreamingCheckpoint {
            layout: CHECKPOINT_LAYOUT,
            app_name: self.app_name.clone(),
            batch_ms: self.batch.milliseconds(),
            zero_ms: self.zero.milliseconds(),
            time_ms: time.milliseconds(),
            pending_ms,
            fingerprint: self.fingerprint,
            pipeline: self.pipeline.clone(),
            entries,
        };
        self.series
            .write_value(time.milliseconds(), self.fingerprint, &checkpoint)
            .map_err(|e| checkpoint_error(&self.dir, &e))?;
        tracing::debug!(%time, dir = %self.dir.display(), "checkpoint written");
        let oldest_kept = self
            .series
            .times()
            .map_err(|e| checkpoint_error(&self.dir, &e))?
            .into_iter()
            .min()
            .map_or(time, Time::from_millis);
        for input in self.graph.input_lifecycles() {
            input.checkpoint_durable(oldest_kept);
        }
        Ok(())
    }
}
