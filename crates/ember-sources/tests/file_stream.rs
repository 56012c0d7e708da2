//! File stream tests: real files in temp directories, moved in atomically,
//! on a manual clock advanced one batch at a time.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use crossbeam_channel::{Receiver, unbounded};
use ember_dstream::{
    BatchInfo, Clock, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext,
    StreamingListener, Time,
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
            .foreach_rdd(move |rdd, time| -> Result<(), JobError> {
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
fn invalid_utf8_is_counted_and_the_other_files_delivered() {
    let dirs = Dirs::new();
    dirs.put("bad.txt", b"fine\n\xff\xfebroken\n", 500);
    dirs.put("good.txt", b"good\n", 600);
    let h = Harness::start(dirs.path(), FileStreamOptions::default(), 0);
    let b1 = h.next();
    assert_eq!(b1.lines, strings(&["good"]));
    assert_eq!(b1.records, 1);
    let metrics = h.handle.metrics();
    assert_eq!(metrics.files_failed, 1);
    assert_eq!(metrics.files_taken, 1);
    let error = metrics.last_error.unwrap_or_default();
    assert!(
        error.contains("bad.txt") && error.contains("offset 5"),
        "{error}"
    );
    // Not retried.
    assert!(h.next().lines.is_empty());
    assert_eq!(h.handle.metrics().files_failed, 1);
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
    assert_eq!(h.handle.metrics().files_failed, 1);
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
        .foreach_rdd(move |rdd, _| -> Result<(), JobError> {
            let _ = tx.send(rdd.collect()?);
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(rx.recv_timeout(PATIENCE).unwrap(), strings(&["open"]));
    let metrics = handle.metrics();
    assert_eq!((metrics.files_taken, metrics.files_failed), (1, 1));
    assert!(
        metrics
            .last_error
            .unwrap_or_default()
            .contains("locked.txt")
    );
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
        .foreach_rdd(move |rdd, _| -> Result<(), JobError> {
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
