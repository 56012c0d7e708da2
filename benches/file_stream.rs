//! File stream throughput: one batch that reads and splits a directory of
//! 1 GiB of text (64 files of 16 MiB, memory-mapped) into lines and counts
//! them, beside a plain memory-map line count of the same files in the same
//! run (map each file, count its `\n` bytes). The files are written once,
//! outside the timed loop. The ratio of the two throughputs is the figure.
//! The batch is counted three ways: `rdd.count()` on the plain API (a
//! `String` per line), and a `stream!` filter+count over `DStream<String>`
//! and over `DStream<&str>` (each partition read into one buffer, its lines
//! borrowed from it).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::{Duration as StdDuration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember_dstream::{
    DStream, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext, Time,
};
use ember_sources::file::{FileStreamOptions, FileStreams, FileSystem, LocalFileSystem};

const FILES: usize = 64;
const FILE_BYTES: usize = 16 << 20;

/// Writes the files (lines of 5 to 80 bytes of words) and returns them.
fn write_files(dir: &Path) -> Vec<PathBuf> {
    const WORDS: [&str; 8] = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
    ];
    let mut text = String::with_capacity(FILE_BYTES + 128);
    let mut i = 0usize;
    while text.len() < FILE_BYTES {
        for w in 0..(1 + i % 12) {
            if w > 0 {
                text.push(' ');
            }
            text.push_str(WORDS[(i + w) % WORDS.len()]);
        }
        text.push('\n');
        i += 1;
    }
    (0..FILES)
        .map(|f| {
            let path = dir.join(format!("part-{f:02}.txt"));
            std::fs::write(&path, &text).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
            path
        })
        .collect()
}

/// The baseline: map each file, count its newlines.
fn mmap_line_count(files: &[PathBuf]) -> u64 {
    let fs = LocalFileSystem::new();
    files
        .iter()
        .map(|path| {
            let data = fs
                .open(path)
                .unwrap_or_else(|e| panic!("open {path:?}: {e}"));
            assert!(data.is_mapped());
            data.iter().filter(|&&b| b == b'\n').count() as u64
        })
        .sum()
}

ember::stream! {
    /// The non-empty lines, each borrowed from its partition's buffer.
    fn count_str(lines: DStream<&str>) -> DStream<u64> {
        lines.filter(|l| !l.is_empty()).count()
    }

    /// The same over a `String` per line.
    fn count_string(lines: DStream<String>) -> DStream<u64> {
        lines.filter(|l| !l.is_empty()).count()
    }
}

/// How a batch's lines are counted.
#[derive(Clone, Copy)]
enum Counting {
    /// `rdd.count()` on the batch's RDD.
    Plain,
    /// A `stream!` pipeline whose single output is the count.
    Pipeline(fn(DStream<String>) -> DStream<u64>),
}

/// One batch of a fresh file stream over `dir`: every file read, split
/// into lines and counted by a job.
fn file_stream_batch(dir: &Path, files_time: Time, counting: Counting) -> u64 {
    let clock = Arc::new(ManualClock::new());
    // Start the manual clock at the files' modification time and take
    // pre-existing files: they fall in the first batch however long ago
    // they were written.
    clock.set_time(files_time);
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("file-bench");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let options = FileStreamOptions::default().with_new_files_only(false);
    let (tx, rx) = sync_channel(1);
    let lines = ssc.file_stream(dir, options);
    match counting {
        Counting::Plain => lines.foreach_rdd(move |rdd, _| {
            let _ = tx.send(rdd.count()?);
            Ok(())
        }),
        Counting::Pipeline(pipeline) => pipeline(lines).foreach_rdd(move |rdd, _| {
            let _ = tx.send(rdd.collect()?.iter().sum());
            Ok(())
        }),
    }
    .unwrap_or_else(|e| panic!("{e}"));
    ssc.start().unwrap_or_else(|e| panic!("{e}"));
    clock.advance(Duration::from_secs(1));
    let lines = rx
        .recv_timeout(StdDuration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    ssc.stop(StopOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    lines
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = write_files(dir.path());
    let expected = mmap_line_count(&files);
    let files_time = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| Time::from_millis(d.as_millis() as u64))
        .max()
        .unwrap_or(Time::from_millis(0));
    let batch = |counting| {
        let lines = file_stream_batch(dir.path(), files_time, counting);
        assert_eq!(lines, expected, "every line of every file, once");
        lines
    };
    let ways = [
        ("file_stream_batch", Counting::Plain),
        ("stream_string_count", Counting::Pipeline(count_string)),
        ("stream_str_count", Counting::Pipeline(count_str)),
    ];
    for (_, counting) in ways {
        batch(counting);
    }

    let bytes = (FILES * std::fs::metadata(&files[0]).map_or(0, |m| m.len() as usize)) as u64;
    let mut group = c.benchmark_group("file_stream");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("mmap_line_count", |b| {
        b.iter(|| black_box(mmap_line_count(&files)))
    });
    for (name, counting) in ways {
        group.bench_function(name, |b| b.iter(|| black_box(batch(counting))));
    }
    group.finish();

    // The ratio, measured the same way in this run.
    let time = |f: &dyn Fn() -> u64| {
        let start = Instant::now();
        for _ in 0..3 {
            black_box(f());
        }
        start.elapsed().as_secs_f64() / 3.0
    };
    let baseline = time(&|| mmap_line_count(&files));
    let mb = bytes as f64 / 1e6;
    println!("mmap line count: {:.0} MB/s", mb / baseline);
    for (name, counting) in ways {
        let stream = time(&|| batch(counting));
        println!(
            "{name}: {:.0} MB/s, {:.2} of the baseline's throughput",
            mb / stream,
            baseline / stream
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
