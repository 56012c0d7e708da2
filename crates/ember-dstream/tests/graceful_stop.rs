//! Graceful stop processes everything the inputs accepted (Spark's
//! `JobGenerator.stop(processReceivedData = true)`): after the inputs stop,
//! batches go on being generated at their times while an input holds data
//! no batch took; the processed records equal the accepted ones exactly.
//! And it never hangs: `spark.streaming.gracefulStopTimeout` bounds it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ember_dstream::{
    Duration, InputEnv, InputSource, ManualClock, StopOptions, StreamingConf, StreamingContext,
    StreamingError, Time,
};
use ember_rdd::Rdd;

type R = Result<(), StreamingError>;

const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Records the test hands over, given to batches at most `per_batch` at a
/// time (as a rate-limited receiver would), refused after `stop`.
struct Feed {
    buffer: Mutex<VecDeque<u64>>,
    accepted: Mutex<Vec<u64>>,
    stopped: AtomicBool,
    per_batch: usize,
}

impl Feed {
    fn new(per_batch: usize) -> Arc<Self> {
        Arc::new(Feed {
            buffer: Mutex::default(),
            accepted: Mutex::default(),
            stopped: AtomicBool::new(false),
            per_batch,
        })
    }

    /// Accepts `records`, unless the source was stopped (returns false).
    fn push(&self, records: impl IntoIterator<Item = u64>) -> bool {
        let mut buffer = self.buffer.lock().unwrap();
        if self.stopped.load(Ordering::SeqCst) {
            return false;
        }
        for r in records {
            buffer.push_back(r);
            self.accepted.lock().unwrap().push(r);
        }
        true
    }
}

struct FeedSource(Arc<Feed>);

impl InputSource<u64> for FeedSource {
    fn name(&self) -> &'static str {
        "feed"
    }
    fn stop(&self) {
        let _buffer = self.0.buffer.lock().unwrap();
        self.0.stopped.store(true, Ordering::SeqCst);
    }
    fn has_unallocated_data(&self) -> bool {
        !self.0.buffer.lock().unwrap().is_empty()
    }
    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<u64>>, StreamingError> {
        let mut buffer = self.0.buffer.lock().unwrap();
        let n = buffer.len().min(self.0.per_batch);
        let batch: Vec<u64> = buffer.drain(..n).collect();
        env.report_records(time, batch.len() as u64);
        Ok(Some(env.rdd_context().parallelize(batch, 2)))
    }
}

/// The records an output saw.
type Processed = Arc<Mutex<Vec<u64>>>;

/// A context reading `feed`; returns it and the records its output saw.
fn context(
    conf: StreamingConf,
    batch: Duration,
    clock: Option<Arc<ManualClock>>,
    feed: &Arc<Feed>,
) -> Result<(StreamingContext, Processed), StreamingError> {
    let ssc = match clock {
        Some(clock) => StreamingContext::with_clock(conf, batch, clock)?,
        None => StreamingContext::new(conf, batch)?,
    };
    let processed = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&processed);
    ssc.input_stream(FeedSource(Arc::clone(feed)))
        .foreach_rdd(move |rdd, _| {
            sink.lock().unwrap().extend(rdd.collect().unwrap());
            Ok(())
        })?;
    Ok((ssc, processed))
}

fn conf() -> StreamingConf {
    StreamingConf::new()
        .master("local[2]")
        .app_name("graceful-stop")
}

fn sorted(v: &Mutex<Vec<u64>>) -> Vec<u64> {
    let mut v = v.lock().unwrap().clone();
    v.sort_unstable();
    v
}

fn graceful() -> StopOptions {
    StopOptions {
        stop_gracefully: true,
    }
}

