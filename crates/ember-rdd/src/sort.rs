//! Sorting: `sort_by_key` and `sort_by` (also with a partition count, and
//! `sort_by_key_with` a key function), through a range partitioner whose
//! bounds come from sampling the keys just before the shuffle runs.

use std::sync::{Arc, OnceLock};

use crate::shuffle::bucket;
use crate::{BoxIter, Data, JobError, Partitioner, RangePartitioner, Rdd};

/// Samples at most this many keys per partition to choose the bounds.
const SAMPLE_PER_PARTITION: usize = 60;

/// A range partitioner whose bounds are found lazily by sampling `keys`.
struct SampledRangePartitioner<K> {
    keys: Rdd<K>,
    partitions: usize,
    ascending: bool,
    range: OnceLock<RangePartitioner<K>>,
}

impl<K: Data + Ord> Partitioner<K> for SampledRangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.partitions
    }

    fn partition(&self, key: &K) -> usize {
        self.range.get().map_or(0, |range| range.partition(key))
    }

    fn prepare(&self) -> Result<(), JobError> {
        if self.range.get().is_none() {
            let bounds = sample_bounds(&self.keys, self.partitions)?;
            // A concurrent job may have set it first; both computed the same bounds.
            let _ = self
                .range
                .set(RangePartitioner::new(bounds, self.ascending));
        }
        Ok(())
    }
}

/// Spark's `RangePartitioner.determineBounds`: a weighted sample per
/// partition (weight = partition size / sample size), cut at equal weights.
fn sample_bounds<K: Data + Ord>(keys: &Rdd<K>, partitions: usize) -> Result<Vec<K>, JobError> {
    let samples = keys
        .map_partitions_with_index(|index, iter| std::iter::once(reservoir(index, iter)))
        .collect()?;
    let mut weighted: Vec<(K, f64)> = samples
        .into_iter()
        .flat_map(|(count, sample)| {
            let weight = count as f64 / sample.len().max(1) as f64;
            sample.into_iter().map(move |k| (k, weight))
        })
        .collect();
    weighted.sort_by(|a, b| a.0.cmp(&b.0));
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let step = total / partitions as f64;
    let mut bounds: Vec<K> = Vec::new();
    let mut cumulative = 0.0;
    let mut target = step;
    for (key, weight) in weighted {
        if bounds.len() + 1 >= partitions {
            break;
        }
        cumulative += weight;
        if cumulative >= target && bounds.last().is_none_or(|last| key > *last) {
            bounds.push(key);
            target += step;
        }
    }
    Ok(bounds)
}

/// A uniform sample of at most `SAMPLE_PER_PARTITION` elements and the
/// partition's size; deterministic per partition.
fn reservoir<K>(index: usize, iter: BoxIter<K>) -> (u64, Vec<K>) {
    let mut state = (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut sample = Vec::with_capacity(SAMPLE_PER_PARTITION);
    let mut count = 0u64;
    for key in iter {
        count += 1;
        if sample.len() < SAMPLE_PER_PARTITION {
            sample.push(key);
        } else {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let slot = (state >> 33) % count;
            if let Some(kept) = sample.get_mut(slot as usize) {
                *kept = key;
            }
        }
    }
    (count, sample)
}

impl<K: Data + Ord, V: Data> Rdd<(K, V)> {
    /// Sorted by key (ascending or descending) across and within partitions,
    /// keeping the number of partitions; the sort is stable within a
    /// partition.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let sorted = ctx.parallelize(vec![(3, 'c'), (1, 'a'), (2, 'b')], 2).sort_by_key(false);
    /// assert_eq!(sorted.collect()?, vec![(3, 'c'), (2, 'b'), (1, 'a')]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sort_by_key(&self, ascending: bool) -> Rdd<(K, V)> {
        self.sort_by_key_with_partitions(ascending, self.num_partitions())
    }

    /// `sort_by_key` into `num_partitions` range partitions (at least 1).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let sorted = ctx.parallelize(vec![(3, 'c'), (1, 'a'), (2, 'b')], 1).sort_by_key_with_partitions(true, 3);
    /// assert_eq!(sorted.num_partitions(), 3);
    /// assert_eq!(sorted.collect()?, vec![(1, 'a'), (2, 'b'), (3, 'c')]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sort_by_key_with_partitions(
        &self,
        ascending: bool,
        num_partitions: usize,
    ) -> Rdd<(K, V)> {
        let partitioner = SampledRangePartitioner {
            keys: self.keys(),
            partitions: num_partitions.max(1),
            ascending,
            range: OnceLock::new(),
        };
        self.shuffle(
            "sort_by_key",
            Arc::new(partitioner),
            bucket,
            move |records| {
                let mut all: Vec<(K, V)> = records.collect();
                if ascending {
                    all.sort_by(|a, b| a.0.cmp(&b.0));
                } else {
                    all.sort_by(|a, b| b.0.cmp(&a.0));
                }
                Box::new(all.into_iter())
            },
        )
    }
}

impl<K: Data, V: Data> Rdd<(K, V)> {
    /// Sorted by the sort key `f` computes from each record's key, into
    /// `num_partitions` range partitions (pyspark's
    /// `sortByKey(ascending, numPartitions, keyfunc)`); records keep their
    /// keys, and the result has no partitioner (it is placed by the sort
    /// key, not the key).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![("B".to_owned(), 1), ("a".to_owned(), 2), ("C".to_owned(), 3)], 2);
    /// let sorted = pairs.sort_by_key_with(true, 2, |k| k.to_lowercase());
    /// assert_eq!(sorted.collect()?, vec![("a".to_owned(), 2), ("B".to_owned(), 1), ("C".to_owned(), 3)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sort_by_key_with<S: Data + Ord>(
        &self,
        ascending: bool,
        num_partitions: usize,
        f: impl Fn(&K) -> S + Send + Sync + 'static,
    ) -> Rdd<(K, V)> {
        self.sort_by_with_partitions(move |(k, _)| f(k), ascending, num_partitions)
    }
}

impl<T: Data> Rdd<T> {
    /// `sort_by` into `num_partitions` range partitions (at least 1).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ["ccc", "a", "bb"].map(String::from).to_vec();
    /// let words = ctx.parallelize(words, 1).sort_by_with_partitions(|w| w.len(), false, 2);
    /// assert_eq!(words.num_partitions(), 2);
    /// assert_eq!(words.collect()?, vec!["ccc", "bb", "a"]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sort_by_with_partitions<K: Data + Ord>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
        ascending: bool,
        num_partitions: usize,
    ) -> Rdd<T> {
        self.key_by(f)
            .sort_by_key_with_partitions(ascending, num_partitions)
            .values()
    }

    /// Sorted by the key `f` computes for each element.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ["ccc", "a", "bb"].map(String::from).to_vec();
    /// let words = ctx.parallelize(words, 2).sort_by(|w| w.len(), true);
    /// assert_eq!(words.collect()?, vec!["a", "bb", "ccc"]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn sort_by<K: Data + Ord>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
        ascending: bool,
    ) -> Rdd<T> {
        self.key_by(f).sort_by_key(ascending).values()
    }
}
