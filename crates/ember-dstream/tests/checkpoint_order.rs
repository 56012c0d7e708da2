//! Checkpoints written off the batch path: never past an unfinished batch
//! with `spark.streaming.concurrentJobs > 1` (the order of batch
//! completions is forced with a gated output, not timed), recovery from
//! the checkpoint that existed then re-runs the unfinished batch exactly;
//! a failed checkpoint write advances nothing (`checkpoint_durable` is not
//! called for it) and the next one recovers; a graceful stop waits for the
//! checkpoint still being written. A fresh start first writes its own
//! checkpoint at the zero time (0 ms here): the oldest kept, which every
//! `checkpoint_durable` names.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use ember_checkpoint::testing::FaultyStore;
use ember_checkpoint::{CheckpointStore, LocalCheckpointStore, ObjectData, WriteFn};
use ember_dstream::{
    Duration, InputEnv, InputSource, ManualClock, StopOptions, StreamingConf, StreamingContext,
    StreamingError, Time,
};
use ember_rdd::Rdd;

type R = Result<(), Box<dyn std::error::Error>>;
type Outputs = Arc<Mutex<BTreeMap<u64, Vec<(String, u64)>>>>;

/// How long a condition may take before the test fails (a hang guard).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

fn words_at(time: Time) -> Vec<String> {
    let k = time.milliseconds() / 1000;
    vec![format!("w{}", k % 3), "x".to_owned(), format!("w{}", k % 2)]
}

/// A replayable source (batch `t` always holds `words_at(t)`) that records
/// the `oldest_kept` of every `checkpoint_durable` call.
struct Words {
    durable: Arc<Mutex<Vec<u64>>>,
}

impl InputSource<String> for Words {
    fn name(&self) -> &'static str {
        "words"
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<String>>, StreamingError> {
        Ok(Some(env.rdd_context().parallelize(words_at(time), 2)))
    }
    fn checkpoint_durable(&self, oldest_kept: Time, _env: &InputEnv) {
        self.durable
            .lock()
            .unwrap()
            .push(oldest_kept.milliseconds());
    }
}

/// The word counts after the batches at 1 s … `last` s.
fn expected(last: u64) -> Vec<(String, u64)> {
    let mut counts = BTreeMap::new();
    for k in 1..=last {
        for w in words_at(Time::from_millis(k * 1000)) {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts.into_iter().collect()
}

/// The exact outputs of the batches `from..=to` (seconds).
fn expected_outputs(from: u64, to: u64) -> BTreeMap<u64, Vec<(String, u64)>> {
    (from..=to).map(|k| (k * 1000, expected(k))).collect()
}

/// An output gate: the batch at `time` tells `entered` and waits for
/// `release` before it finishes.
struct Gate {
    time: u64,
    entered: Sender<()>,
    release: Receiver<()>,
}

/// What one test pipeline reports.
#[derive(Clone, Default)]
struct Probe {
    out: Outputs,
    durable: Arc<Mutex<Vec<u64>>>,
}

/// Words counted with `update_state_by_key`, checkpointed every batch.
fn build(
    clock: Arc<ManualClock>,
    concurrent_jobs: usize,
    probe: &Probe,
    gate: Option<Gate>,
    store: Option<Arc<dyn CheckpointStore>>,
    dir: &Path,
) -> Result<StreamingContext, StreamingError> {
    let ssc = StreamingContext::with_clock(
        StreamingConf::new()
            .master("local[2]")
            .app_name("ckpt-order")
            .set(
                "spark.streaming.concurrentJobs",
                concurrent_jobs.to_string(),
            ),
        Duration::from_secs(1),
        clock,
    )?;
    if let Some(store) = store {
        ssc.checkpoint_with_store(dir, store);
    }
    let state = ssc
        .input_stream(Words {
            durable: Arc::clone(&probe.durable),
        })
        .map(|w| (w, 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpoint(Duration::from_secs(1))?;
    let out = Arc::clone(&probe.out);
    state.foreach_rdd(move |rdd, time| {
        let mut v = rdd.collect().unwrap_or_default();
        v.sort();
        if let Some(gate) = gate.as_ref().filter(|g| g.time == time.milliseconds()) {
            gate.entered.send(()).expect("the test waits for the gate");
            // Released by the test, or by its end (a failing test drops
            // the sender before the context, so the stop does not hang).
            let _ = gate.release.recv();
        }
        out.lock().unwrap().insert(time.milliseconds(), v);
        Ok(())
    })?;
    Ok(ssc)
}

/// Waits (polling, as a hang guard) until `done` holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The times of the checkpoint files in `dir`.
fn checkpoints(dir: &Path) -> Vec<u64> {
    let mut times: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_prefix("checkpoint-")?
                .parse()
                .ok()
        })
        .collect();
    times.sort_unstable();
    times
}

fn wait_for_checkpoint(dir: &Path, time_ms: u64) {
    wait_until(&format!("checkpoint-{time_ms}"), || {
        checkpoints(dir).contains(&time_ms)
    });
}

/// Copies the visible files of `from` into `to`: the directory as a crash
/// at this moment would leave it.
fn crash_image(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with('.') && entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(name)).unwrap();
        }
    }
}

