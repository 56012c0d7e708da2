//! The receiver write-ahead log end to end: a context whose batches are
//! dropped by a non-graceful stop (blocks received but never processed, and
//! batches processed after the last checkpoint) is recovered with
//! `get_or_create`; the logged blocks are replayed, so every record is
//! counted exactly once.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext, StreamingError};
use ember_sources::receiver::{Receiver, ReceiverContext, ReceiverStreams};

/// Stores the records `next..end`, one every millisecond, then idles.
struct Numbers {
    next: Arc<AtomicU64>,
    end: u64,
}

impl Receiver<u64> for Numbers {
    fn on_start(&mut self, ctx: &ReceiverContext<u64>) {
        while !ctx.is_stopped() {
            let n = self.next.load(Ordering::SeqCst);
            if n < self.end {
                ctx.store(n);
                self.next.store(n + 1, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

type Latest = Arc<Mutex<Vec<(u64, u64)>>>;

fn build(
    dir: &Path,
    next: &Arc<AtomicU64>,
    end: u64,
    latest: &Latest,
) -> Result<StreamingContext, StreamingError> {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("wal")
        .set("spark.streaming.receiver.writeAheadLog.enable", "true")
        .set("spark.streaming.blockInterval", "20ms");
    let ssc = StreamingContext::new(conf, Duration::from_millis(50))?;
    ssc.checkpoint(dir);
    let (numbers, _) = ssc.receiver_stream_logged(Numbers {
        next: Arc::clone(next),
        end,
    });
    let latest = Arc::clone(latest);
    numbers
        .map(|n| (n % 5, 1u64))
        .update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        })
        .checkpointed_every(Duration::from_millis(200))?
        .foreach_rdd(move |rdd, _| {
            let mut state = rdd.collect().unwrap_or_default();
            state.sort();
            *latest.lock().unwrap() = state;
        })?;
    Ok(ssc)
}

fn total(latest: &Latest) -> u64 {
    latest.lock().unwrap().iter().map(|(_, c)| c).sum()
}

#[test]
fn logged_blocks_are_replayed_after_a_non_graceful_stop() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let next = Arc::new(AtomicU64::new(0));
    for (round, end) in [300u64, 600, 900].into_iter().enumerate() {
        let latest: Latest = Arc::default();
        let ssc =
            StreamingContext::get_or_create(dir.path(), || build(dir.path(), &next, end, &latest))?;
        assert_eq!(ssc.recovered_from().is_some(), round > 0);
        ssc.start()?;
        // Stop abruptly soon after the receiver stored its last record:
        // recent blocks are not processed and the state after the last
        // checkpoint is lost with the process.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while next.load(Ordering::SeqCst) < end {
            assert!(std::time::Instant::now() < deadline, "receiver too slow");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
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
    let ssc =
        StreamingContext::get_or_create(dir.path(), || build(dir.path(), &next, 900, &latest))?;
    ssc.start()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while total(&latest) != 900 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
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
