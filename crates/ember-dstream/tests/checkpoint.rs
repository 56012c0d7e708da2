//! Streaming checkpoints and `get_or_create`: state restored after a
//! stop, catch-up batches, pipeline and batch-interval mismatches, damaged
//! checkpoints; then every state operation (`update_state_by_key`,
//! `map_with_state`, `reduce_by_key_and_window_inv`, `reduce_by_window_inv`
//! and the windowed counts) stopped and recovered at several points against
//! an uninterrupted run, by hand and as property tests;
//! `DStream::checkpoint` intervals.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;
use std::sync::{Arc, Mutex};

use ember_dstream::{
    Clock, DStream, Duration, InputEnv, InputSource, ManualClock, RecoveryOptions, State,
    StateSpec, StopOptions, StreamingConf, StreamingContext, StreamingError, Time,
    UpdateStateOptions,
};
use ember_rdd::{Data, Rdd};
use proptest::prelude::*;

type R = Result<(), Box<dyn std::error::Error>>;
type Counts = Arc<Mutex<BTreeMap<u64, Vec<(String, u64)>>>>;

/// A replayable source: the batch at `t` always holds the same words.
struct Words;

fn words_at(time: Time) -> Vec<String> {
    let k = time.milliseconds() / 1000;
    vec![format!("w{}", k % 3), "x".to_owned(), format!("w{}", k % 2)]
}

impl InputSource<String> for Words {
    fn name(&self) -> &'static str {
        "words"
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<String>>, StreamingError> {
        Ok(Some(env.rdd_context().parallelize(words_at(time), 2)))
    }
}

/// The expected state after the batches at 1 s … `last` s.
fn expected(last: u64) -> Vec<(String, u64)> {
    let mut counts = BTreeMap::new();
    for k in 1..=last {
        for w in words_at(Time::from_millis(k * 1000)) {
            *counts.entry(w).or_insert(0) += 1;
        }
    }
    counts.into_iter().collect()
}

fn build(
    clock: Arc<ManualClock>,
    out: Counts,
    batch_ms: u64,
    extra_map: bool,
) -> Result<StreamingContext, StreamingError> {
    let ssc = StreamingContext::with_clock(
        StreamingConf::new().master("local[2]").app_name("ckpt"),
        Duration::from_millis(batch_ms),
        clock,
    )?;
    let mut words = ssc.input_stream(Words);
    if extra_map {
        words = words.map(|w| w);
    }
    let state = words
        .map(|w| (w, 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpoint(Duration::from_millis(batch_ms))?;
    state.foreach_rdd(move |rdd, time| {
        let mut v = rdd.collect().unwrap_or_default();
        v.sort();
        out.lock().unwrap().insert(time.milliseconds(), v);
        Ok(())
    })?;
    Ok(ssc)
}

fn wait_for_checkpoint(dir: &Path, time_ms: u64) {
    let path = dir.join(format!("checkpoint-{time_ms}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn run_until(ssc: &StreamingContext, clock: &ManualClock, dir: &Path, last_s: u64) -> R {
    ssc.start()?;
    let now = clock.now().milliseconds() / 1000;
    for k in now + 1..=last_s {
        clock.set_time(Time::from_millis(k * 1000));
    }
    wait_for_checkpoint(dir, last_s * 1000);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    Ok(())
}

#[test]
fn state_continues_after_restart_with_catch_up_batches() -> R {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new());
    let out: Counts = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::clone(&clock), Arc::clone(&out), 1000, false)
    })?;
    assert_eq!(ssc.recovered_from(), None);
    run_until(&ssc, &clock, dir.path(), 4)?;
    assert_eq!(out.lock().unwrap().get(&4000), Some(&expected(4)));

    // Restart "later": the clock is at 7 s, so 5, 6, 7 run as catch-up
    // batches; then 8 and 9 normally.
    let clock2 = Arc::new(ManualClock::new());
    clock2.set_time(Time::from_millis(7000));
    let out2: Counts = Arc::default();
    let ssc2 = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::clone(&clock2), Arc::clone(&out2), 1000, false)
    })?;
    assert_eq!(ssc2.recovered_from(), Some(Time::from_millis(4000)));
    run_until(&ssc2, &clock2, dir.path(), 9)?;
    let out2 = out2.lock().unwrap();
    assert_eq!(
        out2.keys().copied().collect::<Vec<_>>(),
        vec![5000, 6000, 7000, 8000, 9000]
    );
    for (&t, state) in out2.iter() {
        assert_eq!(state, &expected(t / 1000), "state at {t}");
    }
    Ok(())
}

