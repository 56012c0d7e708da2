//! Socket sources against a real TCP server on 127.0.0.1: records arrive in
//! batches, `\r\n` is handled, invalid UTF-8 is counted, the receiver
//! reconnects after an outage and after a refused connection, and
//! `local[1]` is rejected.

use std::io::{BufRead, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::{
    DStream, Duration, ReceiverInfo, StopOptions, StreamingConf, StreamingContext, StreamingError,
    StreamingListener,
};
use ember_rdd::Data;
use ember_sources::prelude::*;

#[path = "common/batches.rs"]
mod batches;
use batches::{Batches, all, collect, wait_for};

fn context(extra: &[(&str, &str)]) -> StreamingContext {
    let mut conf = StreamingConf::new()
        .master("local[2]")
        .app_name("socket-test")
        .set("spark.streaming.blockInterval", "50ms")
        .set("spark.streaming.receiverRestartDelay", "100ms");
    for (k, v) in extra {
        conf = conf.set(*k, *v);
    }
    StreamingContext::new(conf, Duration::from_millis(200)).unwrap()
}

/// Accepts one connection and writes `data` to it, keeping it open until
/// `hold` passes.
fn serve_once(listener: TcpListener, data: Vec<u8>, hold: StdDuration) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(&data).unwrap();
        conn.flush().unwrap();
        thread::sleep(hold);
    })
}

/// Serves `data` once on a fresh port of 127.0.0.1 (see [`serve_once`]),
/// reads it through the stream `open` makes for that port until `n`
/// records arrived (10 s at most), then stops the context and the server.
/// Returns the collected batches and what `open` returned beside the
/// stream.
fn serve_and_collect<T: Data, H>(
    data: Vec<u8>,
    hold: StdDuration,
    n: usize,
    open: impl FnOnce(&StreamingContext, u16) -> (DStream<T>, H),
) -> (Batches<T>, H) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve_once(listener, data, hold);
    let ssc = context(&[]);
    let (stream, extra) = open(&ssc, port);
    let batches = collect(&stream);
    ssc.start().unwrap();
    wait_for(&format!("{n} records"), StdDuration::from_secs(10), || {
        all(&batches).len() >= n
    });
    ssc.stop(StopOptions::default()).unwrap();
    server.join().unwrap();
    (batches, extra)
}

