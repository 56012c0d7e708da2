//! Checkpoints in cluster mode: two-phase, over a checkpoint directory all
//! processes share (as Spark's is on HDFS).
//!
//! Layout of the directory `<dir>`:
//! - `<dir>/process-<p>/`: process `p`'s own checkpoint directory, laid out
//!   as in local mode: its *part* of every checkpoint (`checkpoint-<T>`:
//!   the partitions of each state stream it owns, its inputs' positions),
//!   its write-ahead logs and its lock;
//! - `<dir>/commits/checkpoint-<T>`: the *commit record* of checkpoint `T`
//!   ([`CommitRecord`]), written by process 0 only once every process's
//!   part of `T` is durable.
//!
//! A checkpoint is valid only with its commit record. The processes learn
//! which parts are durable in the round they hold after every batch
//! ([`ClusterParts::vote`], [`ClusterParts::decide`]); process 0 then
//! writes the commit of the newest time every process holds. Recovery
//! ([`recover`]) has every process propose the committed times whose part
//! it can read, and all continue from the newest time all of them can: a
//! part written after the last commit is never used, so no process ever
//! restores a state another process did not reach too.
//!
//! Each process keeps its parts back to the oldest of the last
//! [`RETAINED_COMMITS`] confirmed commits (so a damaged newest commit or
//! part falls back to an older one), and its inputs keep their logs back
//! to its oldest part kept.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use ember_checkpoint::{CheckpointSeries, CheckpointStore, LocalCheckpointStore};
use ember_rdd::RddContext;
use serde::{Deserialize, Serialize};

use crate::StreamingError;
use crate::checkpoint::{Compatibility, StreamingCheckpoint, checkpoint_error};

/// How many confirmed commits each process keeps its parts for.
pub(crate) const RETAINED_COMMITS: usize = 3;

/// The commit records' subdirectory.
const COMMITS: &str = "commits";

/// Process `process`'s own checkpoint directory in the shared `dir`.
pub(crate) fn process_dir(dir: &Path, process: usize) -> PathBuf {
    dir.join(format!("process-{process}"))
}

/// The directory this process's checkpoints, logs and lock go to: `dir`
/// itself in local mode, `<dir>/process-<p>` in cluster mode.
pub(crate) fn own_dir(dir: &Path, rdd: &RddContext) -> PathBuf {
    match rdd.exchange() {
        Some(_) => process_dir(dir, rdd.process()),
        None => dir.to_path_buf(),
    }
}

/// The commit record of one cluster checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CommitRecord {
    /// The checkpoint's batch time.
    pub(crate) time_ms: u64,
    /// How many processes wrote parts.
    pub(crate) processes: usize,
    /// The pipeline's fingerprint.
    pub(crate) fingerprint: u64,
}

/// The commit records in `<dir>/commits`.
fn commit_series(dir: &Path) -> Result<CheckpointSeries<LocalCheckpointStore>, StreamingError> {
    let commits = dir.join(COMMITS);
    let store = LocalCheckpointStore::open(&commits).map_err(|e| checkpoint_error(dir, &e))?;
    Ok(CheckpointSeries::new(store))
}

/// Whether `dir` holds a cluster checkpoint (a local-mode context must not
/// start afresh on it).
pub(crate) fn holds_cluster_checkpoint(dir: &Path) -> bool {
    dir.join(COMMITS).is_dir()
}

/// Deletes the checkpoints of `series` that `delete` selects.
fn delete_where(
    dir: &Path,
    series: &CheckpointSeries<LocalCheckpointStore>,
    delete: impl Fn(u64) -> bool,
) -> Result<(), StreamingError> {
    for time in series.times().map_err(|e| checkpoint_error(dir, &e))? {
        if delete(time) {
            let name = CheckpointSeries::<LocalCheckpointStore>::name_for(time);
            series
                .store()
                .delete(&name)
                .map_err(|e| checkpoint_error(dir, &e))?;
        }
    }
    Ok(())
}

/// What one process found in the directory at recovery.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Proposal {
    /// The committed times whose part this process can read, newest first.
    usable: Vec<u64>,
    /// How many commit records there are.
    commits: usize,
    /// Why the checkpoint cannot be used by this pipeline (a different
    /// pipeline, process count or batch interval), if so.
    mismatch: Option<String>,
    /// Whether the mismatch may be discarded (not for a batch interval).
    discardable: bool,
    /// What was wrong with commits or parts it could not use.
    problems: Vec<String>,
    /// Why it could not read the directory at all.
    error: Option<String>,
}

/// What the pipeline being recovered is.
pub(crate) struct Expected<'a> {
    /// The pipeline's fingerprint.
    pub(crate) fingerprint: u64,
    /// Whether a part can continue in this pipeline.
    pub(crate) check: Compatibility<'a>,
}

