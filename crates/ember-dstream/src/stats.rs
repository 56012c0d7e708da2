//! [`StatsReportListener`]: a listener that prints one statistics line per
//! completed batch (records, scheduling delay, processing time) and counts
//! the batches, for long-running programs that show their progress.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{BatchInfo, StreamingListener};

/// Prints `[stats] batch <time>: <n> records, scheduling delay <ms> ms,
/// processing time <ms> ms` for every completed batch (a per-batch take on
/// Spark's `StatsReportListener`), and counts completed batches.
///
/// ```
/// use std::sync::Arc;
/// use ember_dstream::{StatsReportListener, StreamingConf, StreamingContext, Duration};
/// let ssc = StreamingContext::new(StreamingConf::new().master("local[2]"), Duration::from_secs(1))?;
/// let stats = Arc::new(StatsReportListener::default());
/// ssc.add_listener(stats.clone());
/// assert_eq!(stats.completed_batches(), 0);
/// # Ok::<(), ember_dstream::StreamingError>(())
/// ```
#[derive(Debug, Default)]
pub struct StatsReportListener {
    completed: AtomicU64,
}

impl StatsReportListener {
    /// How many batches have completed so far.
    pub fn completed_batches(&self) -> u64 {
        self.completed.load(Ordering::SeqCst)
    }
}

/// The statistics line for one batch (delays in whole milliseconds, with
/// one decimal below 10 ms).
///
/// ```
/// use std::time::{Duration, Instant};
/// use ember_dstream::{BatchInfo, Time, format_stats};
/// let submission = Instant::now();
/// let batch = BatchInfo {
///     batch_time: Time::from_millis(2000),
///     num_records: 42,
///     stream_records: [(0, 42)].into(),
///     submission,
///     processing_start: Some(submission + Duration::from_millis(3)),
///     processing_end: Some(submission + Duration::from_millis(20)),
///     output_operations: Vec::new(),
/// };
/// assert_eq!(
///     format_stats(&batch),
///     "[stats] batch 2000 ms: 42 records, scheduling delay 3.0 ms, processing time 17 ms"
/// );
/// ```
pub fn format_stats(batch: &BatchInfo) -> String {
    let ms = |d: Option<std::time::Duration>| match d {
        None => "-".to_owned(),
        Some(d) if d.as_millis() < 10 => format!("{:.1}", d.as_secs_f64() * 1e3),
        Some(d) => d.as_millis().to_string(),
    };
    format!(
        "[stats] batch {}: {} records, scheduling delay {} ms, processing time {} ms",
        batch.batch_time,
        batch.num_records,
        ms(batch.scheduling_delay()),
        ms(batch.processing_delay()),
    )
}

impl StreamingListener for StatsReportListener {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        println!("{}\n", format_stats(batch));
        self.completed.fetch_add(1, Ordering::SeqCst);
    }
}
