//! The quickstart (Spark's NetworkWordCount) with its pipeline declared in
//! `stream!`: the word count compiles into one fused loop per partition
//! (split, filter, key and map-side combine inlined together), and
//! `trending` reuses it under a sliding window.
//!
//! ```text
//! cargo run --release --example macro_word_count             # built-in text feeder, 10 batches
//! nc -lk 9999 &  cargo run --release --example macro_word_count -- --port 9999
//! ```
//!
//! With no arguments a feeder on 127.0.0.1 (ephemeral port) sends the
//! shared benchmark text (`ember::datagen::WordGenerator`, 2,000 lines of
//! 10 words a second); the program prints ten batches, each followed by a
//! one-line summary from a `StreamingListener`, then stops gracefully.
//! With `--port N` it reads from `localhost:N` until interrupted.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration as StdDuration, Instant};

use ember::datagen::WordGenerator;
use ember::prelude::*;

stream! {
    /// Counts the words of each batch. The closures borrow from the line;
    /// only `to_owned` allocates.
    fn word_count(lines: DStream<String>) -> DStream<(String, u64)> {
        lines
            .flat_map(|line| line.split(' '))
            .filter(|w| !w.is_empty())
            .map(|w| (w.to_owned(), 1u64))
            .reduce_by_key(|a, b| a + b)
    }

    /// Word counts over the last 3 seconds, every second.
    fn trending(lines: DStream<String>) -> DStream<(String, u64)> {
        word_count(lines).reduce_by_key_and_window(
            |a, b| a + b,
            Duration::from_secs(3),
            Duration::from_secs(1),
        )
    }
}

/// Lines the built-in feeder sends per second.
const LINES_PER_SECOND: usize = 2_000;
/// Words per line of the built-in feeder.
const WORDS_PER_LINE: usize = 10;
/// Batches printed before a run with the built-in feeder stops.
const BATCHES: usize = 10;

/// Prints a one-line summary of every completed batch.
#[derive(Default)]
struct BatchStats {
    completed: AtomicUsize,
}

impl StreamingListener for BatchStats {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let ms = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_millis());
        println!(
            "[stats] batch {}: {} records, scheduling delay {} ms, processing time {} ms",
            batch.batch_time,
            batch.num_records,
            ms(batch.scheduling_delay()),
            ms(batch.processing_delay()),
        );
        println!();
        self.completed.fetch_add(1, Ordering::SeqCst);
    }
}

/// Serves generated text to every connection until `stop` is set.
fn start_feeder(stop: Arc<AtomicBool>) -> std::io::Result<(u16, thread::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let feeder = thread::spawn(move || {
        let mut words = WordGenerator::new();
        while !stop.load(Ordering::SeqCst) {
            let mut conn = match listener.accept() {
                Ok((conn, _)) => conn,
                Err(_) => {
                    thread::sleep(StdDuration::from_millis(10));
                    continue;
                }
            };
            let _ = conn.set_nonblocking(false);
            // 10 ms ticks of LINES_PER_SECOND / 100 lines each.
            let start = Instant::now();
            let mut tick = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let mut chunk = String::new();
                for _ in 0..LINES_PER_SECOND / 100 {
                    chunk.push_str(&words.line(WORDS_PER_LINE));
                    chunk.push('\n');
                }
                if conn.write_all(chunk.as_bytes()).is_err() {
                    break; // the receiver went away; wait for the next one
                }
                tick += 1;
                let next = start + StdDuration::from_millis(10) * tick;
                thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        }
    });
    Ok((port, feeder))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let external_port = match args.as_slice() {
        [] => None,
        [flag, port] if flag == "--port" => Some(port.parse::<u16>()?),
        _ => return Err("usage: macro_word_count [--port N]".into()),
    };

    let stop_feeder = Arc::new(AtomicBool::new(false));
    let (host, port, feeder) = match external_port {
        Some(port) => ("localhost", port, None),
        None => {
            let (port, feeder) = start_feeder(Arc::clone(&stop_feeder))?;
            ("127.0.0.1", port, Some(feeder))
        }
    };

    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("NetworkWordCount");
    let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
    let stats = Arc::new(BatchStats::default());
    ssc.add_listener(stats.clone());

    let lines = ssc.socket_text_stream(host, port);
    word_count(lines.clone()).print()?;
    trending(lines).print_n(5)?;

    ssc.start()?;
    let Some(feeder) = feeder else {
        // Reading from an outside server: run until interrupted.
        ssc.await_termination()?;
        return Ok(());
    };
    let deadline = Instant::now() + StdDuration::from_secs(60);
    while stats.completed.load(Ordering::SeqCst) < BATCHES && Instant::now() < deadline {
        if ssc.await_termination_or_timeout(Duration::from_millis(50))? {
            break;
        }
    }
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    stop_feeder.store(true, Ordering::SeqCst);
    if feeder.join().is_err() {
        return Err("the text feeder panicked".into());
    }
    let completed = stats.completed.load(Ordering::SeqCst);
    if completed < BATCHES {
        return Err(format!("only {completed} batches completed within a minute").into());
    }
    Ok(())
}
