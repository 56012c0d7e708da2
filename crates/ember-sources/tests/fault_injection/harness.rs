//! One seeded run: a reference pipeline (a reliable receiver with the
//! write-ahead log, a file stream, or both unioned; a checkpointed
//! `update_state_by_key` count and a windowed count) driven on a manual
//! clock through a schedule the seed draws — records and files released
//! batch by batch, slow outputs that let a backlog build up,
//! `spark.streaming.concurrentJobs` 1, 2 or 4, graceful and abrupt stops
//! each followed by a recovery with `get_or_create`, a damaged newest
//! checkpoint before a recovery, and restarts that discard the state —
//! and checked against the [model](super::model) when it ends.
//!
//! Records are released at half past a batch time, so the batch each one
//! belongs to is known (the next batch time) whatever the engine does; the
//! test waits until the receiver acknowledged them (they are in the log)
//! before the clock moves on.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant, UNIX_EPOCH};

use ember_checkpoint::testing::FaultyStore;
use ember_checkpoint::{CheckpointStore, LocalCheckpointStore};
use ember_dstream::{
    Clock, DStream, Duration, ManualClock, RecoveryOptions, StopOptions, StreamingConf,
    StreamingContext, StreamingError,
};
use ember_sources::file::{FileStreamOptions, FileStreams};
use ember_sources::receiver::ReceiverStreams;

use super::feed::{Feed, FeedReceiver};
use super::model::{self, Epoch, KEYS, Logged, Output};
use super::rng::Rng;

/// The batch interval (manual clock, so only a unit).
const BATCH: u64 = 100;
/// Records are released this long after a batch time.
const HALF: u64 = BATCH / 2;
/// How long any wait may take before the run counts as hung.
const PATIENCE: StdDuration = StdDuration::from_secs(30);
/// File-stream records are numbered from here (the feed's from 0).
const FILE_BASE: u64 = 1 << 32;

/// Which inputs the pipeline reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs {
    pub(crate) receiver: bool,
    pub(crate) files: bool,
}

/// What a finished run did, for the test's output.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub(crate) records: u64,
    pub(crate) batches: u64,
    pub(crate) graceful: u32,
    pub(crate) abrupt: u32,
    pub(crate) damaged: u32,
    pub(crate) discarded: u32,
    pub(crate) backlogs: u32,
    pub(crate) failed_checkpoint_writes: u64,
    pub(crate) concurrent_jobs: u64,
}

type Log = Arc<Mutex<Vec<Logged>>>;