#[test]
fn changed_pipeline_is_an_error_unless_discarded() -> R {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::clone(&clock), Arc::default(), 1000, false)
    })?;
    run_until(&ssc, &clock, dir.path(), 2)?;

    let err = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::new(ManualClock::new()), Arc::default(), 1000, true)
    })
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, StreamingError::CheckpointMismatch { .. }),
        "{message}"
    );
    assert!(message.contains("pipeline changed"), "{message}");
    assert!(message.contains("map"), "{message}");

    let err = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::new(ManualClock::new()), Arc::default(), 500, false)
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("batch interval was 1000 ms"),
        "{err}"
    );

    let fresh = StreamingContext::get_or_create_with(
        dir.path(),
        RecoveryOptions {
            discard_mismatched_state: true,
        },
        || build(Arc::new(ManualClock::new()), Arc::default(), 1000, true),
    )?;
    assert_eq!(fresh.recovered_from(), None);
    // Only the (released) directory lock's file is left.
    let left: Vec<_> = std::fs::read_dir(dir.path())?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    assert_eq!(left, [ember_checkpoint::LOCK_FILE]);
    Ok(())
}

#[test]
fn a_local_context_refuses_a_cluster_checkpoint_directory() -> R {
    // A cluster's directory: commit records and one part per process
    // (README, "Cluster mode"). Starting afresh on it would lose its state.
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("commits"))?;
    std::fs::create_dir_all(dir.path().join("process-0"))?;
    let err = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::new(ManualClock::new()), Arc::default(), 1000, false)
    })
    .unwrap_err();
    assert!(
        matches!(&err, StreamingError::CheckpointMismatch { difference, .. }
            if difference.contains("cluster checkpoint")),
        "{err}"
    );
    Ok(())
}

#[test]
fn damaged_newest_checkpoint_falls_back_and_all_damaged_is_an_error() -> R {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::clone(&clock), Arc::default(), 1000, false)
    })?;
    run_until(&ssc, &clock, dir.path(), 3)?;
    std::fs::write(dir.path().join("checkpoint-3000"), b"garbage")?;
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::new(ManualClock::new()), Arc::default(), 1000, false)
    })?;
    assert_eq!(ssc.recovered_from(), Some(Time::from_millis(2000)));
    drop(ssc);

    // Every checkpoint, the start's own (at the zero time) included.
    for t in [0, 1000, 2000] {
        std::fs::write(dir.path().join(format!("checkpoint-{t}")), b"garbage")?;
    }
    let err = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::new(ManualClock::new()), Arc::default(), 1000, false)
    })
    .unwrap_err();
    let StreamingError::NoValidCheckpoint {
        dir: in_dir,
        message,
    } = &err
    else {
        panic!("expected NoValidCheckpoint, got {err}");
    };
    assert_eq!(in_dir, dir.path());
    for t in [0, 1000, 2000, 3000] {
        assert!(message.contains(&format!("checkpoint-{t}")), "{message}");
    }
    // What to do, not the advice for a failed write.
    assert!(
        message.ends_with(
            "restore the directory from a backup, or move it aside (or use another \
             directory) to start afresh without the old state"
        ),
        "{message}"
    );
    assert_eq!(err.to_string(), *message);
    Ok(())
}

/// Output batches of a run by (output index, batch time in ms), each
/// batch's elements as `Debug` strings, sorted.
type Outputs = BTreeMap<(usize, u64), Vec<String>>;
type Sink = Arc<Mutex<Outputs>>;
/// `reduce_by_key_and_window_inv`'s optional filter.
type PairFilter = Option<Arc<dyn Fn(&(u8, i64)) -> bool + Send + Sync>>;

/// Registers output `index`: every batch of `stream`, sorted, into `sink`.
fn sink<T: Data + Debug>(
    stream: &DStream<T>,
    sink: &Sink,
    index: usize,
) -> Result<(), StreamingError> {
    let sink = Arc::clone(sink);
    stream.foreach_rdd(move |rdd, time| {
        let mut batch: Vec<String> = rdd.collect()?.iter().map(|x| format!("{x:?}")).collect();
        batch.sort();
        sink.lock()
            .unwrap()
            .insert((index, time.milliseconds()), batch);
        Ok(())
    })
}

