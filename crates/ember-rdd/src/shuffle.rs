//! The in-memory shuffle: map tasks bucket (and, where the operation allows,
//! combine) their partition's records by reduce partition; reduce tasks read
//! their bucket from every map output.

use std::sync::{Arc, Mutex, PoisonError};

use crate::chunks::ChunkIter;
use crate::cluster_round::exchange_shares;
use crate::dependency::{RddInfo, ShuffleDependency};
use crate::metrics::Metrics;
use crate::{
    BoxIter, Data, Dependency, Exchange, JobError, Partitioner, Rdd, RddCompute, TaskContext,
    partition_owner,
};

/// Map side: one partition's records (read a chunk at a time) into one
/// bucket per reduce partition.
pub(crate) type MapSide<K, V, W> =
    dyn Fn(ChunkIter<(K, V)>, &dyn Partitioner<K>) -> Result<Buckets<K, W>, JobError> + Send + Sync;
/// One map task's output: a bucket per reduce partition.
pub(crate) type Buckets<K, W> = Vec<Vec<(K, W)>>;
/// Reduce side: every map output's bucket for one partition into the result.
pub(crate) type ReduceSide<K, W, C> = dyn Fn(BoxIter<(K, W)>) -> BoxIter<(K, C)> + Send + Sync;

type MapOutput<K, W> = Arc<Vec<Vec<(K, W)>>>;
/// Some reduce partitions' buckets of one map output: `(reduce, bucket)`.
type Placed<K, W> = Vec<(usize, Vec<(K, W)>)>;
/// What one process sends another after a map stage (or keeps): for each
/// of its map partitions, the buckets of the receiver's reduce partitions.
type Share<K, W> = Vec<(usize, Placed<K, W>)>;

/// The map side of one shuffle: the parent, how its records are bucketed,
/// and the map outputs once computed. A `ShuffledRDD` reads one of these, a
/// `CoGroupedRDD` one per parent.
pub(crate) struct ShuffleDep<K, V, W> {
    id: usize,
    parent: Rdd<(K, V)>,
    partitioner: Arc<dyn Partitioner<K>>,
    map_side: Arc<MapSide<K, V, W>>,
    outputs: Mutex<Vec<Option<MapOutput<K, W>>>>,
}

impl<K: Data, V: Data, W: Data> ShuffleDep<K, V, W> {
    fn compute_map_output(&self, task: &TaskContext) -> Result<MapOutput<K, W>, JobError> {
        let records = ChunkIter::new(self.parent.chunks(task.partition, task)?);
        let buckets = (self.map_side)(records, self.partitioner.as_ref())?;
        let written: usize = buckets.iter().map(Vec::len).sum();
        Metrics::add(
            &self.parent.context().inner.metrics.shuffle_records_written,
            written as u64,
        );
        Ok(Arc::new(buckets))
    }

    /// Every map output, computing (in this task) any that is missing.
    fn map_outputs(&self, task: &TaskContext) -> Result<Vec<MapOutput<K, W>>, JobError> {
        let present = self
            .outputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        present
            .into_iter()
            .enumerate()
            .map(|(map, output)| match output {
                Some(output) => Ok(output),
                None => {
                    self.partitioner.prepare()?;
                    let map_task = TaskContext::new(task.stage, map, task.attempt);
                    let output = self.compute_map_output(&map_task)?;
                    self.store(map, Arc::clone(&output));
                    Ok(output)
                }
            })
            .collect()
    }

    /// The records of reduce partition `partition`: its bucket of every map
    /// output, in map order.
    pub(crate) fn read(
        &self,
        partition: usize,
        task: &TaskContext,
    ) -> Result<BoxIter<(K, W)>, JobError> {
        let ctx = self.parent.context();
        let owner = partition_owner(partition, ctx.processes());
        if owner != ctx.process() {
            return Err(JobError::NotLocal {
                partition,
                owner,
                process: ctx.process(),
            });
        }
        let outputs = self.map_outputs(task)?;
        Ok(Box::new(outputs.into_iter().flat_map(move |output| {
            let len = output.get(partition).map_or(0, Vec::len);
            (0..len).map(move |i| output[partition][i].clone())
        })))
    }

