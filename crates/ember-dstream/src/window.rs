//! Window operations: `window` (the union of the parent's batches in
//! `(t - window, t]`, every slide) and the windowed aggregations built on
//! it (`reduce_by_window`, `reduce_by_key_and_window`,
//! `group_by_key_and_window`, the counts).
//! A window or slide that is not a multiple of the parent's slide is an
//! error when the stream is defined. The incremental window
//! (`reduce_by_key_and_window_inv` and what is built on it:
//! `reduce_by_window_inv` and the windowed counts) is a state stream: it
//! takes part in the context's checkpoints.

use std::hash::Hash;
use std::sync::{Arc, Once, OnceLock, Weak};

use ember_rdd::{Data, Rdd, StorageLevel};

use crate::dstream::{StreamCompute, StreamCore, StreamInfo};
use crate::state::warn_without_checkpoint;
use crate::state_checkpoint::register_window;
use crate::{DStream, Duration, StateData, StreamResult, StreamingError, Time};

/// A shared reduce (or inverse reduce) function.
type ReduceFn<V> = Arc<dyn Fn(V, V) -> V + Send + Sync>;
/// A shared filter over windowed pairs.
type PairFilter<K, V> = Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>;
/// A stream's weak reference to itself, set once it exists.
type SelfRef<T> = Arc<OnceLock<Weak<StreamCore<T>>>>;

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
    fn details(&self) -> Option<String> {
        Some(format!("window {}", self.window))
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
        // (t - window, t] is [t - window + parent slide, t] in `slice`'s
        // inclusive terms.
        let from = (time + self.parent.slide_duration()) - self.window;
        let rdds = self.parent.slice(from, time)?;
        Ok(Some(self.parent.rdd_context().union(&rdds)))
    }
}

impl<T: Data> DStream<T> {
    /// Every `slide`, the union of this stream's batches of the last
    /// `window`. Both must be multiples of this stream's slide. This stream
    /// is [cached](DStream::cache) from then on (unless it already has a
    /// storage level), so each of its batches is computed once however many
    /// windows it falls in.
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
        // Each parent batch is read by every window it falls in: keep it
        // (Spark's `WindowedDStream` persists its parent too).
        if self.storage_level() == StorageLevel::None {
            self.cache();
        }
        Ok(self.derive(Windowed {
            parent: self.clone(),
            window,
            slide,
        }))
    }
}

/// Each batch of the parent reduced by key and kept in memory: the
/// per-batch sums that an incremental window adds when they enter and
/// subtracts when they leave (Spark's `reducedStream`, persisted).
struct ReducedBatches<K, V> {
    parent: DStream<(K, V)>,
    f: ReduceFn<V>,
    partitions: usize,
}

impl<K: Data + Hash + Eq, V: Data> StreamCompute<(K, V)> for ReducedBatches<K, V> {
    fn name(&self) -> &'static str {
        "reduce_by_key"
    }
    fn slide(&self) -> Duration {
        self.parent.slide_duration()
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        vec![self.parent.info()]
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<(K, V)>>, StreamingError> {
        Ok(self.parent.get_or_compute(time)?.map(|rdd| {
            let f = Arc::clone(&self.f);
            let reduced = rdd.reduce_by_key_with_partitions(move |a, b| f(a, b), self.partitions);
            reduced.cache();
            reduced
        }))
    }
}

/// Where a value of the incremental window's merge comes from.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Part<V> {
    /// The previous window's value.
    Previous(V),
    /// A batch leaving the window.
    Leaving(V),
    /// A batch entering the window.
    Entering(V),
}

/// One key's values in the incremental window's merge, each side already
/// reduced with `f`.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Merge<V> {
    previous: Option<V>,
    leaving: Option<V>,
    entering: Option<V>,
}

