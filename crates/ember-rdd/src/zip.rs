//! Zipping: `zip` pairs two RDDs element by element (same number of
//! partitions, same number of elements in each, as Spark requires), and
//! `zip_with_index` / `zip_with_unique_id` number the elements.

use crate::{BoxIter, Data, Dependency, JobError, Rdd, RddCompute, TaskContext};

/// Spark's `ZippedPartitionsRDD2` for `zip`: partition i pairs the
/// elements of partition i of both parents.
struct ZippedCompute<T, U> {
    left: Rdd<T>,
    right: Rdd<U>,
}

impl<T: Data, U: Data> RddCompute<(T, U)> for ZippedCompute<T, U> {
    fn kind(&self) -> &'static str {
        "ZippedPartitionsRDD2"
    }
    fn num_partitions(&self) -> usize {
        self.left.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::OneToOne(self.left.info()),
            Dependency::OneToOne(self.right.info()),
        ]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<(T, U)>, JobError> {
        let left: Vec<T> = self.left.iterator(partition, task)?.collect();
        let right: Vec<U> = self.right.iterator(partition, task)?.collect();
        if left.len() != right.len() {
            return Err(JobError::ZipElements {
                partition,
                left: left.len(),
                right: right.len(),
            });
        }
        Ok(Box::new(left.into_iter().zip(right)))
    }
}

impl<T: Data> Rdd<T> {
    /// Pairs the i-th element of this RDD with the i-th of `other`. Both
    /// must have the same number of partitions (else
    /// [`JobError::ZipPartitions`], at once) and the same number of
    /// elements in each (else a job over the result fails with
    /// [`JobError::ZipElements`]), as in Spark.
    ///
    /// ```
    /// use ember_rdd::JobError;
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let numbers = ctx.parallelize(vec![1, 2, 3], 2);
    /// let letters = numbers.map(|n| char::from(b'a' + n as u8));
    /// assert_eq!(numbers.zip(&letters)?.collect()?, vec![(1, 'b'), (2, 'c'), (3, 'd')]);
    /// let three = ctx.parallelize(vec![1, 2, 3], 3);
    /// assert!(matches!(numbers.zip(&three), Err(JobError::ZipPartitions { left: 2, right: 3 })));
    /// let fewer = numbers.zip(&numbers.filter(|n| *n != 3))?;
    /// assert!(matches!(fewer.collect(), Err(JobError::ZipElements { partition: 1, left: 2, right: 1 })));
    /// # Ok::<(), JobError>(())
    /// ```
    pub fn zip<U: Data>(&self, other: &Rdd<U>) -> Result<Rdd<(T, U)>, JobError> {
        let (left, right) = (self.num_partitions(), other.num_partitions());
        if left != right {
            return Err(JobError::ZipPartitions { left, right });
        }
        Ok(self.derive(
            "zip",
            ZippedCompute {
                left: self.clone(),
                right: other.clone(),
            },
        ))
    }

    /// Each element with its index in the RDD's order (partition by
    /// partition). Like Spark's `zipWithIndex`, this runs a job at once to
    /// count the elements of every partition but the last.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let indexed = ctx.parallelize(vec!['a', 'b', 'c'], 2).zip_with_index()?;
    /// assert_eq!(indexed.collect()?, vec![('a', 0), ('b', 1), ('c', 2)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn zip_with_index(&self) -> Result<Rdd<(T, u64)>, JobError> {
        let partitions = self.num_partitions();
        let counted: Vec<usize> = (0..partitions.saturating_sub(1)).collect();
        let counts = crate::scheduler::run_job(self, &counted, |_, iter| Ok(iter.count() as u64))?;
        let starts: Vec<u64> = std::iter::once(0)
            .chain(counts.iter().scan(0u64, |start, count| {
                *start += count;
                Some(*start)
            }))
            .collect();
        Ok(self.map_partitions_with_index(move |index, iter| {
            let start = starts.get(index).copied().unwrap_or(0);
            iter.zip(start..)
        }))
    }

    /// Each element with a unique id: the k-th element of partition i of
    /// n gets `k * n + i` (Spark's `zipWithUniqueId`). The ids have gaps
    /// but need no job to compute.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let ids = ctx.parallelize(vec!['a', 'b', 'c'], 2).zip_with_unique_id();
    /// assert_eq!(ids.collect()?, vec![('a', 0), ('b', 1), ('c', 3)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn zip_with_unique_id(&self) -> Rdd<(T, u64)> {
        let n = self.num_partitions() as u64;
        self.map_partitions_with_index(move |index, iter| {
            iter.zip(0u64..)
                .map(move |(x, k)| (x, k * n + index as u64))
        })
    }
}