    /// The number of reduce partitions.
    pub(crate) fn num_partitions(&self) -> usize {
        self.partitioner.num_partitions()
    }

    /// Cluster mode: this process's map outputs split into what it keeps
    /// (its own reduce partitions' buckets, by map partition) and a share
    /// for every other process.
    fn split_outputs(&self, exchange: &dyn Exchange) -> (Share<K, W>, Vec<Share<K, W>>) {
        let me = exchange.process();
        let processes = exchange.processes();
        let outputs =
            std::mem::take(&mut *self.outputs.lock().unwrap_or_else(PoisonError::into_inner));
        let mut kept = Vec::new();
        let mut shares: Vec<Share<K, W>> = (0..processes).map(|_| Vec::new()).collect();
        for (map, output) in outputs.into_iter().enumerate() {
            let Some(output) = output else { continue };
            let buckets = Arc::try_unwrap(output).unwrap_or_else(|shared| (*shared).clone());
            let mut per_process: Vec<Placed<K, W>> = (0..processes).map(|_| Vec::new()).collect();
            for (reduce, bucket) in buckets.into_iter().enumerate() {
                if !bucket.is_empty() {
                    per_process[partition_owner(reduce, processes)].push((reduce, bucket));
                }
            }
            for (q, buckets) in per_process.into_iter().enumerate() {
                if q == me {
                    kept.push((map, buckets));
                } else if !buckets.is_empty() {
                    shares[q].push((map, buckets));
                }
            }
        }
        (kept, shares)
    }

    fn store(&self, map: usize, output: MapOutput<K, W>) {
        let mut outputs = self.outputs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = outputs.get_mut(map) {
            *slot = Some(output);
        }
    }
}

impl<K: Data, V: Data, W: Data> ShuffleDependency for ShuffleDep<K, V, W> {
    fn shuffle_id(&self) -> usize {
        self.id
    }
    fn parent(&self) -> Arc<dyn RddInfo> {
        self.parent.info()
    }
    fn is_available(&self) -> bool {
        self.outputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .all(Option::is_some)
    }
    fn missing_partitions(&self) -> Vec<usize> {
        self.outputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .enumerate()
            .filter(|(_, output)| output.is_none())
            .map(|(map, _)| map)
            .collect()
    }
    fn prepare(&self) -> Result<(), JobError> {
        self.partitioner.prepare()
    }
    fn run_map_task(&self, task: &TaskContext) -> Result<(), JobError> {
        let output = self.compute_map_output(task)?;
        self.store(task.partition, output);
        Ok(())
    }
    fn exchange_outputs(
        &self,
        exchange: &dyn Exchange,
        local: Result<(), JobError>,
    ) -> Result<(), JobError> {
        let (kept, shares) = self.split_outputs(exchange);
        let maps = self.parent.num_partitions();
        let metrics = &self.parent.context().inner.metrics;
        let received = match exchange_shares(exchange, metrics, local.map(|()| shares)) {
            Ok(received) => received,
            Err(error) => {
                // The whole map stage runs again, on every process.
                *self.outputs.lock().unwrap_or_else(PoisonError::into_inner) = vec![None; maps];
                return Err(error);
            }
        };
        let reduces = self.num_partitions();
        let mut outputs: Vec<Vec<Vec<(K, W)>>> = (0..maps)
            .map(|_| (0..reduces).map(|_| Vec::new()).collect())
            .collect();
        let arrived = received.into_iter().flatten().chain(kept);
        for (map, buckets) in arrived {
            for (reduce, bucket) in buckets {
                if let Some(slot) = outputs.get_mut(map).and_then(|o| o.get_mut(reduce)) {
                    *slot = bucket;
                }
            }
        }
        *self.outputs.lock().unwrap_or_else(PoisonError::into_inner) =
            outputs.into_iter().map(|o| Some(Arc::new(o))).collect();
        Ok(())
    }
}

/// Spark's `ShuffledRDD`: the reduce side of a shuffle.
struct ShuffledCompute<K, V, W, C> {
    dep: Arc<ShuffleDep<K, V, W>>,
    reduce_side: Arc<ReduceSide<K, W, C>>,
}

