//! A graceful stop processes every record a receiver accepted (issue 11,
//! defect 1): a receiver storing about 50,000 records a second, 200 ms
//! batches, stopped gracefully after 2.6 s; the records the batches
//! processed (counted by a `foreach_rdd`) are exactly those whose `store`
//! returned `Ok`. This needs the generator to keep generating batches
//! during a graceful stop until `InputSource::has_unallocated_data` is
//! false (the scheduler's side of the fix).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration as StdDuration;

use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext};
use ember_sources::prelude::*;
use ember_sources::receiver::{Receiver, ReceiverContext};

/// Stores 0, 1, 2, ... 500 at a time every 10 ms until refused.
struct Fast {
    accepted: Arc<AtomicU64>,
}

impl Receiver<u64> for Fast {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let mut n = 0;
        loop {
            for _ in 0..500 {
                if ctx.store(n).is_err() {
                    return; // stopping: `n` was refused
                }
                n += 1;
                self.accepted.store(n, Ordering::SeqCst);
            }
            thread::sleep(StdDuration::from_millis(10));
        }
    }
}

#[test]
fn a_graceful_stop_processes_every_record_a_receiver_accepted() {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("graceful-stop")
        .set("spark.streaming.blockInterval", "50ms");
    let ssc = StreamingContext::new(conf, Duration::from_millis(200)).unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let (sum, count) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let numbers = ssc.receiver_stream(Fast {
        accepted: Arc::clone(&accepted),
    });
    let (s, c) = (Arc::clone(&sum), Arc::clone(&count));
    numbers
        .foreach_rdd(move |rdd, _| {
            let records = rdd.collect().unwrap();
            c.fetch_add(records.len() as u64, Ordering::SeqCst);
            s.fetch_add(records.iter().sum::<u64>(), Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    thread::sleep(StdDuration::from_millis(2600)); // the scenario, not a synchronisation
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })
    .unwrap();
    let stored = accepted.load(Ordering::SeqCst);
    assert!(stored > 0);
    // Each record once: the count and the sum of 0..stored.
    assert_eq!(
        (count.load(Ordering::SeqCst), sum.load(Ordering::SeqCst)),
        (stored, stored * (stored - 1) / 2),
        "processed (count, sum) vs stored"
    );
}
