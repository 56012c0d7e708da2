//! Failures outside output operations end the context instead of killing a
//! scheduler thread silently: a panicking or failing input source, a
//! panicking listener, a panicking `Serialize` impl during a checkpoint;
//! `await_termination` returns the error and the context is stopped. The
//! listener bus is asynchronous and bounded: a stalled listener does not
//! stall batches, a full queue drops (and counts) events, and a listener
//! may stop the context. A failed `start` can be retried without losing
//! the recovered checkpoint.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use ember_dstream::{
    BatchInfo, ContextState, Duration, InputEnv, InputSource, ManualClock, OutputOperationInfo,
    StopOptions, StreamingConf, StreamingContext, StreamingError, StreamingListener, Time,
};
use ember_rdd::Rdd;
use serde::{Deserialize, Serialize, Serializer};

type R = Result<(), StreamingError>;

const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

fn conf() -> StreamingConf {
    StreamingConf::new().master("local[2]").app_name("failures")
}

fn manual() -> Result<(StreamingContext, Arc<ManualClock>), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::with_clock(conf(), Duration::from_secs(1), clock.clone())?;
    Ok((ssc, clock))
}

/// `await_termination`, given up (as a test failure, not a hang) after `WAIT`.
fn await_termination(ssc: &StreamingContext) -> Result<(), StreamingError> {
    let (tx, rx) = channel();
    let ssc = ssc.clone();
    std::thread::spawn(move || {
        let _ = tx.send(ssc.await_termination());
    });
    rx.recv_timeout(WAIT)
        .expect("await_termination did not return: the context hangs")
}

/// The context failed with `check`'s error and then stopped.
fn assert_failed_and_stopped(ssc: &StreamingContext, check: impl Fn(&StreamingError) -> bool) {
    match await_termination(ssc) {
        Err(e) => assert!(check(&e), "unexpected error: {e}"),
        Ok(()) => panic!("expected an error"),
    }
    assert!(await_termination(ssc).is_ok(), "then it stops");
    assert_eq!(ssc.state(), ContextState::Stopped);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    ComputePanics,
    ComputeFails,
    ClearMetadataPanics,
}

/// One record per batch; misbehaves as `fault` at 2 s.
struct Faulty(Fault);

impl InputSource<u64> for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<u64>>, StreamingError> {
        if time == t(2000) {
            match self.0 {
                Fault::ComputePanics => panic!("the filter blew up at {time}"),
                Fault::ComputeFails => {
                    return Err(StreamingError::Timeout {
                        what: "the source".to_owned(),
                        after: std::time::Duration::from_secs(1),
                    });
                }
                Fault::ClearMetadataPanics => {}
            }
        }
        Ok(Some(
            env.rdd_context().parallelize(vec![time.milliseconds()], 1),
        ))
    }
    fn clear_metadata(&self, time: Time, _env: &InputEnv) {
        if self.0 == Fault::ClearMetadataPanics && time == t(2000) {
            panic!("clear_metadata blew up at {time}");
        }
    }
}

/// The batch times an output ran.
type Ran = Arc<Mutex<Vec<Time>>>;

fn run_faulty(fault: Fault) -> Result<(StreamingContext, Ran), StreamingError> {
    let (ssc, clock) = manual()?;
    let ran = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ran);
    ssc.input_stream(Faulty(fault))
        .foreach_rdd(move |_, time| {
            sink.lock().unwrap().push(time);
            Ok(())
        })?;
    ssc.start()?;
    clock.advance(Duration::from_secs(1));
    assert!(ssc.await_batches(1, Duration::from_secs(10))?);
    clock.advance(Duration::from_secs(1));
    Ok((ssc, ran))
}

#[test]
fn a_panicking_input_source_ends_the_context_with_an_error() -> R {
    let (ssc, ran) = run_faulty(Fault::ComputePanics)?;
    assert_failed_and_stopped(&ssc, |e| {
        matches!(e, StreamingError::InputFailed { name: "faulty", time, message }
            if *time == t(2000) && message.contains("the filter blew up"))
    });
    assert_eq!(*ran.lock().unwrap(), vec![t(1000)]);
    Ok(())
}

#[test]
fn an_input_that_fails_to_generate_ends_the_context_with_its_error() -> R {
    let (ssc, ran) = run_faulty(Fault::ComputeFails)?;
    assert_failed_and_stopped(&ssc, |e| {
        matches!(e, StreamingError::InputFailed { name: "faulty", time, message }
            if *time == t(2000) && message.contains("the source"))
    });
    assert_eq!(*ran.lock().unwrap(), vec![t(1000)]);
    Ok(())
}

