//! Where a local job runs: the whole job (its stages one after another)
//! runs on one of the pool's workers, so these check what that must not
//! break: a job started from inside a task (a nested job), with one worker
//! and with two, and jobs started at once from several threads, each
//! against a sequential model.

use std::collections::BTreeMap;
use std::thread;

use ember_rdd::RddContext;

/// The model of `keyed_sums`: the sum of each residue of `values` mod
/// `keys`.
fn model_sums(values: &[u64], keys: u64) -> BTreeMap<u64, u64> {
    let mut sums = BTreeMap::new();
    for v in values {
        *sums.entry(v % keys).or_insert(0) += v;
    }
    sums
}

/// The sum of each residue of `values` mod `keys`, through a shuffle.
fn keyed_sums(ctx: &RddContext, values: Vec<u64>, keys: u64) -> BTreeMap<u64, u64> {
    ctx.parallelize(values, 3)
        .map(move |v| (v % keys, v))
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn a_job_started_inside_a_task_finishes_with_one_worker_and_with_two() {
    for threads in [1, 2] {
        let ctx = RddContext::local(threads).unwrap();
        let inner = ctx.clone();
        // Each outer task runs a job with a shuffle of its own.
        let got = ctx
            .parallelize((1..=4u64).collect(), 4)
            .map(move |n| {
                let sums = keyed_sums(&inner, (0..n * 10).collect(), n);
                sums.values().sum::<u64>()
            })
            .collect()
            .unwrap();
        let want: Vec<u64> = (1..=4u64)
            .map(|n| {
                model_sums(&(0..n * 10).collect::<Vec<_>>(), n)
                    .values()
                    .sum()
            })
            .collect();
        assert_eq!(got, want, "local[{threads}]");
    }
}

#[test]
fn jobs_started_at_once_from_several_threads_each_get_their_own_results() {
    let ctx = RddContext::local(2).unwrap();
    let runs: Vec<(Vec<u64>, u64)> = (0..6u64)
        .map(|i| ((0..500 + 37 * i).map(|v| v * (i + 1)).collect(), 3 + i))
        .collect();
    // Each thread runs its job five times, so that jobs overlap.
    let got: Vec<Vec<BTreeMap<u64, u64>>> = thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|(values, keys)| {
                let ctx = &ctx;
                scope.spawn(move || {
                    (0..5)
                        .map(|_| keyed_sums(ctx, values.clone(), *keys))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let want: Vec<Vec<BTreeMap<u64, u64>>> = runs
        .iter()
        .map(|(values, keys)| vec![model_sums(values, *keys); 5])
        .collect();
    assert_eq!(got, want);
}
