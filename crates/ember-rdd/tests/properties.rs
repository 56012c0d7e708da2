//! Property tests: every transformation and action against a plain
//! sequential model over a `Vec`, on random data and random partition
//! counts (1 to 8). Where the RDD order is specified (narrow operations,
//! `collect`, `glom`, `union`, `sort_by_key`, `take`) the comparison is
//! exact; after a hash shuffle it is order-insensitive.
//!
//! Each test function builds one context and runs its cases on it.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use common::{
    cogroup_model, config, group_model, normalize_cogroups, normalize_groups, other_pairs, pairs,
    partitions, sorted, values,
};
use ember_rdd::{HashPartitioner, Partitioner, RddContext};
use proptest::prelude::*;

/// A key with its values' sum, count and (sorted) values.
type SumCountValues = (u8, (i64, u32, Vec<i32>));
/// A full outer join's record.
type FullJoined = (u8, (Option<i32>, Option<char>));

fn ctx() -> RddContext {
    RddContext::local(2).unwrap()
}

/// Spark's `parallelize` slicing: partition i is `[i*len/n, (i+1)*len/n)`.
fn slices<T: Clone>(data: &[T], n: usize) -> Vec<Vec<T>> {
    let len = data.len();
    (0..n)
        .map(|i| data[i * len / n..(i + 1) * len / n].to_vec())
        .collect()
}

fn sums_model(data: &[(u8, i32)]) -> Vec<(u8, i32)> {
    let mut sums: BTreeMap<u8, i32> = BTreeMap::new();
    for (k, v) in data {
        *sums.entry(*k).or_default() += v;
    }
    sums.into_iter().collect()
}

#[test]
fn parallelize_glom_and_collect_are_exact() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        prop_assert_eq!(rdd.num_partitions(), n);
        prop_assert_eq!(rdd.glom().collect().unwrap(), slices(&data, n));
        prop_assert_eq!(rdd.collect_partitions().unwrap(), slices(&data, n));
        prop_assert_eq!(rdd.collect().unwrap(), data.clone());
        prop_assert_eq!(rdd.count().unwrap(), data.len() as u64);
    });
}

#[test]
fn map_filter_flat_map_match_iterators() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        prop_assert_eq!(
            rdd.map(|x| x * 3 + 1).collect().unwrap(),
            data.iter().map(|x| x * 3 + 1).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            rdd.filter(|x| x % 2 == 0).collect().unwrap(),
            data.iter().copied().filter(|x| x % 2 == 0).collect::<Vec<_>>()
        );
        let expand = |x: i32| vec![x; x.rem_euclid(3) as usize];
        prop_assert_eq!(
            rdd.flat_map(expand).collect().unwrap(),
            data.iter().copied().flat_map(expand).collect::<Vec<_>>()
        );
        let chained = rdd.map(|x| x - 1).filter(|x| *x > 0).flat_map(|x| [x, -x]);
        prop_assert_eq!(chained.num_partitions(), n);
        prop_assert_eq!(
            chained.collect().unwrap(),
            data.iter().map(|x| x - 1).filter(|x| *x > 0).flat_map(|x| [x, -x]).collect::<Vec<_>>()
        );
    });
}

