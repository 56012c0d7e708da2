//! The file stream itself: selection of each batch's files (Spark's
//! `FileInputDStream` rules), the batch RDD over their lines, the metrics
//! and the remembered selections.
//!
//! Reading: at batch generation every selected file is scanned once in
//! chunks, the files in parallel (its lines counted, partitions cut on
//! line boundaries; no more than a chunk and a line in memory), so the
//! batch's record count is exact. The bytes are read again, partition by
//! partition, when a job computes the batch, and checked as UTF-8 there,
//! once (see `read.rs`, which reports the lines that are not UTF-8): a
//! backlog of generated batches holds no file data. A file that cannot be read is
//! tried again by the next batches, up to `ember.fileStream.maxReadAttempts`
//! times. Selections are forgotten by completed batch time
//! ([`InputSource::clear_metadata`]), as Spark's `FileInputDStream`, so a
//! checkpoint always holds every file still inside the remember window.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Component;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::UNIX_EPOCH;

use ember_dstream::{
    DStream, Duration, InputEnv, InputSource, StreamingContext, StreamingError, Time,
};
use ember_rdd::{HashPartitioner, Partitioner, Rdd, deal_over_own_partitions};

use super::fs::{FileStatus, FileSystem, LocalFileSystem};
use super::glob;
use super::read::{FileLinesCompute, FileSplit, Placement};
use super::scan::{Scanned, scan_files};

/// Spark's `spark.streaming.fileStream.minRememberDuration`: how long
/// selected file names are remembered (and how far back the window reaches).
const REMEMBER_KEY: &str = "spark.streaming.fileStream.minRememberDuration";
const DEFAULT_REMEMBER: Duration = Duration::from_secs(60);
/// How many batches try to read a selected file before it is given up.
const MAX_READ_ATTEMPTS_KEY: &str = "ember.fileStream.maxReadAttempts";
const DEFAULT_MAX_READ_ATTEMPTS: u64 = 3;

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
/// file (a file that failed is tried again by later batches first).
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
    /// A selected file could not be read by any of the batches that tried
    /// (`ember.fileStream.maxReadAttempts`); it is given up.
    #[error("giving up on {path} after {attempts} failed reads: {source}")]
    GaveUp {
        /// The file.
        path: PathBuf,
        /// How many batches tried to read it.
        attempts: u64,
        /// The last attempt's error.
        #[source]
        source: std::io::Error,
    },
}

/// A snapshot of a file stream's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileStreamMetrics {
    /// Files read into a batch.
    pub files_taken: u64,
    /// Selected files given up after `ember.fileStream.maxReadAttempts`
    /// failed reads (left out).
    pub files_failed: u64,
    /// Failed reads of selected files that a later batch tries again.
    pub read_retries: u64,
    /// Lines holding bytes that are not UTF-8 (delivered with U+FFFD
    /// replacement characters), counted when a job first reads them.
    pub invalid_utf8_lines: u64,
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
    read_retries: AtomicU64,
    /// Shared with the batches' RDDs, whose reads count the lines.
    invalid_utf8_lines: Arc<AtomicU64>,
    listing_errors: AtomicU64,
    lines: AtomicU64,
    bytes: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Errors since the last batch, reported with it to listeners.
    batch_errors: Mutex<Vec<String>>,
    /// The files selected by each recent batch (kept for the remember
    /// window, never taken again while remembered).
    selected: Mutex<BTreeMap<Time, Vec<PathBuf>>>,
    /// Selected files whose read failed, with the number of failed reads:
    /// the next batch tries them again.
    retrying: Mutex<BTreeMap<PathBuf, u64>>,
}

