//! Set-like operations, as Spark defines them: `intersection` (distinct
//! elements of both), `subtract` and `subtract_by_key` (elements or records
//! of this RDD whose element or key the other lacks, duplicates kept), the
//! `cartesian` product, and `group_by` a computed key.

use std::hash::Hash;
use std::sync::Arc;

use crate::{
    BoxIter, Data, Dependency, HashPartitioner, JobError, Partitioner, Rdd, RddCompute, TaskContext,
};

/// Spark's `CartesianRDD`: partition `i * m + j` pairs every element of
/// partition `i` of the left parent with every element of partition `j`
/// of the right one (which has `m` partitions).
struct CartesianCompute<T, U> {
    left: Rdd<T>,
    right: Rdd<U>,
}

impl<T: Data, U: Data> RddCompute<(T, U)> for CartesianCompute<T, U> {
    fn kind(&self) -> &'static str {
        "CartesianRDD"
    }
    fn num_partitions(&self) -> usize {
        self.left.num_partitions() * self.right.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::ManyToOne(self.left.info()),
            Dependency::ManyToOne(self.right.info()),
        ]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<(T, U)>, JobError> {
        let m = self.right.num_partitions().max(1);
        let rights: Arc<Vec<U>> = Arc::new(self.right.iterator(partition % m, task)?.collect());
        let lefts = self.left.iterator(partition / m, task)?;
        Ok(Box::new(lefts.flat_map(move |x| {
            let rights = Arc::clone(&rights);
            (0..rights.len()).map(move |j| (x.clone(), rights[j].clone()))
        })))
    }
}