/// Element-wise chains read a chunk at a time by the shuffle after them
/// (with a cached RDD and a locally checkpointed one in the chain, which
/// are read from their blocks instead; a `flat_map` whose outputs overflow
/// a chunk; a filter that keeps nothing for long stretches) give the
/// model's sums.
#[test]
fn element_wise_chains_into_a_shuffle_match_the_model() {
    let ctx = ctx();
    proptest!(config(), |(
        data in values(),
        n in partitions(),
        m in partitions(),
        fan in 0usize..600,
        cut in 0usize..3,
    )| {
        let fan_out = move |x: i32| vec![x; if x % 7 == 0 { fan } else { 1 }];
        let keep = |x: &i32| x.rem_euclid(50) < 3 || x % 7 == 0;
        let rdd = ctx.parallelize(data.clone(), n);
        let spread = rdd.flat_map(fan_out).filter(keep);
        match cut {
            1 => {
                spread.cache();
            }
            2 => spread.local_checkpoint().unwrap(),
            _ => {}
        }
        let keyed = spread
            .key_by(|x| x.rem_euclid(5) as u8)
            .map_values(|x| x * 2)
            .flat_map_values(|x| [x, 1]);
        let sums = keyed.reduce_by_key_with_partitions(|a, b| a + b, m);
        let model: Vec<(u8, i32)> = data
            .iter()
            .copied()
            .flat_map(fan_out)
            .filter(keep)
            .map(|x| (x.rem_euclid(5) as u8, x * 2))
            .flat_map(|(k, x)| [(k, x), (k, 1)])
            .collect();
        prop_assert_eq!(sorted(sums.collect().unwrap()), sums_model(&model));
        // The same records, read record by record.
        prop_assert_eq!(sorted(keyed.collect().unwrap()), sorted(model.clone()));
        prop_assert_eq!(
            sorted(keyed.keys().map(|k| (k, 1)).reduce_by_key(|a, b| a + b).collect().unwrap()),
            sums_model(&model.iter().map(|(k, _)| (*k, 1)).collect::<Vec<_>>())
        );
    });
}

#[test]
fn map_partitions_see_spark_slices() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let model = slices(&data, n);
        prop_assert_eq!(
            rdd.map_partitions(|it| std::iter::once(it.map(i64::from).sum::<i64>())).collect().unwrap(),
            model.iter().map(|p| p.iter().copied().map(i64::from).sum::<i64>()).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            rdd.map_partitions_with_index(|i, it| it.map(move |x| (i, x))).collect().unwrap(),
            model
                .iter()
                .enumerate()
                .flat_map(|(i, p)| p.iter().map(move |x| (i, *x)))
                .collect::<Vec<_>>()
        );
        prop_assert_eq!(
            rdd.run_partitions(|it| it.count()).unwrap(),
            model.iter().map(Vec::len).collect::<Vec<_>>()
        );
    });
}

#[test]
fn union_and_coalesce_keep_order() {
    let ctx = ctx();
    proptest!(config(), |(
        a in values(),
        b in values(),
        n in partitions(),
        m in partitions(),
        target in 0usize..10,
    )| {
        let (ra, rb) = (ctx.parallelize(a.clone(), n), ctx.parallelize(b.clone(), m));
        let both = ra.union(&rb);
        prop_assert_eq!(both.num_partitions(), n + m);
        prop_assert_eq!(both.collect().unwrap(), [a.clone(), b.clone()].concat());
        prop_assert_eq!(both.glom().collect().unwrap(), [slices(&a, n), slices(&b, m)].concat());
        prop_assert_eq!(ctx.union(&[rb.clone(), ra.clone()]).collect().unwrap(), [b, a.clone()].concat());
        let fewer = ra.coalesce(target);
        prop_assert_eq!(fewer.num_partitions(), target.clamp(1, n));
        prop_assert_eq!(fewer.collect().unwrap(), a.clone());
        prop_assert_eq!(fewer.glom().collect().unwrap().concat(), a);
    });
}

#[test]
fn pair_narrow_ops_match_iterators() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        prop_assert_eq!(rdd.keys().collect().unwrap(), data.iter().map(|(k, _)| *k).collect::<Vec<_>>());
        prop_assert_eq!(rdd.values().collect().unwrap(), data.iter().map(|(_, v)| *v).collect::<Vec<_>>());
        prop_assert_eq!(
            rdd.map_values(|v| v / 2).collect().unwrap(),
            data.iter().map(|(k, v)| (*k, v / 2)).collect::<Vec<_>>()
        );
        let spread = |v: i32| (0..v.rem_euclid(4)).map(move |i| v + i);
        prop_assert_eq!(
            rdd.flat_map_values(spread).collect().unwrap(),
            data.iter().flat_map(|(k, v)| spread(*v).map(move |u| (*k, u))).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            rdd.values().key_by(|v| v.rem_euclid(5)).collect().unwrap(),
            data.iter().map(|(_, v)| (v.rem_euclid(5), *v)).collect::<Vec<_>>()
        );
    });
}

