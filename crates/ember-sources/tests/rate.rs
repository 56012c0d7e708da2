//! Rate control end to end: `spark.streaming.receiver.maxRate` caps
//! ingestion, and with backpressure on a slow pipeline makes the PID
//! estimate drop while records received but not yet processed stay
//! bounded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext};
use ember_sources::prelude::*;
use ember_sources::receiver::{Receiver, ReceiverContext};

/// Stores records as fast as the limiter lets it.
struct Firehose;

impl Receiver<u64> for Firehose {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let mut n = 0;
        while !ctx.is_stopped() {
            if ctx.store(n).is_err() {
                return; // stopping
            }
            n += 1;
        }
    }
}

#[test]
fn max_rate_caps_ingestion() {
    let conf = StreamingConf::new()
        .master("local[2]")
        .set("spark.streaming.blockInterval", "50ms")
        .set("spark.streaming.receiver.maxRate", "2000");
    let ssc = StreamingContext::new(conf, Duration::from_millis(200)).unwrap();
    let (stream, handle) = ssc.receiver_stream_with_handle(Firehose);
    stream.foreach_rdd(|_rdd, _t| Ok(())).unwrap();
    ssc.start().unwrap();
    let start = Instant::now();
    thread::sleep(StdDuration::from_millis(1500));
    let records = handle.metrics().records;
    let secs = start.elapsed().as_secs_f64();
    ssc.stop(StopOptions::default()).unwrap();
    assert_eq!(handle.rate(), Some(2000));
    // 2000/s plus a fifth of a second of burst at most.
    assert!(
        records as f64 <= 2000.0 * secs + 500.0,
        "{records} in {secs}s"
    );
    assert!(
        records as f64 >= 2000.0 * secs * 0.5,
        "{records} in {secs}s"
    );
}

#[test]
fn backpressure_lowers_the_rate_and_bounds_unprocessed_records() {
    let conf = StreamingConf::new()
        .master("local[2]")
        .set("spark.streaming.blockInterval", "50ms")
        .set("spark.streaming.backpressure.enabled", "true")
        .set("spark.streaming.backpressure.initialRate", "40000");
    let ssc = StreamingContext::new(conf, Duration::from_millis(200)).unwrap();
    let (stream, handle) = ssc.receiver_stream_with_handle(Firehose);
    let processed = Arc::new(AtomicU64::new(0));
    let p = Arc::clone(&processed);
    // The pipeline handles about 20,000 records per second.
    stream
        .foreach_rdd(move |rdd, _t| {
            let n = rdd.count().unwrap();
            thread::sleep(StdDuration::from_micros(n * 50));
            p.fetch_add(n, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    let rates = Arc::new(Mutex::new(Vec::new()));
    ssc.start().unwrap();
    let start = Instant::now();
    let mut max_backlog = 0;
    let mut late_backlog = 0;
    while start.elapsed() < StdDuration::from_secs(6) {
        thread::sleep(StdDuration::from_millis(50));
        let backlog = handle
            .metrics()
            .records
            .saturating_sub(processed.load(Ordering::SeqCst));
        max_backlog = max_backlog.max(backlog);
        if start.elapsed() > StdDuration::from_secs(4) {
            late_backlog = late_backlog.max(backlog);
        }
        rates
            .lock()
            .unwrap()
            .push((handle.rate().unwrap_or(0), backlog));
    }
    ssc.stop(StopOptions::default()).unwrap();
    let final_rate = handle.rate().unwrap_or(0);
    assert!(
        final_rate < 25_000,
        "estimated rate should drop well below the initial 40,000/s: {final_rate}, {:?}",
        rates.lock().unwrap()
    );
    // Without backpressure the backlog would grow by ~20,000 records a
    // second (to ~120,000); with it, it drains to a few batches' worth.
    assert!(max_backlog < 80_000, "max backlog {max_backlog}");
    assert!(
        late_backlog < 20_000,
        "late backlog {late_backlog} (max {max_backlog}): {:?}",
        rates.lock().unwrap()
    );
}
