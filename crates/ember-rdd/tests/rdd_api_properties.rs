//! Property tests of the RDD operations Spark has and ember added for
//! issue 15, each against a plain sequential model over the same data laid
//! out in random partitions (none at all, empty ones, more partitions than
//! elements). Where the order is specified the comparison is exact; after
//! a hash shuffle it is order-insensitive. Proptest prints the failing
//! input (and persists its seed) when a case fails.

mod common;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use common::{config, group_model, normalize_groups, pairs, partitions, sorted, values};
use ember_rdd::{JobError, Rdd, RddContext};
use proptest::prelude::*;

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// Values laid out in 0 to 8 partitions of 0 to 15 elements each.
fn layout() -> impl Strategy<Value = Vec<Vec<i32>>> {
    prop::collection::vec(prop::collection::vec(-30i32..30, 0..15), 0..=8)
}

/// Key-value records laid out in 0 to 8 partitions.
fn pair_layout() -> impl Strategy<Value = Vec<Vec<(u8, i32)>>> {
    prop::collection::vec(
        prop::collection::vec((0u8..10, -1000i32..1000), 0..15),
        0..=8,
    )
}

fn flat<T: Clone>(parts: &[Vec<T>]) -> Vec<T> {
    parts.concat()
}

/// A tie-heavy key: many elements share it.
fn tie_key(x: &i32) -> i32 {
    x.rem_euclid(5)
}

#[test]
fn top_and_take_ordered_match_a_sorted_vec() {
    let ctx = ctx();
    proptest!(config(), |(parts in layout(), n in 0usize..20)| {
        let data = flat(&parts);
        let rdd = ctx.from_partitions(parts.clone());
        let mut ascending = data.clone();
        ascending.sort();
        let mut descending = data.clone();
        descending.sort_by(|a, b| b.cmp(a));
        prop_assert_eq!(rdd.take_ordered(n).unwrap(), ascending.iter().copied().take(n).collect::<Vec<_>>());
        prop_assert_eq!(rdd.top(n).unwrap(), descending.iter().copied().take(n).collect::<Vec<_>>());
        // Key functions with ties: a stable sort by the key (ties in input order).
        let mut by_key = data.clone();
        by_key.sort_by_key(tie_key);
        prop_assert_eq!(rdd.take_ordered_by_key(n, tie_key).unwrap(), by_key.into_iter().take(n).collect::<Vec<_>>());
        let mut by_key_desc = data.clone();
        by_key_desc.sort_by_key(|x| Reverse(tie_key(x)));
        prop_assert_eq!(rdd.top_by_key(n, tie_key).unwrap(), by_key_desc.into_iter().take(n).collect::<Vec<_>>());
    });
}

#[test]
fn max_and_min_match_iterators() {
    let ctx = ctx();
    proptest!(config(), |(parts in layout())| {
        let data = flat(&parts);
        let rdd = ctx.from_partitions(parts.clone());
        prop_assert_eq!(rdd.max().unwrap(), data.iter().copied().max());
        prop_assert_eq!(rdd.min().unwrap(), data.iter().copied().min());
        // Which of equal keys wins, as Iterator::max_by_key / min_by_key: tag
        // each element with its position to see it.
        let tagged: Vec<Vec<(i32, usize)>> = {
            let mut position = 0;
            parts.iter().map(|p| p.iter().map(|x| { position += 1; (*x, position) }).collect()).collect()
        };
        let tagged_rdd = ctx.from_partitions(tagged.clone());
        let all = flat(&tagged);
        prop_assert_eq!(tagged_rdd.max_by_key(|(x, _)| tie_key(x)).unwrap(), all.iter().copied().max_by_key(|(x, _)| tie_key(x)));
        prop_assert_eq!(tagged_rdd.min_by_key(|(x, _)| tie_key(x)).unwrap(), all.iter().copied().min_by_key(|(x, _)| tie_key(x)));
    });
}

