//! The receiver write-ahead log replays only when a checkpoint is
//! recovered (issue 11, defect 3): a fresh `StreamingContext::new` with
//! `checkpoint(dir)` on a directory an earlier run logged into, and a
//! `get_or_create_with` that discards the checkpoint of a changed
//! pipeline, both process exactly the records received in their own run;
//! the old log is moved aside (`receivedData/<id>.discarded-<ms>`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration as StdDuration;

use ember_dstream::{
    DStream, Duration, RecoveryOptions, StopOptions, StreamingConf, StreamingContext,
};
use ember_sources::prelude::*;
use ember_sources::receiver::{Receiver, ReceiverContext};

#[path = "common/batches.rs"]
mod batches;
use batches::{Batches, all, collect, wait_for};

/// A hang guard only.
const PATIENCE: StdDuration = StdDuration::from_secs(30);

fn conf() -> StreamingConf {
    StreamingConf::new()
        .master("local[2]")
        .app_name("wal-fresh")
        .set("spark.streaming.receiver.writeAheadLog.enable", "true")
        .set("spark.streaming.blockInterval", "20ms")
}

/// Stores `from..to` as acknowledged blocks of 50, then idles.
struct Range {
    from: u64,
    to: u64,
    stored: Arc<AtomicU64>,
}

impl Receiver<u64> for Range {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let mut n = self.from + self.stored.load(Ordering::SeqCst);
        while n < self.to {
            let end = (n + 50).min(self.to);
            if ctx.store_block((n..end).collect()).is_err() {
                return;
            }
            self.stored.fetch_add(end - n, Ordering::SeqCst);
            n = end;
        }
        while !ctx.is_stopped() {
            thread::sleep(StdDuration::from_millis(5));
        }
    }
}

type Seen = Arc<Mutex<Option<Batches<u64>>>>;

/// Collects the records every batch processed into `seen`; `doubled`
/// changes the pipeline (and its fingerprint) without changing them.
fn output(numbers: &DStream<u64>, seen: &Seen, doubled: bool) {
    let numbers = if doubled {
        numbers.map(|n| n * 2).map(|n| n / 2)
    } else {
        numbers.clone()
    };
    *seen.lock().unwrap() = Some(collect(&numbers));
}

fn processed(seen: &Seen) -> Vec<u64> {
    seen.lock().unwrap().as_ref().map(all).unwrap_or_default()
}

/// Runs `ssc` until the receiver stored `to - from` records and the
/// batches processed as many, stops it gracefully; what was processed.
fn run(ssc: &StreamingContext, stored: &AtomicU64, seen: &Seen, from: u64, to: u64) -> Vec<u64> {
    ssc.start().unwrap();
    wait_for("stored", PATIENCE, || {
        stored.load(Ordering::SeqCst) == to - from
    });
    wait_for("processed", PATIENCE, || {
        processed(seen).len() as u64 >= to - from
    });
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })
    .unwrap();
    let mut got = processed(seen);
    got.sort_unstable();
    got
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("receivedData"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn new_context(
    dir: &Path,
    from: u64,
    to: u64,
    stored: &Arc<AtomicU64>,
    seen: &Seen,
) -> StreamingContext {
    let ssc = StreamingContext::new(conf(), Duration::from_millis(100)).unwrap();
    ssc.checkpoint(dir);
    let numbers = ssc.receiver_stream(Range {
        from,
        to,
        stored: Arc::clone(stored),
    });
    output(&numbers, seen, false);
    ssc
}

#[test]
fn a_fresh_context_on_an_old_directory_does_not_replay_the_old_log() {
    let dir = tempfile::tempdir().unwrap();
    let (stored, seen) = (Arc::new(AtomicU64::new(0)), Seen::default());
    let first = new_context(dir.path(), 0, 500, &stored, &seen);
    assert_eq!(
        run(&first, &stored, &seen, 0, 500),
        (0..500).collect::<Vec<_>>()
    );

    let (stored, seen) = (Arc::new(AtomicU64::new(0)), Seen::default());
    let second = new_context(dir.path(), 1000, 1100, &stored, &seen);
    assert_eq!(
        run(&second, &stored, &seen, 1000, 1100),
        (1000..1100).collect::<Vec<_>>()
    );
    let names = names(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "0");
    assert!(names[1].starts_with("0.discarded-"), "{names:?}");
}

#[test]
fn discarding_a_changed_pipelines_checkpoint_does_not_replay_the_old_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let build = |from, to, stored: &Arc<AtomicU64>, seen: &Seen, doubled| {
        let stored = Arc::clone(stored);
        let seen = Arc::clone(seen);
        let options = RecoveryOptions {
            discard_mismatched_state: true,
        };
        let in_create = dir.clone();
        StreamingContext::get_or_create_with(&dir, options, move || {
            let ssc = StreamingContext::new(conf(), Duration::from_millis(100))?;
            ssc.checkpoint(&in_create);
            let numbers = ssc.receiver_stream(Range { from, to, stored });
            output(&numbers, &seen, doubled);
            Ok(ssc)
        })
        .unwrap()
    };
    let (stored, seen) = (Arc::new(AtomicU64::new(0)), Seen::default());
    let first = build(0, 500, &stored, &seen, false);
    assert_eq!(first.recovered_from(), None);
    assert_eq!(
        run(&first, &stored, &seen, 0, 500),
        (0..500).collect::<Vec<_>>()
    );

    let (stored, seen) = (Arc::new(AtomicU64::new(0)), Seen::default());
    let second = build(1000, 1100, &stored, &seen, true);
    assert_eq!(
        second.recovered_from(),
        None,
        "the changed pipeline's state was kept"
    );
    assert_eq!(
        run(&second, &stored, &seen, 1000, 1100),
        (1000..1100).collect::<Vec<_>>()
    );
    assert_eq!(names(&dir).len(), 2);
}
