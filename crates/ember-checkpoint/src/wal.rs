//! [`WriteAheadLog`]: an append-only log of checksummed records in numbered
//! segment files.
//!
//! The format and crash behaviour are described on [`WriteAheadLog`].

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{CheckpointError, Result};
use crate::fsync::sync_dir;

/// The default size after which a segment is sealed: 64 MiB.
pub const DEFAULT_MAX_SEGMENT_BYTES: u64 = 64 << 20;

/// The length of a record's frame header (length and checksum).
const FRAME_HEADER_LEN: u64 = 8;

/// Records up to this size are written with one system call (copied behind
/// their frame header); larger ones with two, to avoid copying them.
const COALESCE_LIMIT: usize = 64 << 10;

/// Segment file names: `wal-` + 20-digit id + `.seg`.
const SEGMENT_PREFIX: &str = "wal-";
/// See [`SEGMENT_PREFIX`].
const SEGMENT_SUFFIX: &str = ".seg";
/// The number of digits of a segment id in its file name.
const SEGMENT_ID_DIGITS: usize = 20;

/// Settings of a [`WriteAheadLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// The segment size after which a new segment is started.
    pub max_segment_bytes: u64,
}

impl WalOptions {
    /// The default settings.
    pub fn new() -> Self {
        WalOptions {
            max_segment_bytes: DEFAULT_MAX_SEGMENT_BYTES,
        }
    }

    /// Starts a new segment when the next record would take the current one
    /// past `bytes` (default [`DEFAULT_MAX_SEGMENT_BYTES`]).
    pub fn max_segment_bytes(mut self, bytes: u64) -> Self {
        self.max_segment_bytes = bytes;
        self
    }
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions::new()
    }
}

/// Where a record is: its segment, its offset there and its payload length.
/// Returned by [`WriteAheadLog::append`], read back by
/// [`WriteAheadLog::read`]; serializable so it can be stored in a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordPointer {
    /// The segment id.
    pub segment_id: u64,
    /// The byte offset of the record's frame in the segment.
    pub offset: u64,
    /// The payload length.
    pub len: u32,
}

/// A record read from the log, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    /// Where the record is.
    pub pointer: RecordPointer,
    /// The record's payload.
    pub payload: Vec<u8>,
}

/// What is wrong with a damaged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDamage {
    /// Fewer bytes than a frame header remain in the segment.
    TruncatedHeader {
        /// How many bytes remain.
        available: u64,
    },
    /// The payload is cut short.
    TruncatedPayload {
        /// The length in the frame header.
        declared: u64,
        /// How many payload bytes remain.
        available: u64,
    },
    /// The checksum does not match the length and payload.
    ChecksumMismatch {
        /// The checksum in the frame header.
        stored: u32,
        /// The checksum of the bytes read.
        computed: u32,
    },
}

impl fmt::Display for RecordDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RecordDamage::TruncatedHeader { available } => write!(
                f,
                "record header truncated ({available} of {FRAME_HEADER_LEN} bytes)"
            ),
            RecordDamage::TruncatedPayload {
                declared,
                available,
            } => write!(
                f,
                "record payload truncated ({available} of {declared} bytes)"
            ),
            RecordDamage::ChecksumMismatch { stored, computed } => write!(
                f,
                "record checksum mismatch (stored CRC32C {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

/// A torn record cut off the end of the newest segment when the log was
/// opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment id.
    pub segment_id: u64,
    /// The segment file.
    pub segment: PathBuf,
    /// Where the torn record started; the segment now ends here.
    pub offset: u64,
    /// How many bytes were cut off.
    pub dropped_bytes: u64,
    /// What was wrong with the torn record.
    pub damage: RecordDamage,
}