/// The run in progress.
struct Run {
    inputs: Inputs,
    rng: Rng,
    root: tempfile::TempDir,
    feed: Arc<Feed>,
    next_file: u64,
    files_written: u64,
    epochs: Vec<Epoch>,
    log: Log,
    slow_ms: Arc<AtomicU64>,
    /// The checkpoint store of the running incarnation: writes fail on
    /// command.
    store: Option<Arc<FaultyStore<LocalCheckpointStore>>>,
    concurrent_jobs: u64,
    /// The time the test's clock shows (carried from one context to the next).
    now: u64,
    incarnation: usize,
    summary: Summary,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Run {
    fn ckpt(&self) -> PathBuf {
        self.root.path().join("ckpt")
    }

    fn input_dir(&self) -> PathBuf {
        self.root.path().join("in")
    }

    fn epoch(&self) -> usize {
        self.epochs.len() - 1
    }

    fn conf(&self) -> StreamingConf {
        StreamingConf::new()
            .master("local[3]")
            .app_name("fault-injection")
            .set("spark.streaming.receiver.writeAheadLog.enable", "true")
            .set(
                "spark.streaming.concurrentJobs",
                self.concurrent_jobs.to_string(),
            )
            // A stopped receiver's restart is immediate in test time.
            .set("spark.streaming.receiverRestartDelay", "10ms")
    }

    /// The pipeline, for epoch `epoch` (odd epochs add a map, so a
    /// discarding restart sees a changed pipeline).
    fn build(&self, clock: Arc<ManualClock>) -> Result<StreamingContext, StreamingError> {
        let ssc = StreamingContext::with_clock(self.conf(), Duration::from_millis(BATCH), clock)?;
        if let Some(store) = &self.store {
            ssc.checkpoint_with_store(self.ckpt(), Arc::clone(store) as Arc<dyn CheckpointStore>);
        }
        let mut streams: Vec<DStream<u64>> = Vec::new();
        if self.inputs.receiver {
            streams.push(ssc.receiver_stream(FeedReceiver(Arc::clone(&self.feed))));
        }
        if self.inputs.files {
            streams.push(
                ssc.file_stream(self.input_dir(), FileStreamOptions::default())
                    .map(|line: String| line.trim().parse::<u64>().expect("a number per line")),
            );
        }
        let mut numbers = if streams.len() == 1 {
            streams.remove(0)
        } else {
            ssc.union(&streams)?
        };
        if self.epoch() % 2 == 1 {
            numbers = numbers.map(|n| n);
        }
        let state = numbers
            .map(|n| (n % KEYS, 1u64))
            .update_state_by_key(|new: &[u64], old: Option<u64>| {
                Some(old.unwrap_or(0) + new.iter().sum::<u64>())
            })
            .checkpoint(Duration::from_millis(2 * BATCH))?;
        self.log_output(&state, Output::State)?;
        let windowed = numbers
            .window(
                Duration::from_millis(3 * BATCH),
                Duration::from_millis(BATCH),
            )?
            .count()
            .map(|c| (0u64, c));
        self.log_output(&windowed, Output::WindowCount)?;
        Ok(ssc)
    }

    /// Logs every batch of `stream` (sorted) as `output`, after the
    /// current slowness.
    fn log_output(
        &self,
        stream: &DStream<(u64, u64)>,
        output: Output,
    ) -> Result<(), StreamingError> {
        let (log, slow) = (Arc::clone(&self.log), Arc::clone(&self.slow_ms));
        let (epoch, incarnation) = (self.epoch(), self.incarnation);
        stream.foreach_rdd(move |rdd, time| {
            let delay = slow.load(Ordering::SeqCst);
            if delay > 0 {
                std::thread::sleep(StdDuration::from_millis(delay));
            }
            let mut value = rdd.collect()?;
            value.sort_unstable();
            log.lock().unwrap().push(Logged {
                epoch,
                incarnation,
                output,
                time: time.milliseconds(),
                value,
            });
            Ok(())
        })
    }

    /// Starts an incarnation: recovers the current epoch's checkpoint, or
    /// (with `discard`) starts afresh over a changed pipeline.
    fn start(&mut self, discard: bool) -> Result<(StreamingContext, Arc<ManualClock>), String> {
        self.incarnation += 1;
        if let Some(store) = &self.store {
            self.summary.failed_checkpoint_writes += store.failed_writes();
        }
        let store = LocalCheckpointStore::open(self.ckpt()).map_err(err)?;
        self.store = Some(Arc::new(FaultyStore::new(store)));
        let clock = Arc::new(ManualClock::new());
        clock.set_time(ember_dstream::Time::from_millis(self.now));
        let options = RecoveryOptions {
            discard_mismatched_state: discard,
        };
        let ssc = StreamingContext::get_or_create_with(self.ckpt(), options, || {
            self.build(Arc::clone(&clock))
        })
        .map_err(err)?;
        let fresh = ssc.recovered_from().is_none();
        if std::env::var_os("EMBER_FAULT_VERBOSE").is_some() {
            let mut names: Vec<String> = std::fs::read_dir(self.ckpt())
                .map_err(err)?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("checkpoint-"))
                .collect();
            names.sort();
            eprintln!(
                "incarnation {} at {} ms recovered from {:?}; checkpoints {names:?}",
                self.incarnation,
                self.now,
                ssc.recovered_from()
            );
        }
        if fresh {
            let first = (self.now / BATCH + 1) * BATCH;
            if self.incarnation > 1 && !discard {
                return Err("a recovery found no valid checkpoint".to_owned());
            }
            let epoch = self.epochs.last_mut().expect("an epoch");
            *epoch = Epoch::new(first);
        }
        ssc.start().map_err(err)?;
        Ok((ssc, clock))
    }

    /// Moves the clock to `to` (the test's and the context's).
    fn set_clock(&mut self, clock: &ManualClock, to: u64) {
        self.now = self.now.max(to);
        clock.set_time(ember_dstream::Time::from_millis(self.now));
    }

    /// Releases the records of the batch after the current half-batch
    /// time and moves the clock to half past that batch.
    fn batch(&mut self, clock: &ManualClock) -> Result<(), String> {
        let target = (self.now / BATCH + 1) * BATCH;
        let epoch = self.epoch();
        if self.inputs.receiver {
            let n = self.rng.below(13);
            for record in self.feed.release(n) {
                self.epochs[epoch].add(target, record);
            }
            if !self.feed.wait_acked(PATIENCE) {
                return Err(format!(
                    "the receiver did not acknowledge {:?} in time",
                    self.feed.unacked()
                ));
            }
        }
        if self.inputs.files && self.rng.below(3) != 0 {
            let lines = 1 + self.rng.below(9);
            let first = FILE_BASE + self.files_written;
            self.files_written += lines;
            let numbers: Vec<u64> = (first..first + lines).collect();
            write_file(&self.input_dir(), self.next_file, self.now, &numbers)?;
            self.next_file += 1;
            for record in numbers {
                self.epochs[epoch].add(target, record);
            }
        }
        self.set_clock(clock, target);
        self.set_clock(clock, target + HALF);
        self.summary.batches += 1;
        Ok(())
    }

