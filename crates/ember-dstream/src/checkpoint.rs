//! Streaming checkpoints: what a checkpoint holds, the pipeline fingerprint
//! that guards recovery, the [`Checkpointable`] participants, and the
//! [`Checkpointer`] that decides after each batch which checkpoints can be
//! written (the writer thread is in `checkpoint_writer.rs`). What state
//! streams save is in `state_checkpoint.rs`.
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ember_checkpoint::{CheckpointError, CheckpointSeries, CheckpointStore, LocalCheckpointStore};
use serde::{Deserialize, Serialize};

use crate::checkpoint_writer::{
    CheckpointHeader, CheckpointWriter, Snapshot, WriteJob, WriterHooks,
};
use crate::cluster_checkpoint::ClusterParts;
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
    /// nothing to save: taken on the batch path, so it only captures what
    /// the state is (e.g. RDD handles); the writer thread runs it to get
    /// the bytes.
    fn snapshot(&self, time: Time) -> Result<Option<Snapshot>, StreamingError>;
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
    /// The batches generated after it when it was taken (not completed,
    /// or completed out of order): recovery runs them again.
    pub(crate) pending_ms: Vec<u64>,
    /// The pipeline's fingerprint.
    pub(crate) fingerprint: u64,
    /// The pipeline's description, one line per stream and output.
    pub(crate) pipeline: Vec<String>,
    /// One entry per participant: key and postcard bytes.
    pub(crate) entries: Vec<(String, Vec<u8>)>,
}

/// Why a checkpoint cannot continue in the pipeline being recovered.
pub(crate) struct Mismatch {
    /// What differs (old vs new).
    pub(crate) difference: String,
    /// Whether `discard_mismatched_state` may discard it (a different
    /// batch interval may not be).
    pub(crate) discardable: bool,
}

/// Tells whether the checkpoint at a time can continue in the pipeline
/// being recovered (`None`: it can).
pub(crate) type Compatibility<'a> = &'a dyn Fn(u64, &StreamingCheckpoint) -> Option<Mismatch>;

/// FNV-1a, stable across builds and platforms (unlike std's hasher).
/// Each line is hashed with its `\n`.
fn fnv1a(lines: &[String]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    for line in lines {
        hasher.write(line.as_bytes());
        hasher.write(b"\n");
    }
    hasher.finish()
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
    match error {
        CheckpointError::NoValidCheckpoint { .. } => StreamingError::NoValidCheckpoint {
            dir: dir.to_path_buf(),
            message: error.to_string(),
        },
        _ => StreamingError::Checkpoint {
            dir: dir.to_path_buf(),
            message: error.to_string(),
        },
    }
}

/// Opens the checkpoint series in `dir`.
pub(crate) fn open_series(
    dir: &Path,
) -> Result<CheckpointSeries<LocalCheckpointStore>, StreamingError> {
    let store = LocalCheckpointStore::open(dir).map_err(|e| checkpoint_error(dir, &e))?;
    Ok(CheckpointSeries::new(store))
}

/// Which batches completed, and the checkpoints waiting for earlier ones.
#[derive(Default)]
struct Progress {
    /// The newest batch generated.
    last_generated: u64,
    /// Checkpoints whose batch completed before an earlier batch did:
    /// written once the frontier reaches them.
    held: BTreeMap<u64, Vec<(String, Snapshot)>>,
}

/// Decides which checkpoints to write after each batch and hands them to
/// the [`CheckpointWriter`] thread.
///
/// A checkpoint time `c` (a multiple of the checkpoint interval) is
/// written only once every batch at or before `c` completed: with
/// `spark.streaming.concurrentJobs > 1`, batch `c` may complete while an
/// earlier one still runs, and a checkpoint at `c` would then make
/// recovery skip the earlier batch. Its snapshot is taken when batch `c`
/// completes (the state as of `c`) and held until the earlier batches
/// complete. Checkpoints are written in time order, off the batch path.
pub(crate) struct Checkpointer {
    dir: PathBuf,
    graph: Arc<Graph>,
    batch_ms: u64,
    zero: Time,
    interval: Duration,
    progress: Mutex<Progress>,
    writer: CheckpointWriter,
    /// Cluster mode: this process's side of the two-phase checkpoint.
    cluster: Option<Arc<ClusterParts>>,
}

