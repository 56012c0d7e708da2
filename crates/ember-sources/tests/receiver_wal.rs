//! The receiver write-ahead log end to end, through `receiver_stream` with
//! `spark.streaming.receiver.writeAheadLog.enable`: a context whose batches
//! are dropped by a non-graceful stop (blocks received but never processed,
//! and batches processed after the last checkpoint) is recovered with
//! `get_or_create`; the logged blocks are replayed, so every record is
//! counted exactly once, whether it was stored one by one or as
//! acknowledged blocks (a reliable source resuming after the last
//! acknowledgement). Without a checkpoint directory the context refuses to
//! start.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::{
    DStream, Duration, StopOptions, StreamingConf, StreamingContext, StreamingError,
};
use ember_sources::receiver::{Receiver, ReceiverContext, ReceiverStreams};

const WAL_KEY: &str = "spark.streaming.receiver.writeAheadLog.enable";

fn conf() -> StreamingConf {
    StreamingConf::new()
        .master("local[2]")
        .app_name("wal")
        .set(WAL_KEY, "true")
        .set("spark.streaming.blockInterval", "20ms")
}

/// Stores the records `next..end`, one every millisecond, then idles.
struct Numbers {
    next: Arc<AtomicU64>,
    end: u64,
}

impl Receiver<u64> for Numbers {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        while !ctx.is_stopped() {
            let n = self.next.load(Ordering::SeqCst);
            if n < self.end {
                if ctx.store(n).is_err() {
                    return; // stopping: `n` was not stored
                }
                self.next.store(n + 1, Ordering::SeqCst);
            }
            std::thread::sleep(StdDuration::from_millis(1));
        }
    }
}

/// A reliable source's receiver: stores blocks of 1–8 records starting at
/// the source's first unacknowledged record, every 2 ms, and acknowledges a block
/// (moves `acked` past it) once `store_block` returned `Ok`. After a
/// restart the source sends from `acked` again.
struct Acknowledging {
    acked: Arc<AtomicU64>,
    end: u64,
}

impl Receiver<u64> for Acknowledging {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        while !ctx.is_stopped() {
            let from = self.acked.load(Ordering::SeqCst);
            let to = (from + 1 + from % 8).min(self.end);
            if from < to {
                match ctx.store_block((from..to).collect()) {
                    Ok(()) => self.acked.store(to, Ordering::SeqCst),
                    Err(e) => {
                        ctx.restart("storing failed", Some(&e), None);
                        return;
                    }
                }
            }
            std::thread::sleep(StdDuration::from_millis(2));
        }
    }
}

type Latest = Arc<Mutex<Vec<(u64, u64)>>>;

/// Counts records by `key` in checkpointed state; each batch's state goes
/// to `latest`.
fn count_by(
    numbers: &DStream<u64>,
    key: fn(u64) -> u64,
    latest: &Latest,
) -> Result<(), StreamingError> {
    let latest = Arc::clone(latest);
    numbers
        .map(move |n| (key(n), 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpoint(Duration::from_millis(200))?
        .foreach_rdd(move |rdd, _| {
            let mut state = rdd.collect().unwrap_or_default();
            state.sort();
            *latest.lock().unwrap() = state;
            Ok(())
        })
}

fn build_numbers(
    dir: &Path,
    next: &Arc<AtomicU64>,
    end: u64,
    latest: &Latest,
) -> Result<StreamingContext, StreamingError> {
    let ssc = StreamingContext::new(conf(), Duration::from_millis(50))?;
    ssc.checkpoint(dir);
    let numbers = ssc.receiver_stream(Numbers {
        next: Arc::clone(next),
        end,
    });
    count_by(&numbers, |n| n % 5, latest)?;
    Ok(ssc)
}

fn total(latest: &Latest) -> u64 {
    latest.lock().unwrap().iter().map(|(_, c)| c).sum()
}

fn wait_until(what: &str, timeout: StdDuration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(StdDuration::from_millis(5));
    }
}

#[test]
fn logged_blocks_are_replayed_after_a_non_graceful_stop() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let next = Arc::new(AtomicU64::new(0));
    for (round, end) in [300u64, 600, 900].into_iter().enumerate() {
        let latest: Latest = Arc::default();
        let ssc = StreamingContext::get_or_create(dir.path(), || {
            build_numbers(dir.path(), &next, end, &latest)
        })?;
        assert_eq!(ssc.recovered_from().is_some(), round > 0);
        ssc.start()?;
        // Stop abruptly soon after the receiver stored its last record:
        // recent blocks are not processed and the state after the last
        // checkpoint is lost with the process.
        wait_until("the receiver", StdDuration::from_secs(20), || {
            next.load(Ordering::SeqCst) >= end
        });
        std::thread::sleep(StdDuration::from_millis(30));
        ssc.stop(StopOptions {
            stop_gracefully: false,
        })?;
        assert!(
            total(&latest) <= end,
            "round {round}: counted {} of {end}",
            total(&latest)
        );
    }
    // A last run receives nothing new and must end at exactly 900.
    let latest: Latest = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || {
        build_numbers(dir.path(), &next, 900, &latest)
    })?;
    ssc.start()?;
    let deadline = Instant::now() + StdDuration::from_secs(20);
    while total(&latest) != 900 && Instant::now() < deadline {
        std::thread::sleep(StdDuration::from_millis(20));
    }
    std::thread::sleep(StdDuration::from_millis(200));
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    let state = latest.lock().unwrap().clone();
    assert_eq!(
        state,
        vec![(0, 180), (1, 180), (2, 180), (3, 180), (4, 180)]
    );
    assert!(dir.path().join("receivedData").exists());
    Ok(())
}

