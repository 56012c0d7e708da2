//! Overload: a loopback server writes the shared benchmark text (100-word
//! lines over a 10,000-word vocabulary, `ember::datagen`) into
//! `socket_text_stream` as fast as the socket takes them, while a slow
//! pipeline cannot keep up: a word count (one-second batches, `local[2]`)
//! whose output takes 2 s per batch. The receiver's bounded buffer
//! (`ember.receiver.maxBufferedBytes`, 256 MiB by default) makes `store`
//! wait, so the receiver stops reading and TCP flow control pushes back to
//! the server; memory stays bounded.
//!
//! ```text
//! cargo run --release --example flood -- [seconds, default 60] [off|on: backpressure, default off] [maxBufferedBytes]
//! ```
//!
//! Prints, once a second, the process's resident memory and the
//! receiver's buffer; at the end the maximum resident memory (`VmHWM` of
//! /proc/self/status, Linux), the receiver's peak buffer, the lines sent
//! and stored, and how long the non-graceful stop took.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use ember::prelude::*;

/// A `VmRSS`/`VmHWM`-style field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Accepts one connection and writes the shared generator's lines into it
/// until it is closed or `done` is set, counting them in `sent`.
fn serve(listener: TcpListener, done: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let Ok((mut conn, _)) = listener.accept() else {
        return;
    };
    // Ten thousand lines (one benchmark batch), sent over and over.
    let mut words = ember::datagen::WordGenerator::new();
    let chunk: String = (0..10_000).map(|_| words.line(100) + "\n").collect();
    while !done.load(Ordering::Relaxed) {
        if conn.write_all(chunk.as_bytes()).is_err() {
            return;
        }
        sent.fetch_add(10_000, Ordering::Relaxed);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = args.first().map_or(Ok(60), |s| s.parse())?;
    let backpressure = match args.get(1).map(String::as_str) {
        None | Some("off") => false,
        Some("on") => true,
        Some(other) => return Err(format!("backpressure must be off or on, not {other}").into()),
    };

    let max_buffered_bytes = args.get(2);

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let server = {
        let (done, sent) = (Arc::clone(&done), Arc::clone(&sent));
        thread::spawn(move || serve(listener, done, sent))
    };

    let mut conf = StreamingConf::new()
        .master("local[2]")
        .app_name("flood")
        .set(
            "spark.streaming.backpressure.enabled",
            if backpressure { "true" } else { "false" },
        );
    if let Some(bytes) = max_buffered_bytes {
        conf = conf.set("ember.receiver.maxBufferedBytes", bytes);
    }
    let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
    let (lines, handle) = ssc.socket_text_stream_with_handle("127.0.0.1", port);
    let words = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&words);
    lines
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .foreach_rdd(move |rdd, _| {
            let total: u64 = rdd
                .collect()
                .unwrap_or_default()
                .iter()
                .map(|(_, c)| c)
                .sum();
            counted.fetch_add(total, Ordering::Relaxed);
            // A slow sink: twice the batch interval per batch.
            thread::sleep(StdDuration::from_secs(2));
            Ok(())
        })?;
    ssc.start()?;

    let start = Instant::now();
    let mut max_rss = 0;
    while start.elapsed() < StdDuration::from_secs(seconds) {
        thread::sleep(StdDuration::from_millis(100));
        let rss = status_kib("VmRSS:").unwrap_or(0);
        max_rss = max_rss.max(rss);
        if start.elapsed().as_millis() % 1000 < 100 {
            let b = handle.buffered();
            println!(
                "{:>3} s  rss {:>5} MiB  receiver buffer {:>4} MiB / {:>8} records  sent {:>10}  words counted {:>11}  rate limit {:?}",
                start.elapsed().as_secs(),
                rss / 1024,
                b.bytes >> 20,
                b.records,
                sent.load(Ordering::Relaxed),
                words.load(Ordering::Relaxed),
                handle.rate()
            );
        }
    }
    let stopping = Instant::now();
    ssc.stop(StopOptions {
        stop_gracefully: false,
    })?;
    let stop_took = stopping.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = server.join();

    let hwm = status_kib("VmHWM:").unwrap_or(max_rss);
    let b = handle.buffered();
    println!(
        "backpressure {}: {seconds} s, max RSS {} MiB (VmHWM; sampled VmRSS max {} MiB), \
         receiver buffer peak {} MiB / {} records, lines sent {}, stored {}, \
         non-graceful stop took {:.3} s",
        if backpressure { "on" } else { "off" },
        hwm / 1024,
        max_rss / 1024,
        b.peak_bytes >> 20,
        b.peak_records,
        sent.load(Ordering::Relaxed),
        handle.metrics().records,
        stop_took.as_secs_f64()
    );
    Ok(())
}