#[test]
fn numeric_actions_match_exact_arithmetic() {
    let ctx = ctx();
    proptest!(config(), |(parts in layout())| {
        let data: Vec<i64> = flat(&parts).into_iter().map(i64::from).collect();
        let rdd = ctx.from_partitions(parts.clone()).map(i64::from);
        let n = data.len() as i64;
        let sum: i64 = data.iter().sum();
        let squares: i64 = data.iter().map(|x| x * x).sum();
        prop_assert_eq!(rdd.sum().unwrap(), sum);
        prop_assert_eq!(rdd.is_empty().unwrap(), data.is_empty());
        let stats = rdd.stats().unwrap();
        prop_assert_eq!(stats.count(), data.len() as u64);
        if data.is_empty() {
            prop_assert_eq!(rdd.mean().unwrap(), None);
            prop_assert_eq!(rdd.variance().unwrap(), None);
            prop_assert_eq!(rdd.stdev().unwrap(), None);
            prop_assert_eq!((stats.max(), stats.min()), (f64::NEG_INFINITY, f64::INFINITY));
        } else {
            prop_assert_eq!(stats.max(), *data.iter().max().unwrap() as f64);
            prop_assert_eq!(stats.min(), *data.iter().min().unwrap() as f64);
            // Exact rationals: mean = S / n, variance = (n * SS - S^2) / n^2.
            // The floating results may differ from them only by rounding.
            let mean = sum as f64 / n as f64;
            let variance = (n * squares - sum * sum) as f64 / (n * n) as f64;
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
            prop_assert!(close(rdd.mean().unwrap().unwrap(), mean), "mean {:?} vs {}", rdd.mean(), mean);
            prop_assert!(close(rdd.variance().unwrap().unwrap(), variance));
            prop_assert!(close(rdd.stdev().unwrap().unwrap(), variance.sqrt()));
        }
        if data.len() < 2 {
            prop_assert_eq!(rdd.sample_variance().unwrap(), None);
            prop_assert_eq!(rdd.sample_stdev().unwrap(), None);
        } else {
            let sample_variance = (n * squares - sum * sum) as f64 / (n * (n - 1)) as f64;
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
            prop_assert!(close(rdd.sample_variance().unwrap().unwrap(), sample_variance));
            prop_assert!(close(rdd.sample_stdev().unwrap().unwrap(), sample_variance.sqrt()));
        }
    });
}

#[test]
fn set_operations_match_set_models() {
    let ctx = ctx();
    proptest!(config(), |(a in values(), b in values(), n in partitions(), m in partitions())| {
        let left = ctx.parallelize(a.clone(), n);
        let right = ctx.parallelize(b.clone(), m);
        let a_set: BTreeSet<i32> = a.iter().copied().collect();
        let b_set: BTreeSet<i32> = b.iter().copied().collect();
        let intersection = left.intersection(&right);
        prop_assert_eq!(intersection.num_partitions(), n.max(m));
        prop_assert_eq!(sorted(intersection.collect().unwrap()), a_set.intersection(&b_set).copied().collect::<Vec<_>>());
        let subtract = left.subtract(&right);
        prop_assert_eq!(subtract.num_partitions(), n);
        prop_assert_eq!(sorted(subtract.collect().unwrap()), sorted(a.iter().copied().filter(|x| !b_set.contains(x)).collect()));
        let distinct = left.distinct_with_partitions(m);
        prop_assert_eq!(distinct.num_partitions(), m);
        prop_assert_eq!(sorted(distinct.collect().unwrap()), a_set.iter().copied().collect::<Vec<_>>());
        let groups = left.group_by_with_partitions(tie_key, m);
        prop_assert_eq!(groups.num_partitions(), m);
        let model: Vec<(i32, Vec<i32>)> = group_model(&a.iter().map(|x| (tie_key(x), *x)).collect::<Vec<_>>()).into_iter().collect();
        prop_assert_eq!(normalize_groups(groups.collect().unwrap()), normalize_groups(model.clone()));
        prop_assert_eq!(normalize_groups(left.group_by(tie_key).collect().unwrap()), normalize_groups(model));
    });
}

