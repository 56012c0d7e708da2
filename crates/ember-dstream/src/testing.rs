//! The deterministic batch harness: run an operation on a manual clock and
//! collect its output batches. Every test of a stream operation goes
//! through [`run_operation`], [`run_operation2`] or [`run_operation_n`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use ember_rdd::Data;

use crate::{
    Clock, DStream, Duration, ManualClock, StopOptions, StreamingConf, StreamingContext,
    StreamingError, Time,
};

/// How long the harness waits for its batches before giving up.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);

/// What an operation under test may return: a stream, or the `Result` of
/// an operation that can fail at definition (windows).
pub trait IntoStream<U> {
    /// The stream, or the definition error.
    fn into_stream(self) -> Result<DStream<U>, StreamingError>;
}

impl<U> IntoStream<U> for DStream<U> {
    fn into_stream(self) -> Result<DStream<U>, StreamingError> {
        Ok(self)
    }
}

impl<U> IntoStream<U> for Result<DStream<U>, StreamingError> {
    fn into_stream(self) -> Result<DStream<U>, StreamingError> {
        self
    }
}

fn test_context() -> Result<(StreamingContext, Arc<ManualClock>), StreamingError> {
    let clock = Arc::new(ManualClock::new());
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("ember-testing");
    let ssc = StreamingContext::with_clock(conf, Duration::from_secs(1), clock.clone())?;
    Ok((ssc, clock))
}

/// Runs `op` over `input` (batch i at time (i+1)·1000 ms, 2 partitions each,
/// empty batches after the input ends) for `num_batches` one-second batches
/// on a manual clock, and returns the output stream's batches: one `Vec` per
/// time at which it produced one, each collected in partition order.
///
/// ```
/// use ember_dstream::{Duration, testing::run_operation};
/// let out = run_operation(
///     vec![vec![1], vec![2], vec![3], vec![4]],
///     |s| s.window(Duration::from_secs(2), Duration::from_secs(2)),
///     4,
/// )?;
/// assert_eq!(out, vec![vec![1, 2], vec![3, 4]]);
/// # Ok::<(), ember_dstream::StreamingError>(())
/// ```
pub fn run_operation<T: Data, U: Data, R: IntoStream<U>>(
    input: Vec<Vec<T>>,
    op: impl FnOnce(DStream<T>) -> R,
    num_batches: usize,
) -> Result<Vec<Vec<U>>, StreamingError> {
    let (ssc, clock) = test_context()?;
    let stream = ssc.queue_stream(VecDeque::from(input), true);
    let output = op(stream).into_stream()?;
    collect_batches(&ssc, &clock, &output, num_batches)
}

/// [`run_operation`] for an operation on two input streams.
///
/// ```
/// use ember_dstream::testing::run_operation2;
/// let out = run_operation2(vec![vec![1], vec![2]], vec![vec![10]], |a, b| a.union(&b), 2)?;
/// assert_eq!(out, vec![vec![1, 10], vec![2]]);
/// # Ok::<(), ember_dstream::StreamingError>(())
/// ```
pub fn run_operation2<T: Data, U: Data, V: Data, R: IntoStream<V>>(
    input1: Vec<Vec<T>>,
    input2: Vec<Vec<U>>,
    op: impl FnOnce(DStream<T>, DStream<U>) -> R,
    num_batches: usize,
) -> Result<Vec<Vec<V>>, StreamingError> {
    let (ssc, clock) = test_context()?;
    let first = ssc.queue_stream(VecDeque::from(input1), true);
    let second = ssc.queue_stream(VecDeque::from(input2), true);
    let output = op(first, second).into_stream()?;
    collect_batches(&ssc, &clock, &output, num_batches)
}

/// [`run_operation`] for an operation on any number of input streams of
/// one type that also needs the context, e.g. to
/// [`union`](StreamingContext::union) them: `op` gets the context and one
/// queue stream per input, in order.
///
/// ```
/// use ember_dstream::testing::run_operation_n;
/// let inputs = vec![vec![vec![1]], vec![vec![2], vec![3]], vec![vec![4]]];
/// let out = run_operation_n(inputs, |ssc, streams| ssc.union(&streams), 2)?;
/// assert_eq!(out, vec![vec![1, 2, 4], vec![3]]);
/// # Ok::<(), ember_dstream::StreamingError>(())
/// ```
pub fn run_operation_n<T: Data, U: Data, R: IntoStream<U>>(
    inputs: Vec<Vec<Vec<T>>>,
    op: impl FnOnce(&StreamingContext, Vec<DStream<T>>) -> R,
    num_batches: usize,
) -> Result<Vec<Vec<U>>, StreamingError> {
    let (ssc, clock) = test_context()?;
    let streams = inputs
        .into_iter()
        .map(|input| ssc.queue_stream(VecDeque::from(input), true))
        .collect();
    let output = op(&ssc, streams).into_stream()?;
    collect_batches(&ssc, &clock, &output, num_batches)
}

fn collect_batches<U: Data>(
    ssc: &StreamingContext,
    clock: &ManualClock,
    output: &DStream<U>,
    num_batches: usize,
) -> Result<Vec<Vec<U>>, StreamingError> {
    type Sink<U> = Arc<Mutex<Vec<(Time, Vec<U>)>>>;
    let sink: Sink<U> = Arc::default();
    let collected = Arc::clone(&sink);
    output.foreach_rdd(move |rdd, time| {
        let batch = rdd.collect()?;
        collected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((time, batch));
        Ok(())
    })?;
    ssc.start()?;
    let batch = ssc.batch_duration();
    let last = clock.now() + batch * num_batches as u64;
    clock.set_time(last);
    // With no batch to wait for, waiting would only run out the patience.
    let finished = num_batches == 0 || ssc.inner.termination.wait_for_batch(last, PATIENCE);
    let failure = ssc.await_termination_or_timeout(Duration::ZERO);
    ssc.stop(StopOptions::default())?;
    failure?;
    if !finished {
        return Err(StreamingError::Timeout {
            what: format!("{num_batches} test batches"),
            after: PATIENCE,
        });
    }
    let mut batches = std::mem::take(&mut *sink.lock().unwrap_or_else(PoisonError::into_inner));
    batches.sort_by_key(|(time, _)| *time);
    Ok(batches.into_iter().map(|(_, batch)| batch).collect())
}