/// A replayable input: the batch at `k` s is `batches[k - 1]` (empty after
/// the end), like a log read from saved offsets. Like such a source, it
/// serves each batch once per run and, after a recovery, only the batches
/// after the checkpoint: anything the engine needs from before the
/// checkpoint must come from the checkpoint.
struct Replay<T> {
    batches: Arc<Vec<Vec<T>>>,
    /// The recovered checkpoint's time: batches up to it are gone.
    consumed_until: Mutex<Time>,
    /// The batches served in this run.
    served: Mutex<std::collections::BTreeSet<Time>>,
}

impl<T> Replay<T> {
    fn new(batches: Arc<Vec<Vec<T>>>) -> Self {
        Replay {
            batches,
            consumed_until: Mutex::new(Time::from_millis(0)),
            served: Mutex::default(),
        }
    }
}

impl<T: Data> InputSource<T> for Replay<T> {
    fn name(&self) -> &'static str {
        "replay"
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<T>>, StreamingError> {
        let gone = *self.consumed_until.lock().unwrap();
        let fresh = self.served.lock().unwrap().insert(time);
        if time <= gone || !fresh {
            return Err(StreamingError::Checkpoint {
                dir: Default::default(),
                message: format!("replay: the batch at {time} was already consumed"),
            });
        }
        let k = (time.milliseconds() / 1000) as usize;
        let batch = k
            .checked_sub(1)
            .and_then(|i| self.batches.get(i))
            .cloned()
            .unwrap_or_default();
        Ok(Some(env.rdd_context().parallelize(batch, 2)))
    }
    fn checkpoint_state(
        &self,
        _time: Time,
        _env: &InputEnv,
    ) -> Result<Option<Vec<u8>>, StreamingError> {
        Ok(Some(Vec::new()))
    }
    fn restore_state(
        &self,
        time: Time,
        _bytes: &[u8],
        _env: &InputEnv,
    ) -> Result<(), StreamingError> {
        *self.consumed_until.lock().unwrap() = time;
        Ok(())
    }
}

/// A context of 1 s batches on `clock` whose pipeline `pipeline` builds on
/// a replay of `input`, writing its outputs into `out`.
fn replay_context<T: Data, P>(
    clock: &Arc<ManualClock>,
    input: &Arc<Vec<Vec<T>>>,
    pipeline: &P,
    out: &Sink,
) -> Result<StreamingContext, StreamingError>
where
    P: Fn(DStream<T>, &Sink) -> Result<(), StreamingError>,
{
    let ssc = StreamingContext::with_clock(
        StreamingConf::new().master("local[2]").app_name("restarts"),
        Duration::from_secs(1),
        Arc::clone(clock) as Arc<dyn Clock>,
    )?;
    pipeline(ssc.input_stream(Replay::new(Arc::clone(input))), out)?;
    Ok(ssc)
}

/// Sets the clock to `last` s and waits until the batches from `first` s
/// to `last` s completed, then stops gracefully.
fn run_batches(ssc: &StreamingContext, clock: &ManualClock, first: u64, last: u64) -> R {
    ssc.start()?;
    clock.set_time(Time::from_millis(last * 1000));
    let done = ssc.await_batches(last + 1 - first, Duration::from_secs(30))?;
    assert!(done, "batches {first} s to {last} s did not complete");
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    Ok(())
}

/// The outputs of batches 1 s … `last` s run in one go, in memory (no
/// checkpoint directory).
fn uninterrupted<T: Data, P>(
    input: &Arc<Vec<Vec<T>>>,
    pipeline: &P,
    last: u64,
) -> Result<Outputs, Box<dyn std::error::Error>>
where
    P: Fn(DStream<T>, &Sink) -> Result<(), StreamingError>,
{
    let clock = Arc::new(ManualClock::new());
    let out = Sink::default();
    let ssc = replay_context(&clock, input, pipeline, &out)?;
    run_batches(&ssc, &clock, 1, last)?;
    let outputs = std::mem::take(&mut *out.lock().unwrap());
    Ok(outputs)
}

