//! Windowed word count: words of the shared generator arrive through a
//! queue stream (1,000 lines of 100 words every 500 ms batch); the counts
//! of the last 3 batches are printed every batch, computed incrementally,
//! with one statistics line per batch from a listener. Stops by itself
//! after 8 batches.
//!
//! `cargo run --release --example windowed_word_count`

use std::collections::VecDeque;
use std::sync::Arc;

use ember::datagen::{WORDS_PER_LINE, WordGenerator};
use ember::prelude::*;

const BATCHES: u64 = 8;
const LINES_PER_BATCH: usize = 1_000;

fn main() -> Result<(), StreamingError> {
    let batch = Duration::from_millis(500);
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("WindowedWordCount");
    let ssc = StreamingContext::new(conf, batch)?;
    ssc.add_listener(Arc::new(StatsReportListener::default()));

    let mut words = WordGenerator::new();
    let batches: VecDeque<Vec<String>> = (0..BATCHES)
        .map(|_| {
            (0..LINES_PER_BATCH)
                .map(|_| words.line(WORDS_PER_LINE))
                .collect()
        })
        .collect();
    let lines = ssc.queue_stream(batches, true);
    let counts = lines
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, batch * 3, batch, None)?;
    counts.print()?;

    ssc.start()?;
    ssc.await_batches(BATCHES, Duration::minutes(1))?;
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    Ok(())
}
