//! [`CheckpointError`], the one error type of this crate, and the pieces it
//! carries.
//!
//! Each variant says what went wrong and carries what a user needs to act on
//! it: the path, the offset, the expected and the found value.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::format::MAGIC;
use crate::wal::{RecordDamage, RecordPointer};

/// The result type of this crate.
pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;

/// Everything that can go wrong while writing, reading or recovering
/// checkpoints and write-ahead logs.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// An operating-system I/O call failed.
    #[error("I/O error while {action} {path}: {source}")]
    Io {
        /// What was being done, e.g. `"renaming into place"`.
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A named object does not exist in the store.
    #[error("checkpoint object not found: {path}")]
    NotFound {
        /// Where the object was looked for.
        path: PathBuf,
    },

    /// An object name that a store cannot use (empty, with a path separator,
    /// or starting with `.`, which is reserved for temporary files).
    #[error("invalid checkpoint object name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The object is shorter than its header, or than the payload its header
    /// declares.
    #[error("checkpoint object truncated: {found} bytes, expected at least {needed}")]
    Truncated {
        /// How many bytes a complete object needs.
        needed: u64,
        /// How many bytes there are.
        found: u64,
    },

    /// The object does not start with [`MAGIC`]: it is not an ember
    /// checkpoint, or its first bytes are damaged.
    #[error(
        "not an ember checkpoint object: its magic number is \"{}\" where ember's is \"{}\" \
         (a file another program left in the checkpoint directory, or a damaged one: \
         move it out of the directory)",
        Ascii(found),
        Ascii(&MAGIC)
    )]
    WrongMagic {
        /// The first eight bytes found.
        found: [u8; 8],
    },

    /// The object was written in a format version this build cannot read
    /// (typically by a newer ember).
    #[error(
        "unsupported checkpoint format version {found}: this build reads version {supported} \
         (written by a newer ember?)"
    )]
    UnsupportedVersion {
        /// The version in the object's header.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },

    /// The object belongs to a different pipeline (its fingerprint differs).
    #[error(
        "checkpoint belongs to another pipeline: fingerprint {found:#018x}, expected {expected:#018x}"
    )]
    FingerprintMismatch {
        /// The fingerprint the caller expected.
        expected: u64,
        /// The fingerprint in the object's header.
        found: u64,
    },

    /// The object is longer than its header says (trailing bytes).
    #[error(
        "checkpoint length mismatch: header declares a {declared}-byte payload, found {actual} bytes"
    )]
    LengthMismatch {
        /// The payload length in the header.
        declared: u64,
        /// The number of bytes after the header.
        actual: u64,
    },

    /// The CRC32C stored in the header does not match the object's contents.
    #[error(
        "checkpoint checksum mismatch: stored CRC32C {stored:#010x}, computed {computed:#010x}"
    )]
    ChecksumMismatch {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the bytes read.
        computed: u32,
    },

    /// A value could not be serialized into a payload.
    #[error("cannot serialize checkpoint payload: {source}")]
    Serialize {
        /// The postcard error.
        #[source]
        source: postcard::Error,
    },

    /// A payload could not be deserialized into the requested type.
    #[error("cannot deserialize checkpoint payload: {source}")]
    Deserialize {
        /// The postcard error.
        #[source]
        source: postcard::Error,
    },

    /// A payload held a complete value followed by unused bytes.
    #[error("checkpoint payload has {unused} unused bytes after the value")]
    TrailingBytes {
        /// How many bytes were left over.
        unused: usize,
    },

    /// A specific checkpoint object could not be used.
    #[error("damaged checkpoint {path}: {source}")]
    Damaged {
        /// Where the object lives.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<CheckpointError>,
    },

    /// Another context (in this or another process) holds the checkpoint
    /// directory's lock.
    #[error(
        "checkpoint directory {dir} is in use by {holder}: two contexts may not share one \
         (stop the other, or use another directory)"
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// Who holds it, as its lock file says (process id and host).
        holder: String,
    },

    /// An RDD checkpoint's manifest declares a partition count that the
    /// partition objects present do not match (a damaged or foreign
    /// manifest, or partitions deleted behind the checkpointer's back).
    #[error(
        "RDD checkpoint manifest {path} declares {declared} partitions, but the store holds \
         {found} partition objects of that checkpoint{}",
        match missing { Some(p) => format!(" (partition {p} is missing)"), None => String::new() }
    )]
    ManifestMismatch {
        /// The manifest object.
        path: PathBuf,
        /// The partition count the manifest declares.
        declared: usize,
        /// How many partition objects of the checkpoint the store holds.
        found: usize,
        /// The first partition below `declared` without an object, if any.
        missing: Option<usize>,
    },

    /// Checkpoints exist but none of them is valid.
    #[error(
        "no valid checkpoint in {location}: {}; nothing can be recovered from it: \
         restore the directory from a backup, or move it aside (or use another \
         directory) to start afresh without the old state",
        DamagedList(damaged)
    )]
    NoValidCheckpoint {
        /// The store's location (e.g. the checkpoint directory).
        location: PathBuf,
        /// Every checkpoint tried, newest first, with what was wrong with it.
        damaged: Vec<DamagedCheckpoint>,
    },

    /// A record of a write-ahead log segment is damaged (not at the torn
    /// tail of the last segment, which is cut off on open instead).
    #[error("write-ahead log segment {segment} is damaged at offset {offset}: {damage}")]
    WalCorrupt {
        /// The segment file.
        segment: PathBuf,
        /// The byte offset of the damaged record in the segment.
        offset: u64,
        /// What is wrong with the record.
        damage: RecordDamage,
    },

    /// A record is too large for the log's 32-bit length field.
    #[error("write-ahead log record of {len} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge {
        /// The record's length.
        len: u64,
        /// The largest length allowed.
        max: u64,
    },

    /// A [`RecordPointer`] that does not point at a record of this log.
    #[error(
        "no write-ahead log record at segment {} offset {} ({} bytes): {reason}",
        pointer.segment_id, pointer.offset, pointer.len
    )]
    InvalidPointer {
        /// The pointer given.
        pointer: RecordPointer,
        /// Why it does not point at a record.
        reason: &'static str,
    },

    /// An earlier append failed and the partial record could not be removed;
    /// the log must be reopened (which cuts the partial record off).
    #[error(
        "write-ahead log segment {segment} has a partial record after a failed write; reopen the log"
    )]
    WalPoisoned {
        /// The segment holding the partial record.
        segment: PathBuf,
    },
}

impl CheckpointError {
    /// An [`CheckpointError::Io`] with the action and path it happened on.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        CheckpointError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// One checkpoint that recovery tried and could not use.
#[derive(Debug)]
pub struct DamagedCheckpoint {
    /// The object's name in the store, e.g. `checkpoint-3000`.
    pub name: String,
    /// Where the object lives.
    pub path: PathBuf,
    /// What was wrong with it.
    pub error: CheckpointError,
}

impl fmt::Display for DamagedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

/// Displays a list of damaged checkpoints as `a: why; b: why`.
struct DamagedList<'a>(&'a [DamagedCheckpoint]);

/// Bytes as text, with what is not printable ASCII escaped (`PK\x03\x04`).
struct Ascii<'a>(&'a [u8]);

impl fmt::Display for Ascii<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.0 {
            write!(f, "{}", std::ascii::escape_default(byte))?;
        }
        Ok(())
    }
}

impl fmt::Display for DamagedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, damaged) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{damaged}")?;
        }
        Ok(())
    }
}

/// The same text as `Display`: the message with its context, so that a
/// `main` returning this error (which prints it with `Debug`) shows what
/// went wrong and what to do, not the variant's raw fields.
impl std::fmt::Debug for CheckpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
