//! [`Combiners`]: the per-key fold behind every map-side combine and every
//! reduce side that merges by key (`reduce_by_key`, `combine_by_key`,
//! `group_by_key`, `cogroup`).
//!
//! It is built for the shuffle's hot loop, where each record costs one hash
//! lookup that usually misses the cache once the table outgrows it:
//! combiners are merged in place, with no `Option` around them (a smaller
//! table: for a `(String, u64)` pair 32 bytes a slot instead of 40), and
//! records are hashed and looked up in small batches, so that the lookups of
//! one batch run back to back with no input code between them and the
//! processor overlaps their cache misses.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::chunks::ChunkIter;

/// The hash of keys inside a [`Combiners`]: a fixed seed, different from
/// the partitioners'. All keys of one reduce partition share their
/// partitioner hash modulo the partition count; hashing them the same way
/// here would crowd them into a fraction of the table's slots.
fn key_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    foldhash::fast::FixedState::with_seed(0x0c0f_fee5_a1ad_b0a7).hash_one(key)
}

/// One combiner per distinct key, folded from `(key, value)` records.
pub(crate) struct Combiners<K, C> {
    entries: HashTable<(K, C)>,
    /// Set while a combiner is moved out of `entries` for a merge; if the
    /// merge panics, `drop` leaks the entries rather than drop that moved
    /// out combiner a second time.
    merging: bool,
}

impl<K: Hash + Eq, C> Combiners<K, C> {
    /// Room for `capacity` keys before growing.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Combiners {
            entries: HashTable::with_capacity(capacity),
            merging: false,
        }
    }

    /// Folds `records` in: a key's first value becomes its combiner through
    /// `create`, later ones are added with `merge`.
    pub(crate) fn extend<V>(
        &mut self,
        records: impl Iterator<Item = (K, V)>,
        create: impl Fn(V) -> C,
        merge: impl Fn(C, V) -> C,
    ) {
        let mut records = records.peekable();
        let mut batch: Vec<(u64, K, V)> = Vec::with_capacity(BATCH);
        while records.peek().is_some() {
            batch.extend(records.by_ref().take(BATCH).map(hashed));
            self.add_batch(&mut batch, &create, &merge);
        }
    }

    /// [`extend`](Self::extend) over a partition read a chunk at a time:
    /// each batch is taken from one chunk's vector, whose exact length
    /// lets it be copied without a check per record.
    pub(crate) fn extend_chunks<V>(
        &mut self,
        mut records: ChunkIter<(K, V)>,
        create: impl Fn(V) -> C,
        merge: impl Fn(C, V) -> C,
    ) {
        let mut batch: Vec<(u64, K, V)> = Vec::with_capacity(BATCH);
        while let Some(mut chunk) = records.next_run() {
            while chunk.len() > 0 {
                batch.extend(chunk.by_ref().take(BATCH).map(hashed));
                self.add_batch(&mut batch, &create, &merge);
            }
        }
    }

    /// Adds and empties a batch of hashed records.
    fn add_batch<V>(
        &mut self,
        batch: &mut Vec<(u64, K, V)>,
        create: impl Fn(V) -> C,
        merge: impl Fn(C, V) -> C,
    ) {
        for (hash, key, value) in batch.drain(..) {
            self.add(hash, key, value, &create, &merge);
        }
    }

    /// Adds one record whose key hashes to `hash`.
    fn add<V>(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        create: impl Fn(V) -> C,
        merge: impl Fn(C, V) -> C,
    ) {
        let slot = self
            .entries
            .entry(hash, |(k, _)| *k == key, |(k, _)| key_hash(k));
        match slot {
            Entry::Occupied(mut slot) => {
                let combiner: *mut C = &mut slot.get_mut().1;
                self.merging = true;
                // SAFETY: `combiner` points to an initialised `C` inside
                // `self.entries`, which nothing else touches until the
                // merged value is written back in the same statement. If
                // `merge` unwinds instead, the slot keeps a moved-out value
                // and `self.merging` stays true, so `drop` leaks the entries
                // without dropping it (no double drop), and no method can
                // run on `self` again: the panic is unwinding past it.
                unsafe { combiner.write(merge(combiner.read(), value)) };
                self.merging = false;
            }
            Entry::Vacant(slot) => {
                slot.insert((key, create(value)));
            }
        }
    }

    /// The `(key, combiner)` pairs, in no particular order.
    pub(crate) fn into_entries(mut self) -> Vec<(K, C)> {
        std::mem::take(&mut self.entries).into_iter().collect()
    }
}

impl<K, C> Drop for Combiners<K, C> {
    fn drop(&mut self) {
        if self.merging {
            // A merge panicked with one combiner moved out: leak them all.
            std::mem::forget(std::mem::take(&mut self.entries));
        }
    }
}

