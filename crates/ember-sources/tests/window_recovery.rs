//! Plain windows over a recovered input (issue #5, "recovery never loses
//! state"): a window without an inverse function keeps no state of its
//! own, so the first windows after `get_or_create` reach back to input
//! batches from before the checkpoint. A file stream (its checkpointed
//! selections) and a receiver stream with the write-ahead log (its logged
//! blocks) serve those batches again, so the windows after a restart are
//! those of an uninterrupted run. Real files in temp directories, a custom
//! receiver storing acknowledged blocks, a manual clock advanced one batch
//! at a time; the first run is stopped without a graceful end after batch
//! 12, its checkpoint being at 10 s (the default interval).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, unbounded};
use ember_dstream::{
    Clock, DStream, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext,
    StreamingError, Time,
};
use ember_sources::file::{FileStreams, FileSystem, LocalFileSystem};
use ember_sources::receiver::{
    BlockStore, Receiver as SourceReceiver, ReceiverContext, ReceiverStreams, WalBlockStore,
};

const PATIENCE: StdDuration = StdDuration::from_secs(60);
const BATCH_MS: u64 = 1000;
/// The window: 3 batches, sliding by one.
const WINDOW_BATCHES: u64 = 3;
/// The first run's last batch; its checkpoint is at 10.
const FIRST_RUN_BATCHES: u64 = 12;
const CHECKPOINT_BATCH: u64 = 10;

/// The records of batch `b`: `b * 10 .. b * 10 + b % 4 + 1`.
fn records_of(b: u64) -> Vec<u64> {
    (b * 10..b * 10 + b % 4 + 1).collect()
}

/// One window as the outputs see it: its records (sorted) and the count
/// of each parity (`reduce_by_key_and_window` without inverse).
type WindowOut = (Vec<u64>, Vec<(u64, u64)>);

/// What an uninterrupted run gives at batch `t`: the records of the
/// batches `t - 2 ..= t` (from batch 1 on).
fn expected_window(t: u64) -> WindowOut {
    let mut records: Vec<u64> = (t.saturating_sub(WINDOW_BATCHES - 1).max(1)..=t)
        .flat_map(records_of)
        .collect();
    records.sort_unstable();
    let mut parity = BTreeMap::new();
    for r in &records {
        *parity.entry(r % 2).or_insert(0u64) += 1;
    }
    (records, parity.into_iter().collect())
}

/// The two windowed outputs' channels.
struct Outputs {
    records: Receiver<(Time, Vec<u64>)>,
    parity: Receiver<(Time, Vec<(u64, u64)>)>,
}

impl Outputs {
    /// Declares a plain window and a `reduce_by_key_and_window` over
    /// `stream`, each batch's result sent to the returned channels.
    fn declare(stream: &DStream<u64>) -> Result<Outputs, StreamingError> {
        let window = Duration::from_millis(WINDOW_BATCHES * BATCH_MS);
        let slide = Duration::from_millis(BATCH_MS);
        let (records_tx, records) = unbounded();
        let (parity_tx, parity) = unbounded();
        stream
            .window(window, slide)?
            .foreach_rdd(move |rdd, time| {
                let mut all = rdd.collect()?;
                all.sort_unstable();
                let _ = records_tx.send((time, all));
                Ok(())
            })?;
        stream
            .map(|r| (r % 2, 1u64))
            .reduce_by_key_and_window(|a, b| a + b, window, slide)?
            .foreach_rdd(move |rdd, time| {
                let mut all = rdd.collect()?;
                all.sort_unstable();
                let _ = parity_tx.send((time, all));
                Ok(())
            })?;
        Ok(Outputs { records, parity })
    }

    /// The next batch's window; it must be batch `t`'s.
    fn next(&self, t: u64) -> WindowOut {
        let (time, records) = self.records.recv_timeout(PATIENCE).unwrap();
        let (ptime, parity) = self.parity.recv_timeout(PATIENCE).unwrap();
        assert_eq!(time, Time::from_millis(t * BATCH_MS));
        assert_eq!(ptime, time);
        (records, parity)
    }
}

