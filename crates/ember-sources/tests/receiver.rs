//! Custom receivers through `receiver_stream`: records cut into blocks
//! reach the batches, restarts (asked for or after a panic) are reported to
//! listeners with the configured delay, `stop` from the receiver ends it
//! for good, and `store_block` reports whether the store took its block.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration as StdDuration;

use ember_dstream::{
    Duration, ReceiverInfo, StopOptions, StreamingConf, StreamingContext, StreamingListener,
};
use ember_sources::SourceError;
use ember_sources::prelude::*;
use ember_sources::receiver::{Block, BlockStore, MemoryBlockStore, Receiver, ReceiverContext};

#[path = "common/batches.rs"]
mod batches;
use batches::{all, collect, wait_for};

fn context() -> StreamingContext {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("receiver-test")
        .set("spark.streaming.blockInterval", "50ms")
        .set("spark.streaming.receiverRestartDelay", "50ms");
    StreamingContext::new(conf, Duration::from_millis(200)).unwrap()
}

#[derive(Default)]
struct Events {
    started: AtomicUsize,
    errors: Mutex<Vec<String>>,
    stopped: Mutex<Vec<Option<String>>>,
}

impl StreamingListener for Events {
    fn on_receiver_started(&self, r: &ReceiverInfo) {
        assert!(r.active);
        self.started.fetch_add(1, Ordering::SeqCst);
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.errors
            .lock()
            .unwrap()
            .push(r.last_error.clone().unwrap_or_default());
    }
    fn on_receiver_stopped(&self, r: &ReceiverInfo) {
        assert!(!r.active);
        self.stopped.lock().unwrap().push(r.last_error.clone());
    }
}

/// Stores 1000 records one at a time (then a block of 10), restarting
/// twice (once by request, once by panicking), then stops itself.
struct Flaky {
    run: AtomicU64,
}

impl Receiver<u64> for Flaky {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let run = self.run.fetch_add(1, Ordering::SeqCst);
        let base = run * 10_000;
        for i in 0..1000 {
            ctx.store(base + i).unwrap();
        }
        ctx.store_block((base + 1000..base + 1010).collect())
            .unwrap();
        match run + 1 {
            1 => ctx.restart("first run over", Some(&std::fmt::Error), None),
            2 => panic!("second run panics"),
            _ => ctx.stop("done"),
        }
    }
}

#[test]
fn records_restarts_and_stop_reach_batches_and_listeners() {
    let ssc = context();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let (stream, handle) = ssc.receiver_stream_with_handle(Flaky {
        run: AtomicU64::new(0),
    });
    let sink = collect(&stream);
    ssc.start().unwrap();
    wait_for("3030 records", StdDuration::from_secs(10), || {
        all(&sink).len() >= 3030
    });
    wait_for("receiver stopped", StdDuration::from_secs(10), || {
        !events.stopped.lock().unwrap().is_empty()
    });
    // The context keeps running after the receiver stopped itself.
    thread::sleep(StdDuration::from_millis(300));
    ssc.stop(StopOptions::default()).unwrap();
    let mut got = all(&sink);
    got.sort_unstable();
    let want: Vec<u64> = (0..3)
        .flat_map(|run| (0..1010).map(move |i| run * 10_000 + i))
        .collect();
    assert_eq!(got, want);
    assert_eq!(events.started.load(Ordering::SeqCst), 3);
    let errors = events.errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("first run over"), "{errors:?}");
    assert!(errors[1].contains("second run panics"), "{errors:?}");
    assert_eq!(
        *events.stopped.lock().unwrap(),
        vec![Some("done".to_string())]
    );
    let m = handle.metrics();
    assert_eq!((m.records, m.restarts), (3030, 2));
    assert_eq!(handle.buffered_records(), 0);
}

/// Stores a few records every 10 ms until stopped.
struct Ticker;

impl Receiver<u64> for Ticker {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let mut n = 0;
        while !ctx.is_stopped() {
            if ctx.store_iter(n..n + 5).is_err() {
                return; // stopping
            }
            ctx.flush();
            n += 5;
            thread::sleep(StdDuration::from_millis(10));
        }
    }
}