fn concurrent_jobs_never_checkpoint_past_an_unfinished_batch(concurrent_jobs: usize) -> R {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new());
    let probe = Probe::default();
    let (entered_tx, entered) = crossbeam_channel::unbounded();
    let (release_tx, release_rx) = crossbeam_channel::unbounded::<()>();
    let gate = Gate {
        time: 2000,
        entered: entered_tx,
        release: release_rx,
    };
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(
            Arc::clone(&clock),
            concurrent_jobs,
            &probe,
            Some(gate),
            None,
            dir.path(),
        )
    })?;
    // Declared after the context, so dropped (disconnected) before it.
    let release = release_tx;
    ssc.start()?;
    clock.set_time(Time::from_millis(1000));
    wait_for_checkpoint(dir.path(), 1000);
    // Batch 2 is held in its output; batches 3 and 4 run and complete on
    // the other executor(s).
    clock.set_time(Time::from_millis(2000));
    entered.recv_timeout(PATIENCE)?;
    clock.set_time(Time::from_millis(3000));
    clock.set_time(Time::from_millis(4000));
    assert!(ssc.await_batches(3, Duration::from_secs(30))?);
    assert_eq!(
        probe
            .out
            .lock()
            .unwrap()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [1000, 3000, 4000]
    );
    // A checkpoint at 3 or 4 s would make recovery skip batch 2.
    assert_eq!(checkpoints(dir.path()), [0, 1000]);
    let image = tempfile::tempdir()?;
    crash_image(dir.path(), image.path());

    release.send(())?;
    wait_for_checkpoint(dir.path(), 4000);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    assert_eq!(checkpoints(dir.path()), [0, 1000, 2000, 3000, 4000]);
    assert_eq!(*probe.out.lock().unwrap(), expected_outputs(1, 4));

    // Recovery from the directory as it was while batch 2 ran: batch 2
    // runs again, and every batch after it gives the uninterrupted output.
    let clock = Arc::new(ManualClock::new());
    clock.set_time(Time::from_millis(4000));
    let recovered = Probe::default();
    let ssc = StreamingContext::get_or_create(image.path(), || {
        build(
            Arc::clone(&clock),
            concurrent_jobs,
            &recovered,
            None,
            None,
            image.path(),
        )
    })?;
    assert_eq!(ssc.recovered_from(), Some(Time::from_millis(1000)));
    ssc.start()?;
    assert!(ssc.await_batches(3, Duration::from_secs(30))?);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    assert_eq!(*recovered.out.lock().unwrap(), expected_outputs(2, 4));
    Ok(())
}

#[test]
fn two_concurrent_jobs_never_checkpoint_past_an_unfinished_batch() -> R {
    concurrent_jobs_never_checkpoint_past_an_unfinished_batch(2)
}

#[test]
fn four_concurrent_jobs_never_checkpoint_past_an_unfinished_batch() -> R {
    concurrent_jobs_never_checkpoint_past_an_unfinished_batch(4)
}

#[test]
fn a_failed_checkpoint_write_advances_nothing_and_the_next_one_recovers() -> R {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new());
    let probe = Probe::default();
    let store = Arc::new(FaultyStore::new(LocalCheckpointStore::open(dir.path())?));
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(
            Arc::clone(&clock),
            1,
            &probe,
            None,
            Some(store.clone()),
            dir.path(),
        )
    })?;
    ssc.start()?;
    clock.set_time(Time::from_millis(1000));
    wait_until("checkpoint_durable after checkpoint-1000", || {
        probe.durable.lock().unwrap().len() == 2
    });
    store.fail_next_writes(1);
    clock.set_time(Time::from_millis(2000));
    wait_until("the failed write", || store.failed_writes() == 1);
    assert!(ssc.await_batches(2, Duration::from_secs(30))?);
    // Nothing was told about the failed checkpoint.
    assert_eq!(*probe.durable.lock().unwrap(), [0, 0]);
    assert_eq!(checkpoints(dir.path()), [0, 1000]);

    clock.set_time(Time::from_millis(3000));
    wait_for_checkpoint(dir.path(), 3000);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    // The context went on; the log must reach back to the oldest
    // checkpoint kept (1 s), which a damaged newest one falls back to.
    assert_eq!(*probe.durable.lock().unwrap(), [0, 0, 0]);
    assert_eq!(checkpoints(dir.path()), [0, 1000, 3000]);
    assert_eq!(store.succeeded_writes(), 3);
    assert_eq!(*probe.out.lock().unwrap(), expected_outputs(1, 3));

    let clock = Arc::new(ManualClock::new());
    clock.set_time(Time::from_millis(4000));
    let recovered = Probe::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::clone(&clock), 1, &recovered, None, None, dir.path())
    })?;
    assert_eq!(ssc.recovered_from(), Some(Time::from_millis(3000)));
    ssc.start()?;
    assert!(ssc.await_batches(1, Duration::from_secs(30))?);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    assert_eq!(*recovered.out.lock().unwrap(), expected_outputs(4, 4));
    Ok(())
}