/// A manual clock at `ms`.
fn clock_at(ms: u64) -> Arc<ManualClock> {
    let clock = Arc::new(ManualClock::new());
    clock.set_time(Time::from_millis(ms));
    clock
}

/// Waits until the checkpoint of batch `b` is in `dir`.
fn wait_for_checkpoint(dir: &Path, b: u64) {
    let name = format!("checkpoint-{}", b * BATCH_MS);
    let deadline = std::time::Instant::now() + PATIENCE;
    while !fs::read_dir(dir)
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with(&name))
    {
        assert!(std::time::Instant::now() < deadline, "no {name}");
        std::thread::sleep(StdDuration::from_millis(5));
    }
}

// ---- the file stream ----

fn put_file(watched: &Path, staging: &Path, b: u64) {
    let name = format!("batch-{b}.txt");
    let staged = staging.join(&name);
    let text: String = records_of(b).iter().map(|r| format!("{r}\n")).collect();
    fs::write(&staged, text).unwrap();
    // Modified in the middle of batch b's interval.
    File::options()
        .write(true)
        .open(&staged)
        .unwrap()
        .set_modified(UNIX_EPOCH + StdDuration::from_millis(b * BATCH_MS - BATCH_MS / 2))
        .unwrap();
    LocalFileSystem::new()
        .rename(&staged, &watched.join(name))
        .unwrap();
}

fn file_context(
    watched: &Path,
    clock: &Arc<ManualClock>,
) -> Result<(StreamingContext, Outputs), StreamingError> {
    // Selected names are remembered for 2 s only: the window (3 s) reaches
    // back further, so the checkpoint must keep them for the stream's
    // remember duration.
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("file-window-recovery")
        .set("spark.streaming.fileStream.minRememberDuration", "2s");
    let ssc = StreamingContext::with_clock(conf, Duration::from_millis(BATCH_MS), clock.clone())?;
    let numbers = ssc
        .text_file_stream(watched)
        .map(|line| line.parse::<u64>().unwrap_or(u64::MAX));
    let outputs = Outputs::declare(&numbers)?;
    Ok((ssc, outputs))
}

/// `get_or_create` in `checkpoints` with [`file_context`]; the outputs are
/// declared by the create function, recovered or not.
fn recover_file_context(
    checkpoints: &Path,
    watched: &Path,
    clock: &Arc<ManualClock>,
) -> (StreamingContext, Outputs) {
    let mut outputs = None;
    let ssc = StreamingContext::get_or_create(checkpoints, || {
        let (ssc, out) = file_context(watched, clock)?;
        outputs = Some(out);
        Ok(ssc)
    })
    .unwrap();
    (ssc, outputs.unwrap())
}

#[test]
fn windows_over_a_recovered_file_stream_reach_back_before_the_checkpoint() {
    let checkpoints = tempfile::tempdir().unwrap();
    let watched = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();

    let clock = clock_at(0);
    let (ssc, outputs) = recover_file_context(checkpoints.path(), watched.path(), &clock);
    assert_eq!(ssc.recovered_from(), None);
    ssc.start().unwrap();
    for b in 1..=FIRST_RUN_BATCHES {
        put_file(watched.path(), staging.path(), b);
        clock.set_time(Time::from_millis(b * BATCH_MS));
        assert_eq!(outputs.next(b), expected_window(b), "first run, batch {b}");
    }
    wait_for_checkpoint(checkpoints.path(), CHECKPOINT_BATCH);
    ssc.stop(StopOptions::default()).unwrap();

    // The restart: batches 11 and 12 are run again, then it goes on.
    let clock = clock_at(FIRST_RUN_BATCHES * BATCH_MS);
    let (ssc, outputs) = recover_file_context(checkpoints.path(), watched.path(), &clock);
    assert_eq!(
        ssc.recovered_from(),
        Some(Time::from_millis(CHECKPOINT_BATCH * BATCH_MS))
    );
    ssc.start().unwrap();
    for b in CHECKPOINT_BATCH + 1..=FIRST_RUN_BATCHES {
        assert_eq!(outputs.next(b), expected_window(b), "catch-up batch {b}");
    }
    for b in FIRST_RUN_BATCHES + 1..=FIRST_RUN_BATCHES + 4 {
        put_file(watched.path(), staging.path(), b);
        clock.set_time(Time::from_millis(b * BATCH_MS));
        assert_eq!(
            outputs.next(b),
            expected_window(b),
            "after the restart, batch {b}"
        );
    }
    ssc.stop(StopOptions::default()).unwrap();
}

