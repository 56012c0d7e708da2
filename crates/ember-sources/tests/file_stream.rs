//! File stream tests: real files in temp directories, moved in atomically,
//! on a manual clock advanced one batch at a time.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use crossbeam_channel::{Receiver, unbounded};
use ember_dstream::{
    BatchInfo, Clock, Duration, InputErrorInfo, ManualClock, StopOptions, StreamingConf,
    StreamingContext, StreamingListener, Time,
};
use ember_rdd::JobError;
use ember_sources::file::{
    FileBytes, FileStatus, FileStreamHandle, FileStreamOptions, FileStreams, FileSystem,
    LocalFileSystem,
};
use tempfile::TempDir;

const PATIENCE: StdDuration = StdDuration::from_secs(60);

/// Sends each completed batch's time and record count.
struct Records(crossbeam_channel::Sender<(Time, u64)>);

impl StreamingListener for Records {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let _ = self.0.send((batch.batch_time, batch.num_records));
    }
}

/// One batch as the test sees it.
#[derive(Debug)]
struct Batch {
    time: Time,
    lines: Vec<String>,
    partitions: Vec<Vec<String>>,
    records: u64,
}

struct Harness {
    ssc: StreamingContext,
    clock: Arc<ManualClock>,
    handle: FileStreamHandle,
    batches: Receiver<(Time, Vec<Vec<String>>)>,
    records: Receiver<(Time, u64)>,
}

impl Harness {
    /// A started context at `start_ms` with a file stream on `dir`.
    fn start(dir: &Path, options: FileStreamOptions, start_ms: u64) -> Harness {
        let clock = Arc::new(ManualClock::new());
        clock.set_time(Time::from_millis(start_ms));
        let conf = StreamingConf::new()
            .master("local[2]")
            .app_name("file-tests");
        let ssc =
            StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
        let (stream, handle) = ssc.file_stream_on(Arc::new(LocalFileSystem::new()), dir, options);
        let (tx, batches) = unbounded();
        stream
            .foreach_rdd(move |rdd, time| {
                let _ = tx.send((time, rdd.collect_partitions()?));
                Ok(())
            })
            .unwrap();
        let (rtx, records) = unbounded();
        ssc.add_listener(Arc::new(Records(rtx)));
        ssc.start().unwrap();
        Harness {
            ssc,
            clock,
            handle,
            batches,
            records,
        }
    }

    /// Advances one batch and returns it.
    fn next(&self) -> Batch {
        self.clock.advance(Duration::from_secs(1));
        let (time, partitions) = self.batches.recv_timeout(PATIENCE).unwrap();
        let (rtime, records) = self.records.recv_timeout(PATIENCE).unwrap();
        assert_eq!(time, rtime);
        assert_eq!(time, self.clock.now());
        Batch {
            time,
            lines: partitions.iter().flatten().cloned().collect(),
            partitions,
            records,
        }
    }

    fn stop(self) {
        self.ssc.stop(StopOptions::default()).unwrap();
    }
}

/// A monitored directory and a staging directory on the same disk.
struct Dirs {
    watched: TempDir,
    staging: TempDir,
}

