//! A socket receiver in the Streaming UI of a running context: after a
//! loopback server sent 300 lines and closed (the receiver read them all
//! and reconnected), `/receivers` shows exactly those records and one
//! restart, `/statistics` the same totals, and `/metrics` the receiver's
//! restart counter and its buffer gauges back at zero once every batch
//! that held the records completed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext};
use ember_sources::prelude::*;
use serde_json::Value;

const LINES: u64 = 300;

fn get(url: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect to the UI");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    body.to_owned()
}

/// Polls until `ready` holds for `path`'s body (the listener bus is
/// asynchronous); 30 s hang guard.
fn when(url: &str, path: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let body = get(url, path);
        if ready(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got ready:\n{body}");
        std::thread::sleep(StdDuration::from_millis(20));
    }
}

#[test]
fn a_socket_receiver_shows_its_records_restarts_and_buffer() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        {
            let (mut first, _) = listener.accept().expect("first connection");
            for n in 0..LINES {
                writeln!(first, "line {n}").expect("send");
            }
        } // closed: the receiver reads to the end, then reconnects
        let (second, _) = listener.accept().expect("second connection");
        second
    });
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("ui-receivers")
        .set("spark.ui.port", "0")
        .set("spark.streaming.blockInterval", "50ms")
        .set("spark.streaming.receiverRestartDelay", "100ms");
    let ssc = StreamingContext::new(conf, Duration::from_millis(200)).expect("context");
    ssc.socket_text_stream("127.0.0.1", port)
        .foreach_rdd(|rdd, _| {
            let _ = rdd.count();
            Ok(())
        })
        .expect("output");
    ssc.start().expect("start");
    let url = ssc.ui_url().expect("the UI runs");
    let _second = server.join().expect("server");

    let stats = when(&url, "/api/v1/streaming/statistics", |b| {
        b.contains(&format!("\"numProcessedRecords\": {LINES}"))
    });
    let stats: Value = serde_json::from_str(&stats).expect("JSON");
    assert_eq!(stats["numReceivedRecords"], LINES);
    assert_eq!(stats["numReceivers"], 1);
    let receivers = when(&url, "/api/v1/streaming/receivers", |b| {
        b.contains("\"numRestarts\": 1")
    });
    let receivers: Value = serde_json::from_str(&receivers).expect("JSON");
    let receiver = &receivers[0];
    assert_eq!(receivers.as_array().map(Vec::len), Some(1));
    assert_eq!(receiver["streamId"], 0);
    assert_eq!(
        receiver["streamName"],
        format!("socket_text_stream(127.0.0.1:{port})")
    );
    assert_eq!(receiver["isActive"], true);
    assert_eq!(receiver["numReceivedRecords"], LINES);

    let labels =
        format!("{{stream_id=\"0\",stream_name=\"socket_text_stream(127.0.0.1:{port})\"}}");
    let metrics = when(&url, "/metrics", |m| {
        m.lines()
            .any(|l| l == format!("ember_buffered_records{labels} 0"))
    });
    for line in [
        format!("ember_records_processed_total{labels} {LINES}"),
        format!("ember_receiver_restarts_total{labels} 1"),
        format!("ember_receiver_errors_total{labels} 1"),
        format!("ember_buffered_bytes{labels} 0"),
        "ember_active_receivers 1".to_owned(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
    ssc.stop(StopOptions::default()).expect("stop");
}
