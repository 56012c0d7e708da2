//! The file stream itself: selection of each batch's files (Spark's
//! `FileInputDStream` rules), the batch RDD over their lines, the metrics
//! and the remembered selections.
//!
//! Reading: at batch generation every selected file is opened (mapped when
//! large), checked to be UTF-8 and its lines counted, so the batch's record
//! count is exact and a bad file is found (and left out) before any job
//! runs. The `String` lines are built lazily, partition by partition, when
//! a job reads the batch; the RDD keeps the opened (mapped) files, so a file
//! deleted after selection is still read in full.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::UNIX_EPOCH;

use ember_dstream::{
    DStream, Duration, InputEnv, InputSource, StreamingContext, StreamingError, Time,
};
use ember_rdd::text::{TextLines, split_range};
use ember_rdd::{BoxIter, Dependency, JobError, Rdd, RddCompute, TaskContext};

use super::fs::{FileBytes, FileStatus, FileSystem, LocalFileSystem};
use super::glob;

/// Spark's `spark.streaming.fileStream.minRememberDuration`: how long
/// selected file names are remembered (and how far back the window reaches).
const REMEMBER_KEY: &str = "spark.streaming.fileStream.minRememberDuration";
const DEFAULT_REMEMBER: Duration = Duration::from_secs(60);

/// A predicate on file paths: `true` keeps the file.
pub type PathFilter = Arc<dyn Fn(&Path) -> bool + Send + Sync>;

/// What a file stream takes and how it splits it.
#[derive(Clone)]
pub struct FileStreamOptions {
    /// Only files for which it returns `true` are taken (after the built-in
    /// rule that ignores names starting with `.` or `_`).
    pub filter: Option<PathFilter>,
    /// Ignore files modified before the context started (Spark's
    /// `newFilesOnly`, default `true`). With `false`, files already in the
    /// directory whose modification time is within the remember window
    /// (60 s by default) are taken by the first batch.
    pub new_files_only: bool,
    /// The most bytes of one file per partition (32 MiB by default); a file
    /// is split on line boundaries into `ceil(len / max_partition_bytes)`
    /// partitions.
    pub max_partition_bytes: u64,
}

impl Default for FileStreamOptions {
    fn default() -> Self {
        FileStreamOptions {
            filter: None,
            new_files_only: true,
            max_partition_bytes: 32 << 20,
        }
    }
}

impl fmt::Debug for FileStreamOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStreamOptions")
            .field("filter", &self.filter.as_ref().map(|_| "<fn>"))
            .field("new_files_only", &self.new_files_only)
            .field("max_partition_bytes", &self.max_partition_bytes)
            .finish()
    }
}

impl FileStreamOptions {
    /// Keeps only the files for which `filter` returns `true`.
    pub fn with_filter(mut self, filter: impl Fn(&Path) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// Sets [`new_files_only`](Self::new_files_only).
    pub fn with_new_files_only(mut self, new_files_only: bool) -> Self {
        self.new_files_only = new_files_only;
        self
    }

    /// Sets [`max_partition_bytes`](Self::max_partition_bytes) (at least 1).
    pub fn with_max_partition_bytes(mut self, bytes: u64) -> Self {
        self.max_partition_bytes = bytes.max(1);
        self
    }
}

/// Why a directory or file could not be used. The stream logs it, counts
/// it in its [`FileStreamMetrics`] and goes on without that directory or
/// file.
#[derive(Debug, thiserror::Error)]
pub enum FileStreamError {
    /// Listing the monitored directory (or expanding its glob) failed.
    #[error("cannot list {dir}: {source}")]
    Listing {
        /// The directory (or glob) concerned.
        dir: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Opening or reading a selected file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A selected file is not UTF-8 text.
    #[error("invalid UTF-8 in {path} at byte offset {offset}")]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// Offset of the first invalid byte from the start of the file.
        offset: u64,
    },
}

/// A snapshot of a file stream's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileStreamMetrics {
    /// Files read into a batch.
    pub files_taken: u64,
    /// Selected files that could not be read or were not UTF-8 (left out).
    pub files_failed: u64,
    /// Batches whose directory listing failed (they got no files).
    pub listing_errors: u64,
    /// Lines delivered in all batches.
    pub lines: u64,
    /// Bytes of the files taken.
    pub bytes: u64,
    /// The last error's message.
    pub last_error: Option<String>,
}

