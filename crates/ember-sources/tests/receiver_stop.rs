//! Receivers stop without losing or hiding records: `store` after a stop
//! is refused with `SourceError::ReceiverStopped` and every record a
//! `store` accepted is in a stored block once the source stopped (exact
//! counts, the buffer accounting agreeing); a context clone dropped
//! without `flush` hands its records over; a receiver blocked in a socket
//! read inside `on_start` is stopped by `on_stop`, called concurrently;
//! one whose `on_start` never returns is left behind after
//! `ember.receiver.stopTimeout`; the records not yet taken by a batch (what
//! a graceful stop waits for) and those held until the batch RDD holding
//! them is dropped are counted exactly, and a full buffer makes `store`
//! wait until a remembered batch's records are dropped.

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::{
    BatchInfo, DStream, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext,
    StreamingListener, Time,
};
use ember_sources::SourceError;
use ember_sources::prelude::*;
use ember_sources::receiver::{
    Block, BlockStore, MemoryBlockStore, Receiver, ReceiverContext, ReceiverHandle,
};

#[path = "common/batches.rs"]
mod batches;
use batches::{all, collect, wait_for};

/// A hang guard, never a synchronisation: these complete in milliseconds.
const PATIENCE: StdDuration = StdDuration::from_secs(20);

fn context(batch_ms: u64) -> StreamingContext {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("receiver-stop")
        .set("spark.streaming.blockInterval", "20ms")
        .set("spark.streaming.receiverRestartDelay", "50ms")
        .set("ember.receiver.stopTimeout", "500ms");
    StreamingContext::new(conf, Duration::from_millis(batch_ms)).unwrap()
}

/// A memory store that keeps a copy of every block put into it.
#[derive(Default)]
struct Recording {
    memory: MemoryBlockStore<u64>,
    put: Mutex<Vec<u64>>,
}

impl BlockStore<u64> for Recording {
    fn put(&self, block: Block<u64>) -> Result<(), SourceError> {
        self.put.lock().unwrap().extend(&block.records);
        self.memory.put(block)
    }
    fn take_until(&self, time: Time) -> Vec<Block<u64>> {
        self.memory.take_until(time)
    }
    fn buffered_records(&self) -> u64 {
        self.memory.buffered_records()
    }
}

/// Stores 0, 1, 2, ... one by one until a store is refused; keeps the
/// count of accepted records and the refusal.
#[derive(Default)]
struct UntilRefused {
    accepted: Arc<AtomicU64>,
    refusal: Arc<Mutex<Option<String>>>,
}

impl Receiver<u64> for UntilRefused {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let mut n = self.accepted.load(Ordering::SeqCst);
        loop {
            match ctx.store(n) {
                Ok(()) => {
                    n += 1;
                    self.accepted.store(n, Ordering::SeqCst);
                }
                Err(e) => {
                    let expected = matches!(e, SourceError::ReceiverStopped { stream_id: 0 });
                    *self.refusal.lock().unwrap() = Some(format!("{expected} {e}"));
                    return;
                }
            }
            if n % 512 == 0 {
                thread::sleep(StdDuration::from_millis(1));
            }
        }
    }
}

#[test]
fn after_stop_every_accepted_record_is_stored_and_later_stores_are_refused() {
    let ssc = context(100);
    let store = Arc::new(Recording::default());
    let receiver = UntilRefused::default();
    let (accepted, refusal) = (
        Arc::clone(&receiver.accepted),
        Arc::clone(&receiver.refusal),
    );
    let (stream, handle) = ssc.receiver_stream_with_store(receiver, store.clone());
    let sink = collect(&stream);
    ssc.start().unwrap();
    wait_for("records", PATIENCE, || {
        accepted.load(Ordering::SeqCst) > 20_000
    });
    ssc.stop(StopOptions::default()).unwrap();

    let accepted = accepted.load(Ordering::SeqCst);
    let refusal = refusal.lock().unwrap().clone();
    assert_eq!(
        refusal.as_deref(),
        Some("true receiver of stream 0 is stopping: records refused")
    );
    // Every accepted record reached the block store, in order, once.
    let put = store.put.lock().unwrap().clone();
    assert_eq!(put, (0..accepted).collect::<Vec<_>>());
    assert_eq!(handle.metrics().records, accepted);
    // The batches that ran processed the first records, in order, once.
    let processed = all(&sink);
    assert_eq!(processed, (0..processed.len() as u64).collect::<Vec<_>>());
    // Those no batch took are in the store, and counted exactly.
    assert_eq!(handle.unallocated_records(), store.buffered_records());
    // Once the context and its streams are dropped, the batches' RDDs go
    // and only those untaken records are still held.
    drop((stream, ssc));
    assert_eq!(handle.buffered_records(), store.buffered_records());
}