impl Dirs {
    fn new() -> Dirs {
        Dirs {
            watched: TempDir::new().unwrap(),
            staging: TempDir::new().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.watched.path()
    }

    /// Writes `name` in staging with modification time `mod_ms` (manual
    /// clock time), then moves it into `dir`.
    fn put_in(&self, dir: &Path, name: &str, contents: &[u8], mod_ms: u64) -> PathBuf {
        let staged = self.staging.path().join(name);
        fs::write(&staged, contents).unwrap();
        set_mtime(&staged, mod_ms);
        let target = dir.join(name);
        LocalFileSystem::new().rename(&staged, &target).unwrap();
        target
    }

    fn put(&self, name: &str, contents: &[u8], mod_ms: u64) -> PathBuf {
        self.put_in(self.watched.path(), name, contents, mod_ms)
    }
}

fn set_mtime(path: &Path, mod_ms: u64) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(UNIX_EPOCH + StdDuration::from_millis(mod_ms))
        .unwrap();
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn files_arrive_in_the_batch_of_their_modification_time() {
    let dirs = Dirs::new();
    dirs.put("a.txt", b"alpha\nbeta\n", 500);
    dirs.put("b.txt", b"gamma\r\ndelta", 1500);
    dirs.put("c1.txt", b"one\n", 2001);
    dirs.put("c2.txt", b"two\nthree\n", 3000);
    let h = Harness::start(dirs.path(), FileStreamOptions::default(), 0);
    let b1 = h.next();
    assert_eq!(b1.time, Time::from_millis(1000));
    assert_eq!(b1.lines, strings(&["alpha", "beta"]));
    assert_eq!(b1.records, 2);
    let b2 = h.next();
    assert_eq!(b2.lines, strings(&["gamma", "delta"]));
    assert_eq!(b2.records, 2);
    let b3 = h.next();
    assert_eq!(b3.lines, strings(&["one", "two", "three"]), "by mod time");
    assert_eq!(b3.records, 3);
    let b4 = h.next();
    assert!(b4.lines.is_empty());
    assert_eq!(b4.records, 0);
    // A file arriving late (mod time in the past, but within the remember
    // window) is still taken once, by the next batch.
    dirs.put("late.txt", b"late\n", 2500);
    dirs.put("d.txt", b"d\n", 4500);
    let b5 = h.next();
    assert_eq!(sorted(b5.lines), strings(&["d", "late"]));
    let metrics = h.handle.metrics();
    assert_eq!(metrics.files_taken, 6);
    assert_eq!(metrics.files_failed, 0);
    assert_eq!(metrics.listing_errors, 0);
    assert_eq!(metrics.lines, 9);
    let recent = h.handle.recent_files();
    assert_eq!(recent.len(), 4, "{recent:?}");
    assert_eq!(recent[&Time::from_millis(3000)].len(), 2);
    h.stop();
}

#[test]
fn files_older_than_the_window_or_the_start_are_skipped() {
    let dirs = Dirs::new();
    // The context starts at 100 s: a file at 99.5 s predates it (ignored
    // with new_files_only), a file at 10 s is older than the 60 s window.
    dirs.put("before-start.txt", b"x\n", 99_500);
    let h = Harness::start(dirs.path(), FileStreamOptions::default(), 100_000);
    dirs.put("ancient.txt", b"old\n", 10_000);
    dirs.put("new.txt", b"new\n", 100_400);
    let b1 = h.next();
    assert_eq!(b1.time, Time::from_millis(101_000));
    assert_eq!(b1.lines, strings(&["new"]));
    assert!(h.next().lines.is_empty());
    h.stop();
}

#[test]
fn new_files_only_false_takes_existing_files_in_the_first_batch() {
    let dirs = Dirs::new();
    dirs.put("recent.txt", b"recent\n", 50_000);
    dirs.put("ancient.txt", b"ancient\n", 10_000);
    let options = FileStreamOptions::default().with_new_files_only(false);
    let h = Harness::start(dirs.path(), options, 100_000);
    let b1 = h.next();
    assert_eq!(
        b1.lines,
        strings(&["recent"]),
        "ancient is out of the 60 s window"
    );
    assert!(h.next().lines.is_empty());
    h.stop();
}

#[test]
fn a_file_is_taken_once_even_when_touched_again() {
    let dirs = Dirs::new();
    let path = dirs.put("once.txt", b"once\n", 1500);
    let h = Harness::start(dirs.path(), FileStreamOptions::default(), 0);
    assert!(h.next().lines.is_empty());
    assert_eq!(h.next().lines, strings(&["once"]));
    // Re-listed in every batch of the window, and touched into the next one.
    set_mtime(&path, 2500);
    assert!(h.next().lines.is_empty());
    // Replaced by a new file under the same name.
    dirs.put("once.txt", b"again\n", 3500);
    assert!(h.next().lines.is_empty());
    assert_eq!(h.handle.metrics().files_taken, 1);
    h.stop();
}

#[test]
fn hidden_and_in_progress_names_are_ignored() {
    let dirs = Dirs::new();
    dirs.put(".tmp", b"hidden\n", 500);
    dirs.put("_tmp", b"underscore\n", 500);
    dirs.put(".part.txt", b"hidden\n", 500);
    dirs.put("_COPYING_", b"underscore\n", 500);
    dirs.put("ok.txt", b"ok\n", 500);
    fs::create_dir(dirs.path().join("subdir")).unwrap();
    let h = Harness::start(dirs.path(), FileStreamOptions::default(), 0);
    assert_eq!(h.next().lines, strings(&["ok"]));
    h.stop();
}

#[test]
fn the_filter_option_selects_files() {
    let dirs = Dirs::new();
    dirs.put("a.log", b"log a\n", 500);
    dirs.put("b.csv", b"csv b\n", 500);
    dirs.put("c.log", b"log c\n", 1500);
    let options = FileStreamOptions::default()
        .with_filter(|p: &Path| p.extension().is_some_and(|e| e == "log"));
    let h = Harness::start(dirs.path(), options, 0);
    assert_eq!(h.next().lines, strings(&["log a"]));
    assert_eq!(h.next().lines, strings(&["log c"]));
    h.stop();
}

#[test]
fn a_glob_in_the_directory_path_monitors_every_match() {
    let dirs = Dirs::new();
    let root = dirs.path();
    for d in ["logs-a", "logs-b", "other", "logs-c"] {
        fs::create_dir(root.join(d)).unwrap();
    }
    dirs.put_in(&root.join("logs-a"), "1.txt", b"a1\n", 500);
    dirs.put_in(&root.join("logs-b"), "1.txt", b"b1\n", 600);
    dirs.put_in(&root.join("other"), "1.txt", b"other\n", 500);
    // A plain file matching the glob is not a directory to monitor.
    dirs.put("logs-file", b"no\n", 500);
    let h = Harness::start(&root.join("logs-*"), FileStreamOptions::default(), 0);
    assert_eq!(h.next().lines, strings(&["a1", "b1"]));
    // A directory created later is picked up.
    fs::create_dir(root.join("logs-d")).unwrap();
    dirs.put_in(&root.join("logs-d"), "2.txt", b"d2\n", 1500);
    dirs.put_in(&root.join("logs-c"), "2.txt", b"c2\n", 1400);
    assert_eq!(h.next().lines, strings(&["c2", "d2"]));
    assert_eq!(h.handle.metrics().listing_errors, 0);
    h.stop();
}

#[test]
fn a_missing_directory_gives_empty_batches_until_it_appears() {
    let dirs = Dirs::new();
    let missing = dirs.path().join("later");
    let h = Harness::start(&missing, FileStreamOptions::default(), 0);
    let b1 = h.next();
    assert!(b1.lines.is_empty());
    assert!(h.next().lines.is_empty());
    let metrics = h.handle.metrics();
    assert_eq!(metrics.listing_errors, 2);
    assert!(
        metrics
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("later")),
        "{metrics:?}"
    );
    fs::create_dir(&missing).unwrap();
    dirs.put_in(&missing, "f.txt", b"here\n", 2500);
    assert_eq!(h.next().lines, strings(&["here"]));
    // The directory vanishes again: counted, nothing taken is lost.
    fs::remove_dir_all(&missing).unwrap();
    assert!(h.next().lines.is_empty());
    let metrics = h.handle.metrics();
    assert_eq!(metrics.listing_errors, 3);
    assert_eq!(metrics.files_taken, 1);
    h.stop();
}