/// What the stream and its handles share.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    files_taken: AtomicU64,
    files_failed: AtomicU64,
    listing_errors: AtomicU64,
    lines: AtomicU64,
    bytes: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// The files selected by each recent batch (kept for the remember
    /// window, never taken again while remembered).
    selected: Mutex<BTreeMap<Time, Vec<PathBuf>>>,
}

impl Shared {
    fn selected(&self) -> MutexGuard<'_, BTreeMap<Time, Vec<PathBuf>>> {
        self.selected.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record_error(&self, error: &FileStreamError) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error.to_string());
    }
}

/// A read-only view of a running file stream: its metrics and the files it
/// selected recently.
#[derive(Debug, Clone)]
pub struct FileStreamHandle {
    shared: Arc<Shared>,
}

impl FileStreamHandle {
    /// The monitored directory (possibly a glob).
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The counters so far.
    pub fn metrics(&self) -> FileStreamMetrics {
        let s = &self.shared;
        FileStreamMetrics {
            files_taken: s.files_taken.load(Ordering::Relaxed),
            files_failed: s.files_failed.load(Ordering::Relaxed),
            listing_errors: s.listing_errors.load(Ordering::Relaxed),
            lines: s.lines.load(Ordering::Relaxed),
            bytes: s.bytes.load(Ordering::Relaxed),
            last_error: s
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// The files selected by each batch still within the remember window
    /// (or the stream's remember duration, if longer: the longest window
    /// over it), taken or failed, by batch time: the state a checkpoint
    /// saves.
    pub fn recent_files(&self) -> BTreeMap<Time, Vec<PathBuf>> {
        self.shared.selected().clone()
    }
}

/// Adds file streams to `StreamingContext`.
pub trait FileStreams {
    /// The lines of the new UTF-8 text files appearing in `dir` (a glob
    /// such as `in/*` is allowed), with the default options: Spark's
    /// `textFileStream`.
    ///
    /// ```no_run
    /// use ember_dstream::{Duration, StreamingConf, StreamingContext};
    /// use ember_sources::file::FileStreams;
    /// let ssc = StreamingContext::new(StreamingConf::new().master("local[2]"), Duration::from_secs(1))?;
    /// ssc.text_file_stream("/var/spool/in").count().print()?;
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    fn text_file_stream(&self, dir: impl AsRef<Path>) -> DStream<String>;

    /// [`text_file_stream`](Self::text_file_stream) with a filter,
    /// `new_files_only` and the partition size.
    fn file_stream(&self, dir: impl AsRef<Path>, options: FileStreamOptions) -> DStream<String>;

    /// A file stream over another [`FileSystem`], with a handle on its
    /// metrics and selected files.
    fn file_stream_on(
        &self,
        fs: Arc<dyn FileSystem>,
        dir: impl AsRef<Path>,
        options: FileStreamOptions,
    ) -> (DStream<String>, FileStreamHandle);
}

impl FileStreams for StreamingContext {
    fn text_file_stream(&self, dir: impl AsRef<Path>) -> DStream<String> {
        self.file_stream(dir, FileStreamOptions::default())
    }

    fn file_stream(&self, dir: impl AsRef<Path>, options: FileStreamOptions) -> DStream<String> {
        self.file_stream_on(Arc::new(LocalFileSystem::new()), dir, options)
            .0
    }

    fn file_stream_on(
        &self,
        fs: Arc<dyn FileSystem>,
        dir: impl AsRef<Path>,
        options: FileStreamOptions,
    ) -> (DStream<String>, FileStreamHandle) {
        let shared = Arc::new(Shared {
            dir: dir.as_ref().to_path_buf(),
            files_taken: AtomicU64::new(0),
            files_failed: AtomicU64::new(0),
            listing_errors: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_error: Mutex::new(None),
            selected: Mutex::new(BTreeMap::new()),
        });
        let source = FileSource {
            fs,
            options,
            shared: Arc::clone(&shared),
            window: Mutex::new(None),
            restored_ignore_before: Mutex::new(None),
            restored_time: Mutex::new(None),
        };
        (self.input_stream(source), FileStreamHandle { shared })
    }
}

/// The time rules, fixed when the context starts.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Files modified before this are ignored (the start time with
    /// `new_files_only`, else 0).
    ignore_before: u64,
    /// How far back a batch's window reaches, and how long selected names
    /// are remembered: the remember duration rounded up to whole batches.
    remember: Duration,
}

struct FileSource {
    fs: Arc<dyn FileSystem>,
    options: FileStreamOptions,
    shared: Arc<Shared>,
    window: Mutex<Option<Window>>,
    /// The `ignore_before` of the run a recovered context continues.
    restored_ignore_before: Mutex<Option<u64>>,
    /// The checkpoint time a recovered context continues from: batches up
    /// to it are served again from their restored selections.
    restored_time: Mutex<Option<Time>>,
}

/// A file stream's position in a checkpoint: the time rule it started with
/// and the files selected by the batches up to the checkpoint's batch
/// (within the longer of the file remember window and the stream's
/// remember duration, so that windows reaching back before the checkpoint
/// get those batches again after a restart, as Spark's
/// `batchTimeToSelectedFiles`).
#[derive(serde::Serialize, serde::Deserialize)]
struct FilePosition {
    ignore_before: Option<u64>,
    selected: Vec<(u64, Vec<PathBuf>)>,
}

/// A batch's files, read and split.
struct ReadBatch {
    splits: Vec<(Arc<FileBytes>, Range<usize>)>,
    lines: u64,
    bytes: u64,
    failed: u64,
    /// The files read, for the log.
    taken: Vec<String>,
}

impl ReadBatch {
    fn into_rdd(self, env: &InputEnv) -> Rdd<String> {
        let ctx = env.rdd_context();
        if self.splits.is_empty() {
            ctx.empty()
        } else {
            Rdd::from_compute(
                ctx,
                "file_stream",
                FileLinesCompute {
                    splits: self.splits,
                },
            )
        }
    }
}

/// A file selected for a batch.
struct Candidate {
    path: PathBuf,
    modified: u64,
}

/// A file read and checked, ready to be split.
struct ReadFile {
    data: Arc<FileBytes>,
    lines: u64,
}

fn millis(status: &FileStatus) -> u64 {
    status
        .modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Whether a file name marks an in-progress or hidden file.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .map(|n| n.as_encoded_bytes())
        .is_some_and(|n| n.starts_with(b".") || n.starts_with(b"_"))
}

/// The number of lines of `data` (`\n`-terminated, plus a last line
/// without a newline).
fn count_lines(data: &[u8]) -> u64 {
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(data.last().is_some_and(|&b| b != b'\n'))
}

impl FileSource {
    fn window(&self, env: &InputEnv, time: Time) -> Result<Window, StreamingError> {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(window) = *window {
            return Ok(window);
        }
        let batch = env.batch_duration();
        let min_remember = env.conf().duration(REMEMBER_KEY, DEFAULT_REMEMBER)?;
        let batches = min_remember
            .milliseconds()
            .div_ceil(batch.milliseconds())
            .max(1);
        // Before `start` (never in a running context), the batch's own start.
        let start = env.clock().now().min(time - batch);
        let restored = *self
            .restored_ignore_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let chosen = Window {
            ignore_before: match restored {
                Some(ignore_before) => ignore_before,
                None if self.options.new_files_only => start.milliseconds(),
                None => 0,
            },
            remember: batch * batches,
        };
        *window = Some(chosen);
        Ok(chosen)
    }