impl Shared {
    fn selected(&self) -> MutexGuard<'_, BTreeMap<Time, Vec<PathBuf>>> {
        self.selected.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn retrying(&self) -> MutexGuard<'_, BTreeMap<PathBuf, u64>> {
        self.retrying.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record_error(&self, error: &FileStreamError) {
        let message = error.to_string();
        self.batch_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message.clone());
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    /// Takes the errors recorded since the last call.
    fn take_batch_errors(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .batch_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
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
            read_retries: s.read_retries.load(Ordering::Relaxed),
            invalid_utf8_lines: s.invalid_utf8_lines.load(Ordering::Relaxed),
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
    /// over it) counted back from the newest completed batch, taken or
    /// given up, by batch time: the state a checkpoint saves.
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
            read_retries: AtomicU64::new(0),
            invalid_utf8_lines: Arc::new(AtomicU64::new(0)),
            listing_errors: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_error: Mutex::new(None),
            batch_errors: Mutex::new(Vec::new()),
            selected: Mutex::new(BTreeMap::new()),
            retrying: Mutex::new(BTreeMap::new()),
        });
        let source = FileSource {
            fs,
            options,
            shared: Arc::clone(&shared),
            window: Mutex::new(None),
            restored_ignore_before: Mutex::new(None),
            restored_time: Mutex::new(None),
            place: Mutex::new((1, 0)),
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
    /// How many batches try to read a file before it is given up (at
    /// least 1).
    max_read_attempts: u64,
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
    /// Cluster mode: how many processes share the directory, and this
    /// one's index (`(1, 0)` locally).
    place: Mutex<(usize, usize)>,
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

/// A batch's files, scanned and split.
#[derive(Default)]
struct ScannedBatch {
    splits: Vec<FileSplit>,
    lines: u64,
    bytes: u64,
    /// The files scanned.
    taken: Vec<PathBuf>,
    /// The files whose scan failed, with the error.
    failed: Vec<(PathBuf, std::io::Error)>,
}

impl ScannedBatch {
    fn add(&mut self, path: PathBuf, scanned: Scanned) {
        self.lines += scanned.lines;
        self.bytes += scanned.len;
        let path = Arc::new(path);
        self.splits.extend(
            scanned
                .splits
                .into_iter()
                .map(|range| FileSplit::new(Arc::clone(&path), range)),
        );
        self.taken.push(Arc::unwrap_or_clone(path));
    }

    /// The batch's RDD: one partition per split; in cluster mode this
    /// process's splits dealt over its threads' share of `n * threads`
    /// partitions (every process sees the same count). Its reads add the
    /// lines that are not UTF-8 to `invalid_utf8_lines`, when given.
    fn into_rdd(
        self,
        fs: &Arc<dyn FileSystem>,
        env: &InputEnv,
        invalid_utf8_lines: Option<Arc<AtomicU64>>,
    ) -> Rdd<String> {
        let ctx = env.rdd_context();
        let processes = ctx.processes();
        if processes == 1 && self.splits.is_empty() {
            return ctx.empty();
        }
        let (partitions, placement) = if processes == 1 {
            (self.splits.into_iter().map(|s| vec![s]).collect(), None)
        } else {
            let me = ctx.process();
            let slices = ctx.default_parallelism_per_process();
            let (partitions, owners) = deal_over_own_partitions(self.splits, processes, me, slices);
            (
                partitions,
                Some(Placement {
                    owners,
                    process: me,
                }),
            )
        };
        Rdd::from_compute(
            ctx,
            "file_stream",
            FileLinesCompute {
                fs: Arc::clone(fs),
                partitions,
                placement,
                invalid_utf8_lines,
            },
        )
    }
}

/// A file selected for a batch.
struct Candidate {
    path: PathBuf,
    modified: u64,
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

/// Whether `path` names a file directly inside the watched directory `dir`
/// (or inside a directory matching its glob), as a listing gives them: a
/// checkpoint naming any other file is not trusted.
fn is_watched(dir: &Path, path: &Path) -> bool {
    let Some(parent) = path.parent() else {
        return false;
    };
    if path.file_name().is_none() || is_hidden(path) {
        return false;
    }
    let dir: Vec<Component<'_>> = dir.components().collect();
    let parent: Vec<Component<'_>> = parent.components().collect();
    dir.len() == parent.len()
        && !parent.contains(&Component::ParentDir)
        && dir.iter().zip(&parent).all(|(d, p)| {
            match (d.as_os_str().to_str(), p.as_os_str().to_str()) {
                (Some(pattern), Some(name)) if glob::is_glob(pattern) => {
                    glob::glob_match(pattern, name)
                }
                _ => d == p,
            }
        })
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
            max_read_attempts: env
                .conf()
                .number(MAX_READ_ATTEMPTS_KEY, DEFAULT_MAX_READ_ATTEMPTS)?
                .max(1),
        };
        *window = Some(chosen);
        Ok(chosen)
    }

    /// The time rules as fixed at the start (the first call fixes them).
    fn start_window(&self, env: &InputEnv) -> Result<Window, StreamingError> {
        let now = env.clock().now();
        self.window(env, now + env.batch_duration())
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
        let mut remembered: BTreeSet<PathBuf> =
            self.shared.selected().values().flatten().cloned().collect();
        // Files waiting for another read attempt come first, not again.
        remembered.extend(self.shared.retrying().keys().cloned());
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
    /// then, scanned again. Its records were counted in the first run, so
    /// the metrics and the batch's record count are left alone.
    fn replay(&self, time: Time, env: &InputEnv) -> Rdd<String> {
        let paths = self.shared.selected().get(&time).cloned();
        let Some(paths) = paths else {
            return env.rdd_context().empty();
        };
        let scanned = self.scan_all(paths, env);
        for (path, error) in &scanned.failed {
            tracing::error!(%time, path = %path.display(), %error,
                "a file of a batch from before the checkpoint cannot be read again");
        }
        tracing::debug!(%time, files = ?scanned.taken, lines = scanned.lines,
            "file stream batch from before the checkpoint served again");
        scanned.into_rdd(&self.fs, env, None)
    }

    /// Scans `paths` (in parallel, on as many threads as this process's
    /// share of the context), keeping apart the ones that fail.
    fn scan_all(&self, paths: Vec<PathBuf>, env: &InputEnv) -> ScannedBatch {
        let ctx = env.rdd_context();
        let threads = ctx.threads();
        let results = scan_files(
            self.fs.as_ref(),
            &paths,
            self.options.max_partition_bytes,
            threads,
        );
        let mut batch = ScannedBatch::default();
        for (path, scanned) in paths.into_iter().zip(results) {
            match scanned {
                Ok(scanned) => batch.add(path, scanned),
                Err(error) => batch.failed.push((path, error)),
            }
        }
        batch
    }

    /// The files of a new batch: the ones waiting for another read attempt,
    /// then the newly listed ones.
    fn candidates(&self, time: Time, window: Window) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.shared.retrying().keys().cloned().collect();
        match self.select(time, window) {
            Ok(candidates) => paths.extend(candidates.into_iter().map(|c| c.path)),
            Err(error) => {
                self.shared.listing_errors.fetch_add(1, Ordering::Relaxed);
                self.fail(error);
            }
        }
        // Cluster mode: every process takes the files whose path hashes
        // to it (the directory is shared, as HDFS is for Spark).
        let (processes, process) = *self.place.lock().unwrap_or_else(PoisonError::into_inner);
        if processes > 1 {
            let by_path = HashPartitioner::new(processes);
            paths.retain(|path| by_path.partition(&path.to_string_lossy().into_owned()) == process);
        }
        paths
    }

    /// Counts the failed reads of a new batch: a file is tried again by
    /// the next batch, or given up after its last attempt. Returns the
    /// files given up (remembered as selected, so never taken again).
    fn failed_reads(
        &self,
        time: Time,
        window: Window,
        failed: Vec<(PathBuf, std::io::Error)>,
    ) -> Vec<PathBuf> {
        let mut given_up = Vec::new();
        let mut retrying = self.shared.retrying();
        for (path, source) in failed {
            let attempts = retrying.remove(&path).unwrap_or(0) + 1;
            if attempts >= window.max_read_attempts {
                self.shared.files_failed.fetch_add(1, Ordering::Relaxed);
                self.fail(FileStreamError::GaveUp {
                    path: path.clone(),
                    attempts,
                    source,
                });
                given_up.push(path);
            } else {
                self.shared.read_retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%time, path = %path.display(), error = %source, attempts,
                    "cannot read a selected file; the next batch tries again");
                self.shared.record_error(&FileStreamError::Read {
                    path: path.clone(),
                    source,
                });
                retrying.insert(path, attempts);
            }
        }
        given_up
    }
}