#[test]
fn subtract_by_key_matches_a_filter() {
    let ctx = ctx();
    proptest!(config(), |(a in pairs(), b in pairs(), n in partitions(), m in partitions())| {
        let left = ctx.parallelize(a.clone(), n);
        let right = ctx.parallelize(b.clone(), m);
        let b_keys: BTreeSet<u8> = b.iter().map(|(k, _)| *k).collect();
        let model = sorted(a.iter().copied().filter(|(k, _)| !b_keys.contains(k)).collect());
        prop_assert_eq!(sorted(left.subtract_by_key(&right).collect().unwrap()), model.clone());
        // Placed by the left side's partitioner, that side is not shuffled.
        let placed = left.reduce_by_key(|x, y| x + y);
        let sums: BTreeMap<u8, i32> = a.iter().fold(BTreeMap::new(), |mut sums, (k, v)| { *sums.entry(*k).or_default() += v; sums });
        let rest = placed.subtract_by_key(&right);
        prop_assert!(rest.partitioner().is_some());
        prop_assert_eq!(sorted(rest.collect().unwrap()), sums.into_iter().filter(|(k, _)| !b_keys.contains(k)).collect::<Vec<_>>());
        let hashed = left.subtract_by_key_with_partitions(&right, m);
        prop_assert_eq!(hashed.num_partitions(), m);
        prop_assert_eq!(sorted(hashed.collect().unwrap()), model);
    });
}

#[test]
fn cartesian_matches_nested_loops_over_partitions() {
    let ctx = ctx();
    proptest!(config(), |(a in layout(), b in layout())| {
        let product = ctx.from_partitions(a.clone()).cartesian(&ctx.from_partitions(b.clone()));
        prop_assert_eq!(product.num_partitions(), a.len() * b.len());
        let mut model = Vec::new();
        for left in &a {
            for right in &b {
                model.push(left.iter().flat_map(|x| right.iter().map(move |y| (*x, *y))).collect::<Vec<_>>());
            }
        }
        prop_assert_eq!(product.collect_partitions().unwrap(), model);
    });
}

#[test]
fn zips_match_their_models() {
    let ctx = ctx();
    proptest!(config(), |(parts in layout(), other in layout())| {
        let rdd = ctx.from_partitions(parts.clone());
        let data = flat(&parts);
        // Same layout: exact pairs.
        let doubled = rdd.map(|x| i64::from(x) * 2);
        let zipped = rdd.zip(&doubled).unwrap().collect().unwrap();
        prop_assert_eq!(zipped, data.iter().map(|x| (*x, i64::from(*x) * 2)).collect::<Vec<_>>());
        // Another layout: an error naming the first partition that differs.
        let other_rdd = ctx.from_partitions(other.clone());
        match rdd.zip(&other_rdd) {
            Err(JobError::ZipPartitions { left, right }) => {
                prop_assert_ne!(parts.len(), other.len());
                prop_assert_eq!((left, right), (parts.len(), other.len()));
            }
            Err(e) => prop_assert!(false, "unexpected error {}", e),
            Ok(zipped) => {
                prop_assert_eq!(parts.len(), other.len());
                let first_mismatch = parts.iter().zip(&other).position(|(l, r)| l.len() != r.len());
                match (first_mismatch, zipped.collect()) {
                    (None, Ok(pairs)) => prop_assert_eq!(pairs, data.iter().copied().zip(flat(&other)).collect::<Vec<_>>()),
                    (Some(p), Err(JobError::ZipElements { partition, left, right })) => {
                        prop_assert_eq!((partition, left, right), (p, parts[p].len(), other[p].len()));
                    }
                    (expected, got) => prop_assert!(false, "expected mismatch {:?}, got {:?}", expected, got),
                }
            }
        }
        let indexed = rdd.zip_with_index().unwrap().collect().unwrap();
        prop_assert_eq!(indexed, data.iter().copied().zip(0u64..).collect::<Vec<_>>());
        let n = parts.len() as u64;
        let unique_model: Vec<(i32, u64)> = parts.iter().enumerate()
            .flat_map(|(i, p)| p.iter().enumerate().map(move |(k, x)| (*x, k as u64 * n + i as u64)))
            .collect();
        prop_assert_eq!(rdd.zip_with_unique_id().collect().unwrap(), unique_model);
    });
}