#[test]
fn acknowledged_blocks_survive_abrupt_stops_mid_stream() -> Result<(), Box<dyn std::error::Error>> {
    const END: u64 = 5000;
    let dir = tempfile::tempdir()?;
    let acked = Arc::new(AtomicU64::new(0));
    let build = |latest: &Latest| {
        let ssc = StreamingContext::new(conf(), Duration::from_millis(50))?;
        ssc.checkpoint(dir.path());
        let numbers = ssc.receiver_stream(Acknowledging {
            acked: Arc::clone(&acked),
            end: END,
        });
        count_by(&numbers, |n| n, latest)?;
        Ok(ssc)
    };
    // Every state a batch reports counts each record at most once.
    let check_once = |latest: &Latest, when: &str| {
        let state = latest.lock().unwrap().clone();
        for (n, count) in state {
            assert_eq!(count, 1, "{when}: record {n} counted {count} times");
            assert!(n < acked.load(Ordering::SeqCst), "{when}: {n} never acked");
        }
    };
    for round in 0..3 {
        let latest: Latest = Arc::default();
        let ssc = StreamingContext::get_or_create(dir.path(), || build(&latest))?;
        assert_eq!(ssc.recovered_from().is_some(), round > 0);
        let acked_before = acked.load(Ordering::SeqCst);
        ssc.start()?;
        // Stop while the receiver is storing, after 6 batches (one of them
        // checkpointed): blocks acknowledged since the last checkpoint
        // exist only in the log (and in memory).
        assert!(
            ssc.await_batches(6, Duration::from_secs(20))?,
            "round {round}: too slow"
        );
        ssc.stop(StopOptions {
            stop_gracefully: false,
        })?;
        assert!(
            acked.load(Ordering::SeqCst) > acked_before,
            "round {round}: nothing stored"
        );
        let stopped_at = acked.load(Ordering::SeqCst);
        assert!(stopped_at < END, "round {round}: the source ran dry");
        check_once(&latest, &format!("round {round}"));
    }
    let latest: Latest = Arc::default();
    let ssc = StreamingContext::get_or_create(dir.path(), || build(&latest))?;
    ssc.start()?;
    wait_until("every record counted", StdDuration::from_secs(20), || {
        total(&latest) >= END
    });
    std::thread::sleep(StdDuration::from_millis(200));
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    check_once(&latest, "final run");
    let state = latest.lock().unwrap().clone();
    assert_eq!(state, (0..END).map(|n| (n, 1)).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn the_log_without_a_checkpoint_directory_is_refused_at_start() {
    let ssc = StreamingContext::new(conf(), Duration::from_millis(50)).unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let numbers = ssc.receiver_stream(Acknowledging {
        acked: Arc::clone(&acked),
        end: 10,
    });
    numbers.print().unwrap();
    match ssc.start() {
        Err(StreamingError::InvalidConf { key, value, reason }) => {
            assert_eq!((key.as_str(), value.as_str()), (WAL_KEY, "true"));
            assert!(reason.contains("checkpoint directory"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    std::thread::sleep(StdDuration::from_millis(50));
    assert_eq!(acked.load(Ordering::SeqCst), 0, "the receiver ran");
}
