//! [`StatsReportListener`]: a listener that prints one statistics line per
//! completed batch (records, scheduling delay, processing time), the input
//! and receiver errors of that batch, and counts the batches, for
//! long-running programs that show their progress.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::{BatchInfo, ReceiverInfo, StreamingListener};

/// Prints `[stats] batch <time>: <n> records, scheduling delay <ms> ms,
/// processing time <ms> ms` for every completed batch (a per-batch take on
/// Spark's `StatsReportListener`), then one line per error of that batch
/// (see [`format_batch_errors`]): the batch's input errors and the receiver
/// errors reported since the previous batch completed; and counts
/// completed batches.
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
    /// Receiver errors since the last completed batch: stream id, message.
    receiver_errors: Mutex<Vec<(usize, String)>>,
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
///     input_errors: Vec::new(),
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

/// The error lines of a batch: `[stats] batch <time>: input <id> error:
/// <message>` for each input error of the batch, then `[stats] batch
/// <time>: receiver <id> error: <message>` for each receiver error given.
///
/// ```
/// use std::time::Instant;
/// use ember_dstream::{BatchInfo, Time, format_batch_errors};
/// let batch = BatchInfo {
///     batch_time: Time::from_millis(2000),
///     num_records: 0,
///     stream_records: Default::default(),
///     input_errors: vec![(1, "cannot read a.txt".into())],
///     submission: Instant::now(),
///     processing_start: None,
///     processing_end: None,
///     output_operations: Vec::new(),
/// };
/// assert_eq!(
///     format_batch_errors(&batch, &[(0, "connection refused".into())]),
///     vec![
///         "[stats] batch 2000 ms: input 1 error: cannot read a.txt",
///         "[stats] batch 2000 ms: receiver 0 error: connection refused",
///     ]
/// );
/// ```
pub fn format_batch_errors(batch: &BatchInfo, receiver_errors: &[(usize, String)]) -> Vec<String> {
    let line = |kind: &str, id: usize, message: &str| {
        format!(
            "[stats] batch {}: {kind} {id} error: {message}",
            batch.batch_time
        )
    };
    batch
        .input_errors
        .iter()
        .map(|(id, message)| line("input", *id, message))
        .chain(
            receiver_errors
                .iter()
                .map(|(id, message)| line("receiver", *id, message)),
        )
        .collect()
}

impl StreamingListener for StatsReportListener {
    fn on_batch_completed(&self, batch: &BatchInfo) {
        let receiver_errors = std::mem::take(
            &mut *self
                .receiver_errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut text = format_stats(batch);
        for line in format_batch_errors(batch, &receiver_errors) {
            text.push('\n');
            text.push_str(&line);
        }
        println!("{text}\n");
        self.completed.fetch_add(1, Ordering::SeqCst);
    }

    fn on_receiver_error(&self, receiver: &ReceiverInfo) {
        let message = receiver
            .last_error
            .clone()
            .unwrap_or_else(|| "unknown error".to_owned());
        self.receiver_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((receiver.stream_id, message));
    }
}