/// The outputs of the same batches when the application is stopped after
/// each batch of `stops` (seconds, ascending; the last one ends the run)
/// and recovered with `get_or_create`. Each restart must continue from the
/// newest checkpoint (at the last multiple of `interval_s` seconds), re-run
/// the batches after it as catch-up batches, and give them exactly the
/// outputs they had before the stop.
fn restarted<T: Data, P>(
    input: &Arc<Vec<Vec<T>>>,
    pipeline: &P,
    interval_s: u64,
    stops: &[u64],
) -> Result<Outputs, Box<dyn std::error::Error>>
where
    P: Fn(DStream<T>, &Sink) -> Result<(), StreamingError>,
{
    let dir = tempfile::tempdir()?;
    let mut merged = Outputs::new();
    let mut previous_stop = 0;
    for &stop in stops {
        let clock = Arc::new(ManualClock::new());
        let out = Sink::default();
        let ssc = StreamingContext::get_or_create(dir.path(), || {
            replay_context(&clock, input, pipeline, &out)
        })?;
        // The first start is fresh; every restart recovers, at least from
        // the checkpoint a fresh start writes at its zero time (0 s).
        let checkpoint = previous_stop / interval_s * interval_s;
        let expected = (previous_stop > 0).then(|| Time::from_millis(checkpoint * 1000));
        assert_eq!(
            ssc.recovered_from(),
            expected,
            "restart after the stop at {previous_stop} s"
        );
        // The restart happens "at" the previous stop: the batches between
        // the checkpoint and it run at once, as catch-up batches. Without
        // a checkpoint yet, the application starts afresh at time 0.
        if checkpoint > 0 {
            clock.set_time(Time::from_millis(previous_stop * 1000));
        }
        run_batches(&ssc, &clock, checkpoint + 1, stop)?;
        drop(ssc);
        for (key, batch) in std::mem::take(&mut *out.lock().unwrap()) {
            match merged.get(&key) {
                Some(before) => assert_eq!(before, &batch, "re-run batch {key:?} differs"),
                None => {
                    merged.insert(key, batch);
                }
            }
        }
        previous_stop = stop;
    }
    Ok(merged)
}

/// Restarted at `stops` equals uninterrupted, and produced every output.
fn assert_restarts_change_nothing<T: Data, P>(
    input: Vec<Vec<T>>,
    pipeline: P,
    interval_s: u64,
    stops: &[u64],
) -> R
where
    P: Fn(DStream<T>, &Sink) -> Result<(), StreamingError>,
{
    let input = Arc::new(input);
    let last = *stops.last().expect("at least one stop");
    let expected = uninterrupted(&input, &pipeline, last)?;
    assert!(!expected.is_empty());
    let got = restarted(&input, &pipeline, interval_s, stops)?;
    assert_eq!(got, expected);
    Ok(())
}

/// Deterministic pseudo-random batches of `(key, value)` pairs.
fn pair_batches(n: usize, keys: u64, seed: u64) -> Vec<Vec<(u8, i64)>> {
    let mut x = seed;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    (0..n)
        .map(|_| {
            let len = next() % 5;
            (0..len)
                .map(|_| ((next() % keys) as u8, (next() % 7) as i64 - 2))
                .collect()
        })
        .collect()
}

/// A running total per key, removed when it goes over 12 or after two
/// batches without values: keys come and go across the restarts.
fn running_total(new: &[i64], old: Option<(i64, u32)>) -> Option<(i64, u32)> {
    let (total, idle) = old.unwrap_or((0, 0));
    if new.is_empty() {
        return (idle < 2).then_some((total, idle + 1));
    }
    let total = total + new.iter().sum::<i64>();
    (total <= 12).then_some((total, 0))
}

#[test]
fn update_state_by_key_recovered_at_several_points_equals_an_uninterrupted_run() -> R {
    let pipeline = |pairs: DStream<(u8, i64)>, out: &Sink| {
        let totals = pairs
            .update_state_by_key(running_total)
            .checkpoint(Duration::from_secs(2))?;
        sink(&totals, out, 0)
    };
    assert_restarts_change_nothing(pair_batches(14, 6, 1), pipeline, 2, &[3, 4, 7, 8, 11, 14])
}

