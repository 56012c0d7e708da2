//! `StreamingContext::union`: one stream made of the batches of many streams
//! of the same slide (Spark's `ssc.union(streams)`, the usual way to merge
//! several receivers read in parallel into one pipeline).

use std::sync::Arc;

use ember_rdd::{Data, Rdd};

use crate::dstream::{StreamCompute, StreamInfo};
use crate::{DStream, Duration, StreamingContext, StreamingError, Time};

/// At each time, the union of every parent's batch of that time.
struct UnionStreams<T> {
    parents: Vec<DStream<T>>,
    slide: Duration,
}

impl<T: Data> StreamCompute<T> for UnionStreams<T> {
    fn name(&self) -> &'static str {
        "union"
    }
    fn slide(&self) -> Duration {
        self.slide
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        self.parents.iter().map(DStream::info).collect()
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>, StreamingError> {
        let mut batches = self
            .parents
            .iter()
            .map(|parent| parent.required_rdd("union", time))
            .collect::<Result<Vec<_>, _>>()?;
        match batches.len() {
            1 => Ok(batches.pop()),
            _ => Ok(Some(self.parents[0].rdd_context().union(&batches))),
        }
    }
}

impl StreamingContext {
    /// One stream whose batch at each time holds the batches of all
    /// `streams` at that time, in the order given (their partitions side by
    /// side, nothing shuffled). The streams must slide at the same rate;
    /// an empty list is an error. A stream that generates no RDD for a
    /// batch's time fails that batch
    /// ([`StreamingError::MissingParentRdd`]), as in Spark.
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use ember_dstream::{Duration, StreamingConf, StreamingContext};
    /// let conf = StreamingConf::new().master("local[2]");
    /// let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
    /// let a = ssc.queue_stream(VecDeque::from([vec![1, 2]]), true);
    /// let b = ssc.queue_stream(VecDeque::from([vec![3]]), true);
    /// let both = ssc.union(&[a, b])?;
    /// both.print();
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn union<T: Data>(&self, streams: &[DStream<T>]) -> Result<DStream<T>, StreamingError> {
        let first = streams.first().ok_or(StreamingError::EmptyUnion)?;
        let slide = first.slide_duration();
        if let Some(other) = streams.iter().find(|s| s.slide_duration() != slide) {
            return Err(StreamingError::SlideMismatch {
                left: slide,
                right: other.slide_duration(),
            });
        }
        Ok(first.derive(UnionStreams {
            parents: streams.to_vec(),
            slide,
        }))
    }
}
