//! Persistence: [`StorageLevel`] and the [`BlockManager`] that keeps cached
//! partitions, keyed by (RDD id, partition).

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

/// Holds cached partitions. A block that is missing (never computed,
/// evicted, or removed on purpose) is recomputed from lineage on next use.
#[derive(Default)]
pub struct BlockManager {
    blocks: Mutex<HashMap<BlockId, Block>>,
}

impl BlockManager {
    fn lock(&self) -> MutexGuard<'_, HashMap<BlockId, Block>> {
        self.blocks.lock().unwrap_or_else(PoisonError::into_inner)
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