impl<T: Data> Rdd<T> {
    /// Every pair `(x, y)` of an element `x` of this RDD and `y` of `other`,
    /// in `n * m` partitions (this RDD's `n` times `other`'s `m`).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let pairs = ctx.parallelize(vec![1, 2], 2).cartesian(&ctx.parallelize(vec!['a', 'b'], 1));
    /// assert_eq!(pairs.num_partitions(), 2);
    /// assert_eq!(pairs.collect()?, vec![(1, 'a'), (1, 'b'), (2, 'a'), (2, 'b')]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn cartesian<U: Data>(&self, other: &Rdd<U>) -> Rdd<(T, U)> {
        self.derive(
            "cartesian",
            CartesianCompute {
                left: self.clone(),
                right: other.clone(),
            },
        )
    }

    /// The distinct elements present in both this RDD and `other`, hashed
    /// into as many partitions as the larger of the two has (Spark's
    /// `intersection`).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let a = ctx.parallelize(vec![1, 2, 2, 3, 4], 2);
    /// let mut both = a.intersection(&ctx.parallelize(vec![2, 4, 4, 5], 1)).collect()?;
    /// both.sort();
    /// assert_eq!(both, vec![2, 4]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn intersection(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Hash + Eq,
    {
        let partitions = self.num_partitions().max(other.num_partitions());
        self.intersection_with_partitions(other, partitions)
    }

    /// `intersection` hashed into `num_partitions` partitions.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let both = ctx.parallelize(vec![1, 2, 3], 2).intersection_with_partitions(&ctx.parallelize(vec![3, 1], 1), 4);
    /// assert_eq!(both.num_partitions(), 4);
    /// assert_eq!(both.count()?, 2);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn intersection_with_partitions(&self, other: &Rdd<T>, num_partitions: usize) -> Rdd<T>
    where
        T: Hash + Eq,
    {
        self.map(|x| (x, ()))
            .cogroup_with_partitions(&other.map(|x| (x, ())), num_partitions)
            .filter(|(_, (left, right))| !left.is_empty() && !right.is_empty())
            .keys()
    }

    /// The elements of this RDD that `other` does not contain, each as many
    /// times as this RDD holds it, hashed into as many partitions as this
    /// RDD has (Spark's `subtract`).
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let a = ctx.parallelize(vec![1, 2, 2, 3], 2);
    /// let mut rest = a.subtract(&ctx.parallelize(vec![3, 4], 1)).collect()?;
    /// rest.sort();
    /// assert_eq!(rest, vec![1, 2, 2]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn subtract(&self, other: &Rdd<T>) -> Rdd<T>
    where
        T: Hash + Eq,
    {
        self.subtract_with_partitions(other, self.num_partitions())
    }

    /// `subtract` hashed into `num_partitions` partitions.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let rest = ctx.parallelize(vec![1, 2, 3], 2).subtract_with_partitions(&ctx.parallelize(vec![2], 1), 1);
    /// assert_eq!(rest.num_partitions(), 1);
    /// let mut rest = rest.collect()?;
    /// rest.sort();
    /// assert_eq!(rest, vec![1, 3]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn subtract_with_partitions(&self, other: &Rdd<T>, num_partitions: usize) -> Rdd<T>
    where
        T: Hash + Eq,
    {
        self.map(|x| (x, ()))
            .subtract_by_key_with_partitioner(
                &other.map(|x| (x, ())),
                Arc::new(HashPartitioner::new(num_partitions)),
            )
            .keys()
    }

    /// The elements grouped by the key `f` computes: one `(key, elements)`
    /// record per key, hashed into as many partitions as this RDD has.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let mut by_parity = ctx.parallelize(vec![1, 2, 3, 4, 5], 2).group_by(|x| x % 2).collect()?;
    /// by_parity.sort();
    /// assert_eq!(by_parity, vec![(0, vec![2, 4]), (1, vec![1, 3, 5])]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn group_by<K: Data + Hash + Eq>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Rdd<(K, Vec<T>)> {
        self.key_by(f).group_by_key()
    }

    /// `group_by` hashed into `num_partitions` partitions.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let words = ["a", "bb", "cc"].map(String::from).to_vec();
    /// let groups = ctx.parallelize(words, 2).group_by_with_partitions(|w| w.len(), 1);
    /// assert_eq!(groups.num_partitions(), 1);
    /// let mut groups = groups.collect()?;
    /// groups.sort();
    /// assert_eq!(groups, vec![(1, vec!["a".to_owned()]), (2, vec!["bb".to_owned(), "cc".to_owned()])]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn group_by_with_partitions<K: Data + Hash + Eq>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
        num_partitions: usize,
    ) -> Rdd<(K, Vec<T>)> {
        self.key_by(f).group_by_key_with_partitions(num_partitions)
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> {
    /// The records of this RDD whose key `other` lacks (Spark's
    /// `subtractByKey`), placed by this RDD's partitioner, or hashed into as
    /// many partitions as it has when it has none.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let a = ctx.parallelize(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("a".to_owned(), 3), ("c".to_owned(), 4)], 2);
    /// let b = ctx.parallelize(vec![("b".to_owned(), 'x'), ("d".to_owned(), 'y')], 1);
    /// let mut rest = a.subtract_by_key(&b).collect()?;
    /// rest.sort();
    /// assert_eq!(rest, vec![("a".to_owned(), 1), ("a".to_owned(), 3), ("c".to_owned(), 4)]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn subtract_by_key<W: Data>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, V)> {
        let partitioner = self
            .partitioner()
            .unwrap_or_else(|| Arc::new(HashPartitioner::new(self.num_partitions())));
        self.subtract_by_key_with_partitioner(other, partitioner)
    }

    /// `subtract_by_key` hashed into `num_partitions` partitions.
    ///
    /// ```
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let a = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
    /// let rest = a.subtract_by_key_with_partitions(&ctx.parallelize(vec![(2, ())], 1), 3);
    /// assert_eq!(rest.num_partitions(), 3);
    /// assert_eq!(rest.collect()?, vec![(1, 'a')]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn subtract_by_key_with_partitions<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        num_partitions: usize,
    ) -> Rdd<(K, V)> {
        self.subtract_by_key_with_partitioner(other, Arc::new(HashPartitioner::new(num_partitions)))
    }

    /// `subtract_by_key` into the partitions `partitioner` chooses (a side
    /// already placed by an equivalent partitioner is not shuffled).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ember_rdd::{HashPartitioner, Partitioner};
    /// let ctx = ember_rdd::RddContext::local(2)?;
    /// let by_2: Arc<dyn Partitioner<u32>> = Arc::new(HashPartitioner::new(2));
    /// let state = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2).partition_by(Arc::clone(&by_2));
    /// let rest = state.subtract_by_key_with_partitioner(&ctx.parallelize(vec![(1, ())], 1), by_2);
    /// assert!(rest.partitioner().is_some());
    /// assert_eq!(rest.collect()?, vec![(2, 'b')]);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn subtract_by_key_with_partitioner<W: Data>(
        &self,
        other: &Rdd<(K, W)>,
        partitioner: Arc<dyn Partitioner<K>>,
    ) -> Rdd<(K, V)> {
        self.cogroup_with_partitioner(other, partitioner)
            .flat_map_values(|(values, others)| {
                if others.is_empty() {
                    values
                } else {
                    Vec::new()
                }
            })
    }
}
