//! `text_file`: an RDD of the lines of a local file, split into partitions on
//! line boundaries the way Hadoop splits text (a line belongs to the
//! partition its first byte falls in). Large files are memory-mapped.

use std::fs::File;
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::text::{TextLines, split_range};
use crate::{BoxIter, Dependency, JobError, Rdd, RddCompute, RddContext, TaskContext};

/// Hadoop's local block size: one partition per 32 MiB at least.
const SPLIT_SIZE: u64 = 32 << 20;
/// Files at least this large are memory-mapped instead of read.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// A file's bytes, mapped or read.
pub(crate) enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Read(bytes) => bytes,
        }
    }
}

impl FileBytes {
    /// Maps files of at least `MMAP_THRESHOLD` bytes, reads smaller ones.
    pub(crate) fn open(path: &Path) -> Result<Self, JobError> {
        let file = File::open(path).map_err(|e| JobError::io(path, e))?;
        let len = file.metadata().map_err(|e| JobError::io(path, e))?.len();
        if len < MMAP_THRESHOLD {
            return std::fs::read(path)
                .map(FileBytes::Read)
                .map_err(|e| JobError::io(path, e));
        }
        // SAFETY: the map is read-only and lives as long as the returned
        // value. Inputs are expected to be immutable while a job reads them
        // (as in Spark/Hadoop); a file truncated by another process during
        // the job is outside that contract.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| JobError::io(path, e))?;
        Ok(FileBytes::Mapped(map))
    }
}

/// Checks that `range` of `data` is UTF-8, naming the first bad byte.
pub(crate) fn check_utf8(path: &Path, data: &[u8], range: Range<usize>) -> Result<(), JobError> {
    let start = range.start;
    std::str::from_utf8(&data[range])
        .map(|_| ())
        .map_err(|e| JobError::InvalidUtf8 {
            path: path.to_path_buf(),
            offset: (start + e.valid_up_to()) as u64,
        })
}

struct TextFileCompute {
    path: PathBuf,
    partitions: usize,
}

impl RddCompute<String> for TextFileCompute {
    fn kind(&self) -> &'static str {
        "TextFileRDD"
    }
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<String>, JobError> {
        let data = Arc::new(FileBytes::open(&self.path)?);
        let range = split_range(&data, partition, self.partitions);
        check_utf8(&self.path, &data, range.clone())?;
        Ok(Box::new(TextLines::new(data, range)))
    }
}

impl RddContext {
    /// The lines of a UTF-8 text file, in at least `min_partitions`
    /// partitions (and one per 32 MiB), split on line boundaries. A missing
    /// file is an error now; invalid UTF-8 fails the job that reads it,
    /// naming the file and the byte offset.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("in.txt");
    /// std::fs::write(&path, "to be\r\nor not\nto be")?;
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let lines = ctx.text_file(&path, 2)?;
    /// assert_eq!(lines.collect()?, vec!["to be", "or not", "to be"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn text_file(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
    ) -> Result<Rdd<String>, JobError> {
        let path = path.as_ref().to_path_buf();
        let meta = std::fs::metadata(&path).map_err(|e| JobError::io(&path, e))?;
        if meta.is_dir() {
            return Err(JobError::io(
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory"),
            ));
        }
        let by_size = meta.len().div_ceil(SPLIT_SIZE) as usize;
        let partitions = min_partitions.max(by_size).max(1);
        Ok(Rdd::from_compute(
            self,
            "text_file",
            TextFileCompute { path, partitions },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &[u8], partitions: usize) -> Vec<Vec<String>> {
        let data = Arc::new(FileBytes::Read(data.to_vec()));
        (0..partitions)
            .map(|p| {
                let range = split_range(&data, p, partitions);
                TextLines::new(Arc::clone(&data), range).collect()
            })
            .collect()
    }

    #[test]
    fn every_line_lands_in_exactly_one_partition() {
        let text = b"alpha\nbeta\ngamma\ndelta\n";
        for n in 1..30 {
            let parts = lines_of(text, n);
            let all: Vec<String> = parts.into_iter().flatten().collect();
            assert_eq!(all, ["alpha", "beta", "gamma", "delta"], "{n} partitions");
        }
    }

    #[test]
    fn split_points_follow_hadoop() {
        // 12 bytes, 2 splits at byte 6: "abcde\n" | "fghij\n"
        assert_eq!(
            lines_of(b"abcde\nfghij\n", 2),
            vec![vec!["abcde"], vec!["fghij"]]
        );
        // the split point inside a line gives the line to the first partition
        assert_eq!(
            lines_of(b"abcdefgh\nij\n", 2),
            vec![vec!["abcdefgh"], vec!["ij"]]
        );
        assert_eq!(lines_of(b"", 3), vec![Vec::<String>::new(); 3]);
        assert_eq!(lines_of(b"\n\n", 1), vec![vec!["", ""]]);
        assert_eq!(lines_of(b"no newline", 1), vec![vec!["no newline"]]);
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let err = check_utf8(Path::new("f"), b"ok\n\xffbad", 0..7).unwrap_err();
        assert!(
            matches!(err, JobError::InvalidUtf8 { offset: 3, .. }),
            "{err}"
        );
    }
}