    /// Waits until the state output of every batch up to the clock ran.
    fn drain(&self, incarnation: usize) -> Result<(), String> {
        let last = self.now / BATCH * BATCH;
        let start = Instant::now();
        loop {
            let done = self.log.lock().unwrap().iter().any(|l| {
                l.incarnation == incarnation && l.output == Output::State && l.time >= last
            });
            if done {
                return Ok(());
            }
            if start.elapsed() > PATIENCE {
                return Err(format!("batch {last} ms never completed"));
            }
            std::thread::sleep(StdDuration::from_millis(5));
        }
    }

    /// Before an epoch ends: the batch that takes the files released last
    /// comes, and completes (a file stream, unlike a receiver, has accepted
    /// nothing before a batch selects its files, so a graceful stop does
    /// not wait for them; a recovery would take them, a new epoch not).
    fn finish_epoch(&mut self, clock: &ManualClock) -> Result<(), String> {
        if !self.inputs.files {
            // A receiver's records: the graceful stop must process them.
            return Ok(());
        }
        let next = (self.now / BATCH + 1) * BATCH;
        self.set_clock(clock, next);
        self.set_clock(clock, next + HALF);
        self.drain(self.incarnation)
    }

    /// Stops `ssc`; a graceful stop runs while another thread keeps the
    /// clock moving, so the batches that take the last records come.
    fn stop(
        &mut self,
        ssc: &StreamingContext,
        clock: &Arc<ManualClock>,
        graceful: bool,
    ) -> Result<(), String> {
        let done = Arc::new(AtomicBool::new(false));
        let ticker = graceful.then(|| {
            let (done, clock) = (Arc::clone(&done), Arc::clone(clock));
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    clock.advance(Duration::from_millis(BATCH));
                    std::thread::sleep(StdDuration::from_millis(5));
                }
            })
        });
        let started = Instant::now();
        let stopped = ssc.stop(StopOptions {
            stop_gracefully: graceful,
        });
        done.store(true, Ordering::SeqCst);
        if let Some(ticker) = ticker {
            ticker
                .join()
                .map_err(|_| "the clock thread panicked".to_owned())?;
        }
        stopped.map_err(err)?;
        if started.elapsed() > PATIENCE {
            return Err(format!("stop took {:?}", started.elapsed()));
        }
        // Half past the batch the clock reached: the next records belong
        // to the batch after it.
        let now = clock.now().milliseconds();
        self.now = self.now.max(now / BATCH * BATCH + HALF);
        Ok(())
    }

    /// Flips a byte in the middle of the newest checkpoint when at least
    /// two exist (recovery then falls back to the one before).
    fn damage_newest_checkpoint(&mut self) -> Result<bool, String> {
        let mut checkpoints: Vec<(u64, PathBuf)> = std::fs::read_dir(self.ckpt())
            .map_err(err)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let time = name.strip_prefix("checkpoint-")?.parse().ok()?;
                Some((time, e.path()))
            })
            .collect();
        if checkpoints.len() < 2 {
            return Ok(false);
        }
        checkpoints.sort();
        let newest = &checkpoints[checkpoints.len() - 1].1;
        let mut bytes = std::fs::read(newest).map_err(err)?;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x5a;
        std::fs::write(newest, bytes).map_err(err)?;
        self.summary.damaged += 1;
        Ok(true)
    }
}

/// Writes `numbers` one per line as input file `i` with modification time
/// `mtime_ms` (written under a hidden name, then renamed into place).
fn write_file(dir: &Path, i: u64, mtime_ms: u64, numbers: &[u64]) -> Result<(), String> {
    let text: String = numbers.iter().map(|n| format!("{n}\n")).collect();
    let tmp = dir.join(format!(".tmp-{i}"));
    std::fs::write(&tmp, text).map_err(err)?;
    let file = std::fs::File::options()
        .write(true)
        .open(&tmp)
        .map_err(err)?;
    file.set_modified(UNIX_EPOCH + StdDuration::from_millis(mtime_ms))
        .map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, dir.join(format!("f-{i:05}"))).map_err(err)
}