/// An append-only, segmented, checksummed log.
///
/// A log is a directory of segment files `wal-<id, 20 digits>.seg`, ids
/// increasing. Each record is framed as
///
/// | size | field                                            |
/// |-----:|--------------------------------------------------|
/// |    4 | payload length `n`, `u32` little-endian          |
/// |    4 | CRC32C of the length field followed by the payload |
/// |    n | payload                                          |
///
/// Records are appended to the newest segment; when the next record would
/// take a segment past [`WalOptions::max_segment_bytes`], the segment is
/// synced and sealed and a new one started (a record larger than that limit
/// gets a segment of its own).
///
/// A crash while appending can leave a torn record at the end of the newest
/// segment: cut short, or with a checksum that does not match because only
/// some of its pages reached the disk (unsynced pages may also land out of
/// order, or as zeros). Opening the log therefore cuts the newest segment
/// back to just before its first damaged record — point-in-time recovery,
/// RocksDB's default — logs a warning, and reports the cut in
/// [`torn_tail`](Self::torn_tail). Intact records after a damaged one in the
/// newest segment are dropped with it: a log cannot tell them apart from an
/// unsynced tail. Damage in a sealed segment (synced before the next one was
/// started), or found in any segment after opening, is an error
/// ([`CheckpointError::WalCorrupt`]) naming the segment and offset.
///
/// Appends hand each record to the operating system at once (a process crash
/// does not lose it); [`sync`](Self::sync) makes everything appended so far
/// durable against power loss. A log has one writer at a time.
///
/// ```
/// use ember_checkpoint::WriteAheadLog;
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut wal = WriteAheadLog::open(dir.path()).unwrap();
/// let first = wal.append(b"block 1").unwrap();
/// wal.append(b"block 2").unwrap();
/// wal.sync().unwrap();
///
/// assert_eq!(wal.read(first).unwrap(), b"block 1");
/// let all: Vec<Vec<u8>> = wal.read_all().unwrap().into_iter().map(|r| r.payload).collect();
/// assert_eq!(all, [b"block 1".to_vec(), b"block 2".to_vec()]);
/// ```
#[derive(Debug)]
pub struct WriteAheadLog {
    /// The log's directory.
    dir: PathBuf,
    /// Its settings.
    options: WalOptions,
    /// The segment being appended to, positioned at its end.
    active: File,
    /// The id of the segment being appended to.
    active_id: u64,
    /// The length of the segment being appended to.
    active_len: u64,
    /// Frame assembly buffer, reused across appends.
    scratch: Vec<u8>,
    /// Set when a failed append left a partial record that could not be
    /// removed.
    poisoned: bool,
    /// What opening the log cut off, if anything.
    torn_tail: Option<TornTail>,
}

