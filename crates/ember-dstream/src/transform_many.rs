//! `StreamingContext::transform`: one stream computed at each time from the
//! batches of many streams of the same slide (Spark's
//! `ssc.transform(dstreams, transformFunc)`).

use std::sync::Arc;

use ember_rdd::{Data, Rdd};

use crate::dstream::{StreamCompute, StreamInfo};
use crate::{DStream, Duration, StreamingContext, StreamingError, Time};

type ManyBatchFn<T, U> = dyn Fn(&[Rdd<T>], Time) -> Rdd<U> + Send + Sync;

/// At each time, `f` of every parent's batch of that time.
struct TransformedMany<T, U> {
    parents: Vec<DStream<T>>,
    slide: Duration,
    f: Arc<ManyBatchFn<T, U>>,
}

impl<T: Data, U: Data> StreamCompute<U> for TransformedMany<T, U> {
    fn name(&self) -> &'static str {
        "transform"
    }
    fn slide(&self) -> Duration {
        self.slide
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        self.parents.iter().map(DStream::info).collect()
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<U>>, StreamingError> {
        let batches = self
            .parents
            .iter()
            .map(|parent| parent.required_rdd("transform", time))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((self.f)(&batches, time)))
    }
}

impl StreamingContext {
    /// One stream whose batch at each time is `f(batches, time)`, where
    /// `batches` holds the batch of each of `streams` at that time, in the
    /// order given (Spark's `StreamingContext.transform`). The streams must
    /// slide at the same rate; an empty list is an error, and a stream that
    /// generates no RDD for a time fails that batch
    /// ([`StreamingError::MissingParentRdd`]).
    ///
    /// ```
    /// use ember_dstream::testing::run_operation_n;
    /// let inputs = vec![vec![vec![1, 2]], vec![vec![2, 3]], vec![vec![2, 9]]];
    /// // The elements every stream has in its batch.
    /// let out = run_operation_n(inputs, |ssc, streams| {
    ///     ssc.transform(&streams, |batches, _time| {
    ///         batches[1..].iter().fold(batches[0].clone(), |acc, b| acc.intersection(b))
    ///     })
    /// }, 1)?;
    /// assert_eq!(out, vec![vec![2]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn transform<T: Data, U: Data>(
        &self,
        streams: &[DStream<T>],
        f: impl Fn(&[Rdd<T>], Time) -> Rdd<U> + Send + Sync + 'static,
    ) -> Result<DStream<U>, StreamingError> {
        let first = streams.first().ok_or(StreamingError::NoStreams {
            operation: "transform",
        })?;
        let slide = first.slide_duration();
        if let Some(other) = streams.iter().find(|s| s.slide_duration() != slide) {
            return Err(StreamingError::SlideMismatch {
                left: slide,
                right: other.slide_duration(),
            });
        }
        Ok(first.derive(TransformedMany {
            parents: streams.to_vec(),
            slide,
            f: Arc::new(f),
        }))
    }
}