    fn fail(&self, error: FileStreamError) {
        tracing::error!(dir = %self.shared.dir.display(), error = %error, "file stream error");
        self.shared.record_error(&error);
    }

    /// The files of the batch at `time`, in modification-time then path order.
    fn select(&self, time: Time, window: Window) -> Result<Vec<Candidate>, FileStreamError> {
        let dir = &self.shared.dir;
        let listing = |dir: &Path, source| FileStreamError::Listing {
            dir: dir.to_path_buf(),
            source,
        };
        let dirs = glob::expand(self.fs.as_ref(), dir).map_err(|e| listing(dir, e))?;
        let after = time
            .milliseconds()
            .saturating_sub(window.remember.milliseconds());
        let remembered: BTreeSet<PathBuf> =
            self.shared.selected().values().flatten().cloned().collect();
        let mut chosen = Vec::new();
        for dir in dirs {
            for status in self.fs.list(&dir).map_err(|e| listing(&dir, e))? {
                let modified = millis(&status);
                let keep = !status.is_dir
                    && !is_hidden(&status.path)
                    && modified >= window.ignore_before
                    && modified > after
                    && modified <= time.milliseconds()
                    && !remembered.contains(&status.path)
                    && self.options.filter.as_ref().is_none_or(|f| f(&status.path));
                if keep {
                    chosen.push(Candidate {
                        path: status.path,
                        modified,
                    });
                }
            }
        }
        chosen.sort_by(|a, b| (a.modified, &a.path).cmp(&(b.modified, &b.path)));
        Ok(chosen)
    }