impl WriteAheadLog {
    /// Opens (or creates) the log in `dir` with default options.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        WriteAheadLog::open_with(dir, WalOptions::default())
    }

    /// Opens (or creates) the log in `dir`, cutting a torn record off the
    /// end of its newest segment.
    pub fn open_with(dir: impl Into<PathBuf>, options: WalOptions) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)
            .map_err(|e| CheckpointError::io("creating WAL directory", &dir, e))?;
        let segments = list_segments(&dir)?;
        let Some(&last) = segments.last() else {
            let active = create_segment(&dir, 0)?;
            return Ok(WriteAheadLog::with_active(dir, options, active, 0, 0, None));
        };

        let path = segment_path(&dir, last);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| CheckpointError::io("opening WAL segment", &path, e))?;
        let file_len = file_len(&file, &path)?;
        let (valid_len, damage) = scan_segment(&mut file, &path, file_len)?;
        let torn_tail = match damage {
            None => None,
            Some(damage) => {
                let tail = TornTail {
                    segment_id: last,
                    segment: path.clone(),
                    offset: valid_len,
                    dropped_bytes: file_len - valid_len,
                    damage,
                };
                tracing::warn!(
                    segment = %path.display(),
                    offset = valid_len,
                    dropped_bytes = tail.dropped_bytes,
                    damage = %damage,
                    "cutting a torn record off the end of the write-ahead log"
                );
                file.set_len(valid_len)
                    .map_err(|e| CheckpointError::io("truncating torn WAL tail", &path, e))?;
                file.sync_all()
                    .map_err(|e| CheckpointError::io("syncing WAL segment", &path, e))?;
                Some(tail)
            }
        };
        file.seek(SeekFrom::Start(valid_len))
            .map_err(|e| CheckpointError::io("seeking in WAL segment", &path, e))?;
        Ok(WriteAheadLog::with_active(
            dir, options, file, last, valid_len, torn_tail,
        ))
    }

    /// A log appending to `active`.
    fn with_active(
        dir: PathBuf,
        options: WalOptions,
        active: File,
        active_id: u64,
        active_len: u64,
        torn_tail: Option<TornTail>,
    ) -> Self {
        WriteAheadLog {
            dir,
            options,
            active,
            active_id,
            active_len,
            scratch: Vec::new(),
            poisoned: false,
            torn_tail,
        }
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The torn record cut off when the log was opened, if there was one.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// The id of the segment being appended to.
    pub fn active_segment_id(&self) -> u64 {
        self.active_id
    }

    /// The ids of all segments, oldest first.
    pub fn segment_ids(&self) -> Result<Vec<u64>> {
        list_segments(&self.dir)
    }

    /// The path of the segment file `segment_id`.
    pub fn segment_path(&self, segment_id: u64) -> PathBuf {
        segment_path(&self.dir, segment_id)
    }

    /// Appends a record and returns where it is. The record is handed to the
    /// operating system; call [`sync`](Self::sync) to make it durable.
    pub fn append(&mut self, payload: &[u8]) -> Result<RecordPointer> {
        if self.poisoned {
            return Err(CheckpointError::WalPoisoned {
                segment: self.segment_path(self.active_id),
            });
        }
        let len = u32::try_from(payload.len()).map_err(|_| CheckpointError::RecordTooLarge {
            len: payload.len() as u64,
            max: u64::from(u32::MAX),
        })?;
        let frame_len = FRAME_HEADER_LEN + u64::from(len);
        if self.active_len > 0
            && self.active_len.saturating_add(frame_len) > self.options.max_segment_bytes
        {
            self.rotate()?;
        }

        let header = frame_header(payload);
        let offset = self.active_len;
        let written = if payload.len() <= COALESCE_LIMIT {
            self.scratch.clear();
            self.scratch.extend_from_slice(&header);
            self.scratch.extend_from_slice(payload);
            self.active.write_all(&self.scratch)
        } else {
            self.active
                .write_all(&header)
                .and_then(|()| self.active.write_all(payload))
        };
        if let Err(e) = written {
            // Remove whatever part of the frame reached the file, so the next
            // append does not follow a partial record.
            let undone = self
                .active
                .set_len(offset)
                .and_then(|()| self.active.seek(SeekFrom::Start(offset)).map(drop));
            if undone.is_err() {
                self.poisoned = true;
            }
            return Err(CheckpointError::io(
                "appending to WAL segment",
                self.segment_path(self.active_id),
                e,
            ));
        }
        self.active_len += frame_len;
        Ok(RecordPointer {
            segment_id: self.active_id,
            offset,
            len,
        })
    }

    /// Makes every record appended so far durable (`fsync` of the segment
    /// being appended to; sealed segments were synced when sealed).
    pub fn sync(&mut self) -> Result<()> {
        self.active.sync_data().map_err(|e| {
            CheckpointError::io("syncing WAL segment", self.segment_path(self.active_id), e)
        })
    }

    /// Seals the current segment (synced) and starts a new one. Does nothing
    /// if the current segment is empty.
    pub fn rotate(&mut self) -> Result<()> {
        if self.active_len == 0 {
            return Ok(());
        }
        self.sync()?;
        // Ids never realistically run out; if they did, creating the
        // segment would fail because it already exists.
        let next = self.active_id.saturating_add(1);
        self.active = create_segment(&self.dir, next)?;
        self.active_id = next;
        self.active_len = 0;
        Ok(())
    }

    /// Reads the record at `pointer`.
    pub fn read(&self, pointer: RecordPointer) -> Result<Vec<u8>> {
        let invalid = |reason| CheckpointError::InvalidPointer { pointer, reason };
        let path = self.segment_path(pointer.segment_id);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(invalid("no such segment (deleted?)"));
            }
            Err(e) => return Err(CheckpointError::io("opening WAL segment", path, e)),
        };
        let len = file_len(&file, &path)?;
        let end = pointer
            .offset
            .checked_add(FRAME_HEADER_LEN + u64::from(pointer.len));
        if end.is_none_or(|end| end > len) {
            return Err(invalid("beyond the end of the segment"));
        }
        file.seek(SeekFrom::Start(pointer.offset))
            .map_err(|e| CheckpointError::io("seeking in WAL segment", &path, e))?;
        let mut header = [0u8; FRAME_HEADER_LEN as usize];
        file.read_exact(&mut header)
            .map_err(|e| CheckpointError::io("reading WAL segment", &path, e))?;
        let (declared, stored) = split_header(&header);
        if declared != pointer.len {
            return Err(invalid("the record there has a different length"));
        }
        let mut payload = vec![0; pointer.len as usize];
        file.read_exact(&mut payload)
            .map_err(|e| CheckpointError::io("reading WAL segment", &path, e))?;
        let computed = record_checksum(&header, &payload);
        if computed != stored {
            return Err(CheckpointError::WalCorrupt {
                segment: path,
                offset: pointer.offset,
                damage: RecordDamage::ChecksumMismatch { stored, computed },
            });
        }
        Ok(payload)
    }

    /// Iterates over all records, oldest first. Damage stops the iteration
    /// with [`CheckpointError::WalCorrupt`].
    pub fn iter(&self) -> Result<WalIter> {
        Ok(WalIter {
            dir: self.dir.clone(),
            segments: list_segments(&self.dir)?.into_iter(),
            current: None,
            done: false,
        })
    }

    /// Reads all records, oldest first.
    pub fn read_all(&self) -> Result<Vec<WalRecord>> {
        self.iter()?.collect()
    }

    /// Deletes the sealed segments with ids below `segment_id` (never the
    /// segment being appended to) and returns how many it deleted.
    pub fn delete_segments_before(&mut self, segment_id: u64) -> Result<usize> {
        let limit = segment_id.min(self.active_id);
        let doomed: Vec<u64> = self
            .segment_ids()?
            .into_iter()
            .filter(|&id| id < limit)
            .collect();
        self.delete_segments(&doomed)
    }

    /// Deletes the oldest sealed segments whose last write was before
    /// `cutoff` (so every record in them was appended before it), stopping
    /// at the first newer one, and returns how many it deleted.
    pub fn delete_segments_older_than(&mut self, cutoff: SystemTime) -> Result<usize> {
        let mut doomed = Vec::new();
        for id in self.segment_ids()? {
            if id >= self.active_id {
                break;
            }
            let path = self.segment_path(id);
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(|e| CheckpointError::io("reading modification time of", &path, e))?;
            if modified >= cutoff {
                break;
            }
            doomed.push(id);
        }
        self.delete_segments(&doomed)
    }

    /// Deletes the given segments and syncs the directory.
    fn delete_segments(&mut self, ids: &[u64]) -> Result<usize> {
        for &id in ids {
            let path = self.segment_path(id);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(CheckpointError::io("deleting WAL segment", path, e)),
            }
        }
        if !ids.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(ids.len())
    }
}