#[test]
fn invalid_utf8_is_replaced_and_counted() {
    let dirs = Dirs::new();
    dirs.put("bad.txt", b"fine\n\xff\xfebroken\nok\r\nx\xc3", 500);
    dirs.put("good.txt", b"good\n", 600);
    let h = Harness::start(dirs.path(), FileStreamOptions::default(), 0);
    let b1 = h.next();
    assert_eq!(
        b1.lines,
        strings(&["fine", "\u{fffd}\u{fffd}broken", "ok", "x\u{fffd}", "good"])
    );
    assert_eq!(b1.records, 5);
    let metrics = h.handle.metrics();
    assert_eq!(metrics.files_taken, 2);
    assert_eq!(metrics.files_failed, 0);
    assert_eq!(metrics.invalid_utf8_lines, 2);
    assert_eq!(metrics.lines, 5);
    assert!(h.next().lines.is_empty());
    h.stop();
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_counted_and_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let dirs = Dirs::new();
    let locked = dirs.put("locked.txt", b"secret\n", 500);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&locked).is_ok() {
        // Running as root: permissions do not stop reads.
        return;
    }
    dirs.put("open.txt", b"open\n", 500);
    let h = Harness::start(dirs.path(), FileStreamOptions::default(), 0);
    assert_eq!(h.next().lines, strings(&["open"]));
    // Tried again by the next two batches, then given up.
    assert!(h.next().lines.is_empty());
    assert!(h.next().lines.is_empty());
    let metrics = h.handle.metrics();
    assert_eq!((metrics.files_failed, metrics.read_retries), (1, 2));
    h.stop();
}