/// Four threads, each storing 700 records through its own context clone,
/// which it drops without calling `flush`.
struct Clones;

impl Receiver<u64> for Clones {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let clone = ctx.clone();
                thread::spawn(move || {
                    for i in 0..700 {
                        clone.store(t * 1000 + i).unwrap();
                    }
                    drop(clone); // no flush
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        while !ctx.is_stopped() {
            thread::sleep(StdDuration::from_millis(5));
        }
    }
}

#[test]
fn a_context_clone_dropped_without_flush_hands_its_records_over() {
    let ssc = context(100);
    let (stream, handle) = ssc.receiver_stream_with_handle(Clones);
    let sink = collect(&stream);
    ssc.start().unwrap();
    wait_for("2800 records stored", PATIENCE, || {
        handle.metrics().records == 2800
    });
    wait_for("2800 records processed", PATIENCE, || {
        all(&sink).len() >= 2800
    });
    // Released once the RDD of the last batch holding records is dropped
    // (the batches after it go on).
    wait_for("the buffer emptied", PATIENCE, || {
        handle.buffered_records() == 0
    });
    ssc.stop(StopOptions::default()).unwrap();
    let mut got = all(&sink);
    got.sort_unstable();
    let want: Vec<u64> = (0..4)
        .flat_map(|t| (0..700).map(move |i| t * 1000 + i))
        .collect();
    assert_eq!(got, want);
    assert_eq!(handle.buffered_records(), 0);
}

/// Reads from a socket without a timeout: only `on_stop`, shutting the
/// socket down, ends the read.
struct BlockedRead {
    port: u16,
    socket: Mutex<Option<TcpStream>>,
    /// Set once `socket` holds the connection `on_stop` shuts down.
    socket_kept: Arc<AtomicBool>,
    read_ended: Arc<AtomicU64>,
}

impl Receiver<u8> for BlockedRead {
    fn on_start(&self, ctx: &ReceiverContext<u8>) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            ctx.restart("cannot connect", None, None);
            return;
        };
        *self.socket.lock().unwrap() = stream.try_clone().ok();
        self.socket_kept.store(true, Ordering::SeqCst);
        let mut byte = [0u8; 1];
        let _ = stream.read(&mut byte); // blocks until shut down
        self.read_ended.fetch_add(1, Ordering::SeqCst);
    }
    fn on_stop(&self) {
        if let Some(socket) = self.socket.lock().unwrap().take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// Stops `ssc` on another thread; how long it took, or `None` if it did
/// not return within the hang guard.
fn timed_stop(ssc: StreamingContext) -> Option<StdDuration> {
    let (done, stopped) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let start = Instant::now();
        ssc.stop(StopOptions::default()).unwrap();
        let _ = done.send(start.elapsed());
    });
    stopped.recv_timeout(PATIENCE).ok()
}

#[test]
fn on_stop_ends_an_on_start_blocked_in_a_socket_read() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let read_ended = Arc::new(AtomicU64::new(0));
    let socket_kept = Arc::new(AtomicBool::new(false));
    let ssc = context(100);
    let receiver = BlockedRead {
        port,
        socket: Mutex::new(None),
        socket_kept: Arc::clone(&socket_kept),
        read_ended: Arc::clone(&read_ended),
    };
    ssc.receiver_stream(receiver).print().unwrap();
    ssc.start().unwrap();
    // Connected, never sent anything: on_start is blocked in its read
    // (once it has kept the socket: a stop before that would find nothing
    // to shut down, and the read would outlive it).
    let (_silent, _) = listener.accept().unwrap();
    wait_for("the receiver keeps its socket", PATIENCE, || {
        socket_kept.load(Ordering::SeqCst)
    });
    let took = timed_stop(ssc).expect("stop hung on a receiver blocked in on_start");
    assert_eq!(read_ended.load(Ordering::SeqCst), 1);
    // Well below the stop timeout (500 ms): on_stop ended the read.
    assert!(took < StdDuration::from_millis(450), "stop took {took:?}");
}

