//! Window operations: `window` (the union of the parent's batches in
//! `(t - window, t]`, every slide) and the windowed aggregations built on it.
//! A window or slide that is not a multiple of the parent's slide is an
//! error when the stream is defined.

use std::sync::Arc;

use ember_rdd::{Data, Rdd};

use crate::dstream::{StreamCompute, StreamInfo};
use crate::{DStream, Duration, StreamingError, Time};

/// Checks a window/slide pair against the parent's slide.
pub(crate) fn check_window(
    parent_slide: Duration,
    window: Duration,
    slide: Duration,
) -> Result<(), StreamingError> {
    if window.is_zero() {
        return Err(StreamingError::ZeroDuration {
            what: "the window duration",
        });
    }
    if slide.is_zero() {
        return Err(StreamingError::ZeroDuration {
            what: "the slide duration",
        });
    }
    if !window.is_multiple_of(parent_slide) {
        return Err(StreamingError::WindowNotMultiple {
            window,
            parent_slide,
        });
    }
    if !slide.is_multiple_of(parent_slide) {
        return Err(StreamingError::SlideNotMultiple {
            slide,
            parent_slide,
        });
    }
    Ok(())
}

/// Spark's `WindowedDStream`.
struct Windowed<T> {
    parent: DStream<T>,
    window: Duration,
    slide: Duration,
}

impl<T: Data> StreamCompute<T> for Windowed<T> {
    fn name(&self) -> &'static str {
        "window"
    }
    fn slide(&self) -> Duration {
        self.slide
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        vec![self.parent.info()]
    }
    fn parent_remember_extra(&self) -> Duration {
        self.window
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<T>>, StreamingError> {
        let rdds = self.parent.slice(time - self.window, time)?;
        Ok(Some(self.parent.rdd_context().union(&rdds)))
    }
}

impl<T: Data> DStream<T> {
    /// Every `slide`, the union of this stream's batches of the last
    /// `window`. Both must be multiples of this stream's slide.
    ///
    /// ```
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let out = run_operation(
    ///     vec![vec![1], vec![2], vec![3]],
    ///     |s| s.window(Duration::from_secs(2), Duration::from_secs(1)),
    ///     4,
    /// )?;
    /// assert_eq!(out, vec![vec![1], vec![1, 2], vec![2, 3], vec![3]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn window(&self, window: Duration, slide: Duration) -> Result<DStream<T>, StreamingError> {
        check_window(self.slide_duration(), window, slide)?;
        Ok(self.derive(Windowed {
            parent: self.clone(),
            window,
            slide,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_errors_name_both_durations() {
        let batch = Duration::from_secs(1);
        let err = check_window(batch, Duration::from_millis(1500), batch).unwrap_err();
        assert_eq!(
            err.to_string(),
            "window duration 1500 ms must be a multiple of the parent's slide duration 1000 ms"
        );
        let err =
            check_window(batch, Duration::from_secs(2), Duration::from_millis(500)).unwrap_err();
        assert!(
            matches!(err, StreamingError::SlideNotMultiple { .. }),
            "{err}"
        );
        assert!(check_window(batch, Duration::ZERO, batch).is_err());
        assert!(check_window(batch, Duration::from_secs(3), Duration::from_secs(2)).is_ok());
    }
}
