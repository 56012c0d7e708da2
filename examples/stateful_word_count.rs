//! Running word totals with `update_state_by_key`: a queue stream fed by
//! the shared generator (1,000 lines of 100 words, a tenth of a generator
//! batch, per interval), split into words, counted, and folded into the
//! state; `print()` shows the state each batch and a listener prints one
//! statistics line per batch. Runs 8 batches of 500 ms, then stops
//! gracefully.
//!
//! ```text
//! cargo run --release --example stateful_word_count
//! ```

use std::collections::VecDeque;
use std::sync::Arc;

use ember::datagen::{LINES_PER_BATCH, WordGenerator};
use ember::prelude::*;

const BATCHES: u64 = 8;
const INTERVAL_MS: u64 = 500;

fn main() -> Result<(), StreamingError> {
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("StatefulWordCount");
    let ssc = StreamingContext::new(conf, Duration::from_millis(INTERVAL_MS))?;
    ssc.add_listener(Arc::new(StatsReportListener::default()));

    let mut words = WordGenerator::new();
    let lines: VecDeque<Vec<String>> = (0..BATCHES)
        .map(|_| {
            (0..LINES_PER_BATCH / 10)
                .map(|_| words.line(ember::datagen::WORDS_PER_LINE))
                .collect()
        })
        .collect();

    let totals = ssc
        .queue_stream(lines, true)
        .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .update_state_by_key(|new: &[u64], total: Option<u64>| {
            Some(total.unwrap_or(0) + new.iter().sum::<u64>())
        });
    totals.print()?;

    ssc.start()?;
    // Wait for the 8 batches (a failure ends the wait too), then finish
    // whatever was generated and stop.
    ssc.await_batches(BATCHES, Duration::minutes(1))?;
    ssc.stop(StopOptions {
        stop_gracefully: true,
    })?;
    Ok(())
}