/// An `on_start` that never returns and an `on_stop` that does nothing.
struct Stuck;

impl Receiver<u8> for Stuck {
    fn on_start(&self, _ctx: &ReceiverContext<u8>) {
        let (_keep, never) = crossbeam_channel::bounded::<()>(0);
        let _ = never.recv();
    }
}

#[test]
fn a_receiver_that_never_returns_is_left_behind_after_the_stop_timeout() {
    let ssc = context(100);
    ssc.receiver_stream(Stuck).print().unwrap();
    ssc.start().unwrap();
    thread::sleep(StdDuration::from_millis(50));
    let took = timed_stop(ssc).expect("stop hung on a receiver that never returns");
    assert!(took >= StdDuration::from_millis(500), "stop took {took:?}");
}

/// Stores each block sent to it with `store_block` and answers once the
/// block store holds it.
struct Fed {
    blocks: crossbeam_channel::Receiver<Vec<u64>>,
    acks: crossbeam_channel::Sender<()>,
}

impl Receiver<u64> for Fed {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        while !ctx.is_stopped() {
            if let Ok(block) = self.blocks.recv_timeout(StdDuration::from_millis(5)) {
                if ctx.store_block(block).is_err() {
                    return;
                }
                let _ = self.acks.send(());
            }
        }
    }
}

/// Sends the time of every completed batch (posted after the batch's
/// clean-up: the RDDs it let go are dropped by then).
struct Completions(Mutex<crossbeam_channel::Sender<u64>>);

impl StreamingListener for Completions {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let _ = self.0.lock().unwrap().send(batch.batch_time.milliseconds());
    }
}

/// A context on a manual clock with one-second batches, a [`Fed`]
/// receiver, the channel of completed batch times, and the receiver's
/// handle; `conf` adds settings.
#[allow(clippy::type_complexity)]
fn fed_context(
    conf: StreamingConf,
) -> (
    StreamingContext,
    Arc<ManualClock>,
    DStream<u64>,
    ReceiverHandle,
    crossbeam_channel::Sender<Vec<u64>>,
    crossbeam_channel::Receiver<()>,
    crossbeam_channel::Receiver<u64>,
) {
    let clock = Arc::new(ManualClock::new());
    let ssc =
        StreamingContext::with_clock(conf, Duration::from_millis(1000), clock.clone()).unwrap();
    let (blocks, fed_blocks) = crossbeam_channel::unbounded();
    let (fed_acks, acks) = crossbeam_channel::unbounded();
    let (stream, handle) = ssc.receiver_stream_with_handle(Fed {
        blocks: fed_blocks,
        acks: fed_acks,
    });
    let (completed_tx, completed) = crossbeam_channel::unbounded();
    ssc.add_listener(Arc::new(Completions(Mutex::new(completed_tx))));
    (ssc, clock, stream, handle, blocks, acks, completed)
}

/// (unallocated records, held records, held bytes) of `handle`.
fn accounting(handle: &ReceiverHandle) -> (u64, u64, u64) {
    let held = handle.buffered();
    (handle.unallocated_records(), held.records, held.bytes)
}