fn merge_opt<V>(f: &ReduceFn<V>, a: Option<V>, b: Option<V>) -> Option<V> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl<V> Merge<V> {
    fn empty() -> Self {
        Merge {
            previous: None,
            leaving: None,
            entering: None,
        }
    }

    fn add(mut self, f: &ReduceFn<V>, part: Part<V>) -> Self {
        match part {
            // A key has one value in the previous window's RDD.
            Part::Previous(v) => self.previous = Some(v),
            Part::Leaving(v) => self.leaving = merge_opt(f, self.leaving.take(), Some(v)),
            Part::Entering(v) => self.entering = merge_opt(f, self.entering.take(), Some(v)),
        }
        self
    }

    fn combine(self, f: &ReduceFn<V>, other: Merge<V>) -> Self {
        Merge {
            previous: self.previous.or(other.previous),
            leaving: merge_opt(f, self.leaving, other.leaving),
            entering: merge_opt(f, self.entering, other.entering),
        }
    }

    /// Spark's `mergeValues`: the previous value, minus what left, plus what
    /// entered; without a previous value, what entered. A key that only
    /// left (possible when a filter dropped it earlier) is gone.
    fn finish(self, f: &ReduceFn<V>, inv: &ReduceFn<V>) -> Option<V> {
        match self.previous {
            None => self.entering,
            Some(previous) => {
                let value = match self.leaving {
                    Some(leaving) => inv(previous, leaving),
                    None => previous,
                };
                Some(match self.entering {
                    Some(entering) => f(value, entering),
                    None => value,
                })
            }
        }
    }
}

/// Spark's `ReducedWindowedDStream`: the window's per-key reduction at
/// time `t` is the one at `t - slide`, minus (`inv`) the batches that left
/// the window, plus (`f`) those that entered it. Only the leaving and
/// entering batches are read, however long the window.
struct ReducedWindowed<K, V> {
    reduced: DStream<(K, V)>,
    this: SelfRef<(K, V)>,
    f: ReduceFn<V>,
    inv: ReduceFn<V>,
    filter: Option<PairFilter<K, V>>,
    window: Duration,
    slide: Duration,
    partitions: usize,
    warned: Once,
}

impl<K: Data + Hash + Eq, V: Data> StreamCompute<(K, V)> for ReducedWindowed<K, V> {
    fn name(&self) -> &'static str {
        "reduce_by_key_and_window_inv"
    }
    fn details(&self) -> Option<String> {
        Some(format!("window {}", self.window))
    }
    fn slide(&self) -> Duration {
        self.slide
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        vec![self.reduced.info()]
    }
    fn parent_remember_extra(&self) -> Duration {
        self.window
    }
    fn is_stateful(&self) -> bool {
        true
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<(K, V)>>, StreamingError> {
        warn_without_checkpoint(&self.reduced, &self.warned, "reduce_by_key_and_window_inv");
        let (window, slide) = (self.window, self.slide);
        let ctx = self.reduced.rdd_context();
        // The previous window is (t - slide - window, t - slide], the
        // current one (t - window, t]. When they overlap (slide <= window)
        // the batches leaving are (t - slide - window, t - window] and those
        // entering (t - slide, t]; otherwise the whole previous window
        // leaves and the whole current one enters.
        let leaving_to = (time - window).min(time - slide);
        let entering_from = (time - slide).max(time - window);
        // `slice` includes both ends: each open start moves up one of the
        // reduced stream's slides.
        let step = self.reduced.slide_duration();
        let leaving = self
            .reduced
            .slice((time + step) - slide - window, leaving_to)?;
        let entering = self.reduced.slice(entering_from + step, time)?;
        let this = self
            .this
            .get()
            .and_then(Weak::upgrade)
            .map(|core| DStream { core })
            .ok_or(StreamingError::ContextDropped)?;
        // `None` before the first slide (the time is then not after the
        // zero time).
        let previous = this.get_or_compute(time - slide)?;
        let mut parts = Vec::with_capacity(3);
        if let Some(previous) = previous {
            parts.push(previous.map_values(Part::Previous));
        }
        if !leaving.is_empty() {
            parts.push(ctx.union(&leaving).map_values(Part::Leaving));
        }
        if !entering.is_empty() {
            parts.push(ctx.union(&entering).map_values(Part::Entering));
        }
        let (f1, f2, f3, inv) = (
            Arc::clone(&self.f),
            Arc::clone(&self.f),
            Arc::clone(&self.f),
            Arc::clone(&self.inv),
        );
        let merged = ctx
            .union(&parts)
            .combine_by_key(
                move |part| Merge::empty().add(&f1, part),
                move |merge, part| merge.add(&f2, part),
                move |a, b| a.combine(&f3, b),
                Some(self.partitions),
            )
            .flat_map({
                let f = Arc::clone(&self.f);
                move |(k, merge): (K, Merge<V>)| merge.finish(&f, &inv).map(|v| (k, v))
            });
        Ok(Some(match &self.filter {
            Some(filter) => {
                let filter = Arc::clone(filter);
                merged.filter(move |kv| filter(kv))
            }
            None => merged,
        }))
    }
}

