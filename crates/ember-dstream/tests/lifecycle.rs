//! The context's life cycle and the scheduler: start/stop errors, awaiting
//! termination, failing outputs, listener events, graceful and immediate
//! stops, queueing when processing is slow, and no leaked threads.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use ember_dstream::{
    BatchInfo, Duration, ManualClock, OutputOperationInfo, StopOptions, StreamingConf,
    StreamingContext, StreamingError, StreamingListener, Time,
};

type R = Result<(), StreamingError>;

const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Tests here count this process's threads: they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn conf() -> StreamingConf {
    StreamingConf::new()
        .master("local[2]")
        .app_name("lifecycle")
}

fn manual(batch_ms: u64) -> Result<(StreamingContext, Arc<ManualClock>), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let ssc = StreamingContext::with_clock(conf(), Duration::from_millis(batch_ms), clock.clone())?;
    Ok((ssc, clock))
}

fn t(ms: u64) -> Time {
    Time::from_millis(ms)
}

#[derive(Debug, Clone, PartialEq)]
enum Event {
    Started(Time),
    Submitted(Time, u64),
    BatchStarted(Time, u64),
    OutputStarted(Time, usize),
    OutputCompleted(Time, usize, Option<String>),
    Completed(Time, u64),
}

/// Records every event, and sends each completed batch down a channel.
struct Recorder {
    events: Mutex<Vec<Event>>,
    completed: Mutex<Sender<BatchInfo>>,
    ops: Mutex<Vec<OutputOperationInfo>>,
}

impl Recorder {
    fn new() -> (Arc<Self>, Receiver<BatchInfo>) {
        let (tx, rx) = channel();
        (
            Arc::new(Recorder {
                events: Mutex::default(),
                completed: Mutex::new(tx),
                ops: Mutex::default(),
            }),
            rx,
        )
    }
    fn push(&self, e: Event) {
        self.events.lock().unwrap().push(e);
    }
    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
    fn submitted(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| matches!(e, Event::Submitted(..)))
            .count()
    }
}

impl StreamingListener for Recorder {
    fn on_streaming_started(&self, time: Time) {
        self.push(Event::Started(time));
    }
    fn on_batch_submitted(&self, b: &BatchInfo) {
        self.push(Event::Submitted(b.batch_time, b.num_records));
    }
    fn on_batch_started(&self, b: &BatchInfo) {
        self.push(Event::BatchStarted(b.batch_time, b.num_records));
    }
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.push(Event::Completed(b.batch_time, b.num_records));
        let _ = self.completed.lock().unwrap().send(b.clone());
    }
    fn on_output_operation_started(&self, op: &OutputOperationInfo) {
        self.push(Event::OutputStarted(op.batch_time, op.id));
    }
    fn on_output_operation_completed(&self, op: &OutputOperationInfo) {
        self.push(Event::OutputCompleted(
            op.batch_time,
            op.id,
            op.failure_reason.clone(),
        ));
        self.ops.lock().unwrap().push(op.clone());
    }
}

/// Waits until `cond` holds (polling), or panics after `WAIT`.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn start_errors() -> R {
    let _g = serial();
    let (ssc, _clock) = manual(1000)?;
    let stream = ssc.queue_stream(VecDeque::<Vec<i32>>::new(), true);
    assert!(matches!(
        ssc.start(),
        Err(StreamingError::NoOutputOperations)
    ));
    stream.foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    assert!(matches!(ssc.start(), Err(StreamingError::AlreadyStarted)));
    assert!(matches!(
        stream.foreach_rdd(|_, _| Ok(())),
        Err(StreamingError::AlreadyStarted)
    ));
    ssc.stop(StopOptions::default())?;
    assert!(matches!(ssc.start(), Err(StreamingError::AlreadyStopped)));
    assert!(matches!(
        stream.map(|x| x + 1).foreach_rdd(|_, _| Ok(())),
        Err(StreamingError::AlreadyStopped)
    ));
    // Stopping twice is harmless.
    ssc.stop(StopOptions::default())?;
    Ok(())
}