/// An iterator over the records of a [`WriteAheadLog`], oldest first; see
/// [`WriteAheadLog::iter`]. After an error it yields nothing more.
#[derive(Debug)]
pub struct WalIter {
    /// The log's directory.
    dir: PathBuf,
    /// The segments still to read.
    segments: std::vec::IntoIter<u64>,
    /// The segment being read.
    current: Option<SegmentReader>,
    /// Set after the last segment or an error.
    done: bool,
}

/// Reads the records of one segment in order.
#[derive(Debug)]
struct SegmentReader {
    /// The segment id.
    id: u64,
    /// The segment file.
    path: PathBuf,
    /// The open file.
    reader: BufReader<File>,
    /// The offset of the next record.
    offset: u64,
    /// The segment's length when it was opened.
    len: u64,
}

impl WalIter {
    /// The next record, or `None` at the end of the log.
    fn next_record(&mut self) -> Result<Option<WalRecord>> {
        loop {
            let segment = match &mut self.current {
                Some(segment) => segment,
                None => {
                    let Some(id) = self.segments.next() else {
                        return Ok(None);
                    };
                    let path = segment_path(&self.dir, id);
                    let file = File::open(&path)
                        .map_err(|e| CheckpointError::io("opening WAL segment", &path, e))?;
                    let len = file_len(&file, &path)?;
                    self.current.insert(SegmentReader {
                        id,
                        path,
                        reader: BufReader::with_capacity(256 << 10, file),
                        offset: 0,
                        len,
                    })
                }
            };
            let offset = segment.offset;
            match read_frame(&mut segment.reader, &segment.path, offset, segment.len)? {
                Frame::End => self.current = None,
                Frame::Damaged(damage) => {
                    return Err(CheckpointError::WalCorrupt {
                        segment: segment.path.clone(),
                        offset,
                        damage,
                    });
                }
                Frame::Record(payload) => {
                    let len = payload.len() as u32;
                    segment.offset += FRAME_HEADER_LEN + u64::from(len);
                    return Ok(Some(WalRecord {
                        pointer: RecordPointer {
                            segment_id: segment.id,
                            offset,
                            len,
                        },
                        payload,
                    }));
                }
            }
        }
    }
}