/// One run of `inputs` under the schedule `seed` draws.
pub(crate) fn run(seed: u64, inputs: Inputs) -> Result<Summary, String> {
    let mut rng = Rng::new(seed);
    let concurrent_jobs = [1, 2, 4][rng.below(3) as usize];
    // EMBER_FAULT_JOBS pins it, to tell a concurrency fault from others.
    let concurrent_jobs = std::env::var("EMBER_FAULT_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(concurrent_jobs);
    let mut run = Run {
        inputs,
        rng,
        root: tempfile::tempdir().map_err(err)?,
        feed: Feed::starting_at(0),
        next_file: 0,
        files_written: 0,
        epochs: vec![Epoch::new(BATCH)],
        log: Arc::default(),
        slow_ms: Arc::default(),
        store: None,
        concurrent_jobs,
        now: HALF,
        incarnation: 0,
        summary: Summary {
            concurrent_jobs,
            ..Summary::default()
        },
    };
    std::fs::create_dir_all(run.input_dir()).map_err(err)?;
    let steps = 40 + run.rng.below(40);
    let (mut ssc, mut clock) = run.start(false)?;
    // Faults only once the first checkpoint can exist (every 2 batches).
    let mut quiet = 4;
    let mut actions = VecDeque::new();
    for _ in 0..steps {
        actions.push_back(run.rng.below(100));
    }
    let verbose = std::env::var_os("EMBER_FAULT_VERBOSE").is_some();
    while let Some(action) = actions.pop_front() {
        if verbose {
            eprintln!(
                "at {} ms (incarnation {}): action {action}, quiet {quiet}",
                run.now, run.incarnation
            );
        }
        if quiet > 0 {
            quiet -= 1;
            run.batch(&clock)?;
            if quiet == 0 {
                run.drain(run.incarnation)?;
            }
            continue;
        }
        match action {
            0..=54 => run.batch(&clock)?,
            55..=62 => {
                // Slow outputs: the generator runs ahead of completed batches.
                let slow = [0, 0, 15, 30][run.rng.below(4) as usize];
                run.slow_ms.store(slow, Ordering::SeqCst);
                if slow > 0 {
                    run.summary.backlogs += 1;
                }
                run.batch(&clock)?;
            }
            63..=69 => {
                // The next checkpoints fail to write: recovery falls back
                // to an older one, and nothing may have advanced on them.
                if let Some(store) = &run.store {
                    store.fail_next_writes(1 + run.rng.below(2));
                }
                run.batch(&clock)?;
            }
            70..=74 => run.drain(run.incarnation)?,
            75..=95 => {
                let graceful = action < 84;
                let discard = (90..=95).contains(&action);
                run.slow_ms.store(0, Ordering::SeqCst);
                if discard {
                    // The files of the coming batch belong to this epoch.
                    run.finish_epoch(&clock)?;
                }
                run.stop(&ssc, &clock, graceful || discard)?;
                if discard {
                    run.summary.discarded += 1;
                    let first = (run.now / BATCH + 1) * BATCH;
                    run.epochs.push(Epoch::new(first));
                } else {
                    if graceful {
                        run.summary.graceful += 1;
                    } else {
                        run.summary.abrupt += 1;
                    }
                    if run.rng.below(4) == 0 {
                        run.damage_newest_checkpoint()?;
                    }
                }
                (ssc, clock) = run.start(discard)?;
                // Let the recovered context write a checkpoint before the
                // next fault (a recovery needs one).
                quiet = 3;
            }
            _ => run.batch(&clock)?,
        }
    }
    run.slow_ms.store(0, Ordering::SeqCst);
    if let Some(store) = &run.store {
        store.fail_next_writes(0);
        run.summary.failed_checkpoint_writes += store.failed_writes();
    }
    run.finish_epoch(&clock)?;
    run.stop(&ssc, &clock, true)?;
    drop(ssc);
    let log = run.log.lock().unwrap().clone();
    let last: Vec<u64> = (0..run.epochs.len())
        .map(|e| {
            log.iter()
                .filter(|l| l.epoch == e)
                .map(|l| l.time)
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (e, epoch) in run.epochs.iter().enumerate() {
        if let Some(&newest) = epoch.batches.keys().next_back()
            && newest > last[e]
        {
            return Err(format!(
                "epoch {e}: records were released for batch {newest} ms, but the last output was at {} ms: lost at a stop",
                last[e]
            ));
        }
        run.summary.records += epoch.records().len() as u64;
    }
    if std::env::var_os("EMBER_FAULT_VERBOSE").is_some() {
        for (e, epoch) in run.epochs.iter().enumerate() {
            eprintln!(
                "epoch {e} from {} ms: {:?}",
                epoch.first_batch, epoch.batches
            );
        }
        for entry in &log {
            eprintln!("{entry:?}");
        }
    }
    model::check(&run.epochs, &last, &log, BATCH)?;
    Ok(run.summary)
}
