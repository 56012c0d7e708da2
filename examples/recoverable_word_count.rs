//! Recoverable word count: a running word count over the text files that
//! appear in a directory, which survives being killed. State and the file
//! stream's position are checkpointed to a directory after every second
//! batch; restarted with the same checkpoint directory, it continues from
//! the last checkpoint: no file counted twice, none missed.
//!
//! `cargo run --release --example recoverable_word_count -- IN_DIR CHECKPOINT_DIR`
//!
//! Move files into `IN_DIR` atomically (`mv`); kill the program (Ctrl-C or
//! `kill -9`), move more files in, start it again with the same arguments:
//! it prints `recovered from checkpoint at …` and the counts go on from
//! where they were. Changing the pipeline in the code makes the restart fail
//! with the difference, until the checkpoint directory is removed.

use ember_dstream::{Duration, StreamingConf, StreamingContext, StreamingError};
use ember_sources::file::{FileStreamOptions, FileStreams};

fn main() -> Result<(), StreamingError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, checkpoint] = args.as_slice() else {
        eprintln!("usage: recoverable_word_count IN_DIR CHECKPOINT_DIR");
        std::process::exit(2);
    };
    let input = input.clone();
    let ssc = StreamingContext::get_or_create(checkpoint, || {
        let conf = StreamingConf::new()
            .master("local[2]")
            .app_name("RecoverableWordCount")
            .set("spark.streaming.stopGracefullyOnShutdown", "true");
        let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
        let lines = ssc.file_stream(
            &input,
            FileStreamOptions::default().with_new_files_only(false),
        );
        lines
            .flat_map(|line: String| {
                line.split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .map(|word| (word, 1u64))
            .update_state_by_key(|new: &[u64], total: Option<u64>| {
                Some(total.unwrap_or(0) + new.iter().sum::<u64>())
            })
            .checkpoint(Duration::from_secs(2))?
            .print_n(20)?;
        Ok(ssc)
    })?;
    match ssc.recovered_from() {
        Some(time) => println!("recovered from checkpoint at {time}"),
        None => println!("no checkpoint in {checkpoint}: starting from scratch"),
    }
    ssc.start()?;
    ssc.await_termination()?;
    let by = ssc.stopped_by_signal().unwrap_or("a stop call");
    println!(
        "recoverable_word_count: stopped gracefully by {by} (the next run continues from the checkpoint)"
    );
    Ok(())
}