/// The local disk, except that files named `locked*` cannot be opened.
#[derive(Debug)]
struct Locked(LocalFileSystem);

impl FileSystem for Locked {
    fn list(&self, dir: &Path) -> std::io::Result<Vec<FileStatus>> {
        self.0.list(dir)
    }
    fn open(&self, path: &Path) -> std::io::Result<FileBytes> {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("locked"))
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "locked",
            ));
        }
        self.0.open(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.0.rename(from, to)
    }
}

#[test]
fn another_file_system_plugs_in_and_read_errors_are_counted() {
    let dirs = Dirs::new();
    dirs.put("locked.txt", b"secret\n", 500);
    dirs.put("open.txt", b"open\n", 600);
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(Locked(LocalFileSystem::new()));
    let (stream, handle) = ssc.file_stream_on(fs, dirs.path(), FileStreamOptions::default());
    let (tx, rx) = unbounded();
    stream
        .foreach_rdd(move |rdd, _| {
            let _ = tx.send(rdd.collect()?);
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), strings(&["open"]));
    let metrics = handle.metrics();
    assert_eq!(
        (
            metrics.files_taken,
            metrics.files_failed,
            metrics.read_retries
        ),
        (1, 0, 1),
        "tried again by the next batch"
    );
    // The default `ember.fileStream.maxReadAttempts` is 3: given up by the
    // third batch, never tried again.
    for _ in 0..3 {
        clock.advance(Duration::from_secs(1));
        assert!(rx.recv_timeout(PATIENCE).unwrap().is_empty());
    }
    let metrics = handle.metrics();
    assert_eq!(
        (
            metrics.files_taken,
            metrics.files_failed,
            metrics.read_retries
        ),
        (1, 1, 2)
    );
    let error = metrics.last_error.unwrap_or_default();
    assert!(
        error.contains("locked.txt") && error.contains("after 3 failed reads"),
        "{error}"
    );
    ssc.stop(StopOptions::default()).unwrap();
}

/// The local disk, except that opening a file named in `failures` fails
/// as many times as it says (then works): a transient read error.
#[derive(Debug)]
struct FailsFirst {
    disk: LocalFileSystem,
    failures: Mutex<BTreeMap<String, u32>>,
}

impl FileSystem for FailsFirst {
    fn list(&self, dir: &Path) -> std::io::Result<Vec<FileStatus>> {
        self.disk.list(dir)
    }
    fn open(&self, path: &Path) -> std::io::Result<FileBytes> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(left) = self.failures.lock().unwrap().get_mut(&name)
            && *left > 0
        {
            *left -= 1;
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "not yet readable",
            ));
        }
        self.disk.open(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.disk.rename(from, to)
    }
}