    /// A batch at or before the checkpoint a recovered context continues
    /// from (a window reaching back asks for it): the files it selected
    /// then, read again. Its records were counted in the first run, so the
    /// metrics and the batch's record count are left alone.
    fn replay(&self, time: Time, env: &InputEnv) -> Rdd<String> {
        let paths = self.shared.selected().get(&time).cloned();
        let Some(paths) = paths else {
            return env.rdd_context().empty();
        };
        let read = self.read_all(&paths);
        tracing::debug!(%time, files = ?read.taken, lines = read.lines,
            "file stream batch from before the checkpoint served again");
        read.into_rdd(env)
    }

    /// Reads `paths`, leaving out (and reporting) the ones that fail.
    fn read_all(&self, paths: &[PathBuf]) -> ReadBatch {
        let mut batch = ReadBatch {
            splits: Vec::new(),
            lines: 0,
            bytes: 0,
            failed: 0,
            taken: Vec::with_capacity(paths.len()),
        };
        for path in paths {
            match self.read(path) {
                Ok(file) => {
                    batch.lines += file.lines;
                    batch.bytes += file.data.len() as u64;
                    let parts = (file.data.len() as u64)
                        .div_ceil(self.options.max_partition_bytes)
                        .max(1) as usize;
                    for part in 0..parts {
                        let range = split_range(&file.data, part, parts);
                        batch.splits.push((Arc::clone(&file.data), range));
                    }
                    batch.taken.push(path.display().to_string());
                }
                Err(error) => {
                    batch.failed += 1;
                    self.fail(error);
                }
            }
        }
        batch
    }

    fn read(&self, path: &Path) -> Result<ReadFile, FileStreamError> {
        let data = self.fs.open(path).map_err(|source| FileStreamError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        std::str::from_utf8(&data).map_err(|e| FileStreamError::InvalidUtf8 {
            path: path.to_path_buf(),
            offset: e.valid_up_to() as u64,
        })?;
        Ok(ReadFile {
            lines: count_lines(&data),
            data: Arc::new(data),
        })
    }
}

impl InputSource<String> for FileSource {
    fn name(&self) -> &'static str {
        "file_stream"
    }

    fn start(&self, env: &InputEnv) -> Result<(), StreamingError> {
        let now = env.clock().now();
        self.window(env, now + env.batch_duration()).map(|_| ())
    }

    fn checkpoint_state(
        &self,
        time: Time,
        _env: &InputEnv,
    ) -> Result<Option<Vec<u8>>, StreamingError> {
        let ignore_before = self
            .window
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map(|w| w.ignore_before);
        let selected = self
            .shared
            .selected()
            .range(..=time)
            .map(|(at, files)| (at.milliseconds(), files.clone()))
            .collect();
        let position = FilePosition {
            ignore_before,
            selected,
        };
        postcard::to_stdvec(&position)
            .map(Some)
            .map_err(|e| StreamingError::Checkpoint {
                dir: self.shared.dir.clone(),
                message: format!("serializing the file stream's position: {e}"),
            })
    }