/// Cluster mode's recovery, run by every process at once (it holds rounds
/// with the others): the newest checkpoint every process has a readable
/// part of, and this process's part; `None` to start afresh (`start` then
/// deletes every part and, on process 0, every commit). With `discard`, a
/// checkpoint of another pipeline is discarded so instead of refused.
pub(crate) fn recover(
    dir: &Path,
    rdd: &RddContext,
    expected: &Expected<'_>,
    discard: bool,
) -> Result<Option<(u64, StreamingCheckpoint)>, StreamingError> {
    let own = process_dir(dir, rdd.process());
    let series = CheckpointSeries::new(
        LocalCheckpointStore::open(&own).map_err(|e| checkpoint_error(&own, &e))?,
    );
    if let Err(e) = series.store().remove_stale_temp_files() {
        tracing::warn!(dir = %own.display(), error = %e, "could not remove stale temporary files");
    }
    let (proposal, failure) = match propose(dir, rdd, &series, expected) {
        Ok(proposal) => (proposal, None),
        Err(e) => (
            Proposal {
                error: Some(e.to_string()),
                ..Proposal::default()
            },
            Some(e),
        ),
    };
    let all = rdd.all_gather(Ok(proposal))?;
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some((p, error)) = all
        .iter()
        .enumerate()
        .find_map(|(p, proposal)| proposal.error.as_ref().map(|e| (p, e)))
    {
        return Err(StreamingError::Checkpoint {
            dir: dir.to_path_buf(),
            message: format!("process {p} could not read the checkpoint directory: {error}"),
        });
    }
    let commits = all.first().map_or(0, |p| p.commits);
    if let Some(p) = all.iter().position(|p| p.mismatch.is_some()) {
        let difference = format!(
            "process {p}: {}",
            all[p].mismatch.clone().unwrap_or_default()
        );
        if !discard || !all.iter().all(|p| p.discardable || p.mismatch.is_none()) {
            return Err(StreamingError::CheckpointMismatch {
                dir: dir.to_path_buf(),
                difference,
            });
        }
        // `start` deletes them (see `start_afresh`).
        tracing::warn!(dir = %dir.display(), %difference, "discarding the old checkpoints and their state");
        return Ok(None);
    }
    if commits == 0 {
        tracing::info!(dir = %dir.display(), "no committed cluster checkpoint: starting a new context");
        return Ok(None);
    }
    let newest_common = all[0]
        .usable
        .iter()
        .copied()
        .find(|t| all.iter().all(|p| p.usable.contains(t)));
    let Some(time) = newest_common else {
        let problems: Vec<String> = all
            .iter()
            .enumerate()
            .flat_map(|(p, proposal)| {
                proposal
                    .problems
                    .iter()
                    .map(move |problem| format!("process {p}: {problem}"))
            })
            .collect();
        return Err(StreamingError::NoValidCheckpoint {
            dir: dir.to_path_buf(),
            message: format!(
                "{commits} committed cluster checkpoint(s), none readable by every process: {}. Restore the damaged parts from a backup, or move the directory aside to start afresh (the state is then lost)",
                problems.join("; ")
            ),
        });
    };
    let checkpoint = series
        .read(time, Some(expected.fingerprint))
        .and_then(|c| c.value::<StreamingCheckpoint>())
        .map_err(|e| checkpoint_error(&own, &e))?;
    // Parts written after `time` were never committed (or not by every
    // process): the batches after `time` run again and write them anew.
    delete_where(&own, &series, |t| t > time)?;
    if rdd.process() == 0 {
        delete_where(dir, &commit_series(dir)?, |t| t > time)?;
    }
    tracing::info!(dir = %dir.display(), time_ms = time, process = rdd.process(),
        "recovering from the cluster checkpoint");
    Ok(Some((time, checkpoint)))
}

/// This process's proposal.
fn propose(
    dir: &Path,
    rdd: &RddContext,
    series: &CheckpointSeries<LocalCheckpointStore>,
    expected: &Expected<'_>,
) -> Result<Proposal, StreamingError> {
    let commits = commit_series(dir)?;
    let times = commits.times().map_err(|e| checkpoint_error(dir, &e))?;
    let mut proposal = Proposal {
        commits: times.len(),
        ..Proposal::default()
    };
    let local = CheckpointSeries::new(
        LocalCheckpointStore::open(dir).map_err(|e| checkpoint_error(dir, &e))?,
    );
    if !local
        .times()
        .map_err(|e| checkpoint_error(dir, &e))?
        .is_empty()
    {
        proposal.mismatch = Some(
            "the directory holds a local-mode checkpoint (checkpoint-* files at its top); a cluster cannot continue it".to_owned(),
        );
        return Ok(proposal);
    }
    for time in times.into_iter().rev() {
        let record = commits
            .read(time, None)
            .and_then(|c| c.value::<CommitRecord>());
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                proposal.problems.push(format!("commit {time}: {e}"));
                continue;
            }
        };
        if record.processes != rdd.processes() {
            proposal.mismatch = Some(format!(
                "checkpoint {time} was written by a cluster of {} processes, this one has {} (run it with {0} processes)",
                record.processes,
                rdd.processes()
            ));
            proposal.discardable = true;
            return Ok(proposal);
        }
        let part = series
            .read(time, None)
            .and_then(|c| c.value::<StreamingCheckpoint>());
        match part {
            Ok(part) => {
                if let Some(mismatch) = (expected.check)(time, &part) {
                    proposal.mismatch = Some(mismatch.difference);
                    proposal.discardable = mismatch.discardable;
                    return Ok(proposal);
                }
                proposal.usable.push(time);
            }
            Err(e) => proposal.problems.push(format!("part of {time}: {e}")),
        }
    }
    Ok(proposal)
}

