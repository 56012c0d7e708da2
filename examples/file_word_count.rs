//! File word count: counts the words of the text files that appear in a
//! directory, one-second batches, with one statistics line per batch.
//!
//! With no argument it makes a temporary directory, writes a few files into
//! it while it runs (each written beside it, then renamed in, so it appears
//! whole), prints 6 batches and stops. With a directory argument it
//! monitors that directory until interrupted; move files in atomically
//! (`mv`), and note that names starting with `.` or `_` are ignored.
//!
//! `cargo run --release --example file_word_count [DIR]`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use ember::prelude::*;

const BATCHES: u64 = 6;

/// Writes a few files into `dir`, one every 700 ms, each moved in whole.
fn write_files(dir: PathBuf, staging: PathBuf) {
    let texts = [
        "to be or not to be\nthat is the question\n",
        "the quick brown fox\njumps over the lazy dog\n",
        "a rose is a rose is a rose\n",
        "to err is human\nto forgive divine\n",
        "the lazy dog sleeps\n",
    ];
    for (i, text) in texts.iter().enumerate() {
        std::thread::sleep(StdDuration::from_millis(700));
        let name = format!("part-{i}.txt");
        let staged = staging.join(&name);
        let moved =
            std::fs::write(&staged, text).and_then(|()| std::fs::rename(&staged, dir.join(&name)));
        if let Err(e) = moved {
            eprintln!("cannot write {name}: {e}");
        }
    }
}

fn run(ssc: &StreamingContext, dir: &Path) -> Result<(), StreamingError> {
    let counts = ssc
        .text_file_stream(dir)
        .flat_map(|line: String| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b);
    counts.print()?;
    ssc.start()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let batch = Duration::from_secs(1);
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("FileWordCount")
        .set("spark.streaming.stopGracefullyOnShutdown", "true");
    let ssc = StreamingContext::new(conf, batch)?;
    ssc.add_listener(Arc::new(StatsReportListener::default()));

    if let Some(dir) = std::env::args_os().nth(1) {
        let dir = PathBuf::from(dir);
        println!("monitoring {} (Ctrl-C to stop)", dir.display());
        run(&ssc, &dir)?;
        ssc.await_termination()?;
        let by = ssc.stopped_by_signal().unwrap_or("a stop call");
        println!("file_word_count: stopped gracefully by {by}");
        return Ok(());
    }

    let watched = tempfile::tempdir()?;
    let staging = tempfile::tempdir()?;
    println!("monitoring {}", watched.path().display());
    run(&ssc, watched.path())?;
    let writer = {
        let (dir, staging) = (watched.path().to_path_buf(), staging.path().to_path_buf());
        std::thread::spawn(move || write_files(dir, staging))
    };
    ssc.await_batches(BATCHES, Duration::minutes(1))?;
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    if writer.join().is_err() {
        eprintln!("the writer thread panicked");
    }
    Ok(())
}