#[test]
fn unallocated_and_held_records_are_exact_through_a_batchs_life() {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("receiver-accounting");
    let (ssc, clock, stream, handle, blocks, acks, completed) = fed_context(conf);
    // The batch's output waits for the gate: the batch is taken, not done.
    let (open_gate, gate) = crossbeam_channel::unbounded::<()>();
    let (seen_tx, seen) = crossbeam_channel::unbounded();
    stream
        .foreach_rdd(move |rdd, _| {
            let _ = seen_tx.send(rdd.collect().unwrap());
            gate.recv_timeout(PATIENCE).unwrap();
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();

    clock.set_time(Time::from_millis(500));
    blocks.send((0..7).collect()).unwrap();
    acks.recv_timeout(PATIENCE).unwrap();
    // u64 records count 8 bytes each.
    assert_eq!(accounting(&handle), (7, 7, 56));

    clock.set_time(Time::from_millis(1000));
    assert_eq!(
        seen.recv_timeout(PATIENCE).unwrap(),
        (0..7).collect::<Vec<u64>>()
    );
    // Taken by the running batch: allocated, still held.
    assert_eq!(accounting(&handle), (0, 7, 56));
    blocks.send((7..10).collect()).unwrap();
    acks.recv_timeout(PATIENCE).unwrap();
    assert_eq!(accounting(&handle), (3, 10, 80));

    open_gate.send(()).unwrap();
    assert_eq!(completed.recv_timeout(PATIENCE).unwrap(), 1000);
    // Batch 1 completed, but the stream remembers its RDD (one batch
    // interval): its records are still in memory, so still held.
    assert_eq!(accounting(&handle), (3, 10, 80));

    clock.set_time(Time::from_millis(2000));
    assert_eq!(
        seen.recv_timeout(PATIENCE).unwrap(),
        (7..10).collect::<Vec<u64>>()
    );
    assert_eq!(accounting(&handle), (0, 10, 80));
    open_gate.send(()).unwrap();
    assert_eq!(completed.recv_timeout(PATIENCE).unwrap(), 2000);
    // Batch 2 completed: batch 1's RDD is dropped, and its records with it.
    assert_eq!(accounting(&handle), (0, 3, 24));

    clock.set_time(Time::from_millis(3000));
    assert_eq!(seen.recv_timeout(PATIENCE).unwrap(), Vec::<u64>::new());
    open_gate.send(()).unwrap();
    assert_eq!(completed.recv_timeout(PATIENCE).unwrap(), 3000);
    assert_eq!(accounting(&handle), (0, 0, 0));
    ssc.stop(StopOptions::default()).unwrap();
}

#[test]
fn a_full_buffer_waits_until_the_previous_batchs_records_are_dropped() {
    // Room for 10 records: 7 held by batch 1 leave no room for 10 more.
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("receiver-buffer-drop")
        .set("ember.receiver.maxBufferedRecords", "10");
    let (ssc, clock, stream, handle, blocks, acks, completed) = fed_context(conf);
    let sink = collect(&stream);
    ssc.start().unwrap();

    clock.set_time(Time::from_millis(500));
    blocks.send((0..7).collect()).unwrap();
    acks.recv_timeout(PATIENCE).unwrap();
    clock.set_time(Time::from_millis(1000));
    assert_eq!(completed.recv_timeout(PATIENCE).unwrap(), 1000);
    assert_eq!(all(&sink), (0..7).collect::<Vec<u64>>());
    // Batch 1 completed; its RDD, remembered one more batch, holds its 7
    // records.
    assert_eq!(accounting(&handle), (0, 7, 56));

    // 7 + 10 > 10: the store waits, and nothing of it is counted.
    blocks.send((7..17).collect()).unwrap();
    thread::sleep(StdDuration::from_millis(300));
    assert_eq!(
        acks.try_recv(),
        Err(crossbeam_channel::TryRecvError::Empty),
        "a store was accepted while the previous batch's records were alive"
    );
    assert_eq!(accounting(&handle), (0, 7, 56));
    assert_eq!(handle.metrics().records, 7);

    // Batch 2 (empty: the store is still waiting) completes, batch 1's RDD
    // is dropped, and the store gets its room.
    clock.set_time(Time::from_millis(2000));
    assert_eq!(completed.recv_timeout(PATIENCE).unwrap(), 2000);
    acks.recv_timeout(PATIENCE).unwrap();
    assert_eq!(accounting(&handle), (10, 10, 80));

    clock.set_time(Time::from_millis(3000));
    assert_eq!(completed.recv_timeout(PATIENCE).unwrap(), 3000);
    assert_eq!(accounting(&handle), (0, 10, 80));
    clock.set_time(Time::from_millis(4000));
    assert_eq!(completed.recv_timeout(PATIENCE).unwrap(), 4000);
    // Batch 3's RDD dropped: the buffer is back to exactly nothing.
    assert_eq!(accounting(&handle), (0, 0, 0));
    assert_eq!(all(&sink), (0..17).collect::<Vec<u64>>());
    let peak = handle.buffered();
    assert_eq!((peak.peak_records, peak.peak_bytes), (10, 80));
    ssc.stop(StopOptions::default()).unwrap();
}