#[test]
fn update_state_by_key_is_checkpointed_at_the_default_interval_without_asking() -> R {
    // No `.checkpoint(..)`: 10 s, the smallest multiple of the 1 s slide
    // that is at least 10 s. The first restart finds no checkpoint yet.
    let pipeline = |pairs: DStream<(u8, i64)>, out: &Sink| {
        sink(&pairs.update_state_by_key(running_total), out, 0)
    };
    assert_restarts_change_nothing(pair_batches(22, 5, 2), pipeline, 10, &[4, 12, 15, 22])
}

#[test]
fn update_state_by_key_with_an_initial_state_recovers_the_checkpoint_not_the_initial_state() -> R {
    // Key 9 is only in the initial state (idle from the first batch, gone
    // after its third), key 1 is also in the input. After each restart the
    // pipeline is defined again with the same initial state: the
    // checkpointed state must replace it, or key 9 and key 1's initial
    // total would come back.
    let pipeline = |pairs: DStream<(u8, i64)>, out: &Sink| {
        let initial = pairs
            .rdd_context()
            .parallelize(vec![(9u8, (3i64, 0u32)), (1, (5, 0))], 2);
        let options = UpdateStateOptions {
            num_partitions: Some(3),
            initial_state: Some(initial),
            partitioner: None,
        };
        let totals = pairs
            .update_state_by_key_with(running_total, options)
            .checkpoint(Duration::from_secs(2))?;
        sink(&totals, out, 0)
    };
    let input = pair_batches(12, 4, 5);
    assert_restarts_change_nothing(input.clone(), pipeline, 2, &[3, 4, 7, 8, 12])?;
    // The uninterrupted run did start from the initial state.
    let outputs = uninterrupted(&Arc::new(input), &pipeline, 4)?;
    assert!(outputs[&(0, 1000)].contains(&"(9, (3, 1))".to_owned()));
    assert!(outputs[&(0, 2000)].contains(&"(9, (3, 2))".to_owned()));
    assert!(!outputs[&(0, 4000)].iter().any(|e| e.starts_with("(9,")));
    Ok(())
}

/// What the map_with_state test's function returns: key, value, running
/// sum, whether the key was timing out.
type Event = (u8, Option<i64>, i64, bool);

fn summing(key: &u8, value: Option<i64>, state: &mut State<i64>) -> Event {
    let sum = state.get().copied().unwrap_or(0) + value.unwrap_or(0);
    let timing_out = state.is_timing_out();
    if sum > 9 {
        state.remove();
    } else {
        state.update(sum);
    }
    (*key, value, sum, timing_out)
}

#[test]
fn map_with_state_recovered_with_timeouts_crossing_restarts_equals_an_uninterrupted_run() -> R {
    // Key 1 is seen at 1 s and 2 s, then times out at 6 s (idle 4 s > 3 s)
    // after restarts at 3 s and 5 s; key 2 at 1 s and 5 s times out at 9 s;
    // key 7 only comes from the initial state, which must not come back
    // after a restart; key 3 is removed when its sum goes over 9.
    let input: Vec<Vec<(u8, i64)>> = vec![
        vec![(1, 1), (2, 2)],
        vec![(1, 3), (3, 5)],
        vec![(3, 1)],
        vec![(4, 1)],
        vec![(2, 1), (3, 6)],
        vec![(4, 2)],
        vec![],
        vec![(3, 2)],
        vec![],
        vec![(5, 5)],
    ];
    let pipeline = |pairs: DStream<(u8, i64)>, out: &Sink| {
        let initial = pairs.rdd_context().parallelize(vec![(7u8, 4i64)], 2);
        let spec = StateSpec::function(summing)
            .timeout(Duration::from_secs(3))
            .initial_state(initial);
        let mapped = pairs
            .map_with_state(spec)
            .checkpoint(Duration::from_secs(2))?;
        sink(&mapped.stream(), out, 0)?;
        sink(&mapped.state_snapshots(), out, 1)
    };
    assert_restarts_change_nothing(input.clone(), pipeline, 2, &[3, 5, 6, 7, 10, 13])?;
    // The uninterrupted run does time keys out (so the restarts crossed
    // real timeouts).
    let outputs = uninterrupted(&Arc::new(input), &pipeline, 13)?;
    assert_eq!(
        outputs[&(0, 6000)],
        vec![
            "(1, None, 4, true)".to_owned(),
            "(4, Some(2), 3, false)".to_owned()
        ]
    );
    assert!(outputs[&(0, 5000)].contains(&"(7, None, 4, true)".to_owned()));
    Ok(())
}

