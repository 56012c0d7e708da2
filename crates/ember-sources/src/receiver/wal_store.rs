//! [`WalBlockStore`]: the receiver write-ahead log
//! (`spark.streaming.receiver.writeAheadLog.enable`). Every block is
//! appended to an [`ember_checkpoint::WriteAheadLog`] in
//! `<checkpoint dir>/receivedData/<stream id>` and synced before `put`
//! returns (the acknowledgement to the receiver). When a recovered context
//! starts, the logged blocks stamped after its checkpoint (the batches that
//! will be re-run) are put back in memory, in order, and those stamped at
//! or before it are kept aside for the windows that reach back before the
//! checkpoint ([`BlockStore::logged_between`]); segments are deleted once
//! their blocks are older than the oldest durable checkpoint the directory
//! keeps (the earliest a recovery can start from) less the stream's
//! remember duration (no window needs them any more). Starting without a
//! checkpoint directory is an error, as in Spark.
//!
//! Only a recovered context replays: a context that starts without
//! recovering a checkpoint (a fresh `StreamingContext::new` on an old
//! directory, or `get_or_create_with` discarding mismatched state) must not
//! process the old blocks again, so an existing log is moved aside to
//! `receivedData/<stream id>.discarded-<unix ms>` (logged at warn with its
//! number of blocks; delete it when it is not needed) and a new, empty log
//! is started.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ember_checkpoint::WriteAheadLog;
use ember_dstream::{Duration, Time};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::WAL_KEY;
use super::block_generator::{Block, BlockStore, MemoryBlockStore};
use crate::error::SourceError;

/// One logged block, as postcard: stream id, sequence, time (ms), records.
type Logged<T> = (usize, u64, u64, Vec<T>);

/// The open log and, per segment, the newest block time it holds.
struct OpenLog {
    wal: WriteAheadLog,
    newest: BTreeMap<u64, u64>,
}

/// A block store that logs every block before acknowledging it and replays
/// unprocessed blocks on recovery. It needs a checkpoint directory: its
/// stream fails to start without one.
pub struct WalBlockStore<T> {
    memory: MemoryBlockStore<T>,
    log: Mutex<Option<OpenLog>>,
    /// The logged blocks of batches at or before the recovered checkpoint,
    /// by time: windows after a restart reach back to them.
    before_checkpoint: Mutex<BTreeMap<Time, Vec<Block<T>>>>,
}

impl<T> Default for WalBlockStore<T> {
    fn default() -> Self {
        WalBlockStore {
            memory: MemoryBlockStore::new(),
            log: Mutex::new(None),
            before_checkpoint: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<T> std::fmt::Debug for WalBlockStore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalBlockStore").finish_non_exhaustive()
    }
}

impl<T> WalBlockStore<T> {
    /// A store whose log is opened when its stream starts.
    pub fn new() -> Self {
        Self::default()
    }

