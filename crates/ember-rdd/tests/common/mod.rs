//! Shared test support: the proptest strategies every property test draws
//! from, and small helpers for comparing results whose order Spark leaves
//! unspecified. Each test binary includes this with `mod common;` and uses
//! only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

/// Cases per property: enough to hit the edges (empty input, one
/// partition, more partitions than elements) while the whole suite stays
/// within seconds on two cores.
pub(crate) const CASES: u32 = 32;

/// The configuration every property test runs with.
pub(crate) fn config() -> ProptestConfig {
    ProptestConfig::with_cases(CASES)
}

/// A partition count between 1 and 8.
pub(crate) fn partitions() -> impl Strategy<Value = usize> {
    1usize..=8
}

/// Plain values, with repeats (small range) and sometimes none at all.
pub(crate) fn values() -> impl Strategy<Value = Vec<i32>> {
    prop::collection::vec(-40i32..40, 0..120)
}

/// Keys from a small alphabet, so that keys repeat and collide.
pub(crate) fn key() -> impl Strategy<Value = u8> {
    0u8..12
}

/// A key that is usually the same one: key skew, one key holding most
/// records.
pub(crate) fn skewed_key() -> impl Strategy<Value = u8> {
    prop_oneof![4 => Just(0u8), 1 => 1u8..12]
}

/// Key-value records, either evenly spread over the keys or skewed.
pub(crate) fn pairs() -> impl Strategy<Value = Vec<(u8, i32)>> {
    prop_oneof![
        prop::collection::vec((key(), -1000i32..1000), 0..120),
        prop::collection::vec((skewed_key(), -1000i32..1000), 0..120),
    ]
}

/// A second, smaller keyed input for cogroups and joins (a smaller value
/// range so that results stay small even when keys collide on both sides).
pub(crate) fn other_pairs() -> impl Strategy<Value = Vec<(u8, char)>> {
    prop::collection::vec((key(), prop::char::range('a', 'z')), 0..40)
}

/// Lines of text without line terminators (possibly empty, possibly
/// non-ASCII), for text-file round trips.
pub(crate) fn lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-zA-Z0-9 éß€]{0,12}", 0..60)
}

/// `v`, sorted: the way to compare outputs whose order is unspecified.
pub(crate) fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// The sequential model of grouping by key: each key's values in input
/// order, keys ascending.
pub(crate) fn group_model<K: Ord + Clone, V: Clone>(data: &[(K, V)]) -> BTreeMap<K, Vec<V>> {
    let mut groups: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, v) in data {
        groups.entry(k.clone()).or_default().push(v.clone());
    }
    groups
}

/// Groups with each key's values sorted: compares equal to a shuffle's
/// groups whatever order the values arrived in.
pub(crate) fn normalize_groups<K: Ord, V: Ord>(groups: Vec<(K, Vec<V>)>) -> Vec<(K, Vec<V>)> {
    sorted(groups.into_iter().map(|(k, vs)| (k, sorted(vs))).collect())
}

/// A cogroup's output: every key with both sides' values.
pub(crate) type CoGroups<K, V, W> = Vec<(K, (Vec<V>, Vec<W>))>;

/// The sequential model of a cogroup: every key of either side, ascending,
/// with both sides' values, each side sorted.
pub(crate) fn cogroup_model<K: Ord + Clone, V: Ord + Clone, W: Ord + Clone>(
    left: &[(K, V)],
    right: &[(K, W)],
) -> CoGroups<K, V, W> {
    let (l, r) = (group_model(left), group_model(right));
    let keys: BTreeSet<K> = l.keys().chain(r.keys()).cloned().collect();
    keys.into_iter()
        .map(|k| {
            let vs = sorted(l.get(&k).cloned().unwrap_or_default());
            let ws = sorted(r.get(&k).cloned().unwrap_or_default());
            (k, (vs, ws))
        })
        .collect()
}

/// Cogroups with both sides' values sorted, keys ascending: compares equal
/// to [`cogroup_model`] whatever order a shuffle delivered them in.
pub(crate) fn normalize_cogroups<K: Ord, V: Ord, W: Ord>(
    groups: CoGroups<K, V, W>,
) -> CoGroups<K, V, W> {
    sorted(
        groups
            .into_iter()
            .map(|(k, (vs, ws))| (k, (sorted(vs), sorted(ws))))
            .collect(),
    )
}
