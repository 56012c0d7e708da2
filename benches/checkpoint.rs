//! Checkpoint write and read throughput, with the plain-file baseline beside it.
//!
//! The checkpoint is word-count state of 1,000,000 keys (`Vec<(String, u64)>`,
//! keys `"w0"..="w999999"`, counts from the shared LCG), encoded once with
//! `ember::checkpoint::encode_value`. The same encoded bytes are then
//!
//! - written through `LocalCheckpointStore` (temp file, fsync, rename,
//!   directory fsync) and, as baselines, with plain `fs::write` and with
//!   `fs::write` + `sync_all` (the durability the store pays for);
//! - read back through the store with the header and CRC32C checked
//!   (`decode`; memory-mapped, since the object is over 1 MiB) and, as the
//!   baseline, with plain `fs::read`.
//!
//! Serialization itself (`encode_value`/`decode_value`) is measured apart.
//! After criterion's report, a short summary prints MB/s (10^6 bytes) of each
//! path and the store-to-plain ratios.
//!
//! Run: `cargo bench --bench checkpoint`.

use std::fs::{self, File};
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ember::checkpoint::{
    CheckpointStore, LocalCheckpointStore, decode, decode_value, encode_value,
};

/// Keys in the checkpointed state.
const KEYS: usize = 1_000_000;
/// The pipeline fingerprint written into the checkpoint.
const FINGERPRINT: u64 = 0xE3BE_2024;
/// The object name used through the store.
const NAME: &str = "checkpoint-1000";

/// Word-count state: `("w<i>", count)` for i in 0..KEYS, counts from the
/// shared 64-bit LCG (seed 42).
fn word_count_state() -> Vec<(String, u64)> {
    let mut x: u64 = 42;
    (0..KEYS)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (format!("w{i}"), (x >> 33) % 1000 + 1)
        })
        .collect()
}

/// Plain `fs::write` followed by `sync_all`: the durable plain-file baseline.
fn write_and_sync(path: &Path, bytes: &[u8]) {
    let mut file = File::create(path).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}

/// The fixture shared by the criterion benches and the summary.
struct Fixture {
    _dir: tempfile::TempDir,
    store: LocalCheckpointStore,
    plain: std::path::PathBuf,
    state: Vec<(String, u64)>,
    encoded: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        // Under the target directory: a real disk, not a tmpfs.
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let store = LocalCheckpointStore::open(dir.path().join("store")).unwrap();
        let plain = dir.path().join("plain-checkpoint");
        let state = word_count_state();
        let encoded = encode_value(FINGERPRINT, &state).unwrap();
        store.write(NAME, &encoded).unwrap();
        fs::write(&plain, &encoded).unwrap();
        Fixture {
            _dir: dir,
            store,
            plain,
            state,
            encoded,
        }
    }

    fn store_write(&self) {
        self.store.write(NAME, &self.encoded).unwrap();
    }

    fn plain_write(&self) {
        fs::write(&self.plain, &self.encoded).unwrap();
    }

    fn plain_write_sync(&self) {
        write_and_sync(&self.plain, &self.encoded);
    }

    fn store_read(&self) -> usize {
        let data = self.store.read(NAME).unwrap();
        decode(&data, Some(FINGERPRINT)).unwrap().len()
    }

    fn plain_read(&self) -> usize {
        fs::read(&self.plain).unwrap().len()
    }
}

fn benches(c: &mut Criterion, fx: &Fixture) {
    let bytes = fx.encoded.len() as u64;

    let mut write = c.benchmark_group("checkpoint_write");
    write.throughput(Throughput::BytesDecimal(bytes));
    write.bench_function("store", |b| b.iter(|| fx.store_write()));
    write.bench_function("plain_fs_write", |b| b.iter(|| fx.plain_write()));
    write.bench_function("plain_fs_write_sync_all", |b| {
        b.iter(|| fx.plain_write_sync())
    });
    write.finish();

    let mut read = c.benchmark_group("checkpoint_read");
    read.throughput(Throughput::BytesDecimal(bytes));
    read.bench_function("store_read_and_verify", |b| {
        b.iter(|| black_box(fx.store_read()))
    });
    read.bench_function("plain_fs_read", |b| b.iter(|| black_box(fx.plain_read())));
    read.finish();

    let mut serde = c.benchmark_group("checkpoint_serde");
    serde.throughput(Throughput::BytesDecimal(bytes));
    serde.bench_function("encode_value", |b| {
        b.iter(|| black_box(encode_value(FINGERPRINT, &fx.state).unwrap()))
    });
    serde.bench_function("decode_value", |b| {
        b.iter(|| {
            let state: Vec<(String, u64)> =
                decode_value(black_box(&fx.encoded), Some(FINGERPRINT)).unwrap();
            black_box(state)
        })
    });
    serde.finish();
}

/// Median wall time of `runs` calls of `f`, after one warm-up call.
fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Prints MB/s of each path and the store-to-plain ratios.
fn summary(fx: &Fixture) {
    const RUNS: usize = 7;
    let mb = fx.encoded.len() as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64();
    let store_w = rate(median_time(RUNS, || fx.store_write()));
    let plain_w = rate(median_time(RUNS, || fx.plain_write()));
    let sync_w = rate(median_time(RUNS, || fx.plain_write_sync()));
    let store_r = rate(median_time(RUNS, || {
        black_box(fx.store_read());
    }));
    let plain_r = rate(median_time(RUNS, || {
        black_box(fx.plain_read());
    }));

    println!();
    println!(
        "checkpoint summary: {KEYS} keys, {mb:.1} MB encoded, median of {RUNS} runs, MB = 10^6 bytes"
    );
    println!("  write  store (temp, fsync, rename, dir fsync)  {store_w:8.0} MB/s");
    println!("  write  plain fs::write                         {plain_w:8.0} MB/s");
    println!("  write  plain fs::write + sync_all              {sync_w:8.0} MB/s");
    println!("  read   store (mmap + header/CRC32C check)      {store_r:8.0} MB/s");
    println!("  read   plain fs::read                          {plain_r:8.0} MB/s");
    println!(
        "  ratio  store/plain: write {:.2} (vs fs::write + sync_all: {:.2}), read {:.2}",
        store_w / plain_w,
        store_w / sync_w,
        store_r / plain_r
    );
}

/// Whether the command line asks criterion to run benchmarks that include
/// these (not `--list`, `--test`, or a filter matching none of them).
fn runs_these_benches() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return false;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    filters.is_empty()
        || filters
            .iter()
            .any(|f| "checkpoint".contains(f.as_str()) || f.contains("checkpoint"))
}

fn main() {
    let fx = Fixture::new();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    benches(&mut c, &fx);
    c.final_summary();
    if runs_these_benches() {
        summary(&fx);
    }
}