impl<T: Data> DStream<T> {
    /// Every `slide`, the number of elements in the last `window` (Spark's
    /// `countByWindow`). Computed incrementally like
    /// [`reduce_by_key_and_window_inv`](DStream::reduce_by_key_and_window_inv)
    /// without a filter, as Spark does: nothing is output until data was
    /// seen, then one count every slide, `0` for an empty window.
    ///
    /// ```
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let out = run_operation(
    ///     vec![vec![], vec!['a', 'b'], vec!['c'], vec![]],
    ///     |s| s.count_by_window(Duration::from_secs(2), Duration::from_secs(1)),
    ///     5,
    /// )?;
    /// assert_eq!(out, vec![vec![], vec![2], vec![3], vec![1], vec![0]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn count_by_window(&self, window: Duration, slide: Duration) -> StreamResult<u64> {
        check_window(self.slide_duration(), window, slide)?;
        let counts = self.map(|_| ((), 1u64)).reduce_by_key_and_window_inv_with(
            |a, b| a + b,
            |a, b| a.saturating_sub(b),
            window,
            slide,
            None,
            1,
        )?;
        Ok(counts.map(|((), n)| n))
    }

    /// Every `slide`, the elements of the last `window` merged into one
    /// with `f`, computed incrementally (Spark's `reduceByWindow` with an
    /// inverse function): the previous window's value, minus (`inv_f`) the
    /// batches that left the window, plus (`f`) those that entered, so the
    /// cost per slide does not grow with the window. `inv_f(f(a, b), b)`
    /// must equal `a`.
    ///
    /// As in Spark (which reduces the elements under one key with
    /// [`reduce_by_key_and_window_inv`](DStream::reduce_by_key_and_window_inv)
    /// and no filter), nothing is output until a window held data; from
    /// then on one value every slide, and an empty window gives what the
    /// inverse leaves: `0` for sums, where
    /// [`reduce_by_window`](DStream::reduce_by_window) gives nothing. A
    /// state stream, hence the [`StateData`] elements. Both durations must
    /// be multiples of this stream's slide.
    ///
    /// ```
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let out = run_operation(
    ///     vec![vec![], vec![1, 2], vec![3], vec![]],
    ///     |s| s.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, Duration::from_secs(2), Duration::from_secs(1)),
    ///     5,
    /// )?;
    /// assert_eq!(out, vec![vec![], vec![3], vec![6], vec![3], vec![0]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn reduce_by_window_inv(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        inv_f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> StreamResult<T>
    where
        T: StateData,
    {
        check_window(self.slide_duration(), window, slide)?;
        let reduced = self
            .map(|x| ((), x))
            .reduce_by_key_and_window_inv_with(f, inv_f, window, slide, None, 1)?;
        Ok(reduced.map(|((), x)| x))
    }

    /// Every `slide`, the elements of the last `window` merged into one
    /// with `f` (nothing for an empty window). Both durations must be
    /// multiples of this stream's slide.
    ///
    /// ```
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let out = run_operation(
    ///     vec![vec![1, 2], vec![3], vec![], vec![]],
    ///     |s| s.reduce_by_window(|a, b| a + b, Duration::from_secs(2), Duration::from_secs(1)),
    ///     4,
    /// )?;
    /// assert_eq!(out, vec![vec![3], vec![6], vec![3], vec![]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn reduce_by_window(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> StreamResult<T> {
        check_window(self.slide_duration(), window, slide)?;
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        Ok(self
            .reduce(move |a, b| f(a, b))
            .window(window, slide)?
            .reduce(move |a, b| g(a, b)))
    }
}

impl<K: Data + Hash + Eq, V: Data> DStream<(K, V)> {
    /// Every `slide`, the values of each key over the last `window` merged
    /// with `f` (Spark's `reduceByKeyAndWindow`): each batch is reduced by
    /// key, the window of reduced batches is reduced again. Both durations
    /// must be multiples of this stream's slide.
    ///
    /// ```
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let out = run_operation(
    ///     vec![
    ///         vec![("a".to_owned(), 1), ("b".to_owned(), 1)],
    ///         vec![("a".to_owned(), 1)],
    ///         vec![],
    ///     ],
    ///     |s| s.reduce_by_key_and_window(|x, y| x + y, Duration::from_secs(2), Duration::from_secs(1)),
    ///     3,
    /// )?;
    /// let sorted: Vec<Vec<_>> = out.into_iter().map(|mut b| { b.sort(); b }).collect();
    /// assert_eq!(sorted, vec![
    ///     vec![("a".to_owned(), 1), ("b".to_owned(), 1)],
    ///     vec![("a".to_owned(), 2), ("b".to_owned(), 1)],
    ///     vec![("a".to_owned(), 1)],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn reduce_by_key_and_window(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
    ) -> StreamResult<(K, V)> {
        check_window(self.slide_duration(), window, slide)?;
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        Ok(self
            .reduce_by_key(move |a, b| f(a, b))
            .window(window, slide)?
            .reduce_by_key(move |a, b| g(a, b)))
    }

