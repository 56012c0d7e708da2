//! Overload: generated batches wait in a bounded queue
//! (`ember.streaming.maxQueuedBatches`), so a backlog or a catch-up does
//! not generate every missed batch ahead of time; and a non-graceful stop
//! returns quickly under a long backlog (the batch in progress finishes,
//! the queued ones are dropped).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ember_dstream::{
    BatchInfo, Duration, InputEnv, InputSource, ManualClock, StopOptions, StreamingConf,
    StreamingContext, StreamingError, StreamingListener, Time,
};
use ember_rdd::Rdd;

type R = Result<(), StreamingError>;

const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

/// One record per batch.
struct Ticks;

impl InputSource<u64> for Ticks {
    fn name(&self) -> &'static str {
        "ticks"
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<u64>>, StreamingError> {
        Ok(Some(
            env.rdd_context().parallelize(vec![time.milliseconds()], 1),
        ))
    }
}

/// Counts generated batches.
#[derive(Default)]
struct Submitted(AtomicU64);

impl StreamingListener for Submitted {
    fn on_batch_submitted(&self, _: &BatchInfo) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn context(max_queued: usize) -> Result<(StreamingContext, Arc<ManualClock>), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("backlog")
        .set("ember.streaming.maxQueuedBatches", max_queued.to_string());
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    Ok((ssc, clock))
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn a_backlog_generates_no_further_ahead_than_the_queue_bound() -> R {
    let (ssc, clock) = context(2)?;
    let submitted = Arc::new(Submitted::default());
    ssc.add_listener(submitted.clone());
    let (open, gate) = channel::<()>();
    let gate: Mutex<Option<Receiver<()>>> = Mutex::new(Some(gate));
    let ran = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ran);
    ssc.input_stream(Ticks).foreach_rdd(move |_, time| {
        // The first batch blocks until the test opens the gate.
        if let Some(gate) = gate.lock().unwrap().take() {
            let _ = gate.recv();
        }
        sink.lock().unwrap().push(time);
        Ok(())
    })?;
    ssc.start()?;
    // Ten batches are due at once (a catch-up).
    clock.set_time(t(10_000));
    // One running, two queued, one in the generator's hands.
    eventually("4 generated batches", || {
        submitted.0.load(Ordering::SeqCst) == 4
    });
    // Nothing to wait for here: give the generator a chance to run ahead.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        submitted.0.load(Ordering::SeqCst),
        4,
        "bounded by the queue"
    );
    open.send(()).unwrap();
    assert!(ssc.await_batches(10, Duration::from_secs(30))?);
    ssc.stop(StopOptions::default())?;
    assert_eq!(
        *ran.lock().unwrap(),
        (1..=10).map(|k| t(k * 1000)).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn a_non_graceful_stop_under_a_backlog_returns_within_two_seconds() -> R {
    let (ssc, clock) = context(3)?;
    let started = Arc::new(Mutex::new(Vec::new()));
    let ended = Arc::new(Mutex::new(Vec::new()));
    let (s, e) = (Arc::clone(&started), Arc::clone(&ended));
    ssc.input_stream(Ticks).foreach_rdd(move |_, time| {
        s.lock().unwrap().push(time);
        std::thread::sleep(std::time::Duration::from_millis(300));
        e.lock().unwrap().push(time);
        Ok(())
    })?;
    ssc.start()?;
    // 100 batches due: the executor is busy, the queue full, the generator
    // blocked on it.
    clock.set_time(t(100_000));
    eventually("the first batch to start", || {
        !started.lock().unwrap().is_empty()
    });
    let before = Instant::now();
    ssc.stop(StopOptions::default())?;
    let took = before.elapsed();
    assert!(
        took < std::time::Duration::from_secs(2),
        "stop took {took:?}"
    );
    // The batch in progress ran to its end; nothing started after.
    let ran = ended.lock().unwrap().clone();
    assert_eq!(*started.lock().unwrap(), ran);
    assert!(!ran.is_empty() && ran.len() <= 2, "{ran:?}");
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(*started.lock().unwrap(), ran, "no batch ran after the stop");
    Ok(())
}