#[test]
fn a_panicking_clear_metadata_ends_the_context_with_an_error() -> R {
    let (ssc, ran) = run_faulty(Fault::ClearMetadataPanics)?;
    assert_failed_and_stopped(&ssc, |e| {
        matches!(e, StreamingError::CallbackPanicked { message, .. }
            if message.contains("clear_metadata blew up"))
    });
    assert_eq!(*ran.lock().unwrap(), vec![t(1000), t(2000)]);
    Ok(())
}

/// Panics in `on_batch_completed` of the batch at 1 s.
struct PanickingListener;

impl StreamingListener for PanickingListener {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        assert_ne!(batch.batch_time, t(1000), "listener bug");
    }
}

#[test]
fn a_panicking_listener_ends_the_context_with_an_error() -> R {
    let (ssc, clock) = manual()?;
    ssc.add_listener(Arc::new(PanickingListener));
    ssc.input_stream(Ticks).foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    clock.advance(Duration::from_secs(1));
    assert_failed_and_stopped(&ssc, |e| {
        matches!(e, StreamingError::CallbackPanicked { callback, message }
            if callback.contains("on_batch_completed") && message.contains("listener bug"))
    });
    Ok(())
}

/// State whose serialization panics (a buggy `Serialize` impl).
#[derive(Clone, Debug, Deserialize)]
struct Exploding(u64);

impl Serialize for Exploding {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("cannot serialize {}", self.0)
    }
}

#[test]
fn a_panicking_serialize_impl_during_a_checkpoint_ends_the_context_with_an_error() -> R {
    let dir = tempfile::tempdir().unwrap();
    let (ssc, clock) = manual()?;
    ssc.checkpoint(dir.path());
    ssc.input_stream(Ticks)
        .map(|x| (x % 2, x))
        .update_state_by_key(|new: &[u64], old: Option<Exploding>| {
            Some(Exploding(old.map_or(0, |s| s.0) + new.iter().sum::<u64>()))
        })
        .checkpoint(Duration::from_secs(1))?
        .foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    clock.advance(Duration::from_secs(1));
    assert_failed_and_stopped(&ssc, |e| {
        matches!(e, StreamingError::CallbackPanicked { message, .. }
            if message.contains("cannot serialize"))
    });
    Ok(())
}

/// Records every event; optionally blocks in its first `on_batch_submitted`
/// (or `on_streaming_started`) until the gate opens.
struct Gated {
    events: Mutex<Vec<String>>,
    gate: Mutex<Option<Receiver<()>>>,
    gate_on_start: bool,
    entered: AtomicBool,
}

impl Gated {
    fn new(gate_on_start: bool) -> (Arc<Self>, Sender<()>) {
        let (tx, rx) = channel();
        let gated = Arc::new(Gated {
            events: Mutex::default(),
            gate: Mutex::new(Some(rx)),
            gate_on_start,
            entered: AtomicBool::new(false),
        });
        (gated, tx)
    }
    fn record(&self, event: String, gated: bool) {
        self.events.lock().unwrap().push(event);
        if gated && let Some(gate) = self.gate.lock().unwrap().take() {
            self.entered.store(true, Ordering::SeqCst);
            let _ = gate.recv();
        }
    }
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

impl StreamingListener for Gated {
    fn on_streaming_started(&self, time: Time) {
        self.record(format!("started {time}"), self.gate_on_start);
    }
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.record(format!("submitted {}", b.batch_time), !self.gate_on_start);
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        self.record(format!("batch started {}", b.batch_time), false);
    }
    fn on_output_operation_started(&self, op: &OutputOperationInfo) {
        self.record(format!("output started {}", op.batch_time), false);
    }
    fn on_output_operation_completed(&self, op: &OutputOperationInfo) {
        self.record(format!("output completed {}", op.batch_time), false);
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.record(format!("completed {}", b.batch_time), false);
    }
}

fn batch_events(time: Time) -> Vec<String> {
    [
        "submitted",
        "batch started",
        "output started",
        "output completed",
        "completed",
    ]
    .iter()
    .map(|e| format!("{e} {time}"))
    .collect()
}

#[test]
fn a_stalled_listener_does_not_stall_batches_and_gets_every_event_in_order() -> R {
    let (ssc, clock) = manual()?;
    let (listener, gate) = Gated::new(false);
    ssc.add_listener(listener.clone());
    ssc.input_stream(Ticks).foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    clock.set_time(t(5000));
    // The listener is stuck in the first event; the batches still run.
    let ran = ssc.await_batches(5, Duration::from_secs(10));
    gate.send(()).unwrap();
    assert!(ran?, "5 batches completed while the listener was stalled");
    ssc.stop(StopOptions::default())?;
    let mut expected = vec!["started 1000 ms".to_owned()];
    for k in 1..=5 {
        expected.extend(batch_events(t(k * 1000)));
    }
    // The generator posts `submitted` while the executor posts the rest:
    // each batch's events are in order, batches interleave.
    let mut events = listener.events();
    events.sort_by_key(|e| {
        e.rsplit(' ')
            .nth(1)
            .and_then(|ms| ms.parse::<u64>().ok())
            .filter(|_| !e.starts_with("started"))
            .unwrap_or(0)
    });
    assert_eq!(events, expected);
    assert_eq!(ssc.dropped_listener_events(), 0);
    Ok(())
}

