//! What the receiver and socket tests share: every batch of a stream
//! collected with its time and partition count, the records of all batches
//! in time order, and waiting (bounded) for a condition. Included with
//! `#[path = "common/batches.rs"] mod batches;` by the tests that use all
//! of it (the crash tests' `common` module does not carry it).

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::DStream;
use ember_rdd::Data;

/// Every batch a stream produced: (batch time in ms, number of partitions,
/// records in partition order), in the order the batches ran.
pub(crate) type Batches<T> = Arc<Mutex<Vec<(u64, usize, Vec<T>)>>>;

/// Registers an output on `stream` that collects each of its batches.
pub(crate) fn collect<T: Data>(stream: &DStream<T>) -> Batches<T> {
    let batches: Batches<T> = Arc::default();
    let sink = Arc::clone(&batches);
    stream
        .foreach_rdd(move |rdd, time| {
            let records = rdd.collect().unwrap();
            sink.lock()
                .unwrap()
                .push((time.milliseconds(), rdd.num_partitions(), records));
            Ok(())
        })
        .unwrap();
    batches
}

/// The records of all batches collected so far, batch after batch in time
/// order.
pub(crate) fn all<T: Clone>(batches: &Batches<T>) -> Vec<T> {
    let mut b = batches.lock().unwrap().clone();
    b.sort_by_key(|(t, _, _)| *t);
    b.into_iter().flat_map(|(_, _, r)| r).collect()
}

/// Polls `done` every 20 ms until it holds; fails the test, naming `what`,
/// once `timeout` has passed.
pub(crate) fn wait_for(what: &str, timeout: StdDuration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        thread::sleep(StdDuration::from_millis(20));
    }
}
