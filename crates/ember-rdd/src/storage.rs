//! Persistence: [`StorageLevel`] and the [`BlockManager`] that keeps cached
//! partitions, keyed by (RDD id, partition). A block is computed once even
//! when several tasks read it at the same time: the first computes it while
//! the others wait for it (Spark's block write lock).

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// How an RDD's computed partitions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageLevel {
    /// Not kept: every use recomputes the partition from its lineage.
    #[default]
    None,
    /// Kept in memory as the values themselves (Spark's `MEMORY_ONLY`).
    MemoryOnly,
}

/// Identifies a cached partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId {
    /// The RDD's id.
    pub rdd: usize,
    /// The partition index.
    pub partition: usize,
}

type Block = Arc<dyn Any + Send + Sync>;

/// Held by the task computing a block; the other readers of that block
/// wait for it.
type ComputeLock = Arc<Mutex<()>>;

/// Holds cached partitions. A block that is missing (never computed,
/// evicted, or removed on purpose) is recomputed from lineage on next use.
#[derive(Default)]
pub struct BlockManager {
    blocks: Mutex<HashMap<BlockId, Block>>,
    /// The blocks being computed right now.
    computing: Mutex<HashMap<BlockId, ComputeLock>>,
}

impl BlockManager {
    fn lock(&self) -> MutexGuard<'_, HashMap<BlockId, Block>> {
        self.blocks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The block `id`: the cached one, or the one another task is computing
    /// (waiting for it), or else `compute`'s, which is then cached. If that
    /// other task fails, a waiting reader computes the block itself.
    ///
    /// `compute` must not read the same block (a lineage has no cycles), and
    /// must not wait, through a nested job run inside the task, for a task
    /// that reads it.
    pub(crate) fn get_or_compute<T: Send + Sync + 'static, E>(
        &self,
        id: BlockId,
        compute: impl FnOnce() -> Result<Vec<T>, E>,
    ) -> Result<Arc<Vec<T>>, E> {
        if let Some(data) = self.get(id) {
            return Ok(data);
        }
        let lock = Arc::clone(
            self.computing
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(id)
                .or_default(),
        );
        let _computing = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(data) = self.get(id) {
            return Ok(data);
        }
        let data = Arc::new(compute()?);
        self.put(id, Arc::clone(&data));
        // Readers waiting on this lock find the block; later ones need no
        // lock. (After a failure the lock stays, so that a retry queues up
        // behind a reader already waiting rather than compute beside it.)
        let mut computing = self
            .computing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if computing
            .get(&id)
            .is_some_and(|current| Arc::ptr_eq(current, &lock))
        {
            computing.remove(&id);
        }
        Ok(data)
    }

    pub(crate) fn get<T: Send + Sync + 'static>(&self, id: BlockId) -> Option<Arc<Vec<T>>> {
        let block = self.lock().get(&id).cloned()?;
        block.downcast::<Vec<T>>().ok()
    }

    pub(crate) fn put<T: Send + Sync + 'static>(&self, id: BlockId, data: Arc<Vec<T>>) {
        self.lock().insert(id, data);
    }

    /// Drops one cached partition (as if it had been evicted); returns
    /// whether it was present.
    pub fn remove(&self, id: BlockId) -> bool {
        self.lock().remove(&id).is_some()
    }

    /// Drops every cached partition of one RDD.
    pub fn remove_rdd(&self, rdd: usize) {
        self.lock().retain(|id, _| id.rdd != rdd);
        self.computing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| id.rdd != rdd);
    }

    /// Whether a partition is cached.
    pub fn contains(&self, id: BlockId) -> bool {
        self.lock().contains_key(&id)
    }

    /// The ids of all cached partitions, sorted.
    pub fn block_ids(&self) -> Vec<BlockId> {
        let mut ids: Vec<BlockId> = self.lock().keys().copied().collect();
        ids.sort();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_remove() {
        let bm = BlockManager::default();
        let id = BlockId {
            rdd: 1,
            partition: 0,
        };
        bm.put(id, Arc::new(vec![1, 2, 3]));
        assert_eq!(*bm.get::<i32>(id).unwrap(), vec![1, 2, 3]);
        assert!(bm.get::<String>(id).is_none(), "wrong type is a miss");
        assert_eq!(bm.block_ids(), vec![id]);
        assert!(bm.remove(id));
        assert!(!bm.contains(id));
        bm.put(id, Arc::new(vec![1]));
        bm.put(
            BlockId {
                rdd: 2,
                partition: 0,
            },
            Arc::new(vec![1]),
        );
        bm.remove_rdd(1);
        assert_eq!(
            bm.block_ids(),
            vec![BlockId {
                rdd: 2,
                partition: 0
            }]
        );
    }
}