#[test]
fn a_file_that_failed_to_read_is_retried_and_counted_once() {
    let dirs = Dirs::new();
    dirs.put("flaky.txt", b"late 1\nlate 2\n", 400);
    dirs.put("other.txt", b"other\n", 500);
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(FailsFirst {
        disk: LocalFileSystem::new(),
        failures: Mutex::new(BTreeMap::from([("flaky.txt".to_owned(), 2)])),
    });
    let (stream, handle) = ssc.file_stream_on(fs, dirs.path(), FileStreamOptions::default());
    let (tx, rx) = unbounded();
    stream
        .foreach_rdd(move |rdd, time| {
            let _ = tx.send((time, rdd.collect()?));
            Ok(())
        })
        .unwrap();
    let (rtx, records) = unbounded();
    ssc.add_listener(Arc::new(Records(rtx)));
    ssc.start().unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        clock.advance(Duration::from_secs(1));
        let (time, lines) = rx.recv_timeout(PATIENCE).unwrap();
        let (rtime, count) = records.recv_timeout(PATIENCE).unwrap();
        assert_eq!(time, rtime);
        got.push((time.milliseconds(), lines, count));
    }
    let expected = vec![
        (1000, strings(&["other"]), 1),
        (2000, vec![], 0),
        // The third attempt reads it: counted in this batch, once.
        (3000, strings(&["late 1", "late 2"]), 2),
        (4000, vec![], 0),
    ];
    assert_eq!(got, expected);
    let metrics = handle.metrics();
    assert_eq!(
        (
            metrics.files_taken,
            metrics.files_failed,
            metrics.read_retries,
            metrics.lines
        ),
        (2, 0, 2, 3)
    );
    ssc.stop(StopOptions::default()).unwrap();
}

#[test]
fn a_file_truncated_before_its_job_reads_it_fails_the_job_and_nothing_crashes() {
    let dirs = Dirs::new();
    // Over the old 1 MiB memory-map threshold.
    let line = "x".repeat(99);
    let text: String = (0..30_000).map(|_| format!("{line}\n")).collect();
    let path = dirs.put("big.txt", text.as_bytes(), 500);
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
    let (stream, _) = ssc.file_stream_on(
        Arc::new(LocalFileSystem::new()),
        dirs.path(),
        FileStreamOptions::default(),
    );
    // The job waits for the test's go before it reads the batch.
    let (started_tx, started) = unbounded();
    let (go, go_rx) = unbounded::<()>();
    let (tx, rx) = unbounded();
    stream
        .foreach_rdd(move |rdd, _| {
            let _ = started_tx.send(());
            let _ = go_rx.recv_timeout(PATIENCE);
            let _ = tx.send(rdd.count());
            Ok(())
        })
        .unwrap();
    let (rtx, records) = unbounded();
    ssc.add_listener(Arc::new(Records(rtx)));
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    started.recv_timeout(PATIENCE).unwrap();
    // Selected and counted at generation; truncated by another process
    // before the job reads it.
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1000)
        .unwrap();
    go.send(()).unwrap();
    match rx.recv_timeout(PATIENCE).unwrap() {
        Err(JobError::Io {
            path: failed,
            source,
        }) => {
            assert_eq!(failed, path);
            assert!(source.to_string().contains("shrank"), "{source}");
        }
        other => panic!("expected an I/O error naming the file, got {other:?}"),
    }
    assert_eq!(records.recv_timeout(PATIENCE).unwrap().1, 30_000);
    // The stream goes on.
    dirs.put("next.txt", b"next\n", 1500);
    clock.advance(Duration::from_secs(1));
    started.recv_timeout(PATIENCE).unwrap();
    go.send(()).unwrap();
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap().unwrap(), 1);
    ssc.stop(StopOptions::default()).unwrap();
}