#[test]
fn stopping_before_start_then_starting_fails() -> R {
    let _g = serial();
    let (ssc, _clock) = manual(1000)?;
    ssc.queue_stream(VecDeque::<Vec<i32>>::new(), true)
        .foreach_rdd(|_, _| Ok(()))?;
    ssc.stop(StopOptions::default())?;
    assert!(matches!(ssc.start(), Err(StreamingError::AlreadyStopped)));
    Ok(())
}

#[test]
fn new_rejects_a_zero_interval_and_a_bad_master() {
    let _g = serial();
    assert!(matches!(
        StreamingContext::new(conf(), Duration::ZERO),
        Err(StreamingError::ZeroDuration { .. })
    ));
    for master in ["nonsense", "local[0]", "local[x]", "spark://"] {
        let conf = StreamingConf::new().master(master);
        assert!(
            StreamingContext::new(conf, Duration::from_secs(1)).is_err(),
            "master {master:?} should be rejected"
        );
    }
}

#[test]
fn await_termination_or_timeout_times_out_then_sees_the_stop() -> R {
    let _g = serial();
    let (ssc, _clock) = manual(1000)?;
    ssc.queue_stream(VecDeque::<Vec<i32>>::new(), true)
        .foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    let before = Instant::now();
    assert!(!ssc.await_termination_or_timeout(Duration::from_millis(50))?);
    assert!(before.elapsed() >= std::time::Duration::from_millis(50));
    let stopper = {
        let ssc = ssc.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            ssc.stop(StopOptions::default())
        })
    };
    assert!(ssc.await_termination_or_timeout(Duration::from_secs(30))?);
    stopper.join().unwrap()?;
    assert!(ssc.await_termination_or_timeout(Duration::from_millis(1))?);
    ssc.await_termination()?;
    Ok(())
}

#[test]
fn failing_outputs_reach_await_termination_and_listeners_and_batches_go_on() -> R {
    let _g = serial();
    let (ssc, clock) = manual(1000)?;
    let (recorder, completed) = Recorder::new();
    ssc.add_listener(recorder.clone());
    let stream = ssc.queue_stream(VecDeque::from(vec![vec![1], vec![2], vec![3]]), true);
    stream.foreach_rdd(|_, time| {
        if time == t(1000) {
            Err("disk full".into())
        } else {
            Ok(())
        }
    })?;
    stream.foreach_rdd(|_, time| {
        if time == t(2000) {
            panic!("boom at {time}");
        }
        Ok(())
    })?;
    let ran = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ran);
    stream.foreach_rdd(move |rdd, time| {
        sink.lock().unwrap().push((time, rdd.collect().unwrap()));
        Ok(())
    })?;
    ssc.start()?;

    clock.advance(Duration::from_secs(1));
    let first = completed.recv_timeout(WAIT).unwrap();
    assert_eq!(first.batch_time, t(1000));
    assert_eq!(first.failure_reason(), Some("disk full"));
    match ssc.await_termination() {
        Err(StreamingError::OutputFailed {
            time,
            output,
            name,
            message,
        }) => {
            assert_eq!((time, output, name), (t(1000), 0, "foreach_rdd"));
            assert_eq!(message, "disk full");
        }
        other => panic!("expected the output failure, got {other:?}"),
    }

    clock.advance(Duration::from_secs(1));
    let second = completed.recv_timeout(WAIT).unwrap();
    assert_eq!(second.batch_time, t(2000));
    let reason = second.failure_reason().unwrap();
    assert!(reason.contains("boom at"), "{reason}");
    assert_eq!(second.output_operations.len(), 3);
    assert!(second.output_operations[0].failure_reason.is_none());
    assert!(second.output_operations[2].failure_reason.is_none());
    match ssc.await_termination_or_timeout(Duration::from_secs(5)) {
        Err(StreamingError::OutputFailed { time, output, .. }) => {
            assert_eq!((time, output), (t(2000), 1));
        }
        other => panic!("expected the panic as a failure, got {other:?}"),
    }

    clock.advance(Duration::from_secs(1));
    let third = completed.recv_timeout(WAIT).unwrap();
    assert_eq!(third.batch_time, t(3000));
    assert_eq!(third.failure_reason(), None);
    assert!(!ssc.await_termination_or_timeout(Duration::from_millis(1))?);
    ssc.stop(StopOptions::default())?;

    assert_eq!(
        *ran.lock().unwrap(),
        vec![(t(1000), vec![1]), (t(2000), vec![2]), (t(3000), vec![3])]
    );
    let failures: Vec<(Time, usize, bool)> = recorder
        .ops
        .lock()
        .unwrap()
        .iter()
        .filter_map(|op| {
            let reason = op.failure_reason.as_ref()?;
            Some((
                op.batch_time,
                op.id,
                reason.contains("boom") || reason == "disk full",
            ))
        })
        .collect();
    assert_eq!(failures, vec![(t(1000), 0, true), (t(2000), 1, true)]);
    Ok(())
}