/// One record per batch, always.
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

#[test]
fn a_full_listener_queue_drops_and_counts_events() -> R {
    let clock = Arc::new(ManualClock::new());
    let conf = conf().set("spark.scheduler.listenerbus.eventqueue.capacity", "4");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    let (listener, gate) = Gated::new(true);
    ssc.add_listener(listener.clone());
    ssc.input_stream(Ticks).foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    let deadline = std::time::Instant::now() + WAIT;
    while !listener.entered.load(Ordering::SeqCst) {
        assert!(std::time::Instant::now() < deadline, "no started event");
        std::thread::yield_now();
    }
    // Five events for a queue of four: the last is dropped.
    clock.advance(Duration::from_secs(1));
    assert!(ssc.await_batches(1, Duration::from_secs(10))?);
    assert_eq!(ssc.dropped_listener_events(), 1);
    gate.send(()).unwrap();
    ssc.stop(StopOptions::default())?;
    let mut expected = vec!["started 1000 ms".to_owned()];
    expected.extend(batch_events(t(1000)).into_iter().take(4));
    assert_eq!(listener.events(), expected);
    Ok(())
}

/// Stops its context (gracefully or not) when the batch at 1 s completes.
struct Stopper {
    ssc: Mutex<Option<StreamingContext>>,
    graceful: bool,
}

impl StreamingListener for Stopper {
    fn on_batch_completed(&self, _: &BatchInfo) {
        if let Some(ssc) = self.ssc.lock().unwrap().take() {
            ssc.stop(StopOptions {
                stop_gracefully: self.graceful,
            })
            .unwrap();
        }
    }
}

#[test]
fn a_listener_can_stop_its_context() -> R {
    for graceful in [false, true] {
        let (ssc, clock) = manual()?;
        ssc.add_listener(Arc::new(Stopper {
            ssc: Mutex::new(Some(ssc.clone())),
            graceful,
        }));
        ssc.input_stream(Ticks).foreach_rdd(|_, _| Ok(()))?;
        ssc.start()?;
        clock.advance(Duration::from_secs(1));
        await_termination(&ssc)?;
        assert_eq!(ssc.state(), ContextState::Stopped, "graceful: {graceful}");
    }
    Ok(())
}

#[test]
fn an_output_can_stop_its_context() -> R {
    for graceful in [false, true] {
        let (ssc, clock) = manual()?;
        let own = Mutex::new(Some(ssc.clone()));
        ssc.input_stream(Ticks).foreach_rdd(move |_, _| {
            if let Some(ssc) = own.lock().unwrap().take() {
                ssc.stop(StopOptions {
                    stop_gracefully: graceful,
                })
                .unwrap();
            }
            Ok(())
        })?;
        ssc.start()?;
        clock.advance(Duration::from_secs(1));
        await_termination(&ssc)?;
        assert_eq!(ssc.state(), ContextState::Stopped, "graceful: {graceful}");
    }
    Ok(())
}

/// A replayable count source whose `start` fails once when armed.
struct FlakyStart(Arc<AtomicBool>);

impl InputSource<u64> for FlakyStart {
    fn name(&self) -> &'static str {
        "flaky-start"
    }
    fn start(&self, _env: &InputEnv) -> Result<(), StreamingError> {
        if self.0.swap(false, Ordering::SeqCst) {
            return Err(StreamingError::Timeout {
                what: "the source's server".to_owned(),
                after: std::time::Duration::from_secs(1),
            });
        }
        Ok(())
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<u64>>, StreamingError> {
        Ticks.compute(time, env)
    }
}

type Totals = Arc<Mutex<BTreeMap<Time, Vec<(u64, u64)>>>>;

