//! [`CheckpointSeries`]: numbered checkpoints `checkpoint-<time ms>` in a
//! store, with retention of the newest N and recovery of the newest valid
//! one.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CheckpointError, DamagedCheckpoint, Result};
use crate::format::{self, HEADER_LEN};
use crate::store::{CheckpointStore, ObjectData};

/// How many checkpoints a series keeps by default.
pub const DEFAULT_RETAIN: usize = 10;

/// The prefix of checkpoint object names: `checkpoint-<time ms>`.
pub const CHECKPOINT_PREFIX: &str = "checkpoint-";

/// A series of checkpoints, one per checkpoint time, in a [`CheckpointStore`].
///
/// Each checkpoint is an object named `checkpoint-<time ms>` in the
/// [format](mod@crate::format) of this crate. After each write the series keeps the newest
/// [`retain`](Self::retain) checkpoints (default [`DEFAULT_RETAIN`]) and
/// deletes older ones — only once the new one is durable, so a crash never
/// leaves fewer valid checkpoints than before.
///
/// Recovery ([`latest_valid`](Self::latest_valid)) takes the newest
/// checkpoint that decodes and falls back to older ones when newer ones are
/// damaged.
pub struct CheckpointSeries<S> {
    /// Where the checkpoints are.
    store: S,
    /// How many checkpoints to keep.
    retain: usize,
}

impl<S: CheckpointStore> CheckpointSeries<S> {
    /// A series in `store`, keeping the newest [`DEFAULT_RETAIN`] checkpoints.
    pub fn new(store: S) -> Self {
        CheckpointSeries {
            store,
            retain: DEFAULT_RETAIN,
        }
    }

    /// Keeps the newest `count` checkpoints (at least one).
    pub fn with_retain(mut self, count: usize) -> Self {
        self.retain = count.max(1);
        self
    }

    /// How many checkpoints are kept.
    pub fn retain(&self) -> usize {
        self.retain
    }

    /// The store holding the checkpoints.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The object name of the checkpoint at `time_ms`: `checkpoint-<time_ms>`.
    pub fn name_for(time_ms: u64) -> String {
        format!("{CHECKPOINT_PREFIX}{time_ms}")
    }

