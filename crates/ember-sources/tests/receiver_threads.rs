//! Stopping the context joins every receiver thread (supervisor and block
//! generator): counted through /proc/self/task/*/comm. One test alone in
//! this binary, so no other test's threads are counted.

use std::thread;
use std::time::Duration as StdDuration;

use ember_dstream::{Duration, StopOptions, StreamingConf, StreamingContext};
use ember_sources::prelude::*;
use ember_sources::receiver::{Receiver, ReceiverContext};

fn receiver_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.starts_with("ember-receiver"))
        .count()
}

struct Idle;

impl Receiver<u8> for Idle {
    fn on_start(&self, ctx: &ReceiverContext<u8>) {
        while !ctx.is_stopped() {
            thread::sleep(StdDuration::from_millis(5));
        }
    }
}

#[test]
fn stop_joins_every_receiver_thread() {
    if !std::path::Path::new("/proc/self/task").exists() {
        return; // not Linux
    }
    assert_eq!(receiver_threads(), 0);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let conf = StreamingConf::new()
        .master("local[3]")
        .set("spark.streaming.receiverRestartDelay", "50ms");
    let ssc = StreamingContext::new(conf, Duration::from_millis(100)).unwrap();
    ssc.socket_text_stream("127.0.0.1", port).print().unwrap();
    ssc.receiver_stream(Idle).print().unwrap();
    ssc.start().unwrap();
    let (_conn, _) = listener.accept().unwrap();
    thread::sleep(StdDuration::from_millis(200));
    // Two receivers: a supervisor, an on_start thread and a block
    // generator each.
    assert_eq!(receiver_threads(), 6);
    ssc.stop(StopOptions::default()).unwrap();
    assert_eq!(receiver_threads(), 0, "a receiver thread outlived stop");
}
