//! Spark's NetworkWordCount: count the words of the text a TCP server
//! sends, in one-second batches, with the Streaming UI on.
//!
//! ```text
//! cargo run --release --example quickstart             # built-in text feeder, 10 batches
//! cargo run --release --example quickstart -- --batches 100 --ui-port 4050
//! nc -lk 9999 &  cargo run --release --example quickstart -- --port 9999
//! ```
//!
//! With no `--port` a feeder on 127.0.0.1 (ephemeral port) sends the
//! shared benchmark text (`ember::feeder::TextFeeder`, 2,000 lines of 10
//! words a second); the program prints `--batches` batches (default 10),
//! each followed by a one-line summary from a `StatsReportListener`, then
//! stops gracefully. With `--port N` it reads from `localhost:N` until
//! interrupted (or `--batches` batches, when given). The Streaming UI
//! runs at `http://127.0.0.1:<--ui-port>` (default 4040, the next free
//! port when taken; the URL is logged; `--ui-port 0` turns it off), e.g.
//! `curl http://127.0.0.1:4040/api/v1/streaming/statistics` or `/metrics`.
//! SIGINT (Ctrl-C) or SIGTERM stop it gracefully
//! (`spark.streaming.stopGracefullyOnShutdown=true`); a second signal stops
//! at once. It ends with a line saying how it stopped and how many records
//! its batches processed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ember::feeder::TextFeeder;
use ember::prelude::*;

/// Lines the built-in feeder sends per second.
const LINES_PER_SECOND: usize = 2_000;
/// Words per line of the built-in feeder.
const WORDS_PER_LINE: usize = 10;
/// Batches printed before a run with the built-in feeder stops.
const DEFAULT_BATCHES: u64 = 10;
/// The usage line.
const USAGE: &str = "usage: quickstart [--port N] [--batches N] [--ui-port P]";

/// The command line.
#[derive(Debug, Default)]
struct Args {
    port: Option<u16>,
    batches: Option<u64>,
    ui_port: Option<u16>,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--port" => args.port = Some(value.parse()?),
            "--batches" => args.batches = Some(value.parse()?),
            "--ui-port" => args.ui_port = Some(value.parse()?),
            _ => return Err(USAGE.into()),
        }
    }
    Ok(args)
}

/// Counts the batches and the records they processed.
#[derive(Debug, Default)]
struct Totals {
    batches: AtomicU64,
    records: AtomicU64,
}

impl StreamingListener for Totals {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.records.fetch_add(batch.num_records, Ordering::SeqCst);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let feeder = match args.port {
        None => Some(TextFeeder::start(LINES_PER_SECOND, WORDS_PER_LINE)?),
        Some(_) => None,
    };
    let (host, port) = match (&feeder, args.port) {
        (Some(feeder), _) => ("127.0.0.1", feeder.port()),
        (None, Some(port)) => ("localhost", port),
        (None, None) => return Err(USAGE.into()),
    };

    let mut conf = StreamingConf::new()
        .master("local[2]")
        .app_name("NetworkWordCount")
        .set("spark.streaming.stopGracefullyOnShutdown", "true");
    conf = match args.ui_port {
        Some(0) => conf.set("spark.ui.enabled", "false"),
        Some(port) => conf.set("spark.ui.port", port.to_string()),
        None => conf,
    };
    let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
    ssc.add_listener(Arc::new(StatsReportListener::default()));
    let totals = Arc::new(Totals::default());
    ssc.add_listener(totals.clone());

    let lines = ssc.socket_text_stream(host, port);
    let counts = lines
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print()?;

    ssc.start()?;
    let batches = match (&feeder, args.batches) {
        (_, Some(n)) => Some(n),
        (Some(_), None) => Some(DEFAULT_BATCHES),
        (None, None) => None,
    };
    let how = match batches {
        None => {
            // Reading from an outside server: run until interrupted.
            ssc.await_termination()?;
            "stopped".to_owned()
        }
        Some(n) => {
            let completed = ssc.await_batches(n, Duration::minutes(1))?;
            ssc.stop(StopOptions {
                stop_gracefully: true,
            })?;
            ssc.await_termination()?;
            if !completed && ssc.stopped_by_signal().is_none() {
                return Err(format!("{n} batches did not complete within a minute").into());
            }
            format!("stopped gracefully after {n} batches")
        }
    };
    if let Some(feeder) = feeder {
        feeder.stop();
    }
    let how = match ssc.stopped_by_signal() {
        Some(signal) => format!("stopped by {signal}"),
        None => how,
    };
    println!(
        "quickstart: {how}; {} batches, {} records processed",
        totals.batches.load(Ordering::SeqCst),
        totals.records.load(Ordering::SeqCst)
    );
    Ok(())
}
