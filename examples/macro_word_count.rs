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
//! shared benchmark text (`ember::feeder::TextFeeder`, 2,000 lines of 10
//! words a second); the program prints ten batches, each followed by a
//! one-line summary from a `StatsReportListener`, then stops gracefully.
//! With `--port N` it reads from `localhost:N` until interrupted.

use std::sync::Arc;

use ember::feeder::TextFeeder;
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
const BATCHES: u64 = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let feeder = match args.as_slice() {
        [] => Some(TextFeeder::start(LINES_PER_SECOND, WORDS_PER_LINE)?),
        [flag, _] if flag == "--port" => None,
        _ => return Err("usage: macro_word_count [--port N]".into()),
    };
    let (host, port) = match (&feeder, args.as_slice()) {
        (Some(feeder), _) => ("127.0.0.1", feeder.port()),
        (None, [_, port]) => ("localhost", port.parse::<u16>()?),
        (None, _) => return Err("usage: macro_word_count [--port N]".into()),
    };

    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("NetworkWordCount")
        .set("spark.streaming.stopGracefullyOnShutdown", "true");
    let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
    ssc.add_listener(Arc::new(StatsReportListener::default()));

    let lines = ssc.socket_text_stream(host, port);
    word_count(lines.clone()).print()?;
    trending(lines).print_n(5)?;

    ssc.start()?;
    let Some(feeder) = feeder else {
        // Reading from an outside server: run until interrupted.
        ssc.await_termination()?;
        let by = ssc.stopped_by_signal().unwrap_or("a stop call");
        println!("macro_word_count: stopped gracefully by {by}");
        return Ok(());
    };
    let completed = ssc.await_batches(BATCHES, Duration::minutes(1))?;
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    feeder.stop();
    if !completed {
        return Err(format!("{BATCHES} batches did not complete within a minute").into());
    }
    Ok(())
}