#[test]
fn a_checkpoint_naming_files_outside_the_watched_directory_is_not_trusted() {
    let checkpoints = tempfile::tempdir().unwrap();
    let first_dir = tempfile::tempdir().unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();

    let clock = clock_at(0);
    let (ssc, outputs) = recover_file_context(checkpoints.path(), first_dir.path(), &clock);
    ssc.start().unwrap();
    for b in 1..=FIRST_RUN_BATCHES {
        put_file(first_dir.path(), staging.path(), b);
        clock.set_time(Time::from_millis(b * BATCH_MS));
        assert_eq!(outputs.next(b), expected_window(b), "first run, batch {b}");
    }
    wait_for_checkpoint(checkpoints.path(), CHECKPOINT_BATCH);
    ssc.stop(StopOptions::default()).unwrap();

    // The same pipeline recovered over another (empty) directory: the
    // checkpoint's selections name files of the first directory, which
    // the restored stream must not read. The windows reaching back before
    // the checkpoint are empty, not the first directory's records.
    let clock = clock_at(FIRST_RUN_BATCHES * BATCH_MS);
    let (ssc, outputs) = recover_file_context(checkpoints.path(), other_dir.path(), &clock);
    assert_eq!(
        ssc.recovered_from(),
        Some(Time::from_millis(CHECKPOINT_BATCH * BATCH_MS))
    );
    ssc.start().unwrap();
    for b in CHECKPOINT_BATCH + 1..=FIRST_RUN_BATCHES {
        assert_eq!(outputs.next(b), (vec![], vec![]), "catch-up batch {b}");
    }
    ssc.stop(StopOptions::default()).unwrap();
}

// ---- a receiver with the write-ahead log ----

/// Stores each block sent to it with `store_block` and answers once it is
/// logged (acknowledged).
struct Fed {
    blocks: Receiver<Vec<u64>>,
    acks: Sender<()>,
}

impl SourceReceiver<u64> for Fed {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        while !ctx.is_stopped() {
            if let Ok(block) = self.blocks.recv_timeout(StdDuration::from_millis(5)) {
                if ctx.store_block(block).is_err() {
                    return; // stopping: not acknowledged
                }
                let _ = self.acks.send(());
            }
        }
    }
}

struct WalRun {
    ssc: StreamingContext,
    /// The checkpoint it continues from.
    recovered: Option<Time>,
    clock: Arc<ManualClock>,
    outputs: Outputs,
    blocks: Sender<Vec<u64>>,
    acks: Receiver<()>,
}

impl WalRun {
    fn open(checkpoints: &Path, now_ms: u64) -> WalRun {
        let clock = clock_at(now_ms);
        let (blocks, fed_blocks) = unbounded();
        let (fed_acks, acks) = unbounded();
        let mut outputs = None;
        let ssc = StreamingContext::get_or_create(checkpoints, || {
            let conf = StreamingConf::new()
                .master("local[2]")
                .app_name("wal-window-recovery")
                .set("spark.streaming.receiver.writeAheadLog.enable", "true");
            let ssc =
                StreamingContext::with_clock(conf, Duration::from_millis(BATCH_MS), clock.clone())?;
            let numbers = ssc.receiver_stream(Fed {
                blocks: fed_blocks,
                acks: fed_acks,
            });
            outputs = Some(Outputs::declare(&numbers)?);
            Ok(ssc)
        })
        .unwrap();
        let recovered = ssc.recovered_from();
        ssc.start().unwrap();
        WalRun {
            ssc,
            recovered,
            clock,
            outputs: outputs.unwrap(),
            blocks,
            acks,
        }
    }