/// A local store whose checkpoint writes take a while (a slow disk).
struct SlowStore(LocalCheckpointStore);

impl CheckpointStore for SlowStore {
    fn write(&self, name: &str, bytes: &[u8]) -> ember_checkpoint::Result<()> {
        self.0.write(name, bytes)
    }
    fn write_with(&self, name: &str, fill: &mut WriteFn<'_>) -> ember_checkpoint::Result<()> {
        std::thread::sleep(std::time::Duration::from_millis(300));
        self.0.write_with(name, fill)
    }
    fn read(&self, name: &str) -> ember_checkpoint::Result<ObjectData> {
        self.0.read(name)
    }
    fn list(&self) -> ember_checkpoint::Result<Vec<String>> {
        self.0.list()
    }
    fn delete(&self, name: &str) -> ember_checkpoint::Result<()> {
        self.0.delete(name)
    }
    fn location(&self, name: &str) -> std::path::PathBuf {
        self.0.location(name)
    }
}

#[test]
fn a_graceful_stop_waits_for_the_checkpoint_being_written() -> R {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new());
    let probe = Probe::default();
    let store = Arc::new(SlowStore(LocalCheckpointStore::open(dir.path())?));
    let ssc = build(Arc::clone(&clock), 1, &probe, None, Some(store), dir.path())?;
    ssc.start()?;
    clock.set_time(Time::from_millis(1000));
    clock.set_time(Time::from_millis(2000));
    assert!(ssc.await_batches(2, Duration::from_secs(30))?);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    // No waiting here: when stop returns, the last checkpoint is durable
    // and the inputs were told.
    assert_eq!(checkpoints(dir.path()), [0, 1000, 2000]);
    assert_eq!(*probe.durable.lock().unwrap(), [0, 0, 0]);
    assert_eq!(*probe.out.lock().unwrap(), expected_outputs(1, 2));
    Ok(())
}

/// Every file in `dir` (its dot files aside, the lock's among them) with
/// its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = if e.file_type().unwrap().is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            (name, bytes)
        })
        .collect()
}

#[test]
fn a_non_graceful_stop_leaves_a_stuck_batch_behind_and_it_changes_nothing() -> R {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new());
    let probe = Probe::default();
    let (entered_tx, entered) = crossbeam_channel::unbounded();
    let (release_tx, release_rx) = crossbeam_channel::unbounded::<()>();
    let gate = Gate {
        time: 2000,
        entered: entered_tx,
        release: release_rx,
    };
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::clone(&clock), 1, &probe, Some(gate), None, dir.path())
    })?;
    let release = release_tx;
    ssc.start()?;
    clock.set_time(Time::from_millis(1000));
    wait_for_checkpoint(dir.path(), 1000);
    // Batch 2 blocks in its output until released.
    clock.set_time(Time::from_millis(2000));
    entered.recv_timeout(PATIENCE)?;

    // The stop does not wait for the stuck batch beyond its bound (1.5 s;
    // before, it waited the whole gracefulStopTimeout, 10 s here).
    let stopping = Instant::now();
    ssc.stop(StopOptions::default())?;
    let took = stopping.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "stop took {took:?}"
    );
    assert!(ssc.await_termination_or_timeout(Duration::from_millis(1))?);
    assert_eq!(checkpoints(dir.path()), [0, 1000]);
    let at_stop = files(dir.path());

    // The batch left behind finishes its output and ends its thread: the
    // output's closure (and the gate in it) is dropped with the pipeline
    // once that thread let go of it.
    drop(ssc);
    release.send(())?;
    assert_eq!(
        entered.recv_timeout(PATIENCE),
        Err(crossbeam_channel::RecvTimeoutError::Disconnected)
    );
    assert_eq!(
        probe
            .out
            .lock()
            .unwrap()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [1000, 2000]
    );
    // It wrote no checkpoint and changed no file.
    assert_eq!(checkpoints(dir.path()), [0, 1000]);
    assert_eq!(files(dir.path()), at_stop);

    // Like a crash: recovery runs the abandoned batch again.
    let clock = Arc::new(ManualClock::new());
    clock.set_time(Time::from_millis(2000));
    let recovered = Probe::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::clone(&clock), 1, &recovered, None, None, dir.path())
    })?;
    assert_eq!(ssc.recovered_from(), Some(Time::from_millis(1000)));
    ssc.start()?;
    assert!(ssc.await_batches(1, Duration::from_secs(30))?);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    assert_eq!(*recovered.out.lock().unwrap(), expected_outputs(2, 2));
    Ok(())
}