#[test]
fn reduce_by_key_matches_the_model() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions(), m in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let sums = rdd.reduce_by_key(|a, b| a + b);
        prop_assert_eq!(sums.num_partitions(), n);
        prop_assert_eq!(sorted(sums.collect().unwrap()), sums_model(&data));
        let placed = rdd.reduce_by_key_with_partitions(|a, b| a + b, m);
        prop_assert_eq!(placed.num_partitions(), m);
        let p = HashPartitioner::new(m);
        let parts = placed.glom().collect().unwrap();
        for (index, part) in parts.iter().enumerate() {
            prop_assert!(part.iter().all(|(k, _)| p.partition(k) == index));
        }
        prop_assert_eq!(sorted(parts.concat()), sums_model(&data));
        // Max is another associative, commutative merge.
        let maxima: BTreeMap<u8, i32> = data.iter().fold(BTreeMap::new(), |mut acc, (k, v)| {
            let e = acc.entry(*k).or_insert(*v);
            *e = (*e).max(*v);
            acc
        });
        prop_assert_eq!(
            sorted(rdd.reduce_by_key(i32::max).collect().unwrap()),
            maxima.into_iter().collect::<Vec<_>>()
        );
    });
}

#[test]
fn reduce_by_key_without_map_side_combine_matches_reduce_by_key() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions(), m in partitions())| {
        // Raw records (keys repeat inside a partition) and records
        // combined per partition first, as a fused `stream!` stage leaves
        // them, with the same merge order on the reduce side.
        let rdd = ctx.parallelize(data.clone(), n);
        let unmerged = rdd.reduce_by_key_without_map_side_combine(|a, b| a + b, m);
        prop_assert_eq!(unmerged.num_partitions(), m);
        prop_assert_eq!(sorted(unmerged.collect().unwrap()), sums_model(&data));
        let combined = rdd.map_partitions(|records| {
            let mut sums: BTreeMap<u8, i32> = BTreeMap::new();
            for (k, v) in records {
                *sums.entry(k).or_default() += v;
            }
            sums
        });
        let without = combined.reduce_by_key_without_map_side_combine(|a, b| a + b, m);
        let with = combined.reduce_by_key_with_partitions(|a, b| a + b, m);
        let p = HashPartitioner::new(m);
        let parts = without.glom().collect().unwrap();
        for (index, part) in parts.iter().enumerate() {
            prop_assert!(part.iter().all(|(k, _)| p.partition(k) == index));
        }
        prop_assert_eq!(sorted(parts.concat()), sorted(with.collect().unwrap()));
        // Already placed by the same partitioner: no shuffle, same sums.
        let placed = rdd.partition_by(Arc::new(HashPartitioner::new(m)));
        let local = placed.reduce_by_key_without_map_side_combine(|a, b| a + b, m);
        prop_assert!(matches!(
            local.dependencies()[..],
            [ember_rdd::Dependency::OneToOne(_)]
        ));
        prop_assert_eq!(sorted(local.collect().unwrap()), sums_model(&data));
    });
}

