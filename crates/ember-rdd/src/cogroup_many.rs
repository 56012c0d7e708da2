//! `group_with`: the cogroup of this RDD with any number of others of the
//! same record type (Spark's `groupWith` / `cogroup` with several others):
//! one `CoGroupedRDD` whose parents already placed by its partitioner are
//! read in place and the others shuffled.

use std::hash::Hash;
use std::sync::Arc;

use crate::cogroup::CoGroupInput;
use crate::combine::{Combiners, INITIAL_KEYS};
use crate::partitioning::default_partitioner;
use crate::{BoxIter, Data, Dependency, JobError, Partitioner, Rdd, RddCompute, TaskContext};

/// A `CoGroupedRDD` over several parents: each key's values from each.
struct CoGroupedManyCompute<K, V> {
    num_partitions: usize,
    inputs: Vec<CoGroupInput<K, V>>,
}

impl<K: Data + Hash + Eq, V: Data> RddCompute<(K, Vec<Vec<V>>)> for CoGroupedManyCompute<K, V> {
    fn kind(&self) -> &'static str {
        "CoGroupedRDD"
    }
    fn num_partitions(&self) -> usize {
        self.num_partitions
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.inputs.iter().map(CoGroupInput::dependency).collect()
    }
    fn compute(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<BoxIter<(K, Vec<Vec<V>>)>, JobError> {
        let sides = self.inputs.len();
        let mut groups: Combiners<K, Vec<Vec<V>>> = Combiners::with_capacity(INITIAL_KEYS);
        for (side, input) in self.inputs.iter().enumerate() {
            groups.extend(
                input.read(partition, task)?,
                |v| {
                    let mut group = vec![Vec::new(); sides];
                    group[side].push(v);
                    group
                },
                |mut group, v| {
                    group[side].push(v);
                    group
                },
            );
        }
        Ok(Box::new(groups.into_entries().into_iter()))
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// For each key in this RDD or any of `others`, its values in each: a
    /// vector of `1 + others.len()` groups, this RDD's first (Spark's
    /// `groupWith`). The partitioner is chosen as for
    /// [`cogroup`](Self::cogroup); a parent already placed by it is not
    /// shuffled. For others of another value type, use `cogroup` or map the
    /// values into one enum.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let (x, y) = ("x".to_owned(), "y".to_owned());
    /// let a = ctx.parallelize(vec![(x.clone(), 1), (y.clone(), 2)], 2);
    /// let b = ctx.parallelize(vec![(x.clone(), 3)], 1);
    /// let c = ctx.parallelize(vec![(y.clone(), 4), (x.clone(), 5)], 2);
    /// let mut groups = a.group_with(&[b, c]).collect()?;
    /// groups.sort();
    /// assert_eq!(groups, vec![(x, vec![vec![1], vec![3], vec![5]]), (y, vec![vec![2], vec![], vec![4]])]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn group_with(&self, others: &[Rdd<(K, V)>]) -> Rdd<(K, Vec<Vec<V>>)> {
        let parents: Vec<&Rdd<(K, V)>> = std::iter::once(self).chain(others).collect();
        let placements: Vec<_> = parents
            .iter()
            .map(|rdd| (rdd.num_partitions(), rdd.partitioner()))
            .collect();
        self.group_with_partitioner(others, default_partitioner(&placements))
    }

    /// `group_with` into the partitions `partitioner` chooses; parents
    /// already placed by an equivalent partitioner are read in place, and
    /// the result is placed by `partitioner`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ember_rdd::{HashPartitioner, Partitioner};
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let by_3: Arc<dyn Partitioner<char>> = Arc::new(HashPartitioner::new(3));
    /// let a = ctx.parallelize(vec![('x', 1)], 1);
    /// let groups = a.group_with_partitioner(&[ctx.parallelize(vec![('x', 2)], 2)], by_3);
    /// assert_eq!(groups.num_partitions(), 3);
    /// assert_eq!(groups.collect()?, vec![('x', vec![vec![1], vec![2]])]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn group_with_partitioner(
        &self,
        others: &[Rdd<(K, V)>],
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, Vec<Vec<V>>)> {
        let inputs = std::iter::once(self)
            .chain(others)
            .map(|parent| CoGroupInput::new(parent, &partitioner))
            .collect();
        let compute = CoGroupedManyCompute {
            num_partitions: partitioner.num_partitions(),
            inputs,
        };
        self.derive_partitioned("group_with", compute, partitioner)
    }
}