#[test]
fn listener_events_arrive_in_order_with_sizes_and_delays() -> R {
    let _g = serial();
    let (ssc, clock) = manual(1000)?;
    let (recorder, completed) = Recorder::new();
    ssc.add_listener(recorder.clone());
    let sizes = [3u64, 0, 5];
    let input: VecDeque<Vec<u64>> = sizes.iter().map(|&n| (0..n).collect()).collect();
    let stream = ssc.queue_stream(input, true);
    stream.foreach_rdd(|rdd, _| {
        rdd.count().unwrap();
        Ok(())
    })?;
    stream.map(|x| x + 1).foreach_rdd(|_, _| Ok(()))?;
    ssc.start()?;
    let mut infos = Vec::new();
    for _ in 0..4 {
        clock.advance(Duration::from_secs(1));
        infos.push(completed.recv_timeout(WAIT).unwrap());
    }
    ssc.stop(StopOptions::default())?;

    let mut expected = vec![Event::Started(t(1000))];
    for (i, n) in sizes.iter().copied().chain([0]).enumerate() {
        let time = t(1000 * (i as u64 + 1));
        expected.extend([
            Event::Submitted(time, n),
            Event::BatchStarted(time, n),
            Event::OutputStarted(time, 0),
            Event::OutputCompleted(time, 0, None),
            Event::OutputStarted(time, 1),
            Event::OutputCompleted(time, 1, None),
            Event::Completed(time, n),
        ]);
    }
    // `on_streaming_started` is posted from `start` after the generator
    // began, so compare it apart from the batch events.
    let events = recorder.events();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Started(_)))
            .count(),
        1
    );
    let batch_events: Vec<Event> = events
        .into_iter()
        .filter(|e| !matches!(e, Event::Started(_)))
        .collect();
    assert_eq!(batch_events, expected[1..].to_vec());

    for (info, n) in infos.iter().zip(sizes.iter().copied().chain([0])) {
        assert_eq!(info.num_records, n);
        let scheduling = info.scheduling_delay().expect("scheduling delay");
        let processing = info.processing_delay().expect("processing delay");
        let total = info.total_delay().expect("total delay");
        assert!(total >= scheduling && total >= processing);
        assert_eq!(info.output_operations.len(), 2);
        for (id, op) in info.output_operations.iter().enumerate() {
            assert_eq!(
                (op.id, op.batch_time, op.name),
                (id, info.batch_time, "foreach_rdd")
            );
            assert!(op.duration().is_some());
        }
    }
    Ok(())
}

/// A context, its clock, its listener and the batch times its output ran.
type SlowContext = (
    StreamingContext,
    Arc<ManualClock>,
    Arc<Recorder>,
    Arc<Mutex<Vec<Time>>>,
);

/// A context whose one output sleeps `sleep_ms` per batch and records the
/// batch times it ran.
fn slow_context(sleep_ms: u64) -> Result<SlowContext, StreamingError> {
    let (ssc, clock) = manual(1000)?;
    let (recorder, _completed) = Recorder::new();
    ssc.add_listener(recorder.clone());
    let ran = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ran);
    ssc.queue_stream(VecDeque::from(vec![vec![1]; 4]), true)
        .foreach_rdd(move |_, time| {
            std::thread::sleep(std::time::Duration::from_millis(sleep_ms));
            sink.lock().unwrap().push(time);
            Ok(())
        })?;
    ssc.start()?;
    Ok((ssc, clock, recorder, ran))
}