impl Iterator for WalIter {
    type Item = Result<WalRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// One step of reading a segment.
enum Frame {
    /// A complete, intact record.
    Record(Vec<u8>),
    /// The clean end of the segment.
    End,
    /// A damaged record.
    Damaged(RecordDamage),
}

/// Reads the frame at `offset` of a segment `len` bytes long, from a reader
/// positioned there. Allocates a payload only after checking that its bytes
/// are in the file, so a damaged length cannot cause a huge allocation.
fn read_frame(reader: &mut impl Read, path: &Path, offset: u64, len: u64) -> Result<Frame> {
    let remaining = len.saturating_sub(offset);
    if remaining == 0 {
        return Ok(Frame::End);
    }
    if remaining < FRAME_HEADER_LEN {
        return Ok(Frame::Damaged(RecordDamage::TruncatedHeader {
            available: remaining,
        }));
    }
    let read_error = |e| CheckpointError::io("reading WAL segment", path, e);
    let mut header = [0u8; FRAME_HEADER_LEN as usize];
    reader.read_exact(&mut header).map_err(read_error)?;
    let (declared, stored) = split_header(&header);
    let available = remaining - FRAME_HEADER_LEN;
    if u64::from(declared) > available {
        return Ok(Frame::Damaged(RecordDamage::TruncatedPayload {
            declared: u64::from(declared),
            available,
        }));
    }
    let mut payload = vec![0; declared as usize];
    reader.read_exact(&mut payload).map_err(read_error)?;
    let computed = record_checksum(&header, &payload);
    if computed != stored {
        return Ok(Frame::Damaged(RecordDamage::ChecksumMismatch {
            stored,
            computed,
        }));
    }
    Ok(Frame::Record(payload))
}

/// Reads a whole segment from its start and returns the length of its intact
/// prefix and the damage found after it, if any.
fn scan_segment(file: &mut File, path: &Path, len: u64) -> Result<(u64, Option<RecordDamage>)> {
    let mut reader = BufReader::with_capacity(256 << 10, file);
    let mut offset = 0;
    loop {
        match read_frame(&mut reader, path, offset, len)? {
            Frame::End => return Ok((offset, None)),
            Frame::Damaged(damage) => return Ok((offset, Some(damage))),
            Frame::Record(payload) => offset += FRAME_HEADER_LEN + payload.len() as u64,
        }
    }
}

/// The frame header of `payload`: its length and checksum.
fn frame_header(payload: &[u8]) -> [u8; FRAME_HEADER_LEN as usize] {
    let mut header = [0u8; FRAME_HEADER_LEN as usize];
    // Callers check that the length fits in a u32.
    header[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let crc = record_checksum(&header, payload);
    header[4..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Splits a frame header into (payload length, stored checksum).
fn split_header(header: &[u8; FRAME_HEADER_LEN as usize]) -> (u32, u32) {
    let [l0, l1, l2, l3, c0, c1, c2, c3] = *header;
    (
        u32::from_le_bytes([l0, l1, l2, l3]),
        u32::from_le_bytes([c0, c1, c2, c3]),
    )
}

/// CRC32C of a record's length field followed by its payload.
fn record_checksum(header: &[u8; FRAME_HEADER_LEN as usize], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header[..4]), payload)
}

/// The path of segment `id` in `dir`.
fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{id:020}{SEGMENT_SUFFIX}"))
}

/// The segment id of a file name, or `None` if it is not a segment's.
fn segment_id(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_ID_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The ids of the segments in `dir`, sorted.
fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let entries =
        fs::read_dir(dir).map_err(|e| CheckpointError::io("listing WAL directory", dir, e))?;
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CheckpointError::io("listing WAL directory", dir, e))?;
        let is_file = entry.file_type().is_ok_and(|kind| kind.is_file());
        if let Some(id) = entry.file_name().to_str().and_then(segment_id) {
            if is_file {
                ids.push(id);
            }
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Creates the empty segment `id` and makes its directory entry durable.
fn create_segment(dir: &Path, id: u64) -> Result<File> {
    let path = segment_path(dir, id);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| CheckpointError::io("creating WAL segment", &path, e))?;
    sync_dir(dir)?;
    Ok(file)
}

/// The length of an open file.
fn file_len(file: &File, path: &Path) -> Result<u64> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| CheckpointError::io("reading metadata of", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        let dir = Path::new("/x");
        let path = segment_path(dir, 42);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, "wal-00000000000000000042.seg");
        assert_eq!(segment_id(name), Some(42));
        assert_eq!(segment_id("wal-42.seg"), None);
        assert_eq!(segment_id("wal-0000000000000000004x.seg"), None);
        assert_eq!(segment_id(".wal-00000000000000000042.seg"), None);
    }

    #[test]
    fn frame_checksum_covers_the_length() {
        let header = frame_header(b"abc");
        let (len, crc) = split_header(&header);
        assert_eq!(len, 3);
        let mut other = header;
        other[0] = 2;
        assert_ne!(record_checksum(&other, b"ab"), crc);
        // A run of zero bytes (a file extended but never written) is not a
        // valid empty record.
        assert_ne!(record_checksum(&[0; 8], b""), 0);
    }

    #[test]
    fn read_frame_reports_each_kind_of_damage() {
        let path = Path::new("seg");
        let mut frame = frame_header(b"hello").to_vec();
        frame.extend_from_slice(b"hello");
        let len = frame.len() as u64;

        let short = &frame[..5];
        assert!(matches!(
            read_frame(&mut &short[..], path, 0, 5).unwrap(),
            Frame::Damaged(RecordDamage::TruncatedHeader { available: 5 })
        ));
        let cut = &frame[..10];
        assert!(matches!(
            read_frame(&mut &cut[..], path, 0, 10).unwrap(),
            Frame::Damaged(RecordDamage::TruncatedPayload {
                declared: 5,
                available: 2
            })
        ));
        let mut flipped = frame.clone();
        flipped[9] ^= 0x20;
        assert!(matches!(
            read_frame(&mut &flipped[..], path, 0, len).unwrap(),
            Frame::Damaged(RecordDamage::ChecksumMismatch { .. })
        ));
        assert!(matches!(
            read_frame(&mut &frame[..], path, 0, len).unwrap(),
            Frame::Record(p) if p == b"hello"
        ));
    }
}
