//! A recoverable, stateful word count over a directory, used by the crash
//! test (`tests/crash_recovery.rs`): it is killed with SIGKILL at random
//! moments and restarted, and must end with the same counts as an
//! uninterrupted run.
//!
//! Usage: `crash_word_count <checkpoint dir> <input dir> <state file> [batch ms]`.
//! Every batch it writes the whole state to `<state file>` (atomically: temp
//! file, then rename) as a first line `time <batch ms>` followed by one
//! `<word> <count>` line per word.

#[path = "crash/state_file.rs"]
mod state_file;

use std::path::PathBuf;

use ember_dstream::{Duration, StreamingConf, StreamingContext, StreamingError};
use ember_sources::file::{FileStreamOptions, FileStreams};

fn run() -> Result<(), StreamingError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, checkpoint, input, out, rest @ ..] = args.as_slice() else {
        eprintln!("usage: crash_word_count <checkpoint dir> <input dir> <state file> [batch ms]");
        std::process::exit(2);
    };
    let batch_ms: u64 = rest.first().and_then(|b| b.parse().ok()).unwrap_or(100);
    let (input, out) = (PathBuf::from(input), PathBuf::from(out));
    let ssc = StreamingContext::get_or_create(checkpoint, || {
        let ssc = StreamingContext::new(
            StreamingConf::new()
                .master("local[2]")
                .app_name("crash_word_count"),
            Duration::from_millis(batch_ms),
        )?;
        let lines = ssc.file_stream(
            &input,
            FileStreamOptions::default().with_new_files_only(false),
        );
        let words = lines.flat_map(|line: String| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        let counts = state_file::running_counts(words, Duration::from_millis(batch_ms * 3))?;
        state_file::write_every_batch(&counts, out)?;
        Ok(ssc)
    })?;
    state_file::run_until_killed(ssc)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("crash_word_count: {e}");
        std::process::exit(1);
    }
}