#[test]
fn tree_aggregations_match_folds() {
    let ctx = ctx();
    proptest!(config(), |(parts in layout(), depth in 1usize..5)| {
        let data = flat(&parts);
        let rdd = ctx.from_partitions(parts.clone());
        prop_assert_eq!(rdd.tree_reduce(|a, b| a + b, depth).unwrap(), data.iter().copied().reduce(|a, b| a + b));
        let (total, all) = rdd.tree_aggregate(
            (0i64, Vec::new()),
            |(s, mut all), x| { all.push(x); (s + i64::from(x), all) },
            |(s1, mut a1), (s2, a2)| { a1.extend(a2); (s1 + s2, a1) },
            depth,
        ).unwrap();
        prop_assert_eq!(total, data.iter().map(|x| i64::from(*x)).sum::<i64>());
        prop_assert_eq!(sorted(all), sorted(data.clone()));
    });
}

#[test]
fn local_actions_match_models() {
    let ctx = ctx();
    proptest!(config(), |(parts in pair_layout(), key in 0u8..11)| {
        let data = flat(&parts);
        let rdd: Rdd<(u8, i32)> = ctx.from_partitions(parts.clone());
        let iterated: Result<Vec<_>, _> = rdd.to_local_iterator().collect();
        prop_assert_eq!(iterated.unwrap(), data.clone());
        let mut sums: BTreeMap<u8, i32> = BTreeMap::new();
        for (k, v) in &data {
            *sums.entry(*k).or_default() += v;
        }
        let local: BTreeMap<u8, i32> = rdd.reduce_by_key_locally(|a, b| a + b).unwrap().into_iter().collect();
        prop_assert_eq!(&local, &sums);
        let model: Vec<i32> = data.iter().filter(|(k, _)| *k == key).map(|(_, v)| *v).collect();
        prop_assert_eq!(rdd.lookup(&key).unwrap(), model.clone());
        let placed = rdd.partition_by(std::sync::Arc::new(ember_rdd::HashPartitioner::new(3)));
        prop_assert_eq!(placed.lookup(&key).unwrap(), model);
        let folded = rdd.fold_by_key_with_partitions(0, |a, b| a + b, 3);
        prop_assert_eq!(folded.num_partitions(), 3);
        prop_assert_eq!(sorted(folded.collect().unwrap()), sums.clone().into_iter().collect::<Vec<_>>());
        let aggregated = rdd.aggregate_by_key_with_partitions(0i64, |a, v| a + i64::from(v), |a, b| a + b, 2);
        prop_assert_eq!(aggregated.num_partitions(), 2);
        prop_assert_eq!(sorted(aggregated.collect().unwrap()), sums.into_iter().map(|(k, s)| (k, i64::from(s))).collect::<Vec<_>>());
    });
}

#[test]
fn group_with_matches_a_model_of_every_side() {
    let ctx = ctx();
    proptest!(config(), |(a in pairs(), b in pairs(), c in pairs(), n in partitions(), m in partitions())| {
        let rdds = [ctx.parallelize(a.clone(), n), ctx.parallelize(b.clone(), m), ctx.parallelize(c.clone(), 1)];
        let grouped = rdds[0].group_with(&rdds[1..]);
        prop_assert_eq!(grouped.num_partitions(), n.max(m));
        let mut model: BTreeMap<u8, Vec<Vec<i32>>> = BTreeMap::new();
        for (side, data) in [&a, &b, &c].into_iter().enumerate() {
            for (k, v) in data {
                model.entry(*k).or_insert_with(|| vec![Vec::new(); 3])[side].push(*v);
            }
        }
        let normalize = |groups: Vec<(u8, Vec<Vec<i32>>)>| sorted(groups.into_iter().map(|(k, sides)| (k, sides.into_iter().map(sorted).collect::<Vec<_>>())).collect::<Vec<_>>());
        prop_assert_eq!(normalize(grouped.collect().unwrap()), normalize(model.into_iter().collect()));
    });
}