    fn restore_state(
        &self,
        time: Time,
        bytes: &[u8],
        _env: &InputEnv,
    ) -> Result<(), StreamingError> {
        let position: FilePosition =
            postcard::from_bytes(bytes).map_err(|e| StreamingError::Checkpoint {
                dir: self.shared.dir.clone(),
                message: format!("deserializing the file stream's position: {e}"),
            })?;
        *self
            .restored_ignore_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = position.ignore_before;
        *self
            .restored_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(time);
        let mut selected = self.shared.selected();
        selected.clear();
        let mut files = 0;
        for (at, paths) in position.selected {
            files += paths.len();
            selected.insert(Time::from_millis(at), paths);
        }
        tracing::info!(dir = %self.shared.dir.display(), %time, files,
            "file stream position restored from checkpoint");
        Ok(())
    }

    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<String>>, StreamingError> {
        let window = self.window(env, time)?;
        let restored = *self
            .restored_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if restored.is_some_and(|restored| time <= restored) {
            return Ok(Some(self.replay(time, env)));
        }
        let candidates = match self.select(time, window) {
            Ok(candidates) => candidates,
            Err(error) => {
                self.shared.listing_errors.fetch_add(1, Ordering::Relaxed);
                self.fail(error);
                Vec::new()
            }
        };
        let paths: Vec<PathBuf> = candidates.into_iter().map(|c| c.path).collect();
        let read = self.read_all(&paths);
        let s = &self.shared;
        s.files_taken
            .fetch_add(read.taken.len() as u64, Ordering::Relaxed);
        s.files_failed.fetch_add(read.failed, Ordering::Relaxed);
        s.lines.fetch_add(read.lines, Ordering::Relaxed);
        s.bytes.fetch_add(read.bytes, Ordering::Relaxed);
        {
            let mut selected = self.shared.selected();
            if !paths.is_empty() {
                selected.insert(time, paths);
            }
            // The longer of the file remember window and the stream's
            // remember duration (what windows over it still ask for).
            let keep = window.remember.max(env.remember_duration());
            let forget_up_to =
                Time::from_millis(time.milliseconds().saturating_sub(keep.milliseconds()));
            selected.retain(|&at, _| at > forget_up_to);
        }
        if !read.taken.is_empty() {
            tracing::debug!(%time, files = ?read.taken, lines = read.lines, bytes = read.bytes, "file stream batch");
        }
        env.report_records(time, read.lines);
        Ok(Some(read.into_rdd(env)))
    }
}

/// A batch's RDD: one partition per split of each selected file.
struct FileLinesCompute {
    splits: Vec<(Arc<FileBytes>, Range<usize>)>,
}

impl RddCompute<String> for FileLinesCompute {
    fn kind(&self) -> &'static str {
        "FileStreamRDD"
    }
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn compute(&self, partition: usize, _: &TaskContext) -> Result<BoxIter<String>, JobError> {
        let Some((data, range)) = self.splits.get(partition) else {
            return Ok(Box::new(std::iter::empty()));
        };
        // The whole file was validated as UTF-8 at generation.
        Ok(Box::new(TextLines::new(Arc::clone(data), range.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &[u8], partitions: usize) -> Vec<String> {
        let data = Arc::new(FileBytes::Read(data.to_vec()));
        (0..partitions)
            .flat_map(|p| {
                let range = split_range(&data, p, partitions);
                TextLines::new(Arc::clone(&data), range)
            })
            .collect()
    }

    #[test]
    fn lines_are_counted_as_they_are_split() {
        for text in [&b""[..], b"a", b"a\n", b"a\r\nb", b"\n\n", b"x\ny\r\nz\n"] {
            for n in 1..8 {
                assert_eq!(
                    lines_of(text, n).len() as u64,
                    count_lines(text),
                    "{text:?} / {n}"
                );
            }
        }
        assert_eq!(lines_of(b"a\r\nb\nc", 3), ["a", "b", "c"]);
    }

    fn naive_lines(text: &str) -> Vec<String> {
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
            .collect();
        if text.is_empty() || text.ends_with('\n') {
            lines.pop();
        }
        lines
    }

    proptest::proptest! {
        #[test]
        fn any_split_gives_every_line_once(
            lines in proptest::collection::vec(("[a-z\u{e9}\r]{0,12}", proptest::bool::ANY), 0..40),
            last_newline in proptest::bool::ANY,
            partitions in 1usize..20,
        ) {
            let mut text = String::new();
            for (i, (line, crlf)) in lines.iter().enumerate() {
                text.push_str(line);
                if i + 1 < lines.len() || last_newline {
                    text.push_str(if *crlf { "\r\n" } else { "\n" });
                }
            }
            let expected = naive_lines(&text);
            proptest::prop_assert_eq!(count_lines(text.as_bytes()), expected.len() as u64);
            proptest::prop_assert_eq!(lines_of(text.as_bytes(), partitions), expected);
        }
    }

    #[test]
    fn hidden_names() {
        assert!(is_hidden(Path::new("/d/.x")));
        assert!(is_hidden(Path::new("/d/_COPYING_")));
        assert!(!is_hidden(Path::new("/d/x_.txt")));
    }
}