impl InputSource<String> for FileSource {
    fn name(&self) -> &'static str {
        "file_stream"
    }

    fn start(&self, env: &InputEnv) -> Result<(), StreamingError> {
        let ctx = env.rdd_context();
        *self.place.lock().unwrap_or_else(PoisonError::into_inner) =
            (ctx.processes(), ctx.process());
        self.start_window(env).map(|_| ())
    }

    fn checkpoint_state(
        &self,
        time: Time,
        env: &InputEnv,
    ) -> Result<Option<Vec<u8>>, StreamingError> {
        // A fresh start's checkpoint is written before `start`: fix the
        // time rule now, as `start` would (it then keeps this one).
        let ignore_before = Some(self.start_window(env)?.ignore_before);
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
        let dir = &self.shared.dir;
        let mut selected = self.shared.selected();
        selected.clear();
        let mut files = 0;
        for (at, mut paths) in position.selected {
            paths.retain(|path| {
                let watched = is_watched(dir, path);
                if !watched {
                    tracing::warn!(dir = %dir.display(), path = %path.display(),
                        "the checkpoint names a file outside the watched directory: dropped");
                }
                watched
            });
            files += paths.len();
            if !paths.is_empty() {
                selected.insert(Time::from_millis(at), paths);
            }
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
        let mut scanned = self.scan_all(self.candidates(time, window), env);
        let given_up = self.failed_reads(time, window, std::mem::take(&mut scanned.failed));
        let s = &self.shared;
        {
            let mut retrying = s.retrying();
            for path in &scanned.taken {
                retrying.remove(path);
            }
        }
        s.files_taken
            .fetch_add(scanned.taken.len() as u64, Ordering::Relaxed);
        s.lines.fetch_add(scanned.lines, Ordering::Relaxed);
        s.bytes.fetch_add(scanned.bytes, Ordering::Relaxed);
        let remembered: Vec<PathBuf> = scanned.taken.iter().chain(&given_up).cloned().collect();
        if !remembered.is_empty() {
            self.shared.selected().insert(time, remembered);
        }
        if !scanned.taken.is_empty() {
            tracing::debug!(%time, files = ?scanned.taken, lines = scanned.lines,
                bytes = scanned.bytes, "file stream batch");
        }
        env.report_records(time, scanned.lines);
        for error in self.shared.take_batch_errors() {
            env.report_error(time, error);
        }
        let invalid_utf8_lines = Some(Arc::clone(&s.invalid_utf8_lines));
        Ok(Some(scanned.into_rdd(&self.fs, env, invalid_utf8_lines)))
    }

    fn clear_metadata(&self, time: Time, env: &InputEnv) {
        let Some(window) = *self.window.lock().unwrap_or_else(PoisonError::into_inner) else {
            return;
        };
        // The longer of the file remember window and the stream's remember
        // duration (what windows over it still ask for), counted back from
        // the newest completed batch: a batch generated ahead of it does
        // not shorten what the next checkpoint holds.
        let keep = window.remember.max(env.remember_duration());
        let forget_up_to =
            Time::from_millis(time.milliseconds().saturating_sub(keep.milliseconds()));
        self.shared.selected().retain(|&at, _| at > forget_up_to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_names() {
        assert!(is_hidden(Path::new("/d/.x")));
        assert!(is_hidden(Path::new("/d/_COPYING_")));
        assert!(!is_hidden(Path::new("/d/x_.txt")));
    }

    #[test]
    fn watched_paths() {
        let dir = Path::new("/data/in");
        assert!(is_watched(dir, Path::new("/data/in/a.txt")));
        assert!(!is_watched(dir, Path::new("/data/in/sub/a.txt")));
        assert!(!is_watched(dir, Path::new("/data/in/../secret")));
        assert!(!is_watched(dir, Path::new("/etc/passwd")));
        assert!(!is_watched(dir, Path::new("/data/in/.hidden")));
        let glob = Path::new("/logs/day-*/in");
        assert!(is_watched(glob, Path::new("/logs/day-7/in/x")));
        assert!(!is_watched(glob, Path::new("/logs/night/in/x")));
        assert!(!is_watched(glob, Path::new("/logs/../in/x")));
        assert!(is_watched(Path::new("rel"), Path::new("rel/x")));
        assert!(!is_watched(Path::new("rel"), Path::new("/rel/x")));
    }
}
