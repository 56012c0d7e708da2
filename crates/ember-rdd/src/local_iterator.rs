//! `to_local_iterator`: the elements brought to the caller one partition at
//! a time (a job per partition, run when the iterator reaches it), so that
//! at most one partition is held in memory, as Spark's `toLocalIterator`.

use crate::scheduler::run_job;
use crate::{Data, JobError, Rdd};

/// The iterator [`Rdd::to_local_iterator`] returns: each element as `Ok`;
/// when the job of a partition fails, its error once, and then the end.
pub struct LocalIterator<T> {
    rdd: Rdd<T>,
    next_partition: usize,
    current: std::vec::IntoIter<T>,
    failed: bool,
}

impl<T: Data> Iterator for LocalIterator<T> {
    type Item = Result<T, JobError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(x) = self.current.next() {
                return Some(Ok(x));
            }
            if self.failed || self.next_partition >= self.rdd.num_partitions() {
                return None;
            }
            let partition = self.next_partition;
            self.next_partition += 1;
            match run_job(&self.rdd, &[partition], |_, iter| {
                Ok(iter.collect::<Vec<T>>())
            }) {
                Ok(parts) => {
                    self.current = parts.into_iter().flatten().collect::<Vec<T>>().into_iter()
                }
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

impl<T: Data> Rdd<T> {
    /// An iterator over the elements in partition order that runs one job
    /// per partition as it reaches it, holding one partition at a time.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rdd = ctx.parallelize((1..=5).collect(), 3);
    /// let all = rdd.to_local_iterator().collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(all, vec![1, 2, 3, 4, 5]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn to_local_iterator(&self) -> LocalIterator<T> {
        LocalIterator {
            rdd: self.clone(),
            next_partition: 0,
            current: Vec::new().into_iter(),
            failed: false,
        }
    }
}