#[test]
fn a_large_mapped_file_is_split_with_every_line_once() {
    let dirs = Dirs::new();
    let mut text = String::new();
    let mut expected = Vec::new();
    let mut i = 0u64;
    while text.len() < (1 << 20) + (512 << 10) {
        let line = format!("line {i} {}", "x".repeat((i % 97) as usize));
        text.push_str(&line);
        text.push_str(if matches!(i % 3, 0) { "\r\n" } else { "\n" });
        expected.push(line);
        i += 1;
    }
    text.push_str("last without newline");
    expected.push("last without newline".to_owned());
    let path = dirs.put("big.txt", text.as_bytes(), 500);
    assert!(LocalFileSystem::new().open(&path).unwrap().is_mapped());
    let options = FileStreamOptions::default().with_max_partition_bytes(256 << 10);
    let h = Harness::start(dirs.path(), options, 0);
    let b1 = h.next();
    assert_eq!(b1.partitions.len(), 7, "1.5 MiB in 256 KiB partitions");
    assert!(b1.partitions.iter().all(|p| !p.is_empty()));
    assert_eq!(b1.records, expected.len() as u64);
    assert_eq!(b1.lines, expected, "every line once, in order");
    h.stop();
}

#[test]
fn text_file_stream_uses_the_local_disk() {
    let dirs = Dirs::new();
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
    let (tx, rx) = unbounded();
    ssc.text_file_stream(dirs.path())
        .foreach_rdd(move |rdd, _| {
            let _ = tx.send(rdd.collect()?);
            Ok(())
        })
        .unwrap();
    dirs.put("f.txt", b"x\ny\n", 700);
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), strings(&["x", "y"]));
    ssc.stop(StopOptions::default()).unwrap();
}

// ---- recovery after a backlog ----

/// The lines of the file of batch `b`.
fn batch_lines(b: u64) -> Vec<String> {
    (0..b % 3 + 1).map(|i| format!("{b}-{i}")).collect()
}

/// Writes the file of batch `b`, modified in the middle of its interval.
fn put_batch_file(dirs: &Dirs, b: u64) {
    let text: String = batch_lines(b).iter().map(|l| format!("{l}\n")).collect();
    dirs.put(&format!("f-{b:03}.txt"), text.as_bytes(), b * 1000 - 500);
}

/// Sends the time of each submitted and each completed batch.
struct Progress {
    submitted: crossbeam_channel::Sender<Time>,
    completed: crossbeam_channel::Sender<Time>,
}

impl StreamingListener for Progress {
    fn on_batch_submitted(&self, batch: &BatchInfo) {
        let _ = self.submitted.send(batch.batch_time);
    }
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let _ = self.completed.send(batch.batch_time);
    }
}

/// A checkpointed file stream context (selected names remembered 3 s)
/// whose output sends each batch's lines; the jobs of batches from
/// `gate_from` on first wait for a permit (a slow output), and send
/// nothing once `crashed` is set.
struct GatedRun {
    ssc: StreamingContext,
    clock: Arc<ManualClock>,
    lines: Receiver<(Time, Vec<String>)>,
    permits: crossbeam_channel::Sender<()>,
    crashed: Arc<std::sync::atomic::AtomicBool>,
    submitted: Receiver<Time>,
    completed: Receiver<Time>,
    /// The checkpoint it recovered from.
    recovered: Option<Time>,
}