#[test]
fn window_inv_with_a_window_longer_than_the_interval_recovers_exactly() -> R {
    // 5 s windows every second, checkpoints every 2 s: after each restart
    // the batches leaving the window come from the checkpoint.
    let pipeline = |pairs: DStream<(u8, i64)>, out: &Sink| {
        let (window, slide) = (Duration::from_secs(5), Duration::from_secs(1));
        let every = Duration::from_secs(2);
        let sums = pairs
            .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, window, slide, None)?
            .checkpoint(every)?;
        sink(&sums, out, 0)?;
        let nonzero = pairs
            .reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                window,
                slide,
                Some(Arc::new(|(_, v): &(u8, i64)| *v != 0)),
            )?
            .checkpoint(every)?;
        sink(&nonzero, out, 1)?;
        sink(
            &pairs.count_by_window(window, slide)?.checkpoint(every)?,
            out,
            2,
        )?;
        let keys = pairs.map(|(k, _)| k);
        sink(
            &keys
                .count_by_value_and_window(window, slide)?
                .checkpoint(every)?,
            out,
            3,
        )?;
        let values = pairs.map(|(_, v)| v);
        sink(
            &values
                .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, window, slide)?
                .checkpoint(every)?,
            out,
            4,
        )
    };
    assert_restarts_change_nothing(pair_batches(16, 4, 3), pipeline, 2, &[3, 6, 7, 11, 12, 19])
}

#[test]
fn state_streams_of_different_slides_recover_together() -> R {
    // The context checkpoints every 3 s (the smallest interval asked for);
    // the window slides every 2 s, so a checkpoint at 3 s or 9 s holds its
    // window of 2 s or 8 s plus the reduced batch of 3 s or 9 s.
    let pipeline = |pairs: DStream<(u8, i64)>, out: &Sink| {
        let totals = pairs
            .update_state_by_key(running_total)
            .checkpoint(Duration::from_secs(3))?;
        sink(&totals, out, 0)?;
        let sums = pairs
            .reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                Duration::from_secs(6),
                Duration::from_secs(2),
                None,
            )?
            .checkpoint(Duration::from_secs(4))?;
        sink(&sums, out, 1)?;
        // A state stream on a parent sliding every 2 s: its state of 2 s
        // or 8 s goes into the checkpoint of 3 s or 9 s.
        let windowed = pairs.reduce_by_key_and_window_inv(
            |a, b| a + b,
            |a, b| a - b,
            Duration::from_secs(2),
            Duration::from_secs(2),
            None,
        )?;
        let spec = StateSpec::function(|k: &u8, v: Option<i64>, s: &mut State<i64>| {
            let sum = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
            s.update(sum);
            (*k, sum)
        });
        let mapped = windowed.map_with_state(spec);
        sink(&mapped.stream(), out, 2)?;
        sink(&mapped.state_snapshots(), out, 3)
    };
    assert_restarts_change_nothing(pair_batches(16, 5, 4), pipeline, 3, &[4, 5, 7, 10, 11, 16])
}

#[test]
fn state_read_only_by_a_slower_output_is_checkpointed_every_batch() -> R {
    // The outputs read the state every 2 s (through windows), so at the
    // odd checkpoint times its RDD was not computed yet: the checkpoint
    // computes it.
    let pipeline = |pairs: DStream<(u8, i64)>, out: &Sink| {
        let totals = pairs
            .update_state_by_key(running_total)
            .checkpoint(Duration::from_secs(1))?;
        sink(
            &totals.window(Duration::from_secs(2), Duration::from_secs(2))?,
            out,
            0,
        )?;
        let sums = pairs
            .reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                Duration::from_secs(3),
                Duration::from_secs(1),
                None,
            )?
            .checkpoint(Duration::from_secs(1))?;
        sink(
            &sums.window(Duration::from_secs(2), Duration::from_secs(2))?,
            out,
            1,
        )
    };
    assert_restarts_change_nothing(pair_batches(12, 4, 7), pipeline, 1, &[3, 5, 6, 9, 12])
}