    /// Every `slide`, all values of each key over the last `window`
    /// (Spark's `groupByKeyAndWindow`): each batch is grouped by key, the
    /// window of grouped batches is merged by key. A key is present only
    /// while the window holds one of its values; its values come in no
    /// particular order. Both durations must be multiples of this stream's
    /// slide.
    ///
    /// ```
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let out = run_operation(
    ///     vec![
    ///         vec![("a".to_owned(), 1), ("b".to_owned(), 1)],
    ///         vec![("a".to_owned(), 2)],
    ///         vec![],
    ///     ],
    ///     |s| s.group_by_key_and_window(Duration::from_secs(2), Duration::from_secs(1)),
    ///     3,
    /// )?;
    /// let sorted: Vec<Vec<_>> = out.into_iter().map(|b| {
    ///     let mut b: Vec<_> = b.into_iter().map(|(k, mut vs)| { vs.sort(); (k, vs) }).collect();
    ///     b.sort();
    ///     b
    /// }).collect();
    /// assert_eq!(sorted, vec![
    ///     vec![("a".to_owned(), vec![1]), ("b".to_owned(), vec![1])],
    ///     vec![("a".to_owned(), vec![1, 2]), ("b".to_owned(), vec![1])],
    ///     vec![("a".to_owned(), vec![2])],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn group_by_key_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> StreamResult<(K, Vec<V>)> {
        check_window(self.slide_duration(), window, slide)?;
        let append = |mut all: Vec<V>, more: Vec<V>| {
            all.extend(more);
            all
        };
        Ok(self.group_by_key().window(window, slide)?.combine_by_key(
            |group| group,
            append,
            append,
            None,
        ))
    }