#[test]
fn fold_and_aggregate_by_key_match_the_model() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        prop_assert_eq!(sorted(rdd.fold_by_key(0, |a, b| a + b).collect().unwrap()), sums_model(&data));
        // (count, max) per key, with a zero neutral for both.
        let agg = rdd.aggregate_by_key(
            (0u32, i32::MIN),
            |(c, m), v| (c + 1, m.max(v)),
            |(c1, m1), (c2, m2)| (c1 + c2, m1.max(m2)),
        );
        let model: Vec<(u8, (u32, i32))> = group_model(&data)
            .into_iter()
            .map(|(k, vs)| (k, (vs.len() as u32, vs.into_iter().max().unwrap())))
            .collect();
        prop_assert_eq!(sorted(agg.collect().unwrap()), model);
        // A non-neutral zero counts once per key and map partition.
        let slices_with_key: BTreeMap<u8, i32> = slices(&data, n).iter().fold(BTreeMap::new(), |mut acc, part| {
            for k in part.iter().map(|(k, _)| *k).collect::<BTreeSet<_>>() {
                *acc.entry(k).or_default() += 1;
            }
            acc
        });
        let with_zero = sorted(rdd.fold_by_key(1000, |a, b| a + b).collect().unwrap());
        let expected: Vec<(u8, i32)> = sums_model(&data)
            .into_iter()
            .map(|(k, s)| (k, s + 1000 * slices_with_key[&k]))
            .collect();
        prop_assert_eq!(with_zero, expected);
    });
}

#[test]
fn combine_by_key_matches_the_model() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions(), m in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let combined = rdd.combine_by_key(
            |v| (i64::from(v), 1u32, vec![v]),
            |(s, c, mut vs), v| {
                vs.push(v);
                (s + i64::from(v), c + 1, vs)
            },
            |(s1, c1, mut v1), (s2, c2, v2)| {
                v1.extend(v2);
                (s1 + s2, c1 + c2, v1)
            },
            Some(m),
        );
        prop_assert_eq!(combined.num_partitions(), m);
        let got: Vec<SumCountValues> = sorted(
            combined.collect().unwrap().into_iter().map(|(k, (s, c, vs))| (k, (s, c, sorted(vs)))).collect(),
        );
        let model: Vec<SumCountValues> = group_model(&data)
            .into_iter()
            .map(|(k, vs)| (k, (vs.iter().copied().map(i64::from).sum(), vs.len() as u32, sorted(vs))))
            .collect();
        prop_assert_eq!(got, model);
    });
}

#[test]
fn group_by_key_matches_the_model() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions(), m in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let model: Vec<(u8, Vec<i32>)> =
            group_model(&data).into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
        let groups = rdd.group_by_key();
        prop_assert_eq!(groups.num_partitions(), n);
        prop_assert_eq!(normalize_groups(groups.collect().unwrap()), model.clone());
        let groups = rdd.group_by_key_with_partitions(m);
        prop_assert_eq!(groups.num_partitions(), m);
        prop_assert_eq!(normalize_groups(groups.collect().unwrap()), model);
    });
}

#[test]
fn partition_by_places_every_record() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions(), m in partitions())| {
        let p = HashPartitioner::new(m);
        let parts = ctx.parallelize(data.clone(), n).partition_by(Arc::new(p)).glom().collect().unwrap();
        prop_assert_eq!(parts.len(), m);
        for (index, part) in parts.iter().enumerate() {
            prop_assert!(part.iter().all(|(k, _)| p.partition(k) == index));
        }
        prop_assert_eq!(sorted(parts.concat()), sorted(data));
    });
}

#[test]
fn distinct_matches_a_set() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let set: Vec<i32> = data.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
        prop_assert_eq!(sorted(rdd.distinct().collect().unwrap()), set.clone());
        prop_assert_eq!(rdd.distinct().num_partitions(), n);
        prop_assert_eq!(rdd.distinct().count().unwrap(), set.len() as u64);
    });
}

#[test]
fn cogroup_matches_the_model() {
    let ctx = ctx();
    proptest!(config(), |(a in pairs(), b in other_pairs(), n in partitions(), m in partitions())| {
        let groups = ctx.parallelize(a.clone(), n).cogroup(&ctx.parallelize(b.clone(), m));
        prop_assert_eq!(groups.num_partitions(), n.max(m));
        prop_assert_eq!(normalize_cogroups(groups.collect().unwrap()), cogroup_model(&a, &b));
    });
}

