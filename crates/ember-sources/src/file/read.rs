//! A file stream batch's RDD: one partition per byte range cut by the scan
//! at generation, read from the filesystem only when a job computes it (so
//! a backlog of generated batches holds no file data), and split into
//! lines. Its UTF-8 is checked here, once (the scan at generation only
//! counts lines): a range that is not UTF-8 is decoded lossily (a bad byte
//! becomes U+FFFD, as Spark's text decoding does), and its bad lines are
//! reported the first time the range is read: a warning naming the file
//! and the offset of the first bad byte, and the stream's
//! `invalid_utf8_lines` counter. A file that shrank since it was scanned
//! fails the partition with an error naming it; it never crashes the
//! process.

use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ember_rdd::text::StrLines;
use ember_rdd::{BoxIter, Dependency, JobError, LentLines, RddCompute, TaskContext};

use super::fs::FileSystem;

/// The most bytes reserved up front for one partition (a larger range
/// grows its buffer as it is read).
const MAX_RESERVE: u64 = 64 << 20;

/// One partition: a byte range of a file, as scanned at generation.
#[derive(Debug, Clone)]
pub(crate) struct FileSplit {
    /// The file.
    pub(crate) path: Arc<PathBuf>,
    /// Its bytes for this partition, starting at a line start.
    pub(crate) range: Range<u64>,
    /// Whether its lines that are not UTF-8 were reported already (a
    /// split read again, by a retry or another job, reports nothing more).
    pub(crate) reported: Arc<AtomicBool>,
}

impl FileSplit {
    /// A split of `path` not yet read.
    pub(crate) fn new(path: Arc<PathBuf>, range: Range<u64>) -> Self {
        FileSplit {
            path,
            range,
            reported: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// A batch's RDD over its files' splits: each partition reads its splits
/// in order (one split each in local mode).
pub(crate) struct FileLinesCompute {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) partitions: Vec<Vec<FileSplit>>,
    /// Cluster mode: the process that took each partition's files, and
    /// this process.
    pub(crate) placement: Option<Placement>,
    /// The stream's count of lines that are not UTF-8, which the first
    /// read of a split adds its bad lines to (and logs them); `None` for
    /// a batch served again after a restart, counted in the first run.
    pub(crate) invalid_utf8_lines: Option<Arc<AtomicU64>>,
}

/// Which process holds which partition of a cluster's file stream batch.
pub(crate) struct Placement {
    pub(crate) owners: Vec<usize>,
    pub(crate) process: usize,
}

/// The bytes of `split`, exactly as many as were scanned.
fn read_split(fs: &dyn FileSystem, split: &FileSplit) -> io::Result<Vec<u8>> {
    let want = split.range.end - split.range.start;
    let mut bytes = Vec::with_capacity(want.min(MAX_RESERVE) as usize);
    fs.open_at(&split.path, split.range.start)?
        .take(want)
        .read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < want {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "the file shrank after it was selected: bytes {}..{} were expected, it ends at {}",
                split.range.start,
                split.range.end,
                split.range.start + bytes.len() as u64
            ),
        ));
    }
    Ok(bytes)
}

/// How many lines of `bytes` (whole lines, as the scan cut them) are not
/// UTF-8, given the offset of the first bad byte: only the lines from the
/// one holding it are checked.
fn invalid_lines(bytes: &[u8], first_bad: usize) -> u64 {
    let start = memchr::memrchr(b'\n', &bytes[..first_bad]).map_or(0, |i| i + 1);
    bytes[start..]
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| std::str::from_utf8(line).is_err())
        .count() as u64
}

impl FileLinesCompute {
    /// A split's bytes as text, checked as UTF-8 once, as a whole (the
    /// bytes become the text without a copy). A split that is not UTF-8 is
    /// decoded with replacement characters (the same text as decoding it
    /// line by line: a `\n` is never part of a bad sequence), and the
    /// first time it is read its bad lines are counted and logged.
    fn split_text(&self, split: &FileSplit, bytes: Vec<u8>) -> String {
        let error = match String::from_utf8(bytes) {
            Ok(text) => return text,
            Err(error) => error,
        };
        let first_bad = error.utf8_error().valid_up_to();
        let bytes = error.into_bytes();
        if let Some(counter) = &self.invalid_utf8_lines
            && !split.reported.swap(true, Ordering::Relaxed)
        {
            let lines = invalid_lines(&bytes, first_bad);
            counter.fetch_add(lines, Ordering::Relaxed);
            tracing::warn!(path = %split.path.display(), lines,
                offset = split.range.start + first_bad as u64,
                "invalid UTF-8 (first at this byte offset): the lines are decoded with replacement characters");
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The text of every split of `partition`, in order, read now.
    fn texts(&self, partition: usize) -> Result<Vec<String>, JobError> {
        if let Some(placement) = &self.placement {
            let owner = placement.owners.get(partition).copied().unwrap_or_default();
            if owner != placement.process {
                return Err(JobError::NotLocal {
                    partition,
                    owner,
                    process: placement.process,
                });
            }
        }
        let Some(splits) = self.partitions.get(partition) else {
            return Ok(Vec::new());
        };
        splits
            .iter()
            .map(|split| {
                let bytes = read_split(self.fs.as_ref(), split)
                    .map_err(|e| JobError::io(split.path.as_ref(), e))?;
                Ok(self.split_text(split, bytes))
            })
            .collect()
    }
}

impl RddCompute<String> for FileLinesCompute {
    fn kind(&self) -> &'static str {
        "FileStreamRDD"
    }
    fn num_partitions(&self) -> usize {
        self.partitions.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<String>, JobError> {
        let lines = |text: String| {
            let len = text.len();
            StrLines::new(Arc::new(text), 0..len)
        };
        let mut texts = self.texts(partition)?;
        // One split per partition (local mode): its lines, not flattened.
        Ok(match (texts.pop(), texts.is_empty()) {
            (Some(text), true) => Box::new(lines(text)),
            (last, _) => Box::new(texts.into_iter().chain(last).flat_map(lines)),
        })
    }
    /// The partition's splits read into one `String` each, lent as they
    /// are: no `String` per line.
    fn lend_lines(&self, partition: usize, _: &TaskContext) -> Option<Result<LentLines, JobError>> {
        Some(self.texts(partition).map(LentLines::Text))
    }
    fn owner(&self, partition: usize, _processes: usize) -> Option<usize> {
        self.placement
            .as_ref()
            .and_then(|p| p.owners.get(partition).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model: every line of `data` checked on its own.
    fn model(data: &[u8]) -> u64 {
        data.split_inclusive(|&b| b == b'\n')
            .filter(|line| std::str::from_utf8(line).is_err())
            .count() as u64
    }

    #[test]
    fn bad_lines_are_counted_from_the_first_bad_byte() {
        // The first bad byte is at 4: lines 2 and 4 are bad.
        assert_eq!(invalid_lines(b"ok\nb\xffd\nok\n\xfe", 4), 2);
    }

    proptest::proptest! {
        #[test]
        fn bad_lines_are_counted_exactly(
            data in proptest::collection::vec(proptest::sample::select(vec![b'a', b'\n', b'\r', 0xc3, 0xa9, 0xff]), 0..200),
        ) {
            if let Err(e) = std::str::from_utf8(&data) {
                proptest::prop_assert_eq!(invalid_lines(&data, e.valid_up_to()), model(&data));
            } else {
                proptest::prop_assert_eq!(model(&data), 0);
            }
        }
    }
}