#[test]
fn checkpoint_interval_must_be_a_positive_multiple_of_the_slide() -> R {
    let ssc = StreamingContext::with_clock(
        StreamingConf::new().master("local[2]"),
        Duration::from_secs(1),
        Arc::new(ManualClock::new()),
    )?;
    let pairs = ssc.input_stream(Replay::new(Arc::new(pair_batches(3, 3, 5))));
    let state = pairs.update_state_by_key(running_total);
    let err = state.checkpoint(Duration::from_millis(1500)).unwrap_err();
    assert!(
        matches!(
            err,
            StreamingError::CheckpointIntervalNotMultiple { interval, slide }
                if interval == Duration::from_millis(1500) && slide == Duration::from_secs(1)
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "checkpoint interval 1500 ms must be a positive multiple of the stream's slide duration 1000 ms"
    );
    assert!(matches!(
        state.checkpoint(Duration::ZERO),
        Err(StreamingError::CheckpointIntervalNotMultiple { .. })
    ));
    state.checkpoint(Duration::from_secs(3))?;

    let windowed = pairs.reduce_by_key_and_window_inv(
        |a, b| a + b,
        |a, b| a - b,
        Duration::from_secs(4),
        Duration::from_secs(2),
        None,
    )?;
    let err = windowed.checkpoint(Duration::from_secs(3)).unwrap_err();
    assert!(
        err.to_string().contains("3000 ms") && err.to_string().contains("2000 ms"),
        "{err}"
    );
    windowed.checkpoint(Duration::from_secs(4))?;

    let spec = StateSpec::function(|_k: &u8, v: Option<i64>, s: &mut State<i64>| {
        s.update(v.unwrap_or(0));
    });
    let mapped = pairs.map_with_state(spec);
    assert!(mapped.checkpoint(Duration::from_millis(2500)).is_err());
    mapped.checkpoint(Duration::from_secs(5))?;

    // Any stream takes an interval (its lineage is cut at those times).
    let plain = pairs.map(|(k, v)| (k, v * 2));
    assert!(plain.checkpoint(Duration::from_millis(999)).is_err());
    plain
        .checkpoint(Duration::from_secs(2))?
        .foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    assert!(matches!(
        plain.checkpoint(Duration::from_secs(2)),
        Err(StreamingError::AlreadyStarted)
    ));
    ssc.stop(StopOptions::default())?;
    Ok(())
}

#[test]
fn checkpoint_on_a_plain_stream_cuts_its_lineage_at_the_interval() -> R {
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::with_clock(
        StreamingConf::new().master("local[2]"),
        Duration::from_secs(1),
        Arc::clone(&clock) as Arc<dyn Clock>,
    )?;
    ssc.remember(Duration::from_secs(10));
    let input: Vec<Vec<i64>> = (1..=5).map(|k| vec![k, 10 * k]).collect();
    let doubled = ssc
        .input_stream(Replay::new(Arc::new(input)))
        .map(|x| x * 2)
        .checkpoint(Duration::from_secs(2))?;
    doubled.foreach_rdd(|rdd, _| Ok(rdd.count().map(drop)?))?;
    run_batches(&ssc, &clock, 1, 5)?;
    for k in 1..=5u64 {
        let rdd = doubled
            .get_or_compute(Time::from_millis(k * 1000))?
            .expect("remembered");
        assert_eq!(rdd.dependencies().is_empty(), k % 2 == 0, "batch {k} s");
        let k = k as i64;
        assert_eq!(rdd.collect()?, vec![2 * k, 20 * k]);
    }
    Ok(())
}

#[test]
fn a_changed_window_length_is_a_changed_pipeline() -> R {
    let dir = tempfile::tempdir()?;
    let input = Arc::new(pair_batches(4, 3, 6));
    let with_window = |seconds: u64| {
        move |pairs: DStream<(u8, i64)>, out: &Sink| {
            let sums = pairs.reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                Duration::from_secs(seconds),
                Duration::from_secs(1),
                None,
            )?;
            sink(&sums.checkpoint(Duration::from_secs(1))?, out, 0)
        }
    };
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        replay_context(&clock, &input, &with_window(3), &Sink::default())
    })?;
    run_batches(&ssc, &clock, 1, 2)?;
    drop(ssc);
    let err = StreamingContext::get_or_create(dir.path(), || {
        replay_context(
            &Arc::new(ManualClock::new()),
            &input,
            &with_window(4),
            &Sink::default(),
        )
    })
    .unwrap_err();
    assert!(
        matches!(err, StreamingError::CheckpointMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("reduce_by_key_and_window_inv window 3000 ms"),
        "{err}"
    );
    Ok(())
}