    /// The time of a checkpoint object name, or `None` for other names.
    pub fn time_of(name: &str) -> Option<u64> {
        let digits = name.strip_prefix(CHECKPOINT_PREFIX)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// The times of the checkpoints in the store, oldest first.
    pub fn times(&self) -> Result<Vec<u64>> {
        Ok(self
            .checkpoints()?
            .into_iter()
            .map(|(time, _)| time)
            .collect())
    }

    /// Writes the checkpoint at `time_ms` of the pipeline `fingerprint`
    /// durably, then deletes checkpoints beyond the newest
    /// [`retain`](Self::retain).
    ///
    /// Retention counts by time and never deletes the checkpoint just
    /// written (if it is older than the newest N, N + 1 remain until the next
    /// write). A failure to delete an old checkpoint is logged, not returned:
    /// the new checkpoint is already durable.
    pub fn write(&self, time_ms: u64, fingerprint: u64, payload: &[u8]) -> Result<()> {
        self.write_object(time_ms, &format::encode(fingerprint, payload))
    }

    /// Like [`write`](Self::write), with `value` serialized by postcard
    /// straight into the store ([`CheckpointStore::write_with`] and
    /// [`format::write_value_to`]): the object is never held in memory
    /// by a store that streams.
    pub fn write_value<T: Serialize + ?Sized>(
        &self,
        time_ms: u64,
        fingerprint: u64,
        value: &T,
    ) -> Result<()> {
        let name = Self::name_for(time_ms);
        self.store.write_with(&name, &mut |out| {
            format::write_value_to(out, fingerprint, value)
        })?;
        self.apply_retention(&name);
        Ok(())
    }

    /// Like [`write_value`](Self::write_value), with the payload written
    /// by `fill` straight into the store
    /// ([`format::write_payload_to`]), e.g. part by part.
    pub fn write_payload_with(
        &self,
        time_ms: u64,
        fingerprint: u64,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
    ) -> Result<()> {
        let name = Self::name_for(time_ms);
        self.store.write_with(&name, &mut |out| {
            format::write_payload_to(out, fingerprint, &mut *fill)
        })?;
        self.apply_retention(&name);
        Ok(())
    }

    /// Reads and checks the checkpoint at `time_ms`.
    ///
    /// A checkpoint that exists but does not decode fails with
    /// [`CheckpointError::Damaged`] naming its path.
    pub fn read(&self, time_ms: u64, expected_fingerprint: Option<u64>) -> Result<Checkpoint> {
        self.load(time_ms, Self::name_for(time_ms), expected_fingerprint)
            .map_err(|(path, error)| match error {
                CheckpointError::NotFound { .. } => error,
                _ => CheckpointError::Damaged {
                    path,
                    source: Box::new(error),
                },
            })
    }

    /// The newest checkpoint that decodes (and, if given, has the expected
    /// fingerprint); `Ok(None)` when there are no checkpoints at all.
    ///
    /// Each newer checkpoint skipped as damaged is logged with
    /// `tracing::warn!`. When checkpoints exist but none is valid, the error
    /// [`CheckpointError::NoValidCheckpoint`] names every one and what was
    /// wrong with it.
    pub fn latest_valid(&self, expected_fingerprint: Option<u64>) -> Result<Option<Checkpoint>> {
        self.latest_matching(expected_fingerprint, Ok)
    }

    /// The newest checkpoint whose payload also deserializes as a `T`, with
    /// its time; otherwise like [`latest_valid`](Self::latest_valid).
    pub fn latest_valid_value<T: DeserializeOwned>(
        &self,
        expected_fingerprint: Option<u64>,
    ) -> Result<Option<(u64, T)>> {
        self.latest_matching(expected_fingerprint, |checkpoint| {
            let value = checkpoint.value()?;
            Ok((checkpoint.time_ms, value))
        })
    }

    /// The newest checkpoint that decodes and that `accept` turns into a `T`.
    fn latest_matching<T>(
        &self,
        expected_fingerprint: Option<u64>,
        accept: impl Fn(Checkpoint) -> Result<T>,
    ) -> Result<Option<T>> {
        let checkpoints = self.checkpoints()?;
        if checkpoints.is_empty() {
            return Ok(None);
        }
        let mut damaged = Vec::new();
        for (time_ms, name) in checkpoints.into_iter().rev() {
            let loaded = self
                .load(time_ms, name.clone(), expected_fingerprint)
                .and_then(|checkpoint| {
                    accept(checkpoint).map_err(|e| (self.store.location(&name), e))
                });
            match loaded {
                Ok(found) => return Ok(Some(found)),
                Err((path, error)) => {
                    tracing::warn!(
                        checkpoint = %path.display(),
                        error = %error,
                        "skipping damaged checkpoint, trying an older one"
                    );
                    damaged.push(DamagedCheckpoint { name, path, error });
                }
            }
        }
        Err(CheckpointError::NoValidCheckpoint {
            location: self.store.location(""),
            damaged,
        })
    }

    /// Reads and decodes one checkpoint; on failure, its path and the error.
    fn load(
        &self,
        time_ms: u64,
        name: String,
        expected_fingerprint: Option<u64>,
    ) -> std::result::Result<Checkpoint, (std::path::PathBuf, CheckpointError)> {
        let fail = |e| (self.store.location(&name), e);
        let data = self.store.read(&name).map_err(fail)?;
        let (header, _) = format::decode_parts(&data, expected_fingerprint).map_err(fail)?;
        Ok(Checkpoint {
            time_ms,
            name,
            fingerprint: header.fingerprint,
            data,
        })
    }

    /// Writes an encoded checkpoint object, then applies retention.
    fn write_object(&self, time_ms: u64, object: &[u8]) -> Result<()> {
        let name = Self::name_for(time_ms);
        self.store.write(&name, object)?;
        self.apply_retention(&name);
        Ok(())
    }

    /// After `name` was written durably: deletes the checkpoints beyond the
    /// newest [`retain`](Self::retain) (never `name`). Failures are logged:
    /// the new checkpoint is already durable.
    fn apply_retention(&self, name: &str) {
        let checkpoints = match self.checkpoints() {
            Ok(checkpoints) => checkpoints,
            Err(error) => {
                tracing::warn!(error = %error, "could not list checkpoints for retention");
                return;
            }
        };
        let excess = checkpoints.len().saturating_sub(self.retain);
        for (_, old) in checkpoints.into_iter().take(excess) {
            if old == name {
                continue; // never delete what was just written
            }
            if let Err(error) = self.store.delete(&old) {
                tracing::warn!(
                    checkpoint = %self.store.location(&old).display(),
                    error = %error,
                    "could not delete an old checkpoint"
                );
            }
        }
    }

    /// The checkpoints in the store as (time, name), oldest first.
    fn checkpoints(&self) -> Result<Vec<(u64, String)>> {
        let mut checkpoints: Vec<(u64, String)> = self
            .store
            .list()?
            .into_iter()
            .filter_map(|name| Some((Self::time_of(&name)?, name)))
            .collect();
        checkpoints.sort();
        Ok(checkpoints)
    }
}

impl<S> fmt::Debug for CheckpointSeries<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSeries")
            .field("retain", &self.retain)
            .finish_non_exhaustive()
    }
}

/// One valid checkpoint read from a [`CheckpointSeries`].
#[derive(Debug)]
pub struct Checkpoint {
    /// The checkpoint time in milliseconds.
    time_ms: u64,
    /// The object name.
    name: String,
    /// The pipeline fingerprint in its header.
    fingerprint: u64,
    /// The whole object, already checked.
    data: ObjectData,
}

impl Checkpoint {
    /// The checkpoint time in milliseconds.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The object name, `checkpoint-<time ms>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pipeline fingerprint it was written with.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The payload (checked when the checkpoint was read).
    pub fn payload(&self) -> &[u8] {
        self.data.get(HEADER_LEN..).unwrap_or_default()
    }

    /// The payload deserialized with postcard.
    pub fn value<T: DeserializeOwned>(&self) -> Result<T> {
        format::from_payload(self.payload())
    }
}