    /// Stores batch `b`'s records in the middle of its interval, then
    /// moves the clock to its time and checks its window.
    fn batch(&self, b: u64, what: &str) {
        self.clock
            .set_time(Time::from_millis(b * BATCH_MS - BATCH_MS / 2));
        self.blocks.send(records_of(b)).unwrap();
        self.acks.recv_timeout(PATIENCE).unwrap();
        self.clock.set_time(Time::from_millis(b * BATCH_MS));
        assert_eq!(
            self.outputs.next(b),
            expected_window(b),
            "{what}, batch {b}"
        );
    }
}

/// The blocks left in the write-ahead log under `checkpoints`, by time.
fn logged_blocks(checkpoints: &Path) -> Vec<(Time, Vec<u64>)> {
    let logs: Vec<PathBuf> = fs::read_dir(checkpoints.join("receivedData"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "one receiver, one log: {logs:?}");
    let store = WalBlockStore::<u64>::new();
    // As a recovery from time 0 would: every block (opening without a
    // recovered checkpoint would move the log aside).
    store
        .open(Some(&logs[0]), Some(Time::from_millis(0)))
        .unwrap();
    store
        .take_until(Time::from_millis(u64::MAX))
        .into_iter()
        .map(|b| (b.time, b.records))
        .collect()
}

#[test]
fn windows_over_a_recovered_logged_receiver_reach_back_before_the_checkpoint() {
    let checkpoints = tempfile::tempdir().unwrap();
    let run = WalRun::open(checkpoints.path(), 0);
    assert_eq!(run.recovered, None);
    for b in 1..=FIRST_RUN_BATCHES {
        run.batch(b, "first run");
    }
    wait_for_checkpoint(checkpoints.path(), CHECKPOINT_BATCH);
    run.ssc.stop(StopOptions::default()).unwrap();

    // The restart: batches 11 and 12 are run again from the log, the
    // windows reach back to 9 and 10 (before the checkpoint).
    let run = WalRun::open(checkpoints.path(), FIRST_RUN_BATCHES * BATCH_MS);
    assert_eq!(
        run.recovered,
        Some(Time::from_millis(CHECKPOINT_BATCH * BATCH_MS))
    );
    for b in CHECKPOINT_BATCH + 1..=FIRST_RUN_BATCHES {
        assert_eq!(
            run.outputs.next(b),
            expected_window(b),
            "catch-up batch {b}"
        );
    }
    // Then on, through checkpoints at 20, 30 and 40.
    const LAST: u64 = 40;
    for b in FIRST_RUN_BATCHES + 1..=LAST {
        run.batch(b, "after the restart");
    }
    wait_for_checkpoint(checkpoints.path(), LAST);
    run.ssc.stop(StopOptions::default()).unwrap();
    assert!(run.clock.now() >= Time::from_millis(LAST * BATCH_MS));

    // The log is kept back to the oldest checkpoint the directory keeps
    // (it keeps 10; here 10, 20, 30 and 40 s): a recovery from 10 s reaches
    // back to 10 - 4 s (the window plus its slide), and the first segment
    // holds the blocks up to 11.5 s, so every block is still logged (the
    // deletion of segments is checked in receiver_wal.rs).
    let left = logged_blocks(checkpoints.path());
    let all: Vec<(Time, Vec<u64>)> = (1..=LAST)
        .map(|b| {
            (
                Time::from_millis(b * BATCH_MS - BATCH_MS / 2),
                records_of(b),
            )
        })
        .collect();
    assert_eq!(left, all);
}
