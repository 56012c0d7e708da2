//! Word count with the RDD API: the words of a text file given on the
//! command line (or, with no argument, one batch of the shared generator's
//! text), printing the 20 most frequent words and the lineage of the job.
//!
//! ```text
//! cargo run --release --example rdd_word_count [FILE]
//! ```

use std::process::ExitCode;
use std::time::Instant;

use ember::datagen::WordGenerator;
use ember::prelude::*;

fn main() -> ExitCode {
    match run(std::env::args().nth(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rdd_word_count: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: Option<String>) -> Result<(), JobError> {
    let ctx = RddContext::local(0)?;
    let lines = match &path {
        Some(path) => ctx.text_file(path, ctx.default_parallelism())?,
        None => ctx.parallelize(WordGenerator::new().batch(), ctx.default_parallelism()),
    };
    let counts = lines
        .flat_map(|line: String| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|word| (word, 1u64))
        .reduce_by_key(|a, b| a + b);

    let started = Instant::now();
    let top = counts
        .sort_by(|(word, n)| (std::cmp::Reverse(*n), word.clone()), true)
        .take(20)?;
    let elapsed = started.elapsed();

    println!(
        "source: {}",
        path.as_deref()
            .unwrap_or("built-in generator, 1,000,000 words")
    );
    println!("top {} words:", top.len());
    for (word, n) in &top {
        println!("{n:>10}  {word}");
    }
    println!("\nlineage:\n{}", counts.to_debug_string());
    let metrics = ctx.metrics();
    println!(
        "\n{} jobs, {} stages, {} tasks, {} shuffle records, in {:.1} ms",
        metrics.jobs,
        metrics.stages,
        metrics.task_attempts,
        metrics.shuffle_records_written,
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