/// Ascending stop points in 1..=last, ending with `last`.
fn stops_strategy() -> impl Strategy<Value = Vec<u64>> {
    (4u64..13).prop_flat_map(|last| {
        prop::collection::btree_set(1..last, 0..4).prop_map(move |set| {
            let mut stops: Vec<u64> = set.into_iter().collect();
            stops.push(last);
            stops
        })
    })
}

fn input_strategy() -> impl Strategy<Value = Vec<Vec<(u8, i64)>>> {
    prop::collection::vec(prop::collection::vec((0u8..5, -3i64..5), 0..5), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn update_state_by_key_restarted_anywhere_equals_uninterrupted(
        input in input_strategy(),
        stops in stops_strategy(),
        interval_s in 1u64..4,
    ) {
        let pipeline = move |pairs: DStream<(u8, i64)>, out: &Sink| {
            let totals = pairs
                .update_state_by_key(running_total)
                .checkpoint(Duration::from_secs(interval_s))?;
            sink(&totals, out, 0)
        };
        assert_restarts_change_nothing(input, pipeline, interval_s, &stops)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }

    #[test]
    fn window_inv_restarted_anywhere_equals_uninterrupted(
        input in input_strategy(),
        stops in stops_strategy(),
        interval_s in 1u64..4,
        window_s in 1u64..6,
        filtered in any::<bool>(),
    ) {
        let pipeline = move |pairs: DStream<(u8, i64)>, out: &Sink| {
            let filter: PairFilter =
                filtered.then(|| Arc::new(|(_, v): &(u8, i64)| *v != 0) as _);
            let sums = pairs
                .reduce_by_key_and_window_inv(
                    |a, b| a + b,
                    |a, b| a - b,
                    Duration::from_secs(window_s),
                    Duration::from_secs(1),
                    filter,
                )?
                .checkpoint(Duration::from_secs(interval_s))?;
            sink(&sums, out, 0)
        };
        assert_restarts_change_nothing(input, pipeline, interval_s, &stops)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}

/// Notes the remember duration its environment gives when it starts.
struct RememberProbe(Arc<Mutex<Option<Duration>>>);

impl InputSource<String> for RememberProbe {
    fn name(&self) -> &'static str {
        "remember_probe"
    }
    fn start(&self, env: &InputEnv) -> Result<(), StreamingError> {
        *self.0.lock().unwrap() = Some(env.remember_duration());
        Ok(())
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<String>>, StreamingError> {
        Ok(Some(env.rdd_context().parallelize(words_at(time), 1)))
    }
}

/// Windows (length, slide in s) over an input, the context's `remember`
/// (s) and the input's expected remember duration (s).
type RememberCase = (&'static [(u64, u64)], Option<u64>, u64);

#[test]
fn an_input_knows_how_long_the_windows_over_it_need_its_batches() -> R {
    let secs = |s| Duration::from_secs(s);
    let cases: [RememberCase; 4] = [
        (&[], None, 1),               // no window: one batch
        (&[(5, 1)], None, 6),         // the window plus its slide
        (&[(5, 1), (4, 2)], None, 6), // the longest need
        (&[(5, 1)], Some(10), 15),    // the window's own RDDs kept 10 s
    ];
    for (windows, remember, expected) in cases {
        let seen = Arc::new(Mutex::new(None));
        let ssc = StreamingContext::with_clock(
            StreamingConf::new().master("local[2]").app_name("remember"),
            secs(1),
            Arc::new(ManualClock::new()),
        )?;
        let input = ssc.input_stream(RememberProbe(Arc::clone(&seen)));
        input.foreach_rdd(|_, _| Ok(()))?;
        for &(window, slide) in windows {
            input
                .window(secs(window), secs(slide))?
                .foreach_rdd(|_, _| Ok(()))?;
        }
        if let Some(remember) = remember {
            ssc.remember(secs(remember));
        }
        ssc.start()?;
        ssc.stop(StopOptions::default())?;
        assert_eq!(
            *seen.lock().unwrap(),
            Some(secs(expected)),
            "windows {windows:?}, remember {remember:?}"
        );
    }
    Ok(())
}