#[test]
fn graceful_stop_on_a_manual_clock_processes_every_accepted_record() -> R {
    let clock = Arc::new(ManualClock::new());
    let feed = Feed::new(5);
    let (ssc, processed) = context(conf(), Duration::from_secs(1), Some(clock.clone()), &feed)?;
    ssc.start()?;
    assert!(feed.push(0..5));
    clock.advance(Duration::from_secs(1));
    assert!(ssc.await_batches(1, Duration::from_secs(30))?);
    // 18 records no batch took yet: 4 more batches of at most 5.
    assert!(feed.push(5..23));
    let stopper = {
        let ssc = ssc.clone();
        std::thread::spawn(move || ssc.stop(graceful()))
    };
    let deadline = Instant::now() + WAIT;
    while !feed.stopped.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the input was never stopped");
        std::thread::yield_now();
    }
    // Move the clock on, one batch at a time, until the stop completes.
    // Once the last batch ran, the stopping thread only joins threads,
    // which a loaded machine may take a while to do: wait on it by time.
    let deadline = Instant::now() + WAIT;
    let mut batches = 1;
    while !stopper.is_finished() {
        assert!(Instant::now() < deadline, "the graceful stop never ended");
        if batches < 50 {
            clock.advance(Duration::from_secs(1));
            batches += 1;
        }
        if !ssc.await_batches(batches, Duration::from_secs(30))? {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    stopper.join().unwrap()?;
    assert_eq!(sorted(&feed.accepted), (0..23).collect::<Vec<_>>());
    assert_eq!(sorted(&processed), sorted(&feed.accepted));
    assert!(!feed.push([99]), "a stopped source refuses data visibly");
    assert!(ssc.await_termination_or_timeout(Duration::from_millis(1))?);
    Ok(())
}

#[test]
fn graceful_stop_on_the_system_clock_processes_every_accepted_record() -> R {
    let feed = Feed::new(40);
    let conf = conf().set("spark.streaming.gracefulStopTimeout", "60s");
    let (ssc, processed) = context(conf, Duration::from_millis(50), None, &feed)?;
    ssc.start()?;
    assert!(feed.push(0..100));
    assert!(ssc.await_batches(1, Duration::from_secs(30))?);
    // Ten batches' worth, stored just before the stop.
    assert!(feed.push(100..500));
    ssc.stop(graceful())?;
    assert_eq!(sorted(&processed), (0..500).collect::<Vec<_>>());
    assert_eq!(sorted(&processed), sorted(&feed.accepted));
    Ok(())
}

#[test]
fn graceful_stop_gives_up_after_the_timeout_instead_of_hanging() -> R {
    // The manual clock never moves: no batch can take the data.
    let clock = Arc::new(ManualClock::new());
    let feed = Feed::new(5);
    let conf = conf().set("spark.streaming.gracefulStopTimeout", "300ms");
    let (ssc, processed) = context(conf, Duration::from_secs(1), Some(clock), &feed)?;
    ssc.start()?;
    assert!(feed.push(0..3));
    let before = Instant::now();
    ssc.stop(graceful())?;
    let took = before.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(300) && took < std::time::Duration::from_secs(10),
        "stop took {took:?}"
    );
    assert_eq!(sorted(&processed), Vec::<u64>::new());
    assert_eq!(feed.buffer.lock().unwrap().len(), 3, "left unprocessed");
    assert!(ssc.await_termination_or_timeout(Duration::from_millis(1))?);
    Ok(())
}

#[test]
fn graceful_stop_while_a_producer_races_it_processes_exactly_what_was_accepted() -> R {
    let feed = Feed::new(usize::MAX);
    let conf = conf().set("spark.streaming.gracefulStopTimeout", "60s");
    let (ssc, processed) = context(conf, Duration::from_millis(100), None, &feed)?;
    ssc.start()?;
    let producer = {
        let feed = Arc::clone(&feed);
        std::thread::spawn(move || {
            let mut next = 0u64;
            // Until the stop refuses data (at most 2M records).
            while next < 2_000_000 && feed.push(next..next + 500) {
                next += 500;
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            next
        })
    };
    assert!(ssc.await_batches(5, Duration::from_secs(30))?);
    ssc.stop(graceful())?;
    let offered = producer.join().unwrap();
    let accepted = sorted(&feed.accepted);
    let processed = sorted(&processed);
    println!(
        "graceful stop under a racing producer: offered up to {offered}, accepted {}, processed {}",
        accepted.len(),
        processed.len()
    );
    assert!(!accepted.is_empty());
    assert_eq!(processed, accepted);
    Ok(())
}