impl Checkpointer {
    /// A checkpointer writing into `store` (default: a
    /// [`LocalCheckpointStore`] in `dir`); in cluster mode `dir` is this
    /// process's own directory and `cluster` its side of the commits.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        dir: &Path,
        store: Option<Arc<dyn CheckpointStore>>,
        graph: Arc<Graph>,
        batch: Duration,
        zero: Time,
        app_name: String,
        hooks: WriterHooks,
        cluster: Option<Arc<ClusterParts>>,
    ) -> Result<Self, StreamingError> {
        let store: Arc<dyn CheckpointStore> = match store {
            Some(store) => store,
            None => {
                Arc::new(LocalCheckpointStore::open(dir).map_err(|e| checkpoint_error(dir, &e))?)
            }
        };
        let interval = graph
            .checkpointables()
            .iter()
            .filter_map(|c| c.interval())
            .min()
            .unwrap_or_else(|| default_interval(batch));
        let (fingerprint, pipeline) = pipeline_fingerprint(&graph);
        tracing::info!(dir = %dir.display(), %interval, fingerprint, "checkpointing enabled");
        let header = CheckpointHeader {
            app_name,
            batch_ms: batch.milliseconds(),
            zero_ms: zero.milliseconds(),
            fingerprint,
            pipeline,
        };
        // In cluster mode parts go only once the commits allow it.
        let series = match &cluster {
            Some(_) => CheckpointSeries::new(store).with_retain(usize::MAX),
            None => CheckpointSeries::new(store),
        };
        let writer = CheckpointWriter::start(
            dir.to_path_buf(),
            series,
            Arc::clone(&graph),
            header,
            hooks,
            cluster.clone(),
        )?;
        Ok(Checkpointer {
            dir: dir.to_path_buf(),
            graph,
            batch_ms: batch.milliseconds().max(1),
            zero,
            interval,
            progress: Mutex::new(Progress::default()),
            writer,
            cluster,
        })
    }

    /// Cluster mode: this process's side of the two-phase checkpoint.
    pub(crate) fn cluster(&self) -> Option<&Arc<ClusterParts>> {
        self.cluster.as_ref()
    }

    /// Cluster mode, run by every process at once: waits until this
    /// process's queued parts are written, then commits the newest
    /// checkpoint every process holds (two rounds: process 0 commits
    /// after the first and tells the others in the second).
    pub(crate) fn commit_now(&self, rdd: &ember_rdd::RddContext) -> Result<(), StreamingError> {
        let Some(parts) = &self.cluster else {
            return Ok(());
        };
        self.writer.flush();
        let mut failure = Ok(());
        for _ in 0..2 {
            let votes = rdd.all_gather(Ok(parts.vote()))?;
            failure = failure.and(parts.decide(&votes));
        }
        failure
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The generator made the batch at `time`.
    pub(crate) fn generated(&self, time: Time) {
        let mut progress = self.progress();
        progress.last_generated = progress.last_generated.max(time.milliseconds());
    }

    /// After batch `time` completed: snapshots the participants if `time`
    /// is a checkpoint time (and `take_snapshot`: false when cleaning up
    /// after the batch failed), then queues every checkpoint at or before
    /// `frontier`, the scheduler's newest time at and below which every
    /// batch completed. The batch counts as completed even when its
    /// snapshot fails (the error is returned), so later checkpoints are
    /// not held back by it.
    pub(crate) fn after_batch(
        &self,
        time: Time,
        frontier: Time,
        take_snapshot: bool,
    ) -> Result<(), StreamingError> {
        let snapshot = if take_snapshot && (time - self.zero).is_multiple_of(self.interval) {
            Some(self.snapshot(time))
        } else {
            None
        };
        let (snapshot, failure) = match snapshot {
            Some(Ok(snapshot)) => (Some(snapshot), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        let mut progress = self.progress();
        let ms = time.milliseconds();
        if let Some(snapshot) = snapshot {
            progress.held.insert(ms, snapshot);
        }
        let frontier = frontier.milliseconds();
        // Queued under the lock, so the writer gets them in time order.
        while let Some(entry) = progress.held.first_entry() {
            if *entry.key() > frontier {
                break;
            }
            let (checkpoint_ms, snapshots) = entry.remove_entry();
            let pending_ms = ((checkpoint_ms + self.batch_ms)..=progress.last_generated)
                .step_by(usize::try_from(self.batch_ms).unwrap_or(usize::MAX))
                .collect();
            self.writer.submit(WriteJob {
                time: Time::from_millis(checkpoint_ms),
                pending_ms,
                snapshots,
                done: None,
            });
        }
        failure.map_or(Ok(()), Err)
    }

    /// Writes the checkpoints queued so far and closes the writer: nothing
    /// is written after this returns (a stop calls it before it releases
    /// the directory's lock, so a batch it left behind cannot write).
    pub(crate) fn close(&self) {
        self.writer.close();
    }

    /// Writes the checkpoint of a fresh start, at the zero time (no batch
    /// yet, every input at its start), and returns once it is durable. A
    /// crash before the first interval checkpoint then recovers from it:
    /// the write-ahead log replays every block since the start, instead of
    /// being set aside as the log of a context that left no checkpoint.
    pub(crate) fn write_initial(&self) -> Result<(), StreamingError> {
        let snapshots = self.snapshot(self.zero)?;
        let (done, answer) = crossbeam_channel::bounded(1);
        self.writer.submit(WriteJob {
            time: self.zero,
            pending_ms: Vec::new(),
            snapshots,
            done: Some(done),
        });
        answer.recv().unwrap_or_else(|_| {
            Err(StreamingError::Checkpoint {
                dir: self.dir.clone(),
                message: "the checkpoint writer thread is gone".to_owned(),
            })
        })
    }

    /// Every participant's snapshot as of the completed batch `time`.
    fn snapshot(&self, time: Time) -> Result<Vec<(String, Snapshot)>, StreamingError> {
        let mut snapshots = Vec::new();
        for participant in self.graph.checkpointables() {
            if let Some(snapshot) = participant
                .snapshot(time)
                .map_err(|e| in_dir(&self.dir, e))?
            {
                snapshots.push((participant.key(), snapshot));
            }
        }
        Ok(snapshots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_hash_is_fnv1a_of_the_lines_each_ended_by_a_newline() {
        // Written into checkpoints: it must never change between builds.
        let lines = ["a".to_owned(), "bc".to_owned()];
        assert_eq!(fnv1a(&lines), 0xb0aa_1fcc_deaa_a7d9);
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
    }
}