fn counting(
    clock: Arc<ManualClock>,
    fail_start: Arc<AtomicBool>,
    out: Totals,
) -> Result<StreamingContext, StreamingError> {
    let ssc = StreamingContext::with_clock(conf(), Duration::from_secs(1), clock)?;
    ssc.input_stream(FlakyStart(fail_start))
        .map(|_| (0u64, 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpoint(Duration::from_secs(1))?
        .foreach_rdd(move |rdd, time| {
            out.lock().unwrap().insert(time, rdd.collect().unwrap());
            Ok(())
        })?;
    Ok(ssc)
}

fn wait_for(path: &Path) {
    let deadline = std::time::Instant::now() + WAIT;
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn a_failed_start_can_be_retried_and_still_restores_the_checkpoint() -> R {
    let dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicBool::new(false));
    let clock = Arc::new(ManualClock::new());
    let out: Totals = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        counting(clock.clone(), fail.clone(), out.clone())
    })?;
    ssc.start()?;
    clock.set_time(t(3000));
    wait_for(&dir.path().join("checkpoint-3000"));
    ssc.stop(StopOptions::default())?;
    assert_eq!(out.lock().unwrap().get(&t(3000)), Some(&vec![(0, 3)]));

    let clock = Arc::new(ManualClock::new());
    clock.set_time(t(3000));
    let out: Totals = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        counting(clock.clone(), fail.clone(), out.clone())
    })?;
    fail.store(true, Ordering::SeqCst);
    assert!(matches!(ssc.start(), Err(StreamingError::Timeout { .. })));
    assert_eq!(ssc.recovered_from(), Some(t(3000)), "still recovering");
    ssc.start()?;
    clock.set_time(t(4000));
    assert!(ssc.await_batches(1, Duration::from_secs(10))?);
    ssc.stop(StopOptions::default())?;
    assert_eq!(
        *out.lock().unwrap(),
        BTreeMap::from([(t(4000), vec![(0, 4)])]),
        "the count continues from the checkpoint"
    );
    Ok(())
}

/// Panics in `start` or, once stopped, in `has_unallocated_data`.
struct PanickyHooks {
    panic_in_start: bool,
}

impl InputSource<u64> for PanickyHooks {
    fn name(&self) -> &'static str {
        "panicky-hooks"
    }
    fn start(&self, _env: &InputEnv) -> Result<(), StreamingError> {
        assert!(!self.panic_in_start, "start blew up");
        Ok(())
    }
    fn has_unallocated_data(&self) -> bool {
        panic!("has_unallocated_data blew up")
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<u64>>, StreamingError> {
        Ticks.compute(time, env)
    }
}

#[test]
fn a_panicking_start_is_an_error_of_start() -> R {
    let (ssc, _clock) = manual()?;
    ssc.input_stream(PanickyHooks {
        panic_in_start: true,
    })
    .foreach_rdd(|_, _| Ok(()))?;
    match ssc.start() {
        Err(StreamingError::CallbackPanicked { callback, message }) => {
            assert!(callback.contains("panicky-hooks"), "{callback}");
            assert!(message.contains("start blew up"), "{message}");
        }
        other => panic!("expected the panic as an error, got {other:?}"),
    }
    assert_eq!(ssc.state(), ContextState::Initialized);
    Ok(())
}

#[test]
fn a_panic_in_has_unallocated_data_during_a_graceful_stop_is_reported_and_the_stop_returns() -> R {
    let (ssc, clock) = manual()?;
    ssc.input_stream(PanickyHooks {
        panic_in_start: false,
    })
    .foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    clock.advance(Duration::from_secs(1));
    assert!(ssc.await_batches(1, Duration::from_secs(10))?);
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    match await_termination(&ssc) {
        Err(StreamingError::CallbackPanicked { callback, message }) => {
            assert!(callback.contains("has_unallocated_data"), "{callback}");
            assert!(message.contains("blew up"), "{message}");
        }
        other => panic!("expected the panic as an error, got {other:?}"),
    }
    assert!(await_termination(&ssc).is_ok());
    Ok(())
}

/// Sends each completed batch's time.
struct Completions(Mutex<Sender<Time>>);

impl StreamingListener for Completions {
    fn on_batch_completed(&self, b: &BatchInfo) {
        let _ = self.0.lock().unwrap().send(b.batch_time);
    }
}

#[test]
fn an_unread_output_failure_does_not_hide_the_error_that_ended_the_context() -> R {
    let (ssc, clock) = manual()?;
    let (tx, completed) = channel();
    ssc.add_listener(Arc::new(Completions(Mutex::new(tx))));
    ssc.input_stream(Faulty(Fault::ComputePanics))
        .foreach_rdd(|_, time| {
            if time == t(1000) {
                Err("disk full".into())
            } else {
                Ok(())
            }
        })?;
    ssc.start()?;
    clock.advance(Duration::from_secs(1));
    assert_eq!(completed.recv_timeout(WAIT).unwrap(), t(1000));
    // The output failure is not read before the input fails.
    clock.advance(Duration::from_secs(1));
    match await_termination(&ssc) {
        Err(StreamingError::OutputFailed { time, message, .. }) => {
            assert_eq!((time, message.as_str()), (t(1000), "disk full"));
        }
        other => panic!("expected the output failure first, got {other:?}"),
    }
    assert_failed_and_stopped(
        &ssc,
        |e| matches!(e, StreamingError::InputFailed { time, .. } if *time == t(2000)),
    );
    Ok(())
}
