//! `queue_stream`: an input stream fed from a queue of batches (Spark's
//! `queueStream`), so pipelines run and test without any receiver.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use ember_rdd::{Data, Rdd};

use crate::{DStream, InputEnv, InputSource, StreamingContext, StreamingError, Time};

/// A queue of batches shared between the caller and a queue stream: push
/// more batches while the context runs.
///
/// ```
/// use std::collections::VecDeque;
/// let queue = ember_dstream::InputQueue::from(VecDeque::from(vec![vec![1, 2]]));
/// queue.push(vec![3]);
/// assert_eq!(queue.len(), 2);
/// ```
pub struct InputQueue<T> {
    batches: Arc<Mutex<VecDeque<Vec<T>>>>,
}

impl<T> Clone for InputQueue<T> {
    fn clone(&self) -> Self {
        InputQueue {
            batches: Arc::clone(&self.batches),
        }
    }
}

impl<T> Default for InputQueue<T> {
    fn default() -> Self {
        InputQueue {
            batches: Arc::new(Mutex::new(VecDeque::new())),
        }
    }
}

impl<T> From<VecDeque<Vec<T>>> for InputQueue<T> {
    fn from(batches: VecDeque<Vec<T>>) -> Self {
        InputQueue {
            batches: Arc::new(Mutex::new(batches)),
        }
    }
}

impl<T> InputQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a batch.
    pub fn push(&self, batch: Vec<T>) {
        self.lock().push_back(batch);
    }

    /// How many batches wait.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no batch waits.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Vec<T>>> {
        self.batches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next batch, or every waiting batch.
    fn take(&self, one_at_a_time: bool) -> Vec<Vec<T>> {
        let mut batches = self.lock();
        if one_at_a_time {
            batches.pop_front().into_iter().collect()
        } else {
            batches.drain(..).collect()
        }
    }
}

struct QueueSource<T> {
    queue: InputQueue<T>,
    one_at_a_time: bool,
    default: Option<Vec<T>>,
}

impl<T: Data> InputSource<T> for QueueSource<T> {
    fn name(&self) -> &'static str {
        "queue_stream"
    }

    fn compute(&self, time: Time, env: &InputEnv) -> Result<Option<Rdd<T>>, StreamingError> {
        let ctx = env.rdd_context();
        let partitions = ctx.default_parallelism();
        let mut batches = self.queue.take(self.one_at_a_time);
        if batches.is_empty() {
            batches.extend(self.default.clone());
        }
        let records: usize = batches.iter().map(Vec::len).sum();
        env.report_records(time, records as u64);
        let mut rdds: Vec<Rdd<T>> = batches
            .into_iter()
            .map(|batch| ctx.parallelize(batch, partitions))
            .collect();
        Ok(Some(match rdds.len() {
            0 => ctx.parallelize(Vec::new(), partitions),
            1 => rdds.swap_remove(0),
            _ => ctx.union(&rdds),
        }))
    }
}

impl StreamingContext {
    /// A stream that takes one batch from `queue` per interval (or, with
    /// `one_at_a_time` false, everything queued), spread over the default
    /// number of partitions. Intervals with nothing queued give an empty
    /// batch. Pass an [`InputQueue`] to keep pushing batches while it runs.
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use ember_dstream::testing::run_operation;
    /// // `run_operation` feeds its input through a queue stream like this one.
    /// let out = run_operation(vec![vec![1, 2], vec![3]], |s| s.map(|x| x + 1), 3)?;
    /// assert_eq!(out, vec![vec![2, 3], vec![4], vec![]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn queue_stream<T: Data>(
        &self,
        queue: impl Into<InputQueue<T>>,
        one_at_a_time: bool,
    ) -> DStream<T> {
        self.queue_stream_with_default(queue, one_at_a_time, None)
    }

    /// Like [`queue_stream`](Self::queue_stream), with the batch `default`
    /// used whenever the queue is empty.
    pub fn queue_stream_with_default<T: Data>(
        &self,
        queue: impl Into<InputQueue<T>>,
        one_at_a_time: bool,
        default: Option<Vec<T>>,
    ) -> DStream<T> {
        self.input_stream(QueueSource {
            queue: queue.into(),
            one_at_a_time,
            default,
        })
    }
}
