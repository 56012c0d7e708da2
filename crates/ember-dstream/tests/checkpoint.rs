//! Streaming checkpoints and `get_or_create`: state restored after a
//! stop, catch-up batches, pipeline and batch-interval mismatches, damaged
//! checkpoints.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use ember_dstream::{
    Clock, Duration, InputEnv, InputSource, ManualClock, RecoveryOptions, StopOptions,
    StreamingConf, StreamingContext, StreamingError, Time,
};
use ember_rdd::Rdd;

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
        .checkpointed_every(Duration::from_millis(batch_ms))?;
    state.foreach_rdd(move |rdd, time| {
        let mut v = rdd.collect().unwrap_or_default();
        v.sort();
        out.lock().unwrap().insert(time.milliseconds(), v);
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
    assert!(std::fs::read_dir(dir.path())?.next().is_none());
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

    for t in [1000, 2000] {
        std::fs::write(dir.path().join(format!("checkpoint-{t}")), b"garbage")?;
    }
    let err = StreamingContext::get_or_create(dir.path(), || {
        build(Arc::new(ManualClock::new()), Arc::default(), 1000, false)
    })
    .unwrap_err()
    .to_string();
    for t in [1000, 2000, 3000] {
        assert!(err.contains(&format!("checkpoint-{t}")), "{err}");
    }
    Ok(())
}

#[test]
fn checkpointed_needs_a_state_stream_and_a_multiple_of_the_slide() -> R {
    let ssc = StreamingContext::with_clock(
        StreamingConf::new().master("local[2]"),
        Duration::from_millis(1000),
        Arc::new(ManualClock::new()),
    )?;
    let words = ssc.input_stream(Words);
    let err = words.map(|w| (w, 1u64)).checkpointed().unwrap_err();
    assert!(
        matches!(err, StreamingError::NotStateful { stream: "map", .. }),
        "{err}"
    );
    let state = words
        .map(|w| (w, 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.len() as u64)
        });
    let err = state
        .checkpointed_every(Duration::from_millis(1500))
        .unwrap_err();
    assert!(
        matches!(err, StreamingError::SlideNotMultiple { .. }),
        "{err}"
    );
    state.checkpointed()?;
    Ok(())
}