    fn log(&self) -> MutexGuard<'_, Option<OpenLog>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn before_checkpoint(&self) -> MutexGuard<'_, BTreeMap<Time, Vec<Block<T>>>> {
        self.before_checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn store_error(stream_id: usize, message: String) -> SourceError {
    SourceError::BlockStore { stream_id, message }
}

impl<T: Clone + Send + Serialize + DeserializeOwned + 'static> BlockStore<T> for WalBlockStore<T> {
    fn put(&self, block: Block<T>) -> Result<(), SourceError> {
        let stream_id = block.stream_id;
        let mut log = self.log();
        let Some(open) = log.as_mut() else {
            return Err(store_error(
                stream_id,
                "the write-ahead log is not open".to_owned(),
            ));
        };
        // Logged with the time under which `take_until` will take it.
        self.memory.put_logged(block, |block| {
            let logged = (
                block.stream_id,
                block.sequence,
                block.time.milliseconds(),
                &block.records,
            );
            let bytes =
                postcard::to_stdvec(&logged).map_err(|e| store_error(stream_id, e.to_string()))?;
            let pointer = open
                .wal
                .append(&bytes)
                .and_then(|p| open.wal.sync().map(|()| p))
                .map_err(|e| store_error(stream_id, e.to_string()))?;
            let newest = open.newest.entry(pointer.segment_id).or_insert(0);
            *newest = (*newest).max(block.time.milliseconds());
            Ok(())
        })
    }

    fn take_until(&self, time: Time) -> Vec<Block<T>> {
        self.memory.take_until(time)
    }

    fn buffered_records(&self) -> u64 {
        self.memory.buffered_records()
    }

    fn buffered_size(&self, size: fn(&T) -> u64) -> u64 {
        self.memory.buffered_size(size)
    }

    fn open(&self, log_dir: Option<&Path>, recovered: Option<Time>) -> Result<(), SourceError> {
        let Some(dir) = log_dir else {
            return Err(SourceError::InvalidConf {
                key: WAL_KEY.to_owned(),
                value: "true".to_owned(),
                reason: "the receiver write-ahead log needs a checkpoint directory: \
                         call StreamingContext::checkpoint(dir) first"
                    .to_owned(),
            });
        };
        if recovered.is_none() {
            archive_old_log(dir)?;
        }
        let wal = WriteAheadLog::open(dir).map_err(|e| store_error(0, e.to_string()))?;
        let records = wal.read_all().map_err(|e| store_error(0, e.to_string()))?;
        let after = recovered.map_or(0, Time::milliseconds);
        let mut newest = BTreeMap::new();
        let mut replayed = 0;
        let mut kept = 0;
        let mut before_checkpoint = self.before_checkpoint();
        before_checkpoint.clear();
        for record in records {
            let (stream_id, sequence, time_ms, records): Logged<T> =
                postcard::from_bytes(&record.payload)
                    .map_err(|e| store_error(0, format!("{}: {e}", dir.display())))?;
            let slot = newest.entry(record.pointer.segment_id).or_insert(0);
            *slot = (*slot).max(time_ms);
            let block = Block {
                stream_id,
                sequence,
                time: Time::from_millis(time_ms),
                records,
            };
            if recovered.is_some() && time_ms <= after {
                // Its batch is in the checkpointed state, but a window
                // after the restart may reach back to it.
                kept += 1;
                before_checkpoint.entry(block.time).or_default().push(block);
                continue;
            }
            replayed += 1;
            self.memory.put(block)?;
        }
        drop(before_checkpoint);
        tracing::info!(dir = %dir.display(), replayed, kept, ?recovered, "receiver write-ahead log opened");
        *self.log() = Some(OpenLog { wal, newest });
        Ok(())
    }

    fn logged_between(&self, after: Time, until: Time) -> Vec<Block<T>> {
        self.before_checkpoint()
            .range(after + Duration::from_millis(1)..=until)
            .flat_map(|(_, blocks)| blocks.iter().cloned())
            .collect()
    }

    fn checkpointed(&self, needed_after: Time) {
        self.before_checkpoint()
            .retain(|&time, _| time > needed_after);
        let mut log = self.log();
        let Some(open) = log.as_mut() else {
            return;
        };
        if let Err(e) = open.wal.rotate() {
            tracing::warn!(error = %e, "could not rotate the receiver write-ahead log");
            return;
        }
        let active = open.wal.active_segment_id();
        // The first segment still needed: one with a block after `needed_after`.
        let keep_from = open
            .newest
            .iter()
            .find(|&(_, &newest)| newest > needed_after.milliseconds())
            .map_or(active, |(&id, _)| id);
        match open.wal.delete_segments_before(keep_from) {
            Ok(deleted) => {
                open.newest.retain(|&id, _| id >= keep_from.min(active));
                if deleted > 0 {
                    tracing::debug!(deleted, %needed_after, "receiver write-ahead log segments deleted");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not delete write-ahead log segments"),
        }
    }
}

/// Moves a log left by an earlier run aside (see the module
/// documentation); nothing to do when `dir` is absent or empty.
fn archive_old_log(dir: &Path) -> Result<(), SourceError> {
    let empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(store_error(0, format!("{}: {e}", dir.display()))),
    };
    if empty {
        return Ok(());
    }
    let blocks = WriteAheadLog::open(dir)
        .and_then(|wal| wal.read_all())
        .map(|records| records.len().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"));
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let name = dir
        .file_name()
        .map_or_else(|| "log".into(), |n| n.to_string_lossy().into_owned());
    let archive = dir.with_file_name(format!("{name}.discarded-{millis}"));
    std::fs::rename(dir, &archive).map_err(|e| {
        store_error(
            0,
            format!(
                "moving {} aside to {}: {e}",
                dir.display(),
                archive.display()
            ),
        )
    })?;
    tracing::warn!(
        dir = %dir.display(),
        archive = %archive.display(),
        blocks,
        "no checkpoint recovered: the receiver write-ahead log of an earlier run is not \
         replayed, moved aside"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(sequence: u64, time_ms: u64) -> Block<String> {
        Block {
            stream_id: 3,
            sequence,
            time: Time::from_millis(time_ms),
            records: vec![format!("r{sequence}")],
        }
    }

    #[test]
    fn replays_blocks_after_the_checkpoint_and_deletes_covered_segments() {
        let dir = tempfile::tempdir().unwrap();
        let store = WalBlockStore::new();
        store.open(Some(dir.path()), None).unwrap();
        for (i, t) in [100, 200, 300].into_iter().enumerate() {
            store.put(block(i as u64, t)).unwrap();
        }
        store.checkpointed(Time::from_millis(0)); // seals segment 0
        store.put(block(3, 1100)).unwrap();
        store.put(block(4, 1200)).unwrap();
        drop(store); // a crash: nothing taken from memory survives

        let recovered = WalBlockStore::<String>::new();
        recovered
            .open(Some(dir.path()), Some(Time::from_millis(200)))
            .unwrap();
        let blocks = recovered.take_until(Time::from_millis(5000));
        let sequences: Vec<u64> = blocks.iter().map(|b| b.sequence).collect();
        assert_eq!(sequences, vec![2, 3, 4]);
        assert_eq!(blocks[0].records, vec!["r2".to_owned()]);

        // Once a checkpoint at 1000 is durable, the first segment (blocks
        // up to 300) goes; the one holding 1100 and 1200 stays.
        recovered.checkpointed(Time::from_millis(1000));
        let fresh = WalBlockStore::<String>::new();
        fresh
            .open(Some(dir.path()), Some(Time::from_millis(0)))
            .unwrap();
        let left: Vec<u64> = fresh
            .take_until(Time::from_millis(5000))
            .iter()
            .map(|b| b.sequence)
            .collect();
        assert_eq!(left, vec![3, 4]);
    }

    #[test]
    fn blocks_before_the_checkpoint_are_served_by_batch_until_no_window_needs_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = WalBlockStore::new();
        store.open(Some(dir.path()), None).unwrap();
        for (i, t) in [50, 100, 150, 200, 300].into_iter().enumerate() {
            store.put(block(i as u64, t)).unwrap();
        }
        drop(store);

        let recovered = WalBlockStore::<String>::new();
        recovered
            .open(Some(dir.path()), Some(Time::from_millis(200)))
            .unwrap();
        let sequences = |blocks: Vec<Block<String>>| -> Vec<u64> {
            blocks.iter().map(|b| b.sequence).collect()
        };
        // Batches of 100 ms: (0, 100] and (100, 200] were processed.
        let between = |after, until| {
            sequences(recovered.logged_between(Time::from_millis(after), Time::from_millis(until)))
        };
        assert_eq!(between(0, 100), vec![0, 1]);
        assert_eq!(between(100, 200), vec![2, 3]);
        // Served again when asked again; the batch after the checkpoint is
        // not among them (it is replayed into memory).
        assert_eq!(between(100, 200), vec![2, 3]);
        assert_eq!(between(200, 300), Vec::<u64>::new());
        assert_eq!(
            sequences(recovered.take_until(Time::from_millis(300))),
            vec![4]
        );
        // No window reaches back to 100 or before any more.
        recovered.checkpointed(Time::from_millis(100));
        assert_eq!(between(0, 100), Vec::<u64>::new());
        assert_eq!(between(100, 200), vec![2, 3]);
    }

    #[test]
    fn a_block_put_after_its_batch_took_the_others_is_logged_for_the_next_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = WalBlockStore::new();
        store.open(Some(dir.path()), None).unwrap();
        store.put(block(0, 90)).unwrap();
        assert_eq!(store.take_until(Time::from_millis(100)).len(), 1);
        // Cut at 95, but put after the batch at 100 took its blocks: the
        // batch at 200 takes it, so it is logged as of 101, and a context
        // recovered from a checkpoint at 100 replays it.
        store.put(block(1, 95)).unwrap();
        drop(store);
        let recovered = WalBlockStore::<String>::new();
        recovered
            .open(Some(dir.path()), Some(Time::from_millis(100)))
            .unwrap();
        let blocks = recovered.take_until(Time::from_millis(200));
        assert_eq!(blocks.len(), 1);
        assert_eq!(
            (blocks[0].sequence, blocks[0].time),
            (1, Time::from_millis(101))
        );
    }

    #[test]
    fn a_log_opened_without_a_recovered_checkpoint_is_moved_aside_not_replayed() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("7");
        let store = WalBlockStore::new();
        store.open(Some(&dir), None).unwrap();
        store.put(block(0, 100)).unwrap();
        store.put(block(1, 200)).unwrap();
        drop(store);

        let fresh = WalBlockStore::<String>::new();
        fresh.open(Some(&dir), None).unwrap();
        assert_eq!(fresh.buffered_records(), 0);
        assert!(fresh.take_until(Time::from_millis(5000)).is_empty());
        fresh.put(block(5, 300)).unwrap();
        drop(fresh);

        let mut names: Vec<String> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(names[0], "7");
        assert!(names[1].starts_with("7.discarded-"), "{names:?}");
        // The archive holds the old blocks, the new log only the new one.
        let sequences = |dir: &Path| -> Vec<u64> {
            let store = WalBlockStore::<String>::new();
            store.open(Some(dir), Some(Time::from_millis(0))).unwrap();
            store
                .take_until(Time::from_millis(10_000))
                .iter()
                .map(|b| b.sequence)
                .collect()
        };
        assert_eq!(sequences(&parent.path().join(&names[1])), vec![0, 1]);
        assert_eq!(sequences(&dir), vec![5]);
    }

    #[test]
    fn opening_without_a_directory_is_refused() {
        let store = WalBlockStore::<String>::new();
        let err = store.open(None, None).unwrap_err();
        assert!(
            matches!(&err, SourceError::InvalidConf { key, .. } if key == WAL_KEY),
            "{err}"
        );
        assert!(
            store.put(block(0, 10)).is_err(),
            "a closed log took a block"
        );
    }
}