/// Cluster mode, run by every process at once: deletes this process's
/// parts and, on process 0, every commit (a new run, or state discarded).
pub(crate) fn start_afresh(dir: &Path, rdd: &RddContext) -> Result<(), StreamingError> {
    let own = process_dir(dir, rdd.process());
    let series = CheckpointSeries::new(
        LocalCheckpointStore::open(&own).map_err(|e| checkpoint_error(&own, &e))?,
    );
    delete_where(&own, &series, |_| true)?;
    if rdd.process() == 0 {
        delete_where(dir, &commit_series(dir)?, |_| true)?;
    }
    // Nobody writes a part of the new run before everyone deleted.
    rdd.all_gather(Ok(()))?;
    Ok(())
}

/// One process's account in the round after a batch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PartsVote {
    /// Its parts written durably in this run and not yet committed.
    durable: Vec<u64>,
    /// Process 0: the newest commit it wrote.
    committed: Option<u64>,
}

/// What the executor and the checkpoint writer of one process share.
#[derive(Default)]
struct PartsState {
    durable: BTreeSet<u64>,
    /// The newest confirmed commits, oldest first.
    confirmed: VecDeque<u64>,
    /// The newest commit written (only process 0 writes commits).
    written: Option<u64>,
}

/// One process's side of the two-phase checkpoint.
pub(crate) struct ClusterParts {
    dir: PathBuf,
    process: usize,
    processes: usize,
    fingerprint: u64,
    state: Mutex<PartsState>,
}

impl ClusterParts {
    /// This process's side, with `committed` the checkpoint it started
    /// from (confirmed).
    pub(crate) fn new(
        dir: &Path,
        rdd: &RddContext,
        fingerprint: u64,
        committed: Option<u64>,
    ) -> Self {
        let mut state = PartsState::default();
        if let Some(time) = committed {
            state.confirmed.push_back(time);
            if rdd.process() == 0 {
                state.written = Some(time);
            }
        }
        ClusterParts {
            dir: dir.to_path_buf(),
            process: rdd.process(),
            processes: rdd.processes(),
            fingerprint,
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> MutexGuard<'_, PartsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer made this process's part of `time` durable.
    pub(crate) fn part_written(&self, time: u64) {
        self.state().durable.insert(time);
    }

    /// Parts older than this may be deleted: the oldest confirmed commit
    /// kept (`None`: none confirmed yet, keep everything).
    pub(crate) fn retention_floor(&self) -> Option<u64> {
        self.state().confirmed.front().copied()
    }

    /// This process's vote for the round after a batch.
    pub(crate) fn vote(&self) -> PartsVote {
        let state = self.state();
        PartsVote {
            durable: state.durable.iter().copied().collect(),
            committed: state.written,
        }
    }

    /// After the round: confirms process 0's newest commit and, on process
    /// 0, commits the newest time every process has a durable part of.
    pub(crate) fn decide(&self, votes: &[PartsVote]) -> Result<(), StreamingError> {
        let mut state = self.state();
        if let Some(committed) = votes.first().and_then(|v| v.committed)
            && state.confirmed.back().is_none_or(|&c| c < committed)
        {
            state.confirmed.push_back(committed);
            while state.confirmed.len() > RETAINED_COMMITS {
                state.confirmed.pop_front();
            }
            state.durable.retain(|&t| t > committed);
        }
        if self.process != 0 {
            return Ok(());
        }
        let common = votes.first().and_then(|first| {
            first
                .durable
                .iter()
                .rev()
                .copied()
                .find(|t| votes.iter().all(|v| v.durable.contains(t)))
        });
        let Some(time) = common.filter(|&t| state.written.is_none_or(|w| t > w)) else {
            return Ok(());
        };
        let record = CommitRecord {
            time_ms: time,
            processes: self.processes,
            fingerprint: self.fingerprint,
        };
        commit_series(&self.dir)?
            .write_value(time, self.fingerprint, &record)
            .map_err(|e| checkpoint_error(&self.dir, &e))?;
        tracing::debug!(time_ms = time, "cluster checkpoint committed");
        state.written = Some(time);
        Ok(())
    }
}
