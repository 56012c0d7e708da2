//! `socket_text_stream` under a flood stays bounded and loses nothing: a
//! loopback server writes 200,000 numbered lines as fast as the socket
//! takes them;
//! the receiver's buffer never holds more than
//! `ember.receiver.maxBufferedBytes`/`maxBufferedRecords` (its peak, as
//! accounted), the sender is pushed back by TCP flow control, and every
//! line the server managed to send is delivered exactly once, after which
//! the accounting is back to zero. A line longer than
//! `ember.receiver.maxLineBytes` is reported, counted, skipped, and the
//! receiver reconnects.

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration as StdDuration;

use ember_dstream::{
    Duration, ReceiverInfo, StopOptions, StreamingConf, StreamingContext, StreamingListener,
};
use ember_sources::prelude::*;

#[path = "common/batches.rs"]
mod batches;
use batches::{all, collect, wait_for};

/// A hang guard only.
const PATIENCE: StdDuration = StdDuration::from_secs(60);
const MAX_RECORDS: u64 = 20_000;
const MAX_BYTES: u64 = 300_000;
/// The flood: about 1.3 MB, more than the caps and the socket buffers
/// hold many times over.
const LINES: u64 = 200_000;

#[test]
fn a_flood_stays_within_the_buffer_caps_and_every_line_sent_is_delivered_once() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = {
        thread::spawn(move || -> u64 {
            let (mut conn, _) = listener.accept().unwrap();
            drop(listener); // a reconnect after the end is refused
            let mut sent = 0u64;
            let mut lines = String::new();
            while sent < LINES {
                lines.clear();
                for n in sent..sent + 1000 {
                    lines.push_str(&n.to_string());
                    lines.push('\n');
                }
                // Blocks while the receiver pushes back.
                conn.write_all(lines.as_bytes()).unwrap();
                sent += 1000;
            }
            sent
        })
    };
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("socket-flood")
        .set("spark.streaming.blockInterval", "50ms")
        .set("spark.streaming.receiverRestartDelay", "50ms")
        .set("ember.receiver.maxBufferedRecords", MAX_RECORDS.to_string())
        .set("ember.receiver.maxBufferedBytes", MAX_BYTES.to_string());
    let ssc = StreamingContext::new(conf, Duration::from_millis(300)).unwrap();
    let (lines, handle) = ssc.socket_text_stream_with_handle("127.0.0.1", port);
    let got: Arc<Mutex<Vec<u64>>> = Arc::default();
    let count = Arc::new(AtomicU64::new(0));
    let (sink, counter) = (Arc::clone(&got), Arc::clone(&count));
    lines
        .map(|l| l.parse::<u64>().unwrap())
        .foreach_rdd(move |rdd, _| {
            let records = rdd.collect().unwrap();
            let n = records.len() as u64;
            sink.lock().unwrap().extend(records);
            counter.fetch_add(n, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    ssc.start().unwrap();
    let sent = server.join().unwrap();
    assert_eq!(sent, LINES);
    wait_for("every line sent processed", PATIENCE, || {
        count.load(Ordering::SeqCst) >= sent
    });
    // Released when the batch that took them completes.
    wait_for("the buffer emptied", PATIENCE, || {
        handle.buffered_records() == 0
    });
    ssc.stop(StopOptions::default()).unwrap();

    let mut got = got.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got.len() as u64, sent);
    assert_eq!(got, (0..sent).collect::<Vec<_>>());
    assert_eq!(handle.metrics().records, sent);
    let buffered = handle.buffered();
    assert_eq!((buffered.records, buffered.bytes), (0, 0));
    assert!(
        buffered.peak_records <= MAX_RECORDS && buffered.peak_bytes <= MAX_BYTES,
        "the buffer exceeded its caps: {buffered:?}"
    );
}

#[derive(Default)]
struct Errors(Mutex<Vec<String>>);

impl StreamingListener for Errors {
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.0
            .lock()
            .unwrap()
            .push(r.last_error.clone().unwrap_or_default());
    }
}

#[test]
fn a_line_longer_than_max_line_bytes_is_reported_counted_skipped_and_the_receiver_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut first, _) = listener.accept().unwrap();
        first.write_all(b"a\nb\n").unwrap();
        first.write_all(&vec![b'x'; 5000]).unwrap(); // no newline, kept open
        let (mut second, _) = listener.accept().unwrap();
        second.write_all(b"c\n").unwrap();
        drop(second);
        drop(listener);
        first // closed at the end of the test
    });
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("socket-long-line")
        .set("spark.streaming.blockInterval", "20ms")
        .set("spark.streaming.receiverRestartDelay", "50ms")
        .set("ember.receiver.maxLineBytes", "1024");
    let ssc = StreamingContext::new(conf, Duration::from_millis(100)).unwrap();
    let errors = Arc::new(Errors::default());
    ssc.add_listener(errors.clone());
    let (lines, handle) = ssc.socket_text_stream_with_handle("127.0.0.1", port);
    let sink = collect(&lines);
    ssc.start().unwrap();
    wait_for("a, b and c", PATIENCE, || all(&sink).len() >= 3);
    let _first = server.join().unwrap();
    ssc.stop(StopOptions::default()).unwrap();
    assert_eq!(all(&sink), vec!["a", "b", "c"]);
    assert_eq!(handle.metrics().oversized_lines, 1);
    let errors = errors.0.lock().unwrap().clone();
    assert!(
        errors[0].starts_with("a line longer than ember.receiver.maxLineBytes = 1024 bytes"),
        "{errors:?}"
    );
}