    /// Every `slide`, the values of each key over the last `window`,
    /// computed incrementally (Spark's `reduceByKeyAndWindow` with an
    /// inverse function): the previous window's result, minus (`inv_f`)
    /// the batches that left the window, plus (`f`) those that entered.
    /// Only those batches are read, so the cost per slide does not grow
    /// with the window. `inv_f(f(a, b), b)` must equal `a`.
    ///
    /// A key whose value fell back to the inverse's zero stays (as
    /// `("a", 0)`) unless `filter_fn` drops it; a key the filter drops is
    /// forgotten (it comes back with only the values that enter later), so
    /// the filter should drop only keys that hold nothing, such as zero
    /// counts. Pass `None` for no filter, or `Some(Arc::new(|kv| …))`.
    ///
    /// The result is kept in memory from one slide to the next, its lineage
    /// cut after each batch; the parent's reduced batches are remembered for
    /// the window's length. Both durations must be multiples of this
    /// stream's slide.
    ///
    /// It is a state stream: with a checkpoint directory, every checkpoint
    /// holds its last window and the reduced batches that later windows
    /// will still subtract, so a recovered context outputs exactly the
    /// windows an uninterrupted run would (interval:
    /// [`DStream::checkpoint`]). Hence keys and values are [`StateData`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let input = vec![vec![('a', 1), ('b', 1)], vec![('b', 1)], vec![]];
    /// let (window, slide) = (Duration::from_secs(2), Duration::from_secs(1));
    /// let sorted = |out: Vec<Vec<(char, i64)>>| -> Vec<Vec<(char, i64)>> {
    ///     out.into_iter().map(|mut b| { b.sort(); b }).collect()
    /// };
    /// let kept = run_operation(input.clone(), |s| {
    ///     s.reduce_by_key_and_window_inv(|x, y| x + y, |x, y| x - y, window, slide, None)
    /// }, 4)?;
    /// assert_eq!(sorted(kept), vec![
    ///     vec![('a', 1), ('b', 1)],
    ///     vec![('a', 1), ('b', 2)],
    ///     vec![('a', 0), ('b', 1)],
    ///     vec![('a', 0), ('b', 0)],
    /// ]);
    /// let filtered = run_operation(input, |s| {
    ///     s.reduce_by_key_and_window_inv(|x, y| x + y, |x, y| x - y, window, slide,
    ///         Some(Arc::new(|(_, n): &(char, i64)| *n != 0)))
    /// }, 4)?;
    /// assert_eq!(sorted(filtered), vec![
    ///     vec![('a', 1), ('b', 1)],
    ///     vec![('a', 1), ('b', 2)],
    ///     vec![('b', 1)],
    ///     vec![],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    // The filter's type is spelled out so the signature documents itself.
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key_and_window_inv(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
        filter_fn: Option<Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>>,
    ) -> StreamResult<(K, V)>
    where
        K: StateData,
        V: StateData,
    {
        let partitions = self.rdd_context().default_parallelism();
        self.reduce_by_key_and_window_inv_with(f, inv_f, window, slide, filter_fn, partitions)
    }

    fn reduce_by_key_and_window_inv_with(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inv_f: impl Fn(V, V) -> V + Send + Sync + 'static,
        window: Duration,
        slide: Duration,
        filter: Option<PairFilter<K, V>>,
        partitions: usize,
    ) -> StreamResult<(K, V)>
    where
        K: StateData,
        V: StateData,
    {
        check_window(self.slide_duration(), window, slide)?;
        let f: ReduceFn<V> = Arc::new(f);
        let reduced = self.derive(ReducedBatches {
            parent: self.clone(),
            f: Arc::clone(&f),
            partitions,
        });
        let this = Arc::new(OnceLock::new());
        let stream = reduced.derive(ReducedWindowed {
            reduced: reduced.clone(),
            this: Arc::clone(&this),
            f,
            inv: Arc::new(inv_f),
            filter,
            window,
            slide,
            partitions,
            warned: Once::new(),
        });
        // A weak self-reference: the stream reads its own previous RDD.
        let _ = this.set(Arc::downgrade(&stream.core));
        register_window(&stream, &reduced, window, partitions);
        Ok(stream)
    }
}

impl<T: StateData + Hash + Eq> DStream<T> {
    /// Every `slide`, how many times each distinct element occurs in the
    /// last `window` (Spark's `countByValueAndWindow`), computed
    /// incrementally; elements whose count fell to zero are dropped. Both
    /// durations must be multiples of this stream's slide. A state stream
    /// like [`reduce_by_key_and_window_inv`](DStream::reduce_by_key_and_window_inv),
    /// hence the [`StateData`] elements.
    ///
    /// ```
    /// use ember_dstream::{Duration, testing::run_operation};
    /// let out = run_operation(
    ///     vec![vec!['a', 'b', 'a'], vec!['b'], vec![]],
    ///     |s| s.count_by_value_and_window(Duration::from_secs(2), Duration::from_secs(1)),
    ///     4,
    /// )?;
    /// let sorted: Vec<Vec<_>> = out.into_iter().map(|mut b| { b.sort(); b }).collect();
    /// assert_eq!(sorted, vec![
    ///     vec![('a', 2), ('b', 1)],
    ///     vec![('a', 2), ('b', 2)],
    ///     vec![('b', 1)],
    ///     vec![],
    /// ]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn count_by_value_and_window(
        &self,
        window: Duration,
        slide: Duration,
    ) -> StreamResult<(T, u64)> {
        check_window(self.slide_duration(), window, slide)?;
        self.map(|x| (x, 1u64)).reduce_by_key_and_window_inv(
            |a, b| a + b,
            |a, b| a.saturating_sub(b),
            window,
            slide,
            Some(Arc::new(|(_, n): &(T, u64)| *n > 0)),
        )
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