#[test]
fn sort_by_key_with_is_a_stable_sort_by_the_sort_key() {
    let ctx = ctx();
    proptest!(config(), |(data in prop::collection::vec((-30i32..30, 0u16..1000), 0..120), n in partitions(), out in 0usize..6, ascending in any::<bool>())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let sorted_rdd = rdd.sort_by_key_with(ascending, out, tie_key);
        prop_assert_eq!(sorted_rdd.num_partitions(), out.max(1));
        let mut model = data.clone();
        if ascending {
            model.sort_by_key(|(k, _)| tie_key(k));
        } else {
            model.sort_by_key(|(k, _)| Reverse(tie_key(k)));
        }
        prop_assert_eq!(sorted_rdd.collect().unwrap(), model);
        let by_key = rdd.sort_by_key_with_partitions(ascending, out);
        prop_assert_eq!(by_key.num_partitions(), out.max(1));
        let mut model = data;
        if ascending {
            model.sort_by_key(|(k, _)| *k);
        } else {
            model.sort_by_key(|(k, _)| Reverse(*k));
        }
        prop_assert_eq!(by_key.collect().unwrap(), model);
    });
}

#[test]
fn samples_keep_partition_order_and_are_reproducible() {
    let ctx = ctx();
    proptest!(config(), |(parts in layout(), fraction in 0.0f64..1.0, seed in any::<u64>(), replace in any::<bool>(), num in 0usize..40)| {
        // Tag each element with its position so that every one is distinct.
        let mut position = 0u32;
        let tagged: Vec<Vec<(u32, i32)>> = parts.iter().map(|p| p.iter().map(|x| { position += 1; (position, *x) }).collect()).collect();
        let data = flat(&tagged);
        let rdd = ctx.from_partitions(tagged.clone());
        let sample = rdd.sample(replace, fraction * 2.0_f64.powi(i32::from(replace)), seed).unwrap();
        let sampled = sample.collect_partitions().unwrap();
        prop_assert_eq!(&sampled, &sample.collect_partitions().unwrap());
        for (got, input) in sampled.iter().zip(&tagged) {
            // In order, from the partition's own elements; repeats only with replacement.
            prop_assert!(got.windows(2).all(|w| if replace { w[0].0 <= w[1].0 } else { w[0].0 < w[1].0 }), "{:?}", got);
            prop_assert!(got.iter().all(|x| input.contains(x)));
        }
        // Without replacement each element is kept when its draw is below
        // the fraction: the same seed with a smaller fraction keeps a subset.
        if !replace {
            let smaller = rdd.sample(false, fraction / 2.0, seed).unwrap().collect().unwrap();
            let kept: BTreeSet<(u32, i32)> = flat(&sampled).into_iter().collect();
            prop_assert!(smaller.iter().all(|x| kept.contains(x)), "{:?} not within {:?}", smaller, kept);
        }
        prop_assert!(rdd.sample(false, 0.0, seed).unwrap().collect().unwrap().is_empty());
        prop_assert_eq!(rdd.sample(false, 1.0, seed).unwrap().collect().unwrap(), data.clone());
        let taken = rdd.take_sample(replace, num, seed).unwrap();
        prop_assert_eq!(&taken, &rdd.take_sample(replace, num, seed).unwrap());
        prop_assert!(taken.iter().all(|x| data.contains(x)));
        if data.is_empty() {
            prop_assert!(taken.is_empty());
        } else if replace {
            prop_assert_eq!(taken.len(), num);
        } else {
            prop_assert_eq!(taken.len(), num.min(data.len()));
            let distinct: BTreeSet<_> = taken.iter().collect();
            prop_assert_eq!(distinct.len(), taken.len());
            if num >= data.len() {
                prop_assert_eq!(sorted(taken), data);
            }
        }
    });
}