/// Folds `records` into one combiner per key (in no particular order).
pub(crate) fn combine<K: Hash + Eq, V, C>(
    records: impl Iterator<Item = (K, V)>,
    create: impl Fn(V) -> C,
    merge: impl Fn(C, V) -> C,
) -> Vec<(K, C)> {
    let mut combiners = Combiners::with_capacity(INITIAL_KEYS);
    combiners.extend(records, create, merge);
    combiners.into_entries()
}

/// [`combine`] over a partition read a chunk at a time (a shuffle's map
/// side).
pub(crate) fn combine_chunks<K: Hash + Eq, V, C>(
    records: ChunkIter<(K, V)>,
    create: impl Fn(V) -> C,
    merge: impl Fn(C, V) -> C,
) -> Vec<(K, C)> {
    let mut combiners = Combiners::with_capacity(INITIAL_KEYS);
    combiners.extend_chunks(records, create, merge);
    combiners.into_entries()
}

/// A record with its key's hash.
fn hashed<K: Hash, V>((key, value): (K, V)) -> (u64, K, V) {
    (key_hash(&key), key, value)
}

/// Records taken from the input before their lookups run back to back:
/// lookups with no input code between them overlap their cache misses.
const BATCH: usize = 16;

/// The keys a fresh [`Combiners`] has room for.
pub(crate) const INITIAL_KEYS: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicIsize, Ordering};

    #[test]
    fn folds_like_a_map() {
        let words = "b a c a b a d".split(' ').map(str::to_owned);
        let mut counts = combine(words.map(|w| (w, 1u32)), |n| n, |a, b| a + b);
        counts.sort();
        let expected: Vec<(String, u32)> = [("a", 3), ("b", 2), ("c", 1), ("d", 1)]
            .iter()
            .map(|(w, n)| ((*w).to_owned(), *n))
            .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn folds_chunks_like_records() {
        use crate::chunks::IterChunks;
        let records: Vec<(u64, u64)> = (0..5_000u64).map(|i| ((i * 31) % 977, i)).collect();
        let iter: crate::BoxIter<(u64, u64)> = Box::new(records.clone().into_iter());
        let mut chunked = combine_chunks(
            ChunkIter::new(Box::new(IterChunks(iter))),
            |v| v,
            |a, b| a + b,
        );
        let mut folded = combine(records.into_iter(), |v| v, |a, b| a + b);
        chunked.sort();
        folded.sort();
        assert_eq!(chunked, folded);
    }

    #[test]
    fn grows_past_its_initial_capacity() {
        let mut model: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let records: Vec<(u64, u64)> = (0..50_000u64).map(|i| ((i * 7919) % 5003, i)).collect();
        for (k, v) in &records {
            model.entry(*k).or_default().push(*v);
        }
        let mut combiners = Combiners::with_capacity(2);
        combiners.extend(
            records.into_iter(),
            |v| vec![v],
            |mut vs, v| {
                vs.push(v);
                vs
            },
        );
        let mut groups = combiners.into_entries();
        assert_eq!(groups.len(), 5003);
        groups.sort();
        assert_eq!(groups, model.into_iter().collect::<Vec<_>>());
    }

    /// Counts live instances: a double drop would take the count below
    /// the number of instances actually leaked or alive.
    struct Tracked(Arc<AtomicIsize>);

    impl Tracked {
        fn new(live: &Arc<AtomicIsize>) -> Self {
            live.fetch_add(1, Ordering::SeqCst);
            Tracked(Arc::clone(live))
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_panicking_merge_drops_nothing_twice() {
        let live = Arc::new(AtomicIsize::new(0));
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut combiners = Combiners::with_capacity(4);
            let records = (0..100u32).map(|i| (i % 10, i));
            combiners.extend(
                records,
                |_| Tracked::new(&live),
                |c, v| {
                    assert!(v < 50, "merge fails at {v}");
                    c
                },
            );
        }));
        assert!(result.is_err(), "the merge panicked");
        // The merge that panicked dropped the combiner it had been given;
        // the nine others were leaked with the moved-out slot, and nothing
        // was dropped twice (which would leave 8 or fewer).
        assert_eq!(live.load(Ordering::SeqCst), 9);

        let live = Arc::new(AtomicIsize::new(0));
        {
            let mut combiners = Combiners::with_capacity(4);
            combiners.extend(
                (0..100u32).map(|i| (i % 10, i)),
                |_| Tracked::new(&live),
                |c, _| c,
            );
            assert_eq!(live.load(Ordering::SeqCst), 10);
        }
        assert_eq!(live.load(Ordering::SeqCst), 0, "dropped once each");
    }
}
