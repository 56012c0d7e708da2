//! Checkpoint storage for ember: atomic, checksummed, versioned objects and
//! write-ahead log segments.
//!
//! The crate has these layers, each in its own module:
//!
//! - [`format`](mod@format): the object file format. Every checkpoint object is a fixed
//!   header (magic number, format version, pipeline fingerprint, payload
//!   length, CRC32C) followed by the payload; [`encode`] and [`decode`] work on
//!   raw bytes, [`encode_value`] and [`decode_value`] on serde values (postcard).
//! - [`CheckpointStore`]: named objects written atomically, read, listed and
//!   deleted; [`LocalCheckpointStore`] keeps them in a local directory
//!   (temp file, `fsync`, rename, directory `fsync`).
//! - [`CheckpointSeries`]: numbered checkpoints `checkpoint-<time ms>` with
//!   retention of the newest N and recovery of the newest valid one
//!   ([`CheckpointSeries::latest_valid`]).
//! - [`WriteAheadLog`]: an append-only segmented log of checksummed records,
//!   which cuts off a torn tail left by a crash when it is opened.
//! - [`DirLock`]: an exclusive lock on a checkpoint directory naming its
//!   holder, so two processes never share one.
//! - [`testing`]: [`testing::FaultyStore`], a store whose writes fail on
//!   command, for fault-injection tests.
//! - [`RddCheckpointer`]: reliable checkpoints of `ember_rdd` RDDs in a
//!   store (Spark's `rdd.checkpoint()`), which truncate the RDD's lineage;
//!   [`RddCheckpointExt`] makes it `rdd.checkpoint(&checkpointer)`.
//!
//! Every fallible operation returns [`CheckpointError`]; nothing in this crate
//! panics on damaged or hostile input.
//!
//! ```
//! use ember_checkpoint::{CheckpointSeries, LocalCheckpointStore};
//!
//! # fn main() -> Result<(), ember_checkpoint::CheckpointError> {
//! let dir = tempfile::tempdir().unwrap();
//! let series = CheckpointSeries::new(LocalCheckpointStore::open(dir.path())?);
//! let fingerprint = 0xE3BE_2024;
//! series.write_value(1000, fingerprint, &vec![("a".to_string(), 1u64)])?;
//! series.write_value(2000, fingerprint, &vec![("a".to_string(), 2u64)])?;
//!
//! let (time, state): (u64, Vec<(String, u64)>) =
//!     series.latest_valid_value(Some(fingerprint))?.expect("a checkpoint");
//! assert_eq!((time, state), (2000, vec![("a".to_string(), 2)]));
//! # Ok(())
//! # }
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod checkpoints;
mod error;
pub mod format;
mod fsync;
mod local;
mod lock;
mod rdd;
mod store;
pub mod testing;
mod wal;

pub use checkpoints::{CHECKPOINT_PREFIX, Checkpoint, CheckpointSeries, DEFAULT_RETAIN};
pub use error::{CheckpointError, DamagedCheckpoint, Result};
pub use format::{decode, decode_value, encode, encode_value, write_value_to};
pub use local::{DEFAULT_MMAP_THRESHOLD, LocalCheckpointStore};
pub use lock::{DirLock, LOCK_FILE};
pub use rdd::{RddCheckpointExt, RddCheckpointer};
pub use store::{CheckpointStore, ObjectData, ObjectWriter, WriteFn};
pub use wal::{
    DEFAULT_MAX_SEGMENT_BYTES, RecordDamage, RecordPointer, TornTail, WalIter, WalOptions,
    WalRecord, WriteAheadLog,
};