#[test]
fn the_four_joins_match_nested_loops() {
    let ctx = ctx();
    proptest!(config(), |(a in pairs(), b in other_pairs(), n in partitions(), m in partitions())| {
        let (ra, rb) = (ctx.parallelize(a.clone(), n), ctx.parallelize(b.clone(), m));
        let matches = |k: u8| b.iter().filter(move |(k2, _)| *k2 == k).map(|(_, w)| *w).collect::<Vec<_>>();
        let inner: Vec<(u8, (i32, char))> =
            a.iter().flat_map(|(k, v)| matches(*k).into_iter().map(move |w| (*k, (*v, w)))).collect();
        prop_assert_eq!(sorted(ra.join(&rb).collect().unwrap()), sorted(inner));

        let left: Vec<(u8, (i32, Option<char>))> = a
            .iter()
            .flat_map(|(k, v)| {
                let ws = matches(*k);
                if ws.is_empty() {
                    vec![(*k, (*v, None))]
                } else {
                    ws.into_iter().map(|w| (*k, (*v, Some(w)))).collect()
                }
            })
            .collect();
        prop_assert_eq!(sorted(ra.left_outer_join(&rb).collect().unwrap()), sorted(left.clone()));

        let a_keys: BTreeSet<u8> = a.iter().map(|(k, _)| *k).collect();
        let right: Vec<(u8, (Option<i32>, char))> = b
            .iter()
            .flat_map(|(k, w)| {
                let vs: Vec<i32> = a.iter().filter(|(k1, _)| k1 == k).map(|(_, v)| *v).collect();
                if vs.is_empty() {
                    vec![(*k, (None, *w))]
                } else {
                    vs.into_iter().map(|v| (*k, (Some(v), *w))).collect()
                }
            })
            .collect();
        prop_assert_eq!(sorted(ra.right_outer_join(&rb).collect().unwrap()), sorted(right));

        let mut full: Vec<FullJoined> =
            left.into_iter().map(|(k, (v, w))| (k, (Some(v), w))).collect();
        full.extend(b.iter().filter(|(k, _)| !a_keys.contains(k)).map(|(k, w)| (*k, (None, Some(*w)))));
        prop_assert_eq!(sorted(ra.full_outer_join(&rb).collect().unwrap()), sorted(full));
    });
}

#[test]
fn sort_by_key_matches_a_stable_sort_exactly() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let mut up = data.clone();
        up.sort_by_key(|(k, _)| *k);
        let ascending = rdd.sort_by_key(true);
        prop_assert_eq!(ascending.num_partitions(), n);
        prop_assert_eq!(ascending.collect().unwrap(), up);
        let mut down = data.clone();
        down.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
        let descending = rdd.sort_by_key(false);
        prop_assert_eq!(descending.num_partitions(), n);
        prop_assert_eq!(descending.collect().unwrap(), down);
        // No key spans two partitions.
        let parts = descending.glom().collect().unwrap();
        let mut owner: HashMap<u8, usize> = HashMap::new();
        for (index, part) in parts.iter().enumerate() {
            for (k, _) in part {
                prop_assert_eq!(*owner.entry(*k).or_insert(index), index);
            }
        }
    });
}

#[test]
fn sort_by_matches_a_stable_sort_exactly() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions(), ascending in any::<bool>())| {
        let key = |x: &i32| x.rem_euclid(7);
        let mut model = data.clone();
        if ascending {
            model.sort_by_key(key);
        } else {
            model.sort_by_key(|x| std::cmp::Reverse(key(x)));
        }
        prop_assert_eq!(ctx.parallelize(data, n).sort_by(key, ascending).collect().unwrap(), model);
    });
}

