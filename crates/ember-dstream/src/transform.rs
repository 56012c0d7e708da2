//! Per-batch transformations: each applies an RDD operation to every batch
//! of its parent (or of two parents). `map`, `flat_map`, `filter`,
//! `map_partitions`, `glom`, `repartition`, `union`, `count`, `reduce`,
//! `count_by_value`, `transform` and `transform_with` live here.

use std::hash::Hash;
use std::sync::Arc;

use ember_rdd::{BoxIter, Data, Rdd};

use crate::dstream::{StreamCompute, StreamInfo};
use crate::{DStream, Duration, StreamingError, Time};

type BatchFn<T, U> = dyn Fn(&Rdd<T>, Time) -> Rdd<U> + Send + Sync;
type PairBatchFn<T, U, V> = dyn Fn(&Rdd<T>, &Rdd<U>, Time) -> Rdd<V> + Send + Sync;

/// A stream computed batch by batch from one parent.
struct Transformed<T, U> {
    name: &'static str,
    parent: DStream<T>,
    /// Whether a time the parent has no RDD for fails the batch (Spark's
    /// `transform`) instead of leaving this stream without one too (its
    /// `map`, `filter`, …).
    parent_required: bool,
    f: Arc<BatchFn<T, U>>,
}

impl<T: Data, U: Data> StreamCompute<U> for Transformed<T, U> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn slide(&self) -> Duration {
        self.parent.slide_duration()
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        vec![self.parent.info()]
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<U>>, StreamingError> {
        let parent = if self.parent_required {
            Some(self.parent.required_rdd(self.name, time)?)
        } else {
            self.parent.get_or_compute(time)?
        };
        Ok(parent.map(|rdd| (self.f)(&rdd, time)))
    }
}

/// A stream computed batch by batch from two parents of the same slide;
/// a time either parent has no RDD for fails the batch (Spark's
/// `transformWith`, `union`, joins).
struct Transformed2<T, U, V> {
    name: &'static str,
    left: DStream<T>,
    right: DStream<U>,
    f: Arc<PairBatchFn<T, U, V>>,
}

impl<T: Data, U: Data, V: Data> StreamCompute<V> for Transformed2<T, U, V> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn slide(&self) -> Duration {
        self.left.slide_duration()
    }
    fn parents(&self) -> Vec<Arc<dyn StreamInfo>> {
        vec![self.left.info(), self.right.info()]
    }
    fn compute(&self, time: Time) -> Result<Option<Rdd<V>>, StreamingError> {
        let left = self.left.required_rdd(self.name, time)?;
        let right = self.right.required_rdd(self.name, time)?;
        Ok(Some((self.f)(&left, &right, time)))
    }
}

impl<T: Data> DStream<T> {
    /// A stream whose every batch is `f(batch, time)`; `name` shows in logs.
    pub(crate) fn transform_named<U: Data>(
        &self,
        name: &'static str,
        f: impl Fn(&Rdd<T>, Time) -> Rdd<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.derive(Transformed {
            name,
            parent: self.clone(),
            parent_required: false,
            f: Arc::new(f),
        })
    }

    /// A stream combining this one's and `other`'s batch at each time.
    pub(crate) fn transform_with_named<U: Data, V: Data>(
        &self,
        name: &'static str,
        other: &DStream<U>,
        f: impl Fn(&Rdd<T>, &Rdd<U>, Time) -> Rdd<V> + Send + Sync + 'static,
    ) -> Result<DStream<V>, StreamingError> {
        let (left, right) = (self.slide_duration(), other.slide_duration());
        if left != right {
            return Err(StreamingError::SlideMismatch { left, right });
        }
        Ok(self.derive(Transformed2 {
            name,
            left: self.clone(),
            right: other.clone(),
            f: Arc::new(f),
        }))
    }

