//! A file stream batch's RDD: one partition per byte range cut by the scan
//! at generation, read from the filesystem only when a job computes it (so
//! a backlog of generated batches holds no file data), and split into
//! lines, its UTF-8 checked once; the lines of a range that is not UTF-8
//! are decoded lossily (a bad byte becomes U+FFFD, as Spark's text
//! decoding does). A file that shrank since it was scanned fails the
//! partition with an error naming it; it never crashes the process.

use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use ember_rdd::text::{StrLines, TextLines};
use ember_rdd::{BoxIter, Dependency, JobError, RddCompute, TaskContext};

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
}

/// A batch's RDD over its files' splits: each partition reads its splits
/// in order (one split each in local mode).
pub(crate) struct FileLinesCompute {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) partitions: Vec<Vec<FileSplit>>,
    /// Cluster mode: the process that took each partition's files, and
    /// this process.
    pub(crate) placement: Option<Placement>,
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

/// The lines of a split's bytes: checked as UTF-8 once, as a whole (the
/// bytes become the text without a copy); only a split that is not UTF-8
/// is checked line by line, its bad lines decoded with replacements.
fn split_lines(bytes: Vec<u8>) -> BoxIter<String> {
    let len = bytes.len();
    match String::from_utf8(bytes) {
        Ok(text) => Box::new(StrLines::new(Arc::new(text), 0..len)),
        Err(e) => Box::new(TextLines::new(Arc::new(e.into_bytes()), 0..len)),
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
            return Ok(Box::new(std::iter::empty()));
        };
        let mut lines: Vec<BoxIter<String>> = Vec::with_capacity(splits.len());
        for split in splits {
            let bytes = read_split(self.fs.as_ref(), split)
                .map_err(|e| JobError::io(split.path.as_ref(), e))?;
            lines.push(split_lines(bytes));
        }
        Ok(match lines.len() {
            1 => lines.swap_remove(0),
            _ => Box::new(lines.into_iter().flatten()),
        })
    }
    fn owner(&self, partition: usize, _processes: usize) -> Option<usize> {
        self.placement
            .as_ref()
            .and_then(|p| p.owners.get(partition).copied())
    }
}