#[test]
fn graceful_stop_finishes_every_generated_batch() -> R {
    let _g = serial();
    let (ssc, clock, recorder, ran) = slow_context(100)?;
    clock.advance(Duration::from_secs(4));
    eventually("4 submitted batches", || recorder.submitted() == 4);
    assert!(ran.lock().unwrap().len() < 4, "the output is slow");
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    assert_eq!(
        *ran.lock().unwrap(),
        vec![t(1000), t(2000), t(3000), t(4000)]
    );
    assert!(ssc.await_termination_or_timeout(Duration::from_millis(1))?);
    Ok(())
}

#[test]
fn immediate_stop_finishes_the_batch_in_progress_and_drops_the_queue() -> R {
    let _g = serial();
    let (ssc, clock, recorder, ran) = slow_context(300)?;
    clock.advance(Duration::from_secs(4));
    eventually("4 submitted batches", || recorder.submitted() == 4);
    eventually("the first batch to start", || {
        recorder
            .events()
            .iter()
            .any(|e| matches!(e, Event::OutputStarted(..)))
    });
    ssc.stop(StopOptions::default())?;
    // The batch in progress ran to its end; the queued ones were dropped.
    assert_eq!(*ran.lock().unwrap(), vec![t(1000)]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(*ran.lock().unwrap(), vec![t(1000)]);
    Ok(())
}

#[test]
fn slow_batches_queue_and_none_is_dropped() -> R {
    let _g = serial();
    let batch = 50;
    // The default graceful-stop timeout (10 batches = 500 ms) is shorter
    // than the 12 queued batches take; this test is about the queue.
    let conf = conf().set("spark.streaming.gracefulStopTimeout", "60s");
    let ssc = StreamingContext::new(conf, Duration::from_millis(batch))?;
    let ran = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&ran);
    let (recorder, _completed) = Recorder::new();
    ssc.add_listener(recorder.clone());
    ssc.queue_stream(VecDeque::<Vec<u8>>::new(), true)
        .foreach_rdd(move |_, time| {
            sink.lock().unwrap().push(time);
            std::thread::sleep(std::time::Duration::from_millis(120));
            Ok(())
        })?;
    ssc.start()?;
    std::thread::sleep(std::time::Duration::from_millis(600));
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    let ran = ran.lock().unwrap().clone();
    let submitted: Vec<Time> = recorder
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Submitted(time, _) => Some(*time),
            _ => None,
        })
        .collect();
    assert!(ran.len() >= 8, "about 12 batches in 600 ms, got {ran:?}");
    assert_eq!(ran, submitted, "every generated batch ran, once, in order");
    for pair in ran.windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::from_millis(batch), "{ran:?}");
    }
    assert!(ran[0].is_multiple_of(Duration::from_millis(batch)));
    Ok(())
}

/// This process's threads whose name starts with `ember-job-`.
fn job_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
                .filter(|name| name.starts_with("ember-job-"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_dropped_context_leaves_no_threads_behind() -> R {
    let _g = serial();
    if !std::path::Path::new("/proc/self/task").exists() {
        return Ok(());
    }
    let before = job_threads();
    {
        let (ssc, clock) = manual(1000)?;
        let stream = ssc.queue_stream(VecDeque::from(vec![vec![1, 2]]), true);
        stream.foreach_rdd(|rdd, _| {
            rdd.count().unwrap();
            Ok(())
        })?;
        ssc.start()?;
        clock.advance(Duration::from_secs(2));
        // A new thread names itself once it runs: wait for the names.
        eventually("the generator and executor to run", || {
            job_threads() >= before + 2
        });
        // The stream handle outlives the context; it must not keep it alive.
        drop(ssc);
        let _ = stream.id();
    }
    eventually("the job threads to end", || job_threads() == before);
    // The same with a system-clock context.
    {
        let ssc = StreamingContext::new(conf(), Duration::from_millis(20))?;
        ssc.queue_stream(VecDeque::<Vec<u8>>::new(), true)
            .foreach_rdd(|_, _| Ok(()))?;
        ssc.start()?;
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eventually("the job threads to end", || job_threads() == before);
    Ok(())
}