/// Stops `ssc` and asserts that `stop` returned within 2 s.
fn assert_stops_promptly(ssc: &StreamingContext) {
    let start = Instant::now();
    ssc.stop(StopOptions::default()).unwrap();
    assert!(
        start.elapsed() < StdDuration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[derive(Default)]
struct Events {
    started: AtomicUsize,
    errors: Mutex<Vec<String>>,
    stopped: AtomicUsize,
}

impl StreamingListener for Events {
    fn on_receiver_started(&self, _r: &ReceiverInfo) {
        self.started.fetch_add(1, Ordering::SeqCst);
    }
    fn on_receiver_error(&self, r: &ReceiverInfo) {
        self.errors
            .lock()
            .unwrap()
            .push(r.last_error.clone().unwrap_or_default());
    }
    fn on_receiver_stopped(&self, _r: &ReceiverInfo) {
        self.stopped.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn lines_arrive_in_batches_with_crlf_stripped() {
    let mut data = Vec::new();
    for i in 0..5000 {
        let end = if i % 3 == 0 { "\r\n" } else { "\n" };
        data.extend_from_slice(format!("line {i}{end}").as_bytes());
    }
    let (batches, handle) =
        serve_and_collect(data, StdDuration::from_secs(1), 5000, |ssc, port| {
            ssc.socket_text_stream_with_handle("127.0.0.1", port)
        });
    let got = all(&batches);
    let want: Vec<String> = (0..5000).map(|i| format!("line {i}")).collect();
    assert_eq!(got, want);
    assert_eq!(handle.metrics().records, 5000);
    assert_eq!(handle.metrics().invalid_utf8_lines, 0);
    // One partition per block; non-empty batches have at least one block.
    for (_, partitions, records) in batches.lock().unwrap().iter() {
        assert!(*partitions >= 1);
        if !records.is_empty() {
            assert!(*partitions <= records.len());
        }
    }
}

#[test]
fn invalid_utf8_is_replaced_and_counted() {
    let data = b"ok\n\xff\xfebad\nfine\r\nlast".to_vec();
    let (batches, handle) =
        serve_and_collect(data, StdDuration::from_millis(800), 4, |ssc, port| {
            ssc.socket_text_stream_with_handle("127.0.0.1", port)
        });
    let got = all(&batches);
    assert_eq!(got[0], "ok");
    assert_eq!(got[1], "\u{fffd}\u{fffd}bad");
    assert_eq!(got[2], "fine");
    assert_eq!(got[3], "last", "a last line without newline is kept");
    assert_eq!(handle.metrics().invalid_utf8_lines, 1);
}

#[test]
fn reconnects_after_the_server_restarts_on_the_same_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let before: Vec<u8> = (0..100)
        .flat_map(|i| format!("a{i}\n").into_bytes())
        .collect();
    let after: Vec<u8> = (0..100)
        .flat_map(|i| format!("b{i}\n").into_bytes())
        .collect();
    let server = thread::spawn(move || {
        {
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(&before).unwrap();
            thread::sleep(StdDuration::from_millis(100));
        } // connection closed
        drop(listener); // outage
        thread::sleep(StdDuration::from_millis(400));
        let listener = TcpListener::bind(addr).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(&after).unwrap();
        thread::sleep(StdDuration::from_millis(800));
    });
    let ssc = context(&[]);
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let (lines, handle) = ssc.socket_text_stream_with_handle("127.0.0.1", addr.port());
    let batches = collect(&lines);
    ssc.start().unwrap();
    wait_for("200 lines", StdDuration::from_secs(15), || {
        all(&batches).len() >= 200
    });
    ssc.stop(StopOptions::default()).unwrap();
    server.join().unwrap();
    let got = all(&batches);
    let want: Vec<String> = (0..100)
        .map(|i| format!("a{i}"))
        .chain((0..100).map(|i| format!("b{i}")))
        .collect();
    assert_eq!(got, want);
    assert!(handle.metrics().restarts >= 1);
    assert!(events.started.load(Ordering::SeqCst) >= 2);
    assert!(!events.errors.lock().unwrap().is_empty());
    assert_eq!(events.stopped.load(Ordering::SeqCst), 1);
}

#[test]
fn connection_refused_at_start_restarts_and_reports_errors() {
    // A port nobody listens on (bound then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ssc = context(&[]);
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let lines = ssc.socket_text_stream("127.0.0.1", port);
    let batches = collect(&lines);
    ssc.start().unwrap();
    wait_for("2 receiver errors", StdDuration::from_secs(10), || {
        events.errors.lock().unwrap().len() >= 2
    });
    let message = events.errors.lock().unwrap()[0].clone();
    assert!(
        message.contains("error connecting to 127.0.0.1"),
        "{message}"
    );
    // The server comes up: the receiver connects on a later attempt.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let server = serve_once(listener, b"hello\n".to_vec(), StdDuration::from_millis(500));
    wait_for("the line", StdDuration::from_secs(10), || {
        !all(&batches).is_empty()
    });
    ssc.stop(StopOptions::default()).unwrap();
    server.join().unwrap();
    assert_eq!(all(&batches), vec!["hello".to_string()]);
    assert_eq!(events.stopped.load(Ordering::SeqCst), 1);
}

#[test]
fn local_1_with_a_socket_stream_is_rejected_at_start() {
    let conf = StreamingConf::new().master("local[1]").app_name("one-slot");
    let ssc = StreamingContext::new(conf, Duration::from_secs(1)).unwrap();
    ssc.socket_text_stream("127.0.0.1", 9).print().unwrap();
    let err = ssc.start().unwrap_err();
    assert!(
        matches!(
            err,
            StreamingError::NotEnoughWorkers {
                receivers: 1,
                workers: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("local[n] with n > 1"), "{err}");
}

#[test]
fn socket_stream_uses_the_converter() {
    let data = b"1,2\n3\n,4\n".to_vec();
    let (batches, ()) = serve_and_collect(data, StdDuration::from_millis(600), 4, |ssc, port| {
        let numbers = ssc.socket_stream("127.0.0.1", port, |reader: Box<dyn BufRead>| {
            reader.split(b',').map_while(Result::ok).flat_map(|field| {
                String::from_utf8_lossy(&field)
                    .split('\n')
                    .filter_map(|s| s.trim().parse::<u32>().ok())
                    .collect::<Vec<_>>()
            })
        });
        (numbers, ())
    });
    assert_eq!(all(&batches), vec![1, 2, 3, 4]);
}

#[test]
fn stop_returns_promptly_while_the_server_stays_silent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        thread::sleep(StdDuration::from_secs(3));
        drop::<TcpStream>(conn);
    });
    let ssc = context(&[]);
    ssc.socket_text_stream("127.0.0.1", port).print().unwrap();
    ssc.start().unwrap();
    thread::sleep(StdDuration::from_millis(300));
    assert_stops_promptly(&ssc);
    server.join().unwrap();
}

#[test]
fn stop_returns_promptly_while_the_server_keeps_sending() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let line = "x ".repeat(50) + "\n";
        let start = Instant::now();
        while start.elapsed() < StdDuration::from_secs(5) {
            if conn.write_all(line.as_bytes()).is_err() {
                return;
            }
            thread::sleep(StdDuration::from_micros(200));
        }
    });
    let ssc = context(&[]);
    let (lines, handle) = ssc.socket_text_stream_with_handle("127.0.0.1", port);
    lines.foreach_rdd(|_rdd, _t| Ok(())).unwrap();
    ssc.start().unwrap();
    wait_for("some lines", StdDuration::from_secs(5), || {
        handle.metrics().records > 100
    });
    assert_stops_promptly(&ssc);
    server.join().unwrap();
}