#[test]
fn repartition_keeps_the_multiset_in_exactly_n_partitions() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions(), m in partitions())| {
        let r = ctx.parallelize(data.clone(), n).repartition(m);
        prop_assert_eq!(r.num_partitions(), m);
        let parts = r.glom().collect().unwrap();
        prop_assert_eq!(parts.len(), m);
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        let (min, max) = (*sizes.iter().min().unwrap(), *sizes.iter().max().unwrap());
        prop_assert!(max - min <= n, "sizes {:?} from {} partitions", sizes, n);
        prop_assert_eq!(sorted(parts.concat()), sorted(data));
    });
}

#[test]
fn take_and_first_are_exact_prefixes() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions(), k in 0usize..140)| {
        let rdd = ctx.parallelize(data.clone(), n);
        prop_assert_eq!(rdd.take(k).unwrap(), data[..k.min(data.len())].to_vec());
        prop_assert_eq!(rdd.first().unwrap(), data.first().copied());
        // Also after a filter, where early partitions may come up short.
        let evens: Vec<i32> = data.iter().copied().filter(|x| x % 2 == 0).collect();
        prop_assert_eq!(
            rdd.filter(|x| x % 2 == 0).take(k).unwrap(),
            evens[..k.min(evens.len())].to_vec()
        );
    });
}

#[test]
fn count_reduce_fold_aggregate_match_the_model() {
    let ctx = ctx();
    proptest!(config(), |(data in values(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        prop_assert_eq!(rdd.count().unwrap(), data.len() as u64);
        prop_assert_eq!(rdd.reduce(|a, b| a + b).unwrap(), data.iter().copied().reduce(|a, b| a + b));
        prop_assert_eq!(rdd.reduce(i32::min).unwrap(), data.iter().copied().min());
        prop_assert_eq!(rdd.fold(0, |a, b| a + b).unwrap(), data.iter().sum::<i32>());
        // A non-neutral zero: once per partition and once for the merge.
        prop_assert_eq!(rdd.fold(1, |a, b| a + b).unwrap(), data.iter().sum::<i32>() + n as i32 + 1);
        let (sum, len) = rdd
            .aggregate((0i64, 0usize), |(s, c), x| (s + i64::from(x), c + 1), |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2))
            .unwrap();
        prop_assert_eq!((sum, len), (data.iter().copied().map(i64::from).sum::<i64>(), data.len()));
    });
}

#[test]
fn count_by_value_count_by_key_collect_as_map_match_the_model() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions())| {
        let rdd = ctx.parallelize(data.clone(), n);
        let mut by_value: HashMap<(u8, i32), u64> = HashMap::new();
        let mut by_key: HashMap<u8, u64> = HashMap::new();
        let mut last: HashMap<u8, i32> = HashMap::new();
        for (k, v) in &data {
            *by_value.entry((*k, *v)).or_default() += 1;
            *by_key.entry(*k).or_default() += 1;
            last.insert(*k, *v);
        }
        prop_assert_eq!(rdd.count_by_value().unwrap(), by_value);
        prop_assert_eq!(rdd.count_by_key().unwrap(), by_key);
        prop_assert_eq!(rdd.collect_as_map().unwrap(), last);
    });
}

#[test]
fn a_cached_rdd_answers_like_an_uncached_one() {
    let ctx = ctx();
    proptest!(config(), |(data in pairs(), n in partitions(), drop_partition in 0usize..8)| {
        let plain = ctx.parallelize(data.clone(), n).map_values(|v| v * 2);
        let cached = ctx.parallelize(data.clone(), n).map_values(|v| v * 2);
        cached.cache();
        prop_assert_eq!(cached.collect().unwrap(), plain.collect().unwrap());
        ctx.block_manager().remove(ember_rdd::BlockId { rdd: cached.id(), partition: drop_partition % n });
        prop_assert_eq!(cached.glom().collect().unwrap(), plain.glom().collect().unwrap());
        prop_assert_eq!(
            sorted(cached.reduce_by_key(|a, b| a + b).collect().unwrap()),
            sorted(plain.reduce_by_key(|a, b| a + b).collect().unwrap())
        );
    });
}