#[test]
fn batches_hold_one_partition_per_block_and_no_record_is_lost_on_stop() {
    let ssc = context();
    let (stream, handle) = ssc.receiver_stream_with_handle(Ticker);
    let sink = collect(&stream);
    ssc.start().unwrap();
    wait_for("3 non-empty batches", StdDuration::from_secs(10), || {
        sink.lock()
            .unwrap()
            .iter()
            .filter(|b| !b.2.is_empty())
            .count()
            >= 3
    });
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })
    .unwrap();
    let batches = sink.lock().unwrap().clone();
    // 200 ms batches of 50 ms blocks: at most 5 blocks (clock edges) a batch.
    for (_, partitions, records) in &batches {
        assert!((1..=5).contains(partitions), "{partitions} partitions");
        assert!(records.len() >= *partitions || records.is_empty());
    }
    let got = all(&sink);
    assert_eq!(
        got,
        (0..got.len() as u64).collect::<Vec<_>>(),
        "in order, no gap"
    );
    assert!(handle.metrics().records >= got.len() as u64);
}

/// A store that fills up: it refuses blocks once it took `capacity`
/// records in all.
struct Filling {
    memory: MemoryBlockStore<u64>,
    taken: AtomicUsize,
    capacity: usize,
}

impl BlockStore<u64> for Filling {
    fn put(&self, block: Block<u64>) -> Result<(), SourceError> {
        let n = block.records.len();
        if self.taken.load(Ordering::SeqCst) + n > self.capacity {
            return Err(SourceError::BlockStore {
                stream_id: block.stream_id,
                message: "full".into(),
            });
        }
        self.taken.fetch_add(n, Ordering::SeqCst);
        self.memory.put(block)
    }
    fn take_until(&self, time: ember_dstream::Time) -> Vec<Block<u64>> {
        self.memory.take_until(time)
    }
    fn buffered_records(&self) -> u64 {
        self.memory.buffered_records()
    }
}

type Answers = Arc<Mutex<Vec<Result<(), String>>>>;

/// Stores two single records, then blocks of 10 (`0..10`, `10..20`, …)
/// with `store_block`, noting each answer, then idles.
struct Blocks {
    answers: Answers,
}

impl Receiver<u64> for Blocks {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        ctx.store(1000).unwrap();
        ctx.store(1001).unwrap();
        for i in 0..5 {
            let answer = ctx.store_block((i * 10..i * 10 + 10).collect());
            self.answers
                .lock()
                .unwrap()
                .push(answer.map_err(|e| e.to_string()));
        }
        while !ctx.is_stopped() {
            thread::sleep(StdDuration::from_millis(5));
        }
    }
}

#[test]
fn store_block_returns_once_stored_and_reports_a_refused_block() {
    let ssc = context();
    let answers: Answers = Arc::default();
    let store = Arc::new(Filling {
        memory: MemoryBlockStore::new(),
        taken: AtomicUsize::new(0),
        capacity: 32,
    });
    let (stream, _) = ssc.receiver_stream_with_store(
        Blocks {
            answers: Arc::clone(&answers),
        },
        store.clone(),
    );
    let sink = collect(&stream);
    ssc.start().unwrap();
    wait_for("5 answers", StdDuration::from_secs(10), || {
        answers.lock().unwrap().len() == 5
    });
    // Each `Ok` came after its block was in the store: the two single
    // records (cut first, to keep the order) and the first three blocks.
    assert_eq!(store.taken.load(Ordering::SeqCst), 32);
    let got = answers.lock().unwrap().clone();
    let refused = Err("cannot store block of stream 0: full".to_owned());
    assert_eq!(got, vec![Ok(()), Ok(()), Ok(()), refused.clone(), refused]);
    wait_for("32 records", StdDuration::from_secs(10), || {
        all(&sink).len() >= 32
    });
    ssc.stop(StopOptions::default()).unwrap();
    let mut want = vec![1000, 1001];
    want.extend(0..30);
    assert_eq!(all(&sink), want);
}
