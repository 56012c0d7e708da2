//! Socket ingestion: lines per second from a loopback feeder through one
//! `socket_text_stream` receiver into the block generator (timed until the
//! receiver has handed every line over), beside a plain
//! `BufReader::read_line` loop over the same socket data in the same run.
//! The ratio of the two is the figure (target ≥ 0.5). The text is the
//! shared generator's (`ember::datagen`): 20,000 lines of 100 words
//! (about 11.8 MB) per iteration.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ember::datagen::{WORDS_PER_LINE, WordGenerator};
use ember::prelude::*;

const LINES: usize = 20_000;

fn data() -> Arc<Vec<u8>> {
    let mut words = WordGenerator::new();
    let mut bytes = Vec::new();
    for _ in 0..LINES {
        bytes.extend_from_slice(words.line(WORDS_PER_LINE).as_bytes());
        bytes.push(b'\n');
    }
    Arc::new(bytes)
}

/// The baseline: one connection, a `read_line` loop until EOF.
fn plain_read_line(data: &Arc<Vec<u8>>) -> StdDuration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let payload = Arc::clone(data);
    let feeder = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(&payload).unwrap();
    });
    let start = Instant::now();
    let mut reader = BufReader::new(TcpStream::connect(addr).unwrap());
    let mut line = String::new();
    let mut lines = 0;
    while reader.read_line(&mut line).unwrap() > 0 {
        lines += 1;
        std::hint::black_box(&line);
        line.clear();
    }
    let elapsed = start.elapsed();
    assert_eq!(lines, LINES);
    feeder.join().unwrap();
    elapsed
}

/// A feeder that sends `data` on one accepted connection per request.
fn feeder(data: Arc<Vec<u8>>) -> (u16, Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go, requests) = channel::<()>();
    thread::spawn(move || {
        for () in requests {
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(&data).unwrap();
        }
    });
    (port, go)
}

fn ingestion(c: &mut Criterion) {
    let data = data();
    let mut group = c.benchmark_group("socket_ingestion");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES as u64));
    println!(
        "payload: {LINES} lines, {:.1} MB per iteration",
        data.len() as f64 / 1e6
    );

    group.bench_function("plain_read_line", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| plain_read_line(&data)).sum())
    });

    let (port, go) = feeder(Arc::clone(&data));
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("ingestion-bench")
        .set("spark.streaming.receiverRestartDelay", "0ms");
    let ssc = StreamingContext::new(conf, Duration::from_millis(100)).unwrap();
    let (lines, handle) = ssc.socket_text_stream_with_handle("127.0.0.1", port);
    lines.foreach_rdd(|_rdd, _time| Ok(())).unwrap();
    ssc.start().unwrap();
    let mut target = 0u64;
    group.bench_function("socket_text_stream_receiver", |b| {
        b.iter_custom(|iters| {
            let mut total = StdDuration::ZERO;
            for _ in 0..iters {
                target += LINES as u64;
                let start = Instant::now();
                go.send(()).unwrap();
                while handle.metrics().records < target {
                    thread::sleep(StdDuration::from_micros(200));
                }
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
    ssc.stop(StopOptions::default()).unwrap();
    let m = handle.metrics();
    println!(
        "receiver: {} records, {} restarts (one reconnect per iteration)",
        m.records, m.restarts
    );
}

criterion_group!(benches, ingestion);
criterion_main!(benches);