impl GatedRun {
    fn start(checkpoints: &Path, watched: &Path, now_ms: u64, gate_from: Time) -> GatedRun {
        use std::sync::atomic::{AtomicBool, Ordering};
        let clock = Arc::new(ManualClock::new());
        clock.set_time(Time::from_millis(now_ms));
        let (tx, lines) = unbounded();
        let (permits, permit_rx) = unbounded::<()>();
        let crashed = Arc::new(AtomicBool::new(false));
        let dead = Arc::clone(&crashed);
        let ssc = StreamingContext::get_or_create(checkpoints, || {
            let conf = StreamingConf::new()
                .master("local[2]")
                .app_name("file-backlog")
                .set("spark.streaming.fileStream.minRememberDuration", "3s");
            let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
            ssc.text_file_stream(watched)
                .foreach_rdd(move |rdd, time| {
                    if time >= gate_from {
                        let _ = permit_rx.recv_timeout(PATIENCE);
                    }
                    if !dead.load(Ordering::SeqCst) {
                        let _ = tx.send((time, rdd.collect()?));
                    }
                    Ok(())
                })?;
            Ok(ssc)
        })
        .unwrap();
        let (stx, submitted) = unbounded();
        let (ctx, completed) = unbounded();
        ssc.add_listener(Arc::new(Progress {
            submitted: stx,
            completed: ctx,
        }));
        let recovered = ssc.recovered_from();
        ssc.start().unwrap();
        GatedRun {
            recovered,
            ssc,
            clock,
            lines,
            permits,
            crashed,
            submitted,
            completed,
        }
    }

    /// Waits until the listener saw batch `at` in `events`.
    fn wait_for(events: &Receiver<Time>, at: u64) {
        while events.recv_timeout(PATIENCE).unwrap() < Time::from_millis(at) {}
    }
}

/// Waits until a file whose name starts with `prefix` is in `dir` (a
/// checkpoint written off the batch's thread may land after the batch).
fn wait_for_file(dir: &Path, prefix: &str) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !fs::read_dir(dir)
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(prefix))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no {prefix} in {dir:?}"
        );
        std::thread::sleep(StdDuration::from_millis(5));
    }
}

/// Copies the files of `from` (recursively) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn recovery_after_a_backlog_takes_every_file_exactly_once() {
    use std::sync::atomic::Ordering;
    let dirs = Dirs::new();
    let checkpoints = TempDir::new().unwrap();
    for b in 1..=22 {
        put_batch_file(&dirs, b);
    }
    let mut got: Vec<(u64, Vec<String>)> = Vec::new();
    let mut take = |lines: &Receiver<(Time, Vec<String>)>, n: usize| {
        for _ in 0..n {
            let (time, batch) = lines.recv_timeout(PATIENCE).unwrap();
            got.push((time.milliseconds() / 1000, batch));
        }
    };

    // First run: batches 1..=9 run as they come; from 10 on the output is
    // slow, and the generator runs ahead to 20 while 10 waits.
    let first = GatedRun::start(
        checkpoints.path(),
        dirs.path(),
        0,
        Time::from_millis(10_000),
    );
    first.clock.set_time(Time::from_millis(9_000));
    take(&first.lines, 9);
    first.clock.set_time(Time::from_millis(20_000));
    GatedRun::wait_for(&first.submitted, 20_000);
    // Batch 10 completes and is checkpointed (the checkpoint interval is
    // 10 s); batch 11 is held. The process "crashes" here: its checkpoint
    // directory is what a restart finds.
    first.permits.send(()).unwrap();
    take(&first.lines, 1);
    GatedRun::wait_for(&first.completed, 10_000);
    wait_for_file(checkpoints.path(), "checkpoint-10000");
    let crashed = TempDir::new().unwrap();
    copy_dir(checkpoints.path(), crashed.path());
    first.crashed.store(true, Ordering::SeqCst);
    for _ in 0..20 {
        first.permits.send(()).unwrap();
    }
    first.ssc.stop(StopOptions::default()).unwrap();

    // The restart from checkpoint 10: batches 11..=20 are generated again
    // (catch-up), then 21 and 22.
    let second = GatedRun::start(
        crashed.path(),
        dirs.path(),
        20_000,
        Time::from_millis(u64::MAX),
    );
    assert_eq!(second.recovered, Some(Time::from_millis(10_000)));
    take(&second.lines, 10);
    second.clock.set_time(Time::from_millis(22_000));
    take(&second.lines, 2);
    second.ssc.stop(StopOptions::default()).unwrap();

    got.sort();
    let expected: Vec<(u64, Vec<String>)> = (1..=22).map(|b| (b, batch_lines(b))).collect();
    assert_eq!(got, expected, "each file exactly once, in its own batch");
}