    /// Applies `f` to every element.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec![1, 2], vec![3]], |s| s.map(|x| x * 10), 2)?;
    /// assert_eq!(out, vec![vec![10, 20], vec![30]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> DStream<U> {
        let f = Arc::new(f);
        self.transform_named("map", move |rdd, _| {
            let f = Arc::clone(&f);
            rdd.map(move |x| f(x))
        })
    }

    /// Applies `f` to every element and flattens the results.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let lines = vec![vec!["a b".to_string(), "c".to_string()]];
    /// let out = run_operation(lines, |s| {
    ///     s.flat_map(|l: String| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
    /// }, 1)?;
    /// assert_eq!(out, vec![vec!["a", "b", "c"]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.transform_named("flat_map", move |rdd, _| {
            let f = Arc::clone(&f);
            rdd.flat_map(move |x| f(x))
        })
    }

    /// Keeps the elements for which `f` is true.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec![1, 2, 3, 4]], |s| s.filter(|x| x % 2 == 0), 1)?;
    /// assert_eq!(out, vec![vec![2, 4]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn filter(&self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> DStream<T> {
        let f = Arc::new(f);
        self.transform_named("filter", move |rdd, _| {
            let f = Arc::clone(&f);
            rdd.filter(move |x| f(x))
        })
    }

    /// Applies `f` to each partition's iterator of each batch.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// // the test harness spreads each batch over 2 partitions
    /// let out = run_operation(vec![vec![1, 2, 3, 4]], |s| {
    ///     s.map_partitions(|it| std::iter::once(it.sum::<i32>()))
    /// }, 1)?;
    /// assert_eq!(out, vec![vec![3, 7]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn map_partitions<U: Data, I>(
        &self,
        f: impl Fn(BoxIter<T>) -> I + Send + Sync + 'static,
    ) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.transform_named("map_partitions", move |rdd, _| {
            let f = Arc::clone(&f);
            rdd.map_partitions(move |it| f(it))
        })
    }

    /// One vector per partition of each batch.
    pub fn glom(&self) -> DStream<Vec<T>> {
        self.transform_named("glom", |rdd, _| rdd.glom())
    }

    /// Every batch redistributed over `num_partitions` partitions.
    pub fn repartition(&self, num_partitions: usize) -> DStream<T> {
        self.transform_named("repartition", move |rdd, _| rdd.repartition(num_partitions))
    }

    /// Each batch of this stream followed by `other`'s batch of the same
    /// time. The two must slide at the same rate; a time either generates
    /// no RDD for fails that batch ([`StreamingError::MissingParentRdd`]).
    ///
    /// ```
    /// use ember_dstream::testing::run_operation2;
    /// let out = run_operation2(vec![vec![1]], vec![vec![2, 3]], |a, b| a.union(&b), 1)?;
    /// assert_eq!(out, vec![vec![1, 2, 3]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn union(&self, other: &DStream<T>) -> Result<DStream<T>, StreamingError> {
        self.transform_with_named("union", other, |a, b, _| a.union(b))
    }

    /// The number of elements of each batch: one element, `0` for an
    /// empty batch.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec!['a', 'b'], vec![]], |s| s.count(), 2)?;
    /// assert_eq!(out, vec![vec![2], vec![0]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn count(&self) -> DStream<u64> {
        self.transform_named("count", |rdd, _| {
            // Partial counts meet in one partition through a (tiny) shuffle:
            // `coalesce(1)` would pull the whole upstream chain into one task.
            rdd.map_partitions(|it| std::iter::once(it.count() as u64))
                .repartition(1)
                .map_partitions(|it| std::iter::once(it.sum::<u64>()))
        })
    }

    /// Each batch merged into one element with `f`; an empty batch gives
    /// nothing.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec![1, 2, 3], vec![]], |s| s.reduce(|a, b| a + b), 2)?;
    /// assert_eq!(out, vec![vec![6], vec![]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> DStream<T> {
        let f = Arc::new(f);
        self.transform_named("reduce", move |rdd, _| {
            let (f1, f2) = (Arc::clone(&f), Arc::clone(&f));
            rdd.map_partitions(move |it| it.reduce(|a, b| f1(a, b)))
                .repartition(1)
                .map_partitions(move |it| it.reduce(|a, b| f2(a, b)))
        })
    }

    /// How many times each distinct element occurs in each batch.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let input = vec![vec!["a".to_owned(), "b".to_owned(), "a".to_owned()]];
    /// let out = run_operation(input, |s| s.count_by_value(), 1)?;
    /// let mut batch = out[0].clone();
    /// batch.sort();
    /// assert_eq!(batch, vec![("a".to_owned(), 2), ("b".to_owned(), 1)]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn count_by_value(&self) -> DStream<(T, u64)>
    where
        T: Hash + Eq,
    {
        let partitions = self.rdd_context().default_parallelism();
        self.transform_named("count_by_value", move |rdd, _| {
            rdd.map(|x| (x, 1u64))
                .reduce_by_key_with_partitions(|a, b| a + b, partitions)
        })
    }

    /// Each batch replaced by `f(batch, time)`: any RDD operation per batch.
    /// A time the parent generates no RDD for fails that batch
    /// ([`StreamingError::MissingParentRdd`]), as in Spark.
    ///
    /// ```
    /// use ember_dstream::testing::run_operation;
    /// let out = run_operation(vec![vec![3, 1, 2]], |s| s.transform(|rdd, _time| rdd.sort_by(|x| *x, true)), 1)?;
    /// assert_eq!(out, vec![vec![1, 2, 3]]);
    /// # Ok::<(), ember_dstream::StreamingError>(())
    /// ```
    pub fn transform<U: Data>(
        &self,
        f: impl Fn(&Rdd<T>, Time) -> Rdd<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.derive(Transformed {
            name: "transform",
            parent: self.clone(),
            parent_required: true,
            f: Arc::new(f),
        })
    }

    /// Each pair of batches (this stream's and `other`'s at the same time)
    /// replaced by `f(batch, other_batch, time)`. A time either stream
    /// generates no RDD for fails that batch
    /// ([`StreamingError::MissingParentRdd`]), as in Spark.
    pub fn transform_with<U: Data, V: Data>(
        &self,
        other: &DStream<U>,
        f: impl Fn(&Rdd<T>, &Rdd<U>, Time) -> Rdd<V> + Send + Sync + 'static,
    ) -> Result<DStream<V>, StreamingError> {
        self.transform_with_named("transform_with", other, f)
    }
}