impl<K: Data, V: Data, W: Data, C: Data> RddCompute<(K, C)> for ShuffledCompute<K, V, W, C> {
    fn kind(&self) -> &'static str {
        "ShuffledRDD"
    }
    fn num_partitions(&self) -> usize {
        self.dep.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Shuffle(self.dep.clone())]
    }
    fn compute(&self, partition: usize, task: &TaskContext) -> Result<BoxIter<(K, C)>, JobError> {
        Ok((self.reduce_side)(self.dep.read(partition, task)?))
    }
}

impl<K: Data, V: Data> Rdd<(K, V)> {
    /// The map side of a shuffle of this RDD by `partitioner`, for an RDD
    /// that reads it (see `ShuffleDep::read`).
    pub(crate) fn shuffle_dependency<W: Data>(
        &self,
        partitioner: Arc<dyn Partitioner<K>>,
        map_side: impl Fn(ChunkIter<(K, V)>, &dyn Partitioner<K>) -> Result<Buckets<K, W>, JobError>
        + Send
        + Sync
        + 'static,
    ) -> Arc<ShuffleDep<K, V, W>> {
        Arc::new(ShuffleDep {
            id: self.context().new_shuffle_id(),
            parent: self.clone(),
            partitioner,
            map_side: Arc::new(map_side),
            outputs: Mutex::new(vec![None; self.num_partitions()]),
        })
    }

    /// A shuffle of this RDD by `partitioner`: `map_side` buckets each map
    /// partition, `reduce_side` turns each reduce partition's records into
    /// its output, which `partitioner` places.
    pub(crate) fn shuffle<W: Data, C: Data>(
        &self,
        operation: &'static str,
        partitioner: Arc<dyn Partitioner<K>>,
        map_side: impl Fn(ChunkIter<(K, V)>, &dyn Partitioner<K>) -> Result<Buckets<K, W>, JobError>
        + Send
        + Sync
        + 'static,
        reduce_side: impl Fn(BoxIter<(K, W)>) -> BoxIter<(K, C)> + Send + Sync + 'static,
    ) -> Rdd<(K, C)> {
        self.derive_partitioned(
            operation,
            ShuffledCompute {
                dep: self.shuffle_dependency(Arc::clone(&partitioner), map_side),
                reduce_side: Arc::new(reduce_side),
            },
            partitioner,
        )
    }
}

/// The reduce partition `p` gives `key`, checked to lie in `0..n`.
fn target<K>(p: &dyn Partitioner<K>, key: &K, n: usize) -> Result<usize, JobError> {
    let index = p.partition(key);
    if index < n {
        Ok(index)
    } else {
        Err(JobError::PartitionOutOfRange {
            partitioner: p.name().to_owned(),
            index,
            partitions: n,
        })
    }
}

/// Cuts combined `(key, combiner)` entries into one bucket per reduce
/// partition, each allocated at its exact size (one partition: the entries
/// themselves, without a copy).
pub(crate) fn bucket_entries<K, C>(
    entries: Vec<(K, C)>,
    p: &dyn Partitioner<K>,
) -> Result<Buckets<K, C>, JobError> {
    let n = p.num_partitions();
    if n <= 1 {
        return Ok(vec![entries]);
    }
    let targets = entries
        .iter()
        .map(|(k, _)| target(p, k, n))
        .collect::<Result<Vec<usize>, JobError>>()?;
    let mut sizes = vec![0usize; n];
    for &target in &targets {
        sizes[target] += 1;
    }
    let mut buckets: Vec<Vec<(K, C)>> = sizes.into_iter().map(Vec::with_capacity).collect();
    for (entry, target) in entries.into_iter().zip(targets) {
        buckets[target].push(entry);
    }
    Ok(buckets)
}

/// Map side without combining: each record goes to its key's bucket.
pub(crate) fn bucket<K, V>(
    records: ChunkIter<(K, V)>,
    p: &dyn Partitioner<K>,
) -> Result<Buckets<K, V>, JobError> {
    let n = p.num_partitions();
    let mut buckets: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
    for (k, v) in records {
        let index = target(p, &k, n)?;
        buckets[index].push((k, v));
    }
    Ok(buckets)
}