/// Sends each completed batch's input errors and keeps the input error
/// events.
struct InputErrors(
    crossbeam_channel::Sender<(Time, Vec<(usize, String)>)>,
    Mutex<Vec<InputErrorInfo>>,
);

impl StreamingListener for InputErrors {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let _ = self.0.send((batch.batch_time, batch.input_errors.clone()));
    }
    fn on_input_error(&self, error: &InputErrorInfo) {
        self.1
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(error.clone());
    }
}

#[test]
fn read_errors_are_reported_with_their_batch() {
    let dirs = Dirs::new();
    let locked = dirs.put("locked.txt", b"secret\n", 500);
    dirs.put("open.txt", b"open\n", 600);
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(Locked(LocalFileSystem::new()));
    let (stream, _handle) = ssc.file_stream_on(fs, dirs.path(), FileStreamOptions::default());
    stream
        .foreach_rdd(|rdd, _| Ok(rdd.count().map(|_| ())?))
        .unwrap();
    let (tx, rx) = unbounded();
    let listener = Arc::new(InputErrors(tx, Mutex::new(Vec::new())));
    ssc.add_listener(listener.clone());
    ssc.start().unwrap();
    let read = format!("cannot read {}: locked", locked.display());
    let gave_up = format!(
        "giving up on {} after 3 failed reads: locked",
        locked.display()
    );
    let expected = [
        vec![(0, read.clone())],
        vec![(0, read)],
        vec![(0, gave_up)],
        vec![],
    ];
    // The same errors, each also posted at once as an input error event.
    let events: Vec<InputErrorInfo> = expected
        .iter()
        .enumerate()
        .flat_map(|(n, errors)| {
            errors.iter().map(move |(id, message)| InputErrorInfo {
                stream_id: *id,
                name: "file_stream".to_owned(),
                batch_time: Some(Time::from_millis((n as u64 + 1) * 1000)),
                message: message.clone(),
            })
        })
        .collect();
    for (n, errors) in expected.into_iter().enumerate() {
        clock.advance(Duration::from_secs(1));
        let (time, seen) = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(time, Time::from_millis((n as u64 + 1) * 1000));
        assert_eq!(seen, errors, "batch {time}");
    }
    ssc.stop(StopOptions::default()).unwrap();
    assert_eq!(
        *listener.1.lock().unwrap_or_else(PoisonError::into_inner),
        events
    );
}

#[test]
fn invalid_utf8_is_reported_once_when_read_by_several_jobs() {
    // The scan no longer checks UTF-8; the read does, and reports each bad
    // line once, however many jobs read the batch and however it is split.
    let dirs = Dirs::new();
    dirs.put("bad.txt", b"a\n\xffb\nc\xfe\nd\ne\xc3\n", 500);
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new().master("local[2]");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone()).unwrap();
    let options = FileStreamOptions::default().with_max_partition_bytes(4);
    let (stream, handle) =
        ssc.file_stream_on(Arc::new(LocalFileSystem::new()), dirs.path(), options);
    let (tx, rx) = unbounded();
    for job in 0..3 {
        let tx = tx.clone();
        stream
            .foreach_rdd(move |rdd, time| {
                let _ = tx.send((job, time, rdd.collect()?));
                Ok(())
            })
            .unwrap();
    }
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    let expected = strings(&["a", "\u{fffd}b", "c\u{fffd}", "d", "e\u{fffd}"]);
    for job in 0..3 {
        let (j, time, lines) = rx.recv_timeout(PATIENCE).unwrap();
        assert_eq!(
            (j, time, lines),
            (job, Time::from_millis(1000), expected.clone())
        );
    }
    let metrics = handle.metrics();
    assert_eq!((metrics.invalid_utf8_lines, metrics.lines), (3, 5));
    ssc.stop(StopOptions::default()).unwrap();
}
